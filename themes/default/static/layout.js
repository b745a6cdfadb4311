/* Portico layout: what narrow screens need beyond CSS. Every table cell learns its column's
   heading (`data-label`), so a table can stack into label-and-value rows on a phone while
   keeping every column; and the section navigation folds behind a menu button. Without this
   script the tables stay tables and the navigation stays a wrapped list: nothing is hidden.
   No dependencies. */
(function () {
  "use strict";

  function labelCells(table) {
    if (!table.tHead || !table.tHead.rows.length || table.hasAttribute("data-no-stack")) return;
    var headings = Array.prototype.map.call(table.tHead.rows[0].cells, function (cell) {
      return cell.textContent.trim();
    });
    Array.prototype.forEach.call(table.tBodies, function (body) {
      Array.prototype.forEach.call(body.rows, function (row) {
        var column = 0;
        Array.prototype.forEach.call(row.cells, function (cell) {
          if (!cell.hasAttribute("data-label") && cell.colSpan === 1 && headings[column]) {
            cell.setAttribute("data-label", headings[column]);
          }
          column += cell.colSpan;
        });
      });
    });
    table.classList.add("stacks");
  }

  function foldNavigation(toggle) {
    var nav = document.getElementById(toggle.getAttribute("aria-controls"));
    if (!nav) return;
    nav.classList.add("foldable");
    toggle.hidden = false;
    toggle.addEventListener("click", function () {
      var open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", String(open));
      nav.classList.toggle("open", open);
      if (open) {
        var first = nav.querySelector("a");
        if (first) first.focus();
      }
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && toggle.getAttribute("aria-expanded") === "true") {
        toggle.setAttribute("aria-expanded", "false");
        nav.classList.remove("open");
        toggle.focus();
      }
    });
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("main table"), labelCells);
    Array.prototype.forEach.call(document.querySelectorAll("[data-nav-toggle]"), foldNavigation);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
