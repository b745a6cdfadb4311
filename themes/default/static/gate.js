/* Portico gate: sign-in, the session key, and showing encrypted pages and files in the browser.
 *
 * On a portal's entry shell (its one public page, body marked data-portico-sealed), this script
 * fetches the blob of the page the address names (`./?p=<name>`: `<name>.bin`; no name: the
 * entry page's `index.bin`) and opens it with the session's key or a direct link's key, or asks
 * the contact to sign in. On an opened page it wires the
 * sign-out button and encrypted downloads. Reading the format itself is portico-format.js
 * (loaded first); this file is page behaviour only. No dependencies: WebCrypto, IndexedDB. The
 * data key is kept as a non-extractable CryptoKey.
 */
(function () {
  "use strict";

  var format = window.PorticoFormat;
  var DB_NAME = "portico";
  var STORE = "sessions";
  var PAGE_NAME = /^[a-z2-7]{16}$/;
  var RENEW_AFTER = 60000;
  var decoder = new TextDecoder();

  /* ---- where we are --------------------------------------------------------------------- */

  var segments = location.pathname.split("/");
  segments.pop(); // "" or "index.html": the entry shell opens every page of the portal
  var portal = decodeURIComponent(segments.pop() || "");
  var folder = location.pathname.replace(/[^/]*$/, "");

  /* The page an address names (null: the entry page), and the blob it is published as. */
  function pageOf(url) {
    var name = url.searchParams.get("p");
    return name && PAGE_NAME.test(name) ? name : null;
  }

  function blobName(page) {
    return page ? page + ".bin" : "index.bin";
  }

  var currentPage = pageOf(new URL(location.href));
  var publishedPath = portal + "/" + blobName(currentPage);

  async function fetchBlob(page, options) {
    var url = new URL(blobName(page), location.href);
    var response = await fetch(url.href, Object.assign({ credentials: "same-origin" }, options || {}));
    if (!response.ok) throw new format.FormatError("damaged");
    return new Uint8Array(await response.arrayBuffer());
  }

  var pageBlob = null; // this address's page, fetched while the shell starts (a promise)

  /* ---- what the page says ----------------------------------------------------------------- */

  /* The words of the gate's messages, in every language the theme speaks (sign-in-texts.js, one
     shared file). A shell is the same for every portal, so it cannot know its customer's
     language: it speaks the browser's. An opened page speaks its own (<html lang>). */
  var chosenMessages = null;

  function textsFor(wanted) {
    var texts = window.PorticoSignInTexts;
    if (!texts) return null;
    for (var i = 0; i < wanted.length; i++) {
      var full = String(wanted[i]).replace("-", "_");
      var candidates = [full, full.split("_")[0]];
      for (var j = 0; j < candidates.length; j++) {
        if (Object.prototype.hasOwnProperty.call(texts.languages, candidates[j])) {
          return { language: candidates[j], texts: texts.languages[candidates[j]] };
        }
      }
    }
    var fallback = texts.languages[texts["default"]] ? texts["default"] : Object.keys(texts.languages)[0];
    return fallback ? { language: fallback, texts: texts.languages[fallback] } : null;
  }

  function messages() {
    if (!chosenMessages) {
      var found = textsFor([document.documentElement.lang]);
      chosenMessages = found ? found.texts : {};
    }
    return chosenMessages;
  }

  function followBrowserLanguage() {
    var wanted = (navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || ""]);
    var found = textsFor(wanted);
    if (found) useLanguage(found.language, found.texts);
  }

  function useLanguage(language, texts) {
    chosenMessages = texts;
    document.documentElement.lang = language.replace("_", "-");
    Array.prototype.forEach.call(document.querySelectorAll("[data-i18n]"), function (element) {
      var text = texts[element.getAttribute("data-i18n")];
      if (text) element.textContent = text;
    });
    say("opening", false);
  }

  function say(kind, isError) {
    var status = document.querySelector("[data-gate-status]");
    if (!status) return;
    status.textContent = messages()[kind] || kind;
    status.classList.toggle("error", Boolean(isError));
  }

  function alertInPage(kind) {
    var note = document.createElement("p");
    note.className = "gate-status error";
    note.setAttribute("role", "alert");
    note.textContent = messages()[kind] || "The file could not be opened.";
    (document.querySelector("main") || document.body).prepend(note);
  }

  function kindOf(error) {
    return error instanceof format.FormatError ? error.kind : "damaged";
  }

  /* ---- sessions: one per portal, in IndexedDB -------------------------------------------- */

  function database() {
    return new Promise(function (resolve, reject) {
      var request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = function () { request.result.createObjectStore(STORE); };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  async function store(mode, action) {
    var db = await database();
    return new Promise(function (resolve, reject) {
      var request = action(db.transaction(STORE, mode).objectStore(STORE));
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  /* The site's root path: a portal is the folder below it. */
  var siteRoot = location.pathname.replace(/[^/]*\/[^/]*$/, "");

  function cookieName(folder) {
    return "portico_" + folder.replace(/[^A-Za-z0-9_-]/g, "_");
  }

  function setCookie(folder, value, remove) {
    document.cookie = cookieName(folder) + "=" + value + "; path=" + siteRoot + folder + "/; SameSite=Strict" +
      (remove ? "; max-age=0" : "") + (location.protocol === "https:" ? "; Secure" : "");
  }

  function readCookie() {
    var name = cookieName(portal) + "=";
    var found = document.cookie.split("; ").filter(function (c) { return c.indexOf(name) === 0; })[0];
    return found ? found.slice(name.length) : null;
  }

  /* A session is the portal's data key plus when it lapses. Without "remember me" it is tied
     to a session cookie, so it ends when the browser does. */
  async function loadSession() {
    var session = await store("readonly", function (s) { return s.get(portal); });
    if (!session) {
      forgetTabState(portal); // signed out meanwhile (another tab, another window): nothing of it stays here
      return { state: "none" };
    }
    if (Date.now() > session.expires || (!session.remember && readCookie() !== session.token)) {
      await endSession(portal);
      return { state: "expired" };
    }
    var slack = Math.min(RENEW_AFTER, session.idle / 4); // the idle time restarts; written at most once a minute
    if (session.expires - Date.now() < session.idle - slack) {
      session.expires = Date.now() + session.idle;
      await store("readwrite", function (s) { return s.put(session, portal); });
    }
    return { state: "ok", session: session };
  }

  /* One session per portal folder. A key ring (a person who may open several customers' portals)
     gives a session for each of them at one sign-in, each with the ring's names for the switcher. */
  async function saveSession(folder, dataKey, keyId, gate, remember, ring) {
    var token = format.toBase64(crypto.getRandomValues(new Uint8Array(16))).replace(/[^A-Za-z0-9]/g, "");
    var idle = remember ? gate.remember_days * 86400000 : gate.idle_minutes * 60000;
    await store("readwrite", function (s) {
      return s.put({ key: dataKey, keyId: keyId, idle: idle, expires: Date.now() + idle, remember: remember,
                     token: token, ring: ring }, folder);
    });
    if (!remember) setCookie(folder, token, false);
  }

  async function saveSessions(unlocked, gate, remember) {
    var ring = unlocked.ring.map(function (entry) { return { portal: entry.portal, name: entry.name }; });
    await saveSession(portal, unlocked.dataKey, gate.kid, gate, remember, ring);
    for (var i = 0; i < unlocked.ring.length; i++) {
      var entry = unlocked.ring[i];
      if (entry.portal !== portal) await saveSession(entry.portal, entry.dataKey, entry.kid, gate, remember, ring);
    }
  }

  async function endSession(folder) {
    await store("readwrite", function (s) { return s.delete(folder); });
    setCookie(folder, "", true);
    forgetTabState(folder);
  }

  /* What the portal's pages keep in this tab (the basket: "portico:<folder>:..." keys) goes too. */
  function forgetTabState(folder) {
    try {
      var prefix = "portico:" + folder + ":";
      for (var i = sessionStorage.length - 1; i >= 0; i--) {
        var key = sessionStorage.key(i);
        if (key && key.indexOf(prefix) === 0) sessionStorage.removeItem(key);
      }
    } catch (error) { /* storage off: nothing was kept */ }
  }

  /* Signs out of this portal and of every portal its key ring opened with it. */
  async function signOut() {
    var session = await store("readonly", function (s) { return s.get(portal); });
    var folders = [portal].concat(((session && session.ring) || []).map(function (e) { return e.portal; }));
    folders = folders.filter(function (folder, i) { return folders.indexOf(folder) === i; });
    for (var i = 0; i < folders.length; i++) await endSession(folders[i]);
    return folders;
  }

  /* Signing out in one tab signs out every tab of this portal: they leave their decrypted page. */
  var channel = window.BroadcastChannel ? new BroadcastChannel("portico-sessions") : null;

  function announceSignOut(folders) {
    if (channel) folders.forEach(function (folder) { channel.postMessage({ signedOut: folder }); });
  }

  function leaveWhenSignedOutElsewhere() {
    if (!channel) return;
    channel.onmessage = function (event) {
      if (!event.data || event.data.signedOut !== portal) return;
      document.body.replaceChildren(); // the decrypted content goes at once, before the navigation
      forgetTabState(portal); // this tab's basket too (session storage is each tab's own)
      location.replace("./?why=signed_out");
    };
  }

  /* ---- showing things --------------------------------------------------------------------- */

  /* Only a page is ever written into the window: an address may name any blob of the portal
     (`?p=` a download's name), and a CSV or a document is data, never markup. The media type is
     inside the authenticated plaintext, so it is the encoder's word, not the address's. */
  function pageHtml(opened) {
    if (!/^text\/html(;|$)/.test(opened.type)) throw new format.FormatError("damaged");
    return decoder.decode(opened.content);
  }

  function show(opened) {
    var html = pageHtml(opened);
    document.open();
    document.write(html);
    document.close();
  }

  /* A direct link's page key (`#k=`) and, for a document the page lists, that file's key (`&d=`);
     or a personal sign-in link's login key (`#s=`). */
  function readFragmentKeys() {
    if (!location.hash) return {};
    function key(name) {
      var found = new RegExp("(?:^#|&)" + name + "=([A-Za-z0-9_-]{43})").exec(location.hash);
      return found ? format.fromBase64(found[1]) : null;
    }
    var keys = { page: key("k"), download: key("d"), login: key("s") };
    history.replaceState(null, "", location.pathname + location.search); // the key leaves the address bar
    return keys;
  }

  /* The page a direct link opened is written into this same window, whose gate.js runs again:
     the one file key the link carried waits here for the download link it opens. */
  var LINKED_FILE = "porticoLinkedFileKey";
  var DIRECT_LINK = "porticoOpenedByDirectLink";

  /* The entry page opened with a personal sign-in link: the link's key opens the contact's slot,
     as their password would; the session is this browser's until it ends (never "remember me"). */
  async function signInWithLink(loginKey, payload) {
    var gate = JSON.parse(document.getElementById("portico-gate").textContent);
    try {
      var unlocked = await format.unlockWithLoginKey(gate, loginKey);
      var opened = await format.openBlob(payload, publishedPath, unlocked.dataKey, null);
      await saveSessions(unlocked, gate, false);
      show(opened);
    } catch (error) {
      askToSignIn("rotated"); // a link from before a password change or a re-key
    } finally {
      loginKey.fill(0);
    }
  }

  function supported() {
    return Boolean(format && window.crypto && crypto.subtle && window.indexedDB && window.DecompressionStream &&
                   window.TextEncoder && window.Promise && window.history && history.replaceState);
  }

  /* ---- sign-in ------------------------------------------------------------------------------ */

  function askToSignIn(reason) {
    var gateNode = document.getElementById("portico-gate");
    if (!gateNode) { // an opened page (a download after the session ended): its address asks, reloaded
      var query = new URLSearchParams();
      if (currentPage) query.set("p", currentPage);
      query.set("why", reason || "expired");
      location.replace(location.pathname + "?" + query.toString());
      return;
    }
    var gate = JSON.parse(gateNode.textContent);
    var params = new URLSearchParams(location.search);
    var why = reason || params.get("why");
    if (why && messages()[why]) say(why, why !== "signed_out"); else say("", false);
    var form = document.querySelector("[data-gate-form]");
    form.hidden = false;
    form.elements.email.focus();
    offerPasswordHelp(form);
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      var button = form.querySelector("button");
      button.disabled = true;
      say("signing_in", false);
      try {
        var unlocked = await format.unlockSlot(gate, form.elements.email.value, form.elements.password.value);
        var entry = await format.openBlob(await fetchBlob(null, { cache: "no-cache" }), portal + "/" + blobName(null),
                                          unlocked.dataKey, null); // proves the key (every portal has an entry page)
        await saveSessions(unlocked, gate, form.elements.remember.checked);
        show(await addressedOr(entry, unlocked.dataKey));
      } catch (error) {
        say(kindOf(error), true);
        form.elements.password.value = "";
        form.elements.password.focus();
      } finally {
        button.disabled = false;
      }
    });
  }

  /* After a sign-in: the page the address names, or the entry page when that page is no more (a
     bookmark from before a re-key, which renames every page; an order since removed). */
  async function addressedOr(entry, dataKey) {
    if (currentPage) {
      try {
        var opened = await format.openBlob(await pageBlob, publishedPath, dataKey, null);
        history.replaceState(null, "", "./?p=" + currentPage);
        return opened;
      } catch (error) {
        currentPage = null;
      }
    }
    history.replaceState(null, "", "./");
    return entry;
  }

  /* "Forgot your password?": a request to staff through the portal's actions channel, the
     address typed so far filled in (an e-mail to staff, or the form endpoint). */
  function offerPasswordHelp(signIn) {
    var help = document.querySelector("[data-gate-forgot]");
    if (!help) return;
    help.hidden = false;
    var portalAddress = location.origin + location.pathname.replace(/[^/]*$/, "");
    var mail = help.querySelector("[data-forgot-mail]");
    if (mail) {
      var staff = mail.getAttribute("href").replace(/^mailto:/, "").split("?")[0];
      mail.addEventListener("click", function () {
        var texts = messages();
        var body = (texts.forgot_body || "{email}\n{portal}")
          .replace("{email}", signIn.elements.email.value.trim())
          .replace("{portal}", portalAddress);
        mail.href = "mailto:" + staff + "?subject=" + encodeURIComponent(texts.forgot_subject || "") +
          "&body=" + encodeURIComponent(body);
      });
    }
    var form = help.querySelector("[data-forgot-form]");
    if (form) {
      form.querySelector("[data-forgot-portal]").value = portalAddress;
      help.addEventListener("toggle", function () {
        if (help.open && !form.elements.email.value) form.elements.email.value = signIn.elements.email.value.trim();
      });
    }
  }

  async function openShell() {
    var keys = readFragmentKeys();
    if (keys.page) {
      Object.defineProperty(window, DIRECT_LINK, { value: true });
      if (keys.download) Object.defineProperty(window, LINKED_FILE, { value: keys.download });
      show(await format.openBlob(await pageBlob, publishedPath, null, keys.page));
      return;
    }
    if (keys.login) {
      await signInWithLink(keys.login, await pageBlob);
      return;
    }
    var loaded = await loadSession();
    if (loaded.state !== "ok") {
      askToSignIn(loaded.state === "expired" ? "expired" : null);
      return;
    }
    var opened;
    try {
      opened = await format.openBlob(await pageBlob, publishedPath, loaded.session.key, null);
    } catch (error) {
      await explainUnopened(loaded.session);
      return;
    }
    show(opened);
  }

  /* The session's key does not open this page. Either the portal was re-keyed since the session
     began (then its entry page does not open either: sign in again), or this page is damaged,
     stale in a cache, or not this portal's (the entry page opens: say so). Nothing a blob claims
     before it is authenticated ends a session; a successful sign-in replaces it. */
  async function explainUnopened(session) {
    if (!currentPage || !(await entryOpensWith(session.key))) askToSignIn("rotated");
    else say("damaged", true);
  }

  async function entryOpensWith(dataKey) {
    try {
      var blob = await fetchBlob(null, { cache: "no-cache" });
      await format.openBlob(blob, portal + "/" + blobName(null), dataKey, null);
      return true;
    } catch (error) {
      return false;
    }
  }

  /* ---- on an opened page: sign-out and encrypted downloads ------------------------------- */

  function download(link) {
    link.addEventListener("click", async function (event) {
      event.preventDefault();
      try {
        var target = new URL(link.getAttribute("href"), location.href);
        var path = portal + "/" + target.pathname.split("/").pop();
        var response = await fetch(target.href, { credentials: "same-origin" });
        if (!response.ok) throw new format.FormatError("download_failed");
        var bytes = new Uint8Array(await response.arrayBuffer());
        var opened = await openLinkedFile(bytes, path);
        if (!opened) {
          var loaded = await loadSession();
          if (loaded.state !== "ok") { askToSignIn("expired"); return; }
          opened = await format.openBlob(bytes, path, loaded.session.key, null);
        }
        var url = URL.createObjectURL(new Blob([opened.content], { type: opened.type }));
        var save = document.createElement("a");
        save.href = url;
        save.download = link.getAttribute("download") || "download";
        document.body.appendChild(save);
        save.click();
        save.remove();
        setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
      } catch (error) {
        alertInPage("download_failed");
      }
    });
  }

  /* The file a direct link named opens with its own key; any other needs a session. */
  async function openLinkedFile(bytes, path) {
    if (!window[LINKED_FILE]) return null;
    try {
      return await format.openBlob(bytes, path, null, window[LINKED_FILE]);
    } catch (error) {
      return null;
    }
  }

  /* A page a direct link opened shows that page alone: a banner says so and offers the sign-in,
     and nothing links into pages the link cannot open (their text stays). */
  function limitToOnePage() {
    document.body.classList.add("direct-link");
    ["[data-nav-toggle]", ".site-nav", "[data-portal-switcher]", "[data-sign-out]"].forEach(function (selector) {
      Array.prototype.forEach.call(document.querySelectorAll(selector), function (node) { node.remove(); });
    });
    var keepDownloads = Boolean(window[LINKED_FILE]);
    Array.prototype.forEach.call(document.querySelectorAll("a[href]"), function (link) {
      var href = link.getAttribute("href");
      var local = !/^[a-z][a-z0-9+.-]*:/i.test(href) && href.charAt(0) !== "#";
      if (!local || (keepDownloads && /\.bin$/.test(href))) return;
      var text = document.createElement("span");
      text.textContent = link.textContent;
      link.replaceWith(text);
    });
    var texts = messages();
    var banner = document.createElement("div");
    banner.className = "direct-link-banner";
    banner.setAttribute("role", "note");
    var note = document.createElement("p");
    note.textContent = texts.link_only || "";
    var signIn = document.createElement("a");
    signIn.className = "button primary";
    signIn.href = "./";
    signIn.textContent = texts.sign_in || "Sign in";
    banner.appendChild(note);
    banner.appendChild(signIn);
    var main = document.querySelector("main");
    if (main) main.insertBefore(banner, main.firstChild);
  }

  function enhanceOpenedPage() {
    if (window[DIRECT_LINK]) {
      limitToOnePage();
      Array.prototype.forEach.call(document.querySelectorAll('a[href$=".bin"]'), download);
      return;
    }
    Array.prototype.forEach.call(document.querySelectorAll("[data-sign-out]"), function (button) {
      button.addEventListener("click", async function () {
        announceSignOut(await signOut());
        location.replace("./?why=signed_out");
      });
    });
    leaveWhenSignedOutElsewhere();
    offerOtherPortals();
    Array.prototype.forEach.call(document.querySelectorAll('a[href$=".bin"]'), download);
  }

  /* The portals a key ring opened with this one, as links in the header. */
  async function offerOtherPortals() {
    var switcher = document.querySelector("[data-portal-switcher]");
    if (!switcher) return;
    var session = await store("readonly", function (s) { return s.get(portal); });
    var others = ((session && session.ring) || []).filter(function (entry) { return entry.portal !== portal; });
    if (!others.length) return;
    var list = switcher.querySelector("ul");
    others.forEach(function (entry) {
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = siteRoot + encodeURIComponent(entry.portal) + "/";
      link.textContent = entry.name;
      item.appendChild(link);
      list.appendChild(item);
    });
    switcher.hidden = false;
  }

  /* ---- the next page, opened in place (navigate.js moves between pages with it) ----------- */

  /* Fetches a page of this portal and opens it with the session's key: its HTML, for the caller
     to show. Throws when it cannot (no session, another portal, a damaged page); the caller then
     loads the page the ordinary way, which explains why. */
  async function openPage(href) {
    var target = new URL(href, location.href);
    if (target.origin !== location.origin || target.pathname.replace(/[^/]*$/, "") !== folder) {
      throw new Error("not this portal");
    }
    var page = pageOf(target);
    if (target.search && !page) throw new Error("not a page of the portal");
    var loaded = await loadSession();
    if (loaded.state !== "ok") throw new Error("no session");
    var blob = await fetchBlob(page);
    var opened = await format.openBlob(blob, portal + "/" + blobName(page), loaded.session.key, null);
    return pageHtml(opened);
  }

  /* ---- start ------------------------------------------------------------------------------ */

  var sealed = document.body.hasAttribute("data-portico-sealed");
  if (sealed) followBrowserLanguage();
  if (!sealed) {
    if (supported()) {
      enhanceOpenedPage();
      if (!window[DIRECT_LINK]) window.PorticoGate = { openPage: openPage };
    }
    return;
  }
  if (!supported()) {
    say("unsupported", true);
    return;
  }
  pageBlob = fetchBlob(currentPage);
  pageBlob.catch(function () {}); // awaited where it is needed; a failure is reported there
  openShell().catch(function (error) {
    say(kindOf(error), true);
  });
})();
