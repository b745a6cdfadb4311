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
     later click or Back/Forward overtook it (quick steps through history must end on the last).
     The counter lives on the window: showing a page re-runs this script, and an opening started
     by the previous run must still lose to a later one. */
  async function open(href) {
    var mine = window.porticoLatestOpen = (window.porticoLatestOpen || 0) + 1;
    try {
      var html = await gate.openPage(href);
      return mine === window.porticoLatestOpen ? html : null;
    } catch (error) {
      if (mine === window.porticoLatestOpen) location.assign(href); // the ordinary way: it signs in again, or explains
      return null;
    }
  }

  function show(html, scroll, href) {
    window.porticoShownAddress = href;
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
    show(html, 0, url.href);
  });

  async function showCurrentAddress(state) {
    var scroll = state && state.portico ? state.scroll : 0;
    var href = location.href;
    var html = await open(href);
    if (html !== null) show(html, scroll, href);
  }

  window.addEventListener("popstate", function (event) { showCurrentAddress(event.state); });

  /* Showing a page erases the window's listeners until this script has run again, so a Back or
     Forward in that moment finds no listener: the address moved without its page. Catch up. */
  if (window.porticoShownAddress && window.porticoShownAddress !== location.href) showCurrentAddress(history.state);
})();
