/* Portico requests: checks a request form (required fields, numbers, dates, accepted terms) and
   sends it through the site's channel: a prefilled e-mail (mailto), or the form's own HTTPS POST
   to the configured endpoint. Both carry the same fields, in the format the README documents:
   one "name: value" line per field (values kept to one line, so nothing a customer types can
   add a field or a mail header), then a blank line and the description. Before checking, it
   fires "portico:request-check" on the form: a page's own script (the catalogue's basket) adds
   its problems to `event.detail.problems` and its fields to the form. No dependencies. */
(function () {
  "use strict";

  var DESCRIPTION = "description";

  function start() {
    var node = document.getElementById("portico-requests");
    if (!node) return;
    var settings = JSON.parse(node.textContent);
    document.querySelectorAll("form[data-request-form]").forEach(function (form) {
      form.addEventListener("submit", function (event) { send(event, form, settings); });
    });
  }

  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (whole, name) { return name in values ? values[name] : whole; });
  }

  function labelOf(control) {
    var label = control.labels && control.labels[0];
    var text = label ? label.cloneNode(true) : null;
    if (text) text.querySelectorAll(".required").forEach(function (mark) { mark.remove(); });
    return text ? text.textContent.trim() : control.name;
  }

  /* Each problem: the control and what to tell the customer, in the form's order. */
  function problems(form, texts) {
    var found = [];
    Array.prototype.forEach.call(form.elements, function (control) {
      if (!control.name || control.type === "hidden" || control.disabled) return;
      var value = control.type === "checkbox" ? (control.checked ? control.value : "") : control.value.trim();
      var message = null;
      if (control.required && !value) {
        message = control.type === "checkbox" ? texts.terms : fill(texts.required, { field: labelOf(control) });
      } else if (value && control.type === "number" && !isFinite(Number(value))) {
        message = fill(texts.number, { field: labelOf(control) });
      } else if (value && control.type === "date" && !/^\d{4}-\d{2}-\d{2}$/.test(value)) {
        message = fill(texts.date, { field: labelOf(control) });
      }
      if (message) {
        found.push({ control: control, message: message });
        control.setAttribute("aria-invalid", "true");
      } else {
        control.removeAttribute("aria-invalid");
      }
    });
    return found;
  }

  function oneLine(text) {
    return String(text).replace(/[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+/g, " ").trim(); // every line break a reader knows
  }

  /* The documented format: "name: value" lines in the form's order (a repeated name, such as a
     basket's `line`, once per value), then a blank line and the description. */
  function message(form) {
    var lines = [];
    var description = "";
    new FormData(form).forEach(function (value, name) {
      if (name === DESCRIPTION) description = String(value).replace(/\r\n?/g, "\n").trim();
      else if (String(value).trim() !== "") lines.push(name + ": " + oneLine(value));
    });
    return lines.join("\r\n") + "\r\n\r\n" + description.replace(/\n/g, "\r\n") + "\r\n";
  }

  function mailtoUrl(address, subject, body) {
    return "mailto:" + encodeURIComponent(address).replace(/%40/g, "@") +
      "?subject=" + encodeURIComponent(oneLine(subject)) + "&body=" + encodeURIComponent(body);
  }

  function say(box, text) {
    box.textContent = text;
    box.hidden = !text;
  }

  function send(event, form, settings) {
    event.preventDefault();
    var box = form.querySelector("[data-request-message]");
    var sent = form.querySelector("[data-request-sent]");
    say(sent, "");
    var more = []; // what a page's own script finds (the basket: a quantity below its minimum)
    form.dispatchEvent(new CustomEvent("portico:request-check", { detail: { problems: more } }));
    var found = more.concat(problems(form, settings.texts));
    if (found.length) {
      box.replaceChildren();
      var list = document.createElement("ul");
      found.forEach(function (problem) {
        var item = document.createElement("li");
        item.textContent = problem.message;
        list.appendChild(item);
      });
      box.appendChild(list);
      box.hidden = false;
      found[0].control.focus();
      return;
    }
    say(box, "");
    if (settings.channel === "form") {
      form.submit(); // the browser posts the form's own fields to the endpoint (the CSP allows only it)
      return;
    }
    var url = mailtoUrl(settings.email, form.getAttribute("data-subject"), message(form));
    if (url.length > settings.mailto_limit) {
      say(box, fill(settings.texts.too_long, { length: url.length, limit: settings.mailto_limit }));
      box.focus();
      return;
    }
    var link = document.createElement("a");
    link.href = url;
    link.setAttribute("data-request-mailto", "");
    link.textContent = settings.texts.open_link;
    sent.replaceChildren(document.createTextNode(settings.texts.opened + " "), link);
    sent.hidden = false;
    window.location.href = url;
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
