/* Portico basket: the items a customer picks in the catalogue, kept only in this browser tab's
   session storage for this portal (gate.js removes it at sign-out: it clears every
   "portico:<folder>:" key); "Reorder" on an order's page, which fills the basket with that
   order's lines before the catalogue opens; and the basket on the catalogue page. That prices
   every line for its quantity by the server's rule (the lowest price break the quantity
   reaches, else the list price) and, when its order form is sent (requests.js), checks the
   minimum quantities and adds one `line` field per item and the `total`. No dependencies. */
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

  /* An amount in ten-thousandths, exactly, from its decimal text ("13.11" -> 131100). */
  function units(text) {
    var parts = String(text).split(".");
    var fraction = ((parts[1] || "") + "0000").slice(0, 4);
    return Number(parts[0]) * 10000 + (parts[0].charAt(0) === "-" ? -1 : 1) * Number(fraction);
  }

  /* The basket on the catalogue page, given the catalogue's data (catalogue.js): null where the
     page has none. Returns the "Add" button each catalogue row gets. */
  function panel(config, data, all) {
    var section = document.querySelector("[data-basket]");
    if (!section || !data.ordering) return null;
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
      return read().filter(function (item) { return ordering[item[0]]; }).map(function (item) {
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
          write(read().map(function (item) { return item[0] === line.sku ? [item[0], input.value.trim()] : item; }));
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
          write(read().filter(function (item) { return item[0] !== line.sku; }));
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
        add(item, ordering[item].minimum || "1");
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

  window.PorticoBasket = { read: read, write: write, add: add, panel: panel };
})();
