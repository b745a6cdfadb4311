/* Portico navigation: moving between the pages of a signed-in portal without reloading. A click
   on a link to another page of the portal (./?p=<name>) fetches that page's blob and opens it with the session's key
   (gate.js's PorticoGate.openPage), then shows it in place: the address bar, Back and Forward,
   the title, the scroll position and the focus behave as after an ordinary page load. Anything
   else (another site, a download, a new tab, a page that does not open) is left to the browser.
   No dependencies. */
(function () {
  "use strict";

  var gate = window.PorticoGate;
  if (!gate || !window.history || !history.pushState) return;

  function inPlaceTarget(event) {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey ||
        event.altKey) return null;
    var link = event.target.closest ? event.target.closest("a[href]") : null;
    if (!link || link.hasAttribute("download") || (link.target && link.target !== "_self")) return null;
    var url = new URL(link.getAttribute("href"), location.href);
    var samePortal = url.pathname.replace(/[^/]*$/, "") === location.pathname.replace(/[^/]*$/, "");
    if (url.origin !== location.origin || !samePortal || /\.bin$/.test(url.pathname) || url.hash) return null;
    return url; // a page of this portal: ./ or ./?p=<name>
  }

  /* The page's HTML, or null when it does not open in place (then the browser loads it) or when a
     later click or Back/Forward overtook it (quick steps through history must end on the last). */
  var latest = 0;

  async function open(href) {
    var mine = ++latest;
    try {
      var html = await gate.openPage(href);
      return mine === latest ? html : null;
    } catch (error) {
      if (mine === latest) location.assign(href); // the ordinary way: it signs in again, or explains
      return null;
    }
  }

  function show(html, scroll) {
    document.open();
    document.write(html);
    document.close();
    requestAnimationFrame(function () {
      window.scrollTo(0, scroll || 0);
      var main = document.getElementById("main");
      if (main) main.focus({ preventScroll: true }); // as after a load: reading starts at the page
    });
  }

  document.addEventListener("click", async function (event) {
    var url = inPlaceTarget(event);
    if (!url) return;
    event.preventDefault();
    var html = await open(url.href);
    if (html === null) return;
    history.replaceState({ portico: true, scroll: window.scrollY }, "");
    history.pushState({ portico: true, scroll: 0 }, "", url.href);
    show(html, 0);
  });

  window.addEventListener("popstate", async function (event) {
    var scroll = event.state && event.state.portico ? event.state.scroll : 0;
    var html = await open(location.href);
    if (html !== null) show(html, scroll);
  });
})();
