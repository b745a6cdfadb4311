/* Portico catalogue: the products a price group shares, fetched once (the browser keeps the file),
 * opened with the key the customer's page carries (portico-format.js), and shown a page at a time,
 * searchable and sortable, with the customer's own prices laid over the price list's. The CSV
 * download is made here, from the same rows. Where the page has a basket, each product can be
 * added to it (basket.js keeps it); the basket prices every line for its quantity by the server's
 * rule (the lowest price break the quantity reaches, else the list price) and, when the order
 * form is sent (requests.js), checks the minimum quantities and adds one `line` field per item
 * and the `total`. No dependencies.
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
    var basket = basketFor(config, data, all);
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

  /* ---- the basket ---------------------------------------------------------------------- */

  /* An amount in ten-thousandths, exactly, from its decimal text ("13.11" -> 131100). */
  function units(text) {
    var parts = String(text).split(".");
    var fraction = ((parts[1] || "") + "0000").slice(0, 4);
    return Number(parts[0]) * 10000 + (parts[0].charAt(0) === "-" ? -1 : 1) * Number(fraction);
  }

  function basketFor(config, data, all) {
    var section = document.querySelector("[data-basket]");
    var store = window.PorticoBasket;
    if (!section || !store || !data.ordering) return null;
    var ordering = data.ordering;
    var own = config.own_breaks || {};
    var sku = data.columns.findIndex(function (c) { return c.key === "sku"; });
    var name = data.columns.findIndex(function (c) { return c.key === "name"; });
    var names = {};
    all.forEach(function (cells) { names[cells[sku][1]] = name >= 0 ? cells[name][0] : ""; });
    var money = new Intl.NumberFormat(document.documentElement.lang || undefined, { style: "currency", currency: config.currency });
    var texts = config.texts;
    var form = section.querySelector("form[data-request-form]");
    var tbody = section.querySelector("[data-basket-lines] tbody");

    /* The price of one unit when buying `quantity` (the text the export gave, or null). */
    function priceAt(item, quantity) {
      var product = ordering[item];
      var best = null;
      (product.breaks || []).concat(own[item] || []).forEach(function (priceBreak) {
        if (Number(priceBreak[0]) <= quantity && (best === null || units(priceBreak[1]) < units(best))) best = priceBreak[1];
      });
      return best !== null ? best : product.list;
    }

    function lines() {
      return store.read().filter(function (item) { return ordering[item[0]]; }).map(function (item) {
        var quantity = Number(item[1]);
        var unit = priceAt(item[0], quantity);
        var cents = unit === null ? null : Math.round(units(unit) * quantity / 100);
        return { sku: item[0], quantity: item[1], unit: unit, cents: cents, minimum: ordering[item[0]].minimum };
      });
    }

    function total(items) {
      return items.reduce(function (sum, line) { return sum + (line.cents || 0); }, 0);
    }

    var labels = Array.prototype.map.call(section.querySelectorAll("[data-basket-lines] thead th"), function (th) {
      return th.textContent.trim();
    });

    function cell(row, text, className) {
      var td = document.createElement("td");
      td.textContent = text;
      if (className) td.className = className;
      td.setAttribute("data-label", labels[row.cells.length] || "");
      row.appendChild(td);
      return td;
    }

    function show() {
      var items = lines();
      tbody.replaceChildren();
      items.forEach(function (line) {
        var row = document.createElement("tr");
        cell(row, line.sku);
        cell(row, names[line.sku] || "");
        var input = document.createElement("input");
        input.type = "number";
        input.step = "any";
        input.min = line.minimum || "0";
        input.value = line.quantity;
        input.setAttribute("inputmode", "decimal");
        input.setAttribute("aria-label", texts.quantity_of.replace("{item}", line.sku));
        input.setAttribute("data-basket-quantity", line.sku);
        input.addEventListener("change", function () {
          store.write(store.read().map(function (item) { return item[0] === line.sku ? [item[0], input.value.trim()] : item; }));
          show();
          var again = section.querySelector('[data-basket-quantity="' + CSS.escape(line.sku) + '"]');
          if (again) again.focus();
        });
        cell(row, "", "num").appendChild(input);
        cell(row, line.unit === null ? "" : money.format(units(line.unit) / 10000), "num");
        cell(row, line.cents === null ? "" : money.format(line.cents / 100), "num");
        var remove = document.createElement("button");
        remove.type = "button";
        remove.className = "button";
        remove.textContent = texts.remove;
        remove.setAttribute("aria-label", texts.remove_item.replace("{item}", line.sku));
        remove.addEventListener("click", function () {
          store.write(store.read().filter(function (item) { return item[0] !== line.sku; }));
          show();
          section.querySelector("h2").focus();
        });
        cell(row, "").appendChild(remove);
        tbody.appendChild(row);
      });
      section.querySelector("[data-basket-lines]").hidden = !items.length;
      section.querySelector("[data-basket-empty]").hidden = !!items.length;
      section.querySelector("[data-basket-total]").textContent = money.format(total(items) / 100);
      section.querySelector("[data-basket-count]").textContent = texts.basket_count.replace("{count}", items.length);
    }

    /* Sending: each quantity checked, then one `line` per item and the `total`, before `currency`. */
    form.addEventListener("portico:request-check", function (event) {
      var problems = event.detail.problems;
      var items = lines();
      form.querySelectorAll("[data-basket-field]").forEach(function (input) { input.remove(); });
      if (!items.length) problems.push({ control: document.querySelector("[data-catalogue-search]"), message: texts.empty });
      items.forEach(function (line) {
        var control = section.querySelector('[data-basket-quantity="' + CSS.escape(line.sku) + '"]');
        var quantity = Number(line.quantity);
        var message = null;
        if (!(quantity > 0)) message = texts.positive.replace("{item}", line.sku);
        else if (line.minimum !== null && quantity < Number(line.minimum)) {
          message = texts.minimum.replace("{item}", line.sku).replace("{minimum}", line.minimum);
        } else if (line.unit === null) message = texts.no_price.replace("{item}", line.sku);
        if (message) {
          problems.push({ control: control, message: message });
          control.setAttribute("aria-invalid", "true");
        } else {
          control.removeAttribute("aria-invalid");
        }
      });
      if (problems.length) return;
      var before = form.querySelector('input[name="currency"]');
      items.forEach(function (line) {
        hidden(before, "line", [lineValue(line.sku), line.quantity, line.unit, config.currency].join("; "));
      });
      hidden(before, "total", (total(items) / 100).toFixed(2));
    });

    /* A `line` field's parts are separated by "; ": a SKU's own "%" and ";" are written %25 and %3B. */
    function lineValue(text) {
      return String(text).replace(/%/g, "%25").replace(/;/g, "%3B");
    }

    function hidden(before, name, value) {
      var input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      input.value = value;
      input.setAttribute("data-basket-field", "");
      before.parentNode.insertBefore(input, before);
    }

    function addButton(cells) {
      var item = cells[sku][1];
      var button = document.createElement("button");
      button.type = "button";
      button.className = "button";
      button.textContent = texts.add;
      button.setAttribute("aria-label", texts.add_item.replace("{item}", item));
      button.addEventListener("click", function () {
        store.add(item, ordering[item].minimum || "1");
        show();
        var status = section.querySelector("[data-basket-status]");
        status.textContent = texts.added.replace("{item}", item);
      });
      return button;
    }

    section.hidden = false;
    show();
    return { addButton: addButton };
  }

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
