/* portico serve: reload the page after a rebuild, swap stylesheets after a CSS-only change,
   show a failed build as an overlay. Added by the dev server to every HTML page it serves. */
(function () {
  "use strict";
  if (window.__porticoReload) return; // once per tab, even when an opened portal page replaces the document
  window.__porticoReload = true;
  var OVERLAY = "portico-build-error";

  function overlay(event) {
    var box = document.getElementById(OVERLAY);
    if (!box) {
      box = document.createElement("div");
      box.id = OVERLAY;
      box.setAttribute("role", "alert");
      var s = box.style;
      s.position = "fixed"; s.inset = "0"; s.zIndex = "2147483647"; s.overflow = "auto";
      s.background = "rgba(20, 20, 30, .92)"; s.color = "#fff"; s.padding = "2rem";
      s.font = "14px/1.5 ui-monospace, monospace"; s.whiteSpace = "pre-wrap";
      document.body.appendChild(box);
    }
    box.textContent = "Build failed\n\n" + event.message + (event.file ? "\n\nin " + event.file : "");
  }

  function clearOverlay() {
    var box = document.getElementById(OVERLAY);
    if (box) box.remove();
  }

  /* Stylesheet names carry a hash of their content, so a changed stylesheet has a new name:
     `swap` maps old file names to new ones. The integrity hash goes with the old file. */
  function swapStylesheets(swap) {
    Array.prototype.forEach.call(document.querySelectorAll('link[rel="stylesheet"]'), function (link) {
      var url = new URL(link.href);
      var segments = url.pathname.split("/");
      var renamed = swap[segments[segments.length - 1]];
      if (!renamed) return;
      segments[segments.length - 1] = renamed;
      url.pathname = segments.join("/");
      link.removeAttribute("integrity");
      link.href = url.href;
    });
    clearOverlay();
  }

  var script = document.currentScript;
  var since = script ? new URL(script.src).searchParams.get("since") : null;
  var source = new EventSource("/__portico/events" + (since ? "?since=" + since : ""));
  source.onmessage = function (message) {
    var event = JSON.parse(message.data);
    if (event.type === "reload") location.reload();
    else if (event.type === "css") swapStylesheets(event.swap || {});
    else if (event.type === "error") overlay(event);
    else clearOverlay();
  };
})();
