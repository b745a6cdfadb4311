/* Portico gate: sign-in, the session key, and opening encrypted pages and files in the browser.
 *
 * Format and key slots: docs/encryption.md (the Python side is generator/crypto.py).
 * On a shell page (one with #portico-payload) this script opens the payload with the session's
 * key, a direct link's key, or asks the contact to sign in. On an opened page it wires the
 * sign-out button and encrypted downloads. No dependencies; WebCrypto, IndexedDB and
 * DecompressionStream only. The data key is kept as a non-extractable CryptoKey.
 */
(function () {
  "use strict";

  var DB_NAME = "portico";
  var STORE = "sessions";
  var HEADER = 92; // magic 4, key id 16, wrap nonce 12, wrapped key 48, body nonce 12
  var NEXT_PATTERN = /^[a-z2-7]{16}\.html$/;
  var encoder = new TextEncoder();
  var decoder = new TextDecoder();

  function GateError(kind) {
    this.kind = kind;
  }

  /* ---- bytes ---------------------------------------------------------------------------- */

  function fromBase64(text) {
    text = text.replace(/-/g, "+").replace(/_/g, "/").replace(/\s+/g, "");
    while (text.length % 4) text += "=";
    var binary = atob(text);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  }

  function toBase64(bytes) {
    var binary = "";
    for (var i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return btoa(binary);
  }

  function concat(parts) {
    var size = parts.reduce(function (n, p) { return n + p.length; }, 0);
    var out = new Uint8Array(size);
    var offset = 0;
    parts.forEach(function (p) { out.set(p, offset); offset += p.length; });
    return out;
  }

  function sameBytes(a, b) {
    if (a.length !== b.length) return false;
    for (var i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  /* ---- where we are --------------------------------------------------------------------- */

  var segments = location.pathname.split("/");
  var fileName = decodeURIComponent(segments.pop() || "") || "index.html";
  var portal = decodeURIComponent(segments.pop() || "");
  var publishedPath = portal + "/" + fileName;

  var chosenMessages = null; // set when the sign-in page speaks the browser's language

  function messages() {
    if (chosenMessages) return chosenMessages;
    var node = document.getElementById("portico-messages");
    return node ? JSON.parse(node.textContent) : {};
  }

  /* A portal whose customer's language is unknown carries the sign-in texts in every language
     the theme speaks; pick the first of the browser's languages that is among them. */
  function followBrowserLanguage() {
    var node = document.getElementById("portico-languages");
    if (!node) return;
    var byLanguage = JSON.parse(node.textContent);
    var wanted = (navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || ""]);
    for (var i = 0; i < wanted.length; i++) {
      var full = String(wanted[i]).replace("-", "_");
      var candidates = [full, full.split("_")[0]];
      for (var j = 0; j < candidates.length; j++) {
        if (Object.prototype.hasOwnProperty.call(byLanguage, candidates[j])) {
          useLanguage(candidates[j].replace("_", "-"), byLanguage[candidates[j]]);
          return;
        }
      }
    }
  }

  function useLanguage(language, texts) {
    chosenMessages = texts;
    document.documentElement.lang = language;
    Array.prototype.forEach.call(document.querySelectorAll("[data-i18n]"), function (element) {
      var text = texts[element.getAttribute("data-i18n")];
      if (text) element.textContent = text;
    });
    say("opening", false);
  }

  /* ---- the format ------------------------------------------------------------------------ */

  function associatedData(keyId, path) {
    return concat([encoder.encode("portico/1\0"), keyId, encoder.encode("\0" + path)]);
  }

  function parseBlob(bytes) {
    if (bytes.length < HEADER + 16 || decoder.decode(bytes.subarray(0, 4)) !== "PTC1") throw new GateError("damaged");
    return {
      keyId: bytes.subarray(4, 20),
      wrapNonce: bytes.subarray(20, 32),
      wrappedKey: bytes.subarray(32, 80),
      bodyNonce: bytes.subarray(80, 92),
      body: bytes.subarray(HEADER)
    };
  }

  async function inflate(bytes) {
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate-raw"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  }

  /* Opens a blob with the session's data key, or with one content key from a direct link. */
  async function openBlob(bytes, path, dataKey, contentKeyBytes) {
    var blob = parseBlob(bytes);
    var aad = associatedData(blob.keyId, path);
    var contentKey;
    try {
      if (contentKeyBytes) {
        contentKey = await crypto.subtle.importKey("raw", contentKeyBytes, "AES-GCM", false, ["decrypt"]);
      } else {
        contentKey = await crypto.subtle.unwrapKey("raw", blob.wrappedKey, dataKey,
          { name: "AES-GCM", iv: blob.wrapNonce, additionalData: aad }, "AES-GCM", false, ["decrypt"]);
      }
      var plain = new Uint8Array(await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: blob.bodyNonce, additionalData: aad }, contentKey, blob.body));
      var length = new DataView(plain.buffer, plain.byteOffset).getUint32(0);
      var packed = await inflate(plain.subarray(4, 4 + length));
      var newline = packed.indexOf(10);
      return { type: decoder.decode(packed.subarray(0, newline)), content: packed.subarray(newline + 1) };
    } catch (error) {
      if (error instanceof GateError) throw error;
      throw new GateError("damaged");
    }
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

  function cookieName() {
    return "portico_" + portal.replace(/[^A-Za-z0-9_-]/g, "_");
  }

  function setCookie(value, remove) {
    var folder = location.pathname.replace(/[^/]*$/, "");
    document.cookie = cookieName() + "=" + value + "; path=" + folder + "; SameSite=Strict" +
      (remove ? "; max-age=0" : "") + (location.protocol === "https:" ? "; Secure" : "");
  }

  function readCookie() {
    var found = document.cookie.split("; ").filter(function (c) { return c.indexOf(cookieName() + "=") === 0; })[0];
    return found ? found.slice(cookieName().length + 1) : null;
  }

  /* A session is the portal's data key plus when it lapses. Without "remember me" it is tied
     to a session cookie, so it ends when the browser does. */
  async function loadSession() {
    var session = await store("readonly", function (s) { return s.get(portal); });
    if (!session) return { state: "none" };
    if (Date.now() > session.expires || (!session.remember && readCookie() !== session.token)) {
      await signOut();
      return { state: "expired" };
    }
    session.expires = Date.now() + session.idle;
    await store("readwrite", function (s) { return s.put(session, portal); });
    return { state: "ok", session: session };
  }

  async function saveSession(dataKey, keyId, gate, remember) {
    var token = toBase64(crypto.getRandomValues(new Uint8Array(16))).replace(/[^A-Za-z0-9]/g, "");
    var idle = remember ? gate.remember_days * 86400000 : gate.idle_minutes * 60000;
    await store("readwrite", function (s) {
      return s.put({ key: dataKey, keyId: keyId, idle: idle, expires: Date.now() + idle, remember: remember,
                     token: token }, portal);
    });
    if (!remember) setCookie(token, false);
  }

  async function signOut() {
    await store("readwrite", function (s) { return s.delete(portal); });
    setCookie("", true);
  }

  /* ---- sign-in: one KDF, then the data key is unwrapped as a non-extractable key ---------- */

  async function slotId(gate, email) {
    var saltKey = await crypto.subtle.importKey("raw", fromBase64(gate.salt), { name: "HMAC", hash: "SHA-256" },
                                                false, ["sign"]);
    var mac = new Uint8Array(await crypto.subtle.sign("HMAC", saltKey, encoder.encode(email.trim().toLowerCase())));
    return toBase64(mac.subarray(0, 16));
  }

  async function unlock(gate, email, password) {
    var id = await slotId(gate, email);
    var slot = gate.slots.filter(function (s) { return s.id === id; })[0];
    var costly = slot || gate.slots[0]; // an unknown e-mail costs the same time as a wrong password
    if (!costly || costly.kdf !== "PBKDF2-SHA256") throw new GateError("wrong");
    var base = await crypto.subtle.importKey("raw", encoder.encode(password), "PBKDF2", false, ["deriveKey"]);
    var wrapping = await crypto.subtle.deriveKey(
      { name: "PBKDF2", salt: fromBase64(costly.salt), iterations: costly.iter, hash: "SHA-256" },
      base, { name: "AES-GCM", length: 256 }, false, ["unwrapKey"]);
    if (!slot) throw new GateError("wrong");
    var keyId = fromBase64(gate.kid);
    try {
      return await crypto.subtle.unwrapKey("raw", fromBase64(slot.key), wrapping,
        { name: "AES-GCM", iv: fromBase64(slot.iv), additionalData: concat([encoder.encode("portico/1\0slot\0"), keyId]) },
        "AES-GCM", false, ["unwrapKey"]);
    } catch (error) {
      throw new GateError("wrong");
    }
  }

  /* ---- showing things --------------------------------------------------------------------- */

  function say(kind, isError) {
    var status = document.querySelector("[data-gate-status]");
    if (!status) return;
    status.textContent = messages()[kind] || kind;
    status.classList.toggle("error", Boolean(isError));
  }

  function show(opened) {
    document.open();
    document.write(decoder.decode(opened.content));
    document.close();
  }

  function readFragmentKey() {
    var match = /(?:^#|&)k=([A-Za-z0-9_-]{43})/.exec(location.hash);
    if (!location.hash) return null;
    history.replaceState(null, "", location.pathname + location.search); // the key leaves the address bar
    return match ? fromBase64(match[1]) : null;
  }

  function supported() {
    return Boolean(window.crypto && crypto.subtle && window.indexedDB && window.DecompressionStream &&
                   window.TextEncoder && window.Promise && window.history && history.replaceState);
  }

  function askToSignIn(reason) {
    var gateNode = document.getElementById("portico-gate");
    if (!gateNode) {
      var query = "?next=" + encodeURIComponent(fileName) + (reason ? "&why=" + reason : "");
      location.replace("./" + query);
      return;
    }
    var gate = JSON.parse(gateNode.textContent);
    var params = new URLSearchParams(location.search);
    var why = reason || params.get("why");
    if (why && messages()[why]) say(why, why !== "signed_out"); else say("", false);
    var form = document.querySelector("[data-gate-form]");
    form.hidden = false;
    form.elements.email.focus();
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      var button = form.querySelector("button");
      button.disabled = true;
      say("signing_in", false);
      try {
        var dataKey = await unlock(gate, form.elements.email.value, form.elements.password.value);
        var payload = fromBase64(document.getElementById("portico-payload").textContent);
        var opened = await openBlob(payload, publishedPath, dataKey, null); // proves the key before keeping it
        await saveSession(dataKey, gate.kid, gate, form.elements.remember.checked);
        var next = params.get("next");
        if (next && NEXT_PATTERN.test(next)) location.replace("./" + next);
        else show(opened);
      } catch (error) {
        say(error instanceof GateError ? error.kind : "damaged", true);
        form.elements.password.value = "";
        form.elements.password.focus();
      } finally {
        button.disabled = false;
      }
    });
  }

  async function openShell(payloadNode) {
    var payload = fromBase64(payloadNode.textContent);
    var linkKey = readFragmentKey();
    if (linkKey) {
      show(await openBlob(payload, publishedPath, null, linkKey));
      return;
    }
    var loaded = await loadSession();
    if (loaded.state !== "ok") {
      askToSignIn(loaded.state === "expired" ? "expired" : null);
      return;
    }
    if (!sameBytes(parseBlob(payload).keyId, fromBase64(loaded.session.keyId))) {
      await signOut(); // the portal's keys were rotated since this session began
      askToSignIn("rotated");
      return;
    }
    show(await openBlob(payload, publishedPath, loaded.session.key, null));
  }

  /* ---- on an opened page: sign-out and encrypted downloads ------------------------------- */

  function download(link) {
    link.addEventListener("click", async function (event) {
      event.preventDefault();
      try {
        var loaded = await loadSession();
        if (loaded.state !== "ok") { askToSignIn("expired"); return; }
        var target = new URL(link.getAttribute("href"), location.href);
        var response = await fetch(target.href, { credentials: "same-origin" });
        if (!response.ok) throw new GateError("download_failed");
        var bytes = new Uint8Array(await response.arrayBuffer());
        var opened = await openBlob(bytes, portal + "/" + target.pathname.split("/").pop(), loaded.session.key, null);
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

  function alertInPage(kind) {
    var note = document.createElement("p");
    note.className = "gate-status error";
    note.setAttribute("role", "alert");
    note.textContent = messages()[kind] || "The file could not be opened.";
    (document.querySelector("main") || document.body).prepend(note);
  }

  function enhanceOpenedPage() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-sign-out]"), function (button) {
      button.addEventListener("click", async function () {
        await signOut();
        location.replace("./?why=signed_out");
      });
    });
    Array.prototype.forEach.call(document.querySelectorAll('a[href$=".bin"]'), download);
  }

  /* ---- start ------------------------------------------------------------------------------ */

  var payloadNode = document.getElementById("portico-payload");
  if (payloadNode) followBrowserLanguage();
  if (!payloadNode) {
    if (supported()) enhanceOpenedPage();
    return;
  }
  if (!supported()) {
    say("unsupported", true);
    return;
  }
  openShell(payloadNode).catch(function (error) {
    say(error instanceof GateError ? error.kind : "damaged", true);
  });
})();
