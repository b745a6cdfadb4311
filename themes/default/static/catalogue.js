/* Portico catalogue: the products a price group shares, fetched once (the browser keeps the file),
 * opened with the key the customer's page carries (portico-format.js), and shown a page at a time,
 * searchable and sortable, with the customer's own prices laid over the price list's. The CSV
 * download is made here, from the same rows. Where the page has a basket (basket.js), each row
 * gets the basket's "Add" button. No dependencies.
 */
(function () {
  "use strict";

  function start() {
    var configNode = document.getElementById("portico-catalogue");
    var table = document.querySelector("table[data-catalogue]");
    if (!configNode || !table) return;
    var config = JSON.parse(configNode.textContent);
    load(config).then(function (data) {
      show(table, config, data);
    }).catch(function () {
      table.querySelector("[data-catalogue-status]").textContent = config.texts.failed;
    });
  }

  async function load(config) {
    var response = await fetch(config.src, { credentials: "same-origin" });
    if (!response.ok) throw new Error("not found");
    var bytes = new Uint8Array(await response.arrayBuffer());
    if (config.key) {
      var format = window.PorticoFormat;
      var opened = await format.openBlob(bytes, config.path, null, format.fromBase64(config.key));
      bytes = opened.content;
    }
    return JSON.parse(new TextDecoder().decode(bytes));
  }

  /* Rows as cells of [text shown, value to sort and download]; the customer's own prices replace
     the price list's in the "your_price" column. */
  function rowsOf(data, ownPrices) {
    var sku = data.columns.findIndex(function (c) { return c.key === "sku"; });
    var yours = data.columns.findIndex(function (c) { return c.key === "your_price"; });
    return data.rows.map(function (row) {
      var cells = row.map(function (cell) { return Array.isArray(cell) ? cell : cell === null ? ["", ""] : [cell, cell]; });
      if (yours >= 0 && ownPrices[cells[sku][1]]) cells[yours] = ownPrices[cells[sku][1]];
      return cells;
    });
  }

  function show(table, config, data) {
    var all = rowsOf(data, config.own_prices || {});
    var tbody = table.tBodies[0];
    var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
    var search = document.querySelector("[data-catalogue-search]");
    var pager = document.querySelector("[data-catalogue-pager]");
    var pageLabel = document.querySelector("[data-catalogue-page]");
    var counter = document.querySelector("[data-catalogue-count]");
    var csvButton = document.querySelector("[data-catalogue-csv]");
    var state = { rows: all, page: 0, sortedBy: -1, ascending: true };

    function numeric(index) {
      var kind = data.columns[index].kind;
      return kind === "money" || kind === "number";
    }

    function render() {
      var pages = Math.max(1, Math.ceil(state.rows.length / config.page_size));
      state.page = Math.min(state.page, pages - 1);
      var start = state.page * config.page_size;
      var fragment = document.createDocumentFragment();
      state.rows.slice(start, start + config.page_size).forEach(function (cells) {
        var tr = document.createElement("tr");
        cells.forEach(function (cell, index) {
          var td = document.createElement("td");
          td.textContent = cell[0];
          td.setAttribute("data-label", headers[index].textContent.trim());
          if (numeric(index)) td.className = "num";
          tr.appendChild(td);
        });
        if (rowExtra) {
          var extra = document.createElement("td");
          extra.appendChild(rowExtra(cells));
          tr.appendChild(extra);
        }
        fragment.appendChild(tr);
      });
      if (!state.rows.length) {
        var empty = document.createElement("tr");
        var td = document.createElement("td");
        td.colSpan = headers.length + (rowExtra ? 1 : 0);
        td.textContent = config.texts.none;
        empty.appendChild(td);
        fragment.appendChild(empty);
      }
      tbody.replaceChildren(fragment);
      pager.hidden = pages < 2;
      pageLabel.textContent = config.texts.page.replace("{page}", state.page + 1).replace("{pages}", pages);
      counter.textContent = config.texts.count.replace("{shown}", state.rows.length).replace("{total}", all.length);
    }

    function filter() {
      var query = search.value.trim().toLocaleLowerCase();
      state.rows = !query ? all : all.filter(function (cells) {
        return cells.some(function (cell) { return String(cell[0]).toLocaleLowerCase().indexOf(query) !== -1; });
      });
      if (state.sortedBy >= 0) order();
      state.page = 0;
      render();
    }

    function order() {
      var index = state.sortedBy;
      var sign = state.ascending ? 1 : -1;
      state.rows = state.rows.slice().sort(function (a, b) {
        var x = a[index][1], y = b[index][1];
        if (numeric(index)) { x = x === "" ? -Infinity : Number(x); y = y === "" ? -Infinity : Number(y); }
        else { x = String(x).toLocaleLowerCase(); y = String(y).toLocaleLowerCase(); }
        return x < y ? -sign : x > y ? sign : 0;
      });
    }

    headers.forEach(function (header, index) {
      var button = document.createElement("button");
      button.type = "button";
      while (header.firstChild) button.appendChild(header.firstChild);
      header.appendChild(button);
      button.addEventListener("click", function () {
        state.ascending = state.sortedBy === index ? !state.ascending : true;
        state.sortedBy = index;
        headers.forEach(function (h) { h.removeAttribute("aria-sort"); });
        header.setAttribute("aria-sort", state.ascending ? "ascending" : "descending");
        order();
        render();
      });
    });
    search.addEventListener("input", filter);
    document.querySelector("[data-catalogue-previous]").addEventListener("click", function () {
      state.page = Math.max(0, state.page - 1);
      render();
    });
    document.querySelector("[data-catalogue-next]").addEventListener("click", function () {
      state.page += 1;
      render();
    });
    csvButton.disabled = false;
    csvButton.addEventListener("click", function () { download(data, all); });
    var basket = window.PorticoBasket && window.PorticoBasket.panel(config, data, all);
    if (basket) {
      var orderHeader = document.createElement("th");
      orderHeader.scope = "col";
      orderHeader.textContent = config.texts.order;
      table.tHead.rows[0].appendChild(orderHeader);
      rowExtra = basket.addButton;
    }
    render();
  }

  var rowExtra = null; // a last cell for each row (the basket's "Add" button), or none

  /* Cells a spreadsheet would run as a formula are prefixed with ' (as the server's CSV files are). */
  function csvCell(text) {
    text = String(text);
    if (/^[=+\-@\t\r]/.test(text)) text = "'" + text;
    return /[",\r\n]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
  }

  function download(data, rows) {
    var lines = [data.columns.map(function (c) { return csvCell(c.label); }).join(",")];
    rows.forEach(function (cells) {
      lines.push(cells.map(function (cell, index) {
        var kind = data.columns[index].kind;
        return kind === "money" || kind === "number" ? String(cell[1]) : csvCell(cell[0]);
      }).join(","));
    });
    var url = URL.createObjectURL(new Blob(["\ufeff" + lines.join("\r\n") + "\r\n"], { type: "text/csv" }));
    var link = document.createElement("a");
    link.href = url;
    link.download = "catalogue.csv";
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
