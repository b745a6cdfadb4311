/* Portico basket: the items a customer picks in the catalogue, kept only in this browser tab's
   session storage for this portal (gate.js removes it at sign-out), and "Reorder" on an order's
   page, which fills the basket with that order's lines before the catalogue opens. The basket's
   key is "portico:<portal folder>:basket": gate.js clears every "portico:<folder>:" key.
   No dependencies. */
(function () {
  "use strict";

  var segments = location.pathname.split("/");
  segments.pop();
  var KEY = "portico:" + decodeURIComponent(segments.pop() || "") + ":basket";

  /* [[sku, quantity as text], ...] in the order they were added. */
  function read() {
    try {
      var items = JSON.parse(sessionStorage.getItem(KEY) || "[]");
      return Array.isArray(items) ? items.filter(function (item) {
        return Array.isArray(item) && typeof item[0] === "string" && isFinite(Number(item[1]));
      }) : [];
    } catch (error) {
      return [];
    }
  }

  function write(items) {
    try {
      if (items.length) sessionStorage.setItem(KEY, JSON.stringify(items));
      else sessionStorage.removeItem(KEY);
    } catch (error) { /* storage off: the basket lasts as long as the page */ }
  }

  function add(sku, quantity) {
    var items = read();
    var found = items.filter(function (item) { return item[0] === sku; })[0];
    if (found) found[1] = String(Number(found[1]) + Number(quantity));
    else items.push([sku, String(quantity)]);
    write(items);
  }

  /* A click on "Reorder" fills the basket, then the link opens the catalogue (in place, by navigate.js). */
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("[data-reorder]") : null;
    if (!link) return;
    try {
      write(JSON.parse(link.getAttribute("data-reorder")).map(function (line) { return [line[0], String(line[1])]; }));
    } catch (error) { /* a malformed list: the catalogue opens with the basket as it was */ }
  }, true);

  window.PorticoBasket = { read: read, write: write, add: add };
})();
