/* Portico lists: sort, search and filter the rows of every table[data-list], in the browser.
   Progressive enhancement: without this script the tables are complete and readable.
   No dependencies; works on any page that has the markup of list.html. */
(function () {
  "use strict";

  function cellKey(cell, kind) {
    var raw = cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent.trim();
    if (kind === "money" || kind === "number") {
      var n = parseFloat(raw);
      return isNaN(n) ? -Infinity : n;
    }
    return raw.toLocaleLowerCase();
  }

  function compare(a, b) {
    if (a < b) return -1;
    if (a > b) return 1;
    return 0;
  }

  function dataRows(tbody) {
    return Array.prototype.filter.call(tbody.rows, function (row) {
      return !(row.cells.length === 1 && row.cells[0].colSpan > 1);
    });
  }

  function enhance(table) {
    var tbody = table.tBodies[0];
    var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
    var rows = dataRows(tbody);
    var tools = table.previousElementSibling && table.previousElementSibling.hasAttribute("data-list-tools")
      ? table.previousElementSibling : null;
    var search = tools && tools.querySelector("[data-list-search]");
    var filters = tools ? Array.prototype.slice.call(tools.querySelectorAll("[data-list-filter]")) : [];
    var counter = tools && tools.querySelector("[data-list-count]");

    rows.forEach(function (row) {
      Array.prototype.forEach.call(row.cells, function (cell, i) {
        if (headers[i]) cell.setAttribute("data-label", headers[i].textContent.trim());
      });
    });

    function apply() {
      var query = search ? search.value.trim().toLocaleLowerCase() : "";
      var shown = 0;
      rows.forEach(function (row) {
        var visible = !query || row.textContent.toLocaleLowerCase().indexOf(query) !== -1;
        filters.forEach(function (select) {
          var want = select.value;
          var cell = row.cells[Number(select.getAttribute("data-list-filter"))];
          if (want && (!cell || cell.getAttribute("data-filter-value") !== want)) visible = false;
        });
        row.hidden = !visible;
        if (visible) shown += 1;
      });
      if (counter) counter.textContent = shown + " / " + rows.length;
    }

    function sortBy(index) {
      var header = headers[index];
      var kind = header.getAttribute("data-kind");
      var ascending = header.getAttribute("aria-sort") !== "ascending";
      headers.forEach(function (h) { h.removeAttribute("aria-sort"); });
      header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      var keyed = rows.map(function (row, position) {
        return { row: row, key: cellKey(row.cells[index], kind), position: position };
      });
      keyed.sort(function (a, b) {
        var order = compare(a.key, b.key);
        return (ascending ? order : -order) || a.position - b.position;
      });
      rows = keyed.map(function (k) { return k.row; });
      rows.forEach(function (row) { tbody.appendChild(row); });
    }

    headers.forEach(function (header, index) {
      var button = document.createElement("button");
      button.type = "button";
      while (header.firstChild) button.appendChild(header.firstChild);
      header.appendChild(button);
      button.addEventListener("click", function () { sortBy(index); });
    });
    var sortControl = tools && tools.querySelector("[data-list-sort]");
    if (sortControl) {
      sortControl.closest(".sort-control").hidden = false;
      sortControl.addEventListener("change", function () {
        var choice = sortControl.value.split(":");
        if (choice.length !== 2) return;
        headers[Number(choice[0])].setAttribute("aria-sort", choice[1] === "ascending" ? "descending" : "ascending");
        sortBy(Number(choice[0])); // sortBy flips the header's order: primed to land on the choice
      });
    }
    if (search) search.addEventListener("input", apply);
    filters.forEach(function (select) { select.addEventListener("change", apply); });
    apply();
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("table[data-list]"), enhance);
    Array.prototype.forEach.call(document.querySelectorAll("[data-print]"), function (button) {
      button.addEventListener("click", function () { window.print(); });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
