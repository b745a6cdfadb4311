/* Portico's encrypted file format, version 1, read in the browser (docs/encryption.md; the Python
 * side is generator/seal/blobs.py and slots.py). Decoding only: a blob opened with the session's
 * data key or with one content key from a direct link, and a key slot unlocked with a contact's
 * password. No page behaviour here (that is gate.js); no dependencies: WebCrypto and
 * DecompressionStream. Exposes `window.PorticoFormat`.
 */
(function (global) {
  "use strict";

  var MAGIC = "PTC1";
  var HEADER = 92; // magic 4, key id 16, wrap nonce 12, wrapped key 48, body nonce 12
  var KDF = "PBKDF2-SHA256";
  var encoder = new TextEncoder();
  var decoder = new TextDecoder();

  /* Every failure has a kind the page can explain: "damaged" (wrong key, another file's blob,
     altered bytes) or "wrong" (the e-mail address and password open no slot). */
  function FormatError(kind) {
    this.kind = kind;
  }

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

  /* ---- blobs ------------------------------------------------------------------------------ */

  /* Binds the format version, the customer's key id and the blob's published path. */
  function associatedData(keyId, path) {
    return concat([encoder.encode("portico/1\0"), keyId, encoder.encode("\0" + path)]);
  }

  function parseBlob(bytes) {
    if (bytes.length < HEADER + 16 || decoder.decode(bytes.subarray(0, 4)) !== MAGIC) {
      throw new FormatError("damaged");
    }
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

  /* Opens a blob published at `path` with the data key (a CryptoKey that may unwrap), or with the
     raw bytes of its one content key (a direct link). Returns {type, content}. */
  async function openBlob(bytes, path, dataKey, contentKeyBytes) {
    var blob = parseBlob(bytes);
    var aad = associatedData(blob.keyId, path);
    try {
      var contentKey = contentKeyBytes
        ? await crypto.subtle.importKey("raw", contentKeyBytes, "AES-GCM", false, ["decrypt"])
        : await crypto.subtle.unwrapKey("raw", blob.wrappedKey, dataKey,
            { name: "AES-GCM", iv: blob.wrapNonce, additionalData: aad }, "AES-GCM", false, ["decrypt"]);
      var plain = new Uint8Array(await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: blob.bodyNonce, additionalData: aad }, contentKey, blob.body));
      var length = new DataView(plain.buffer, plain.byteOffset).getUint32(0);
      var packed = await inflate(plain.subarray(4, 4 + length));
      var newline = packed.indexOf(10);
      return { type: decoder.decode(packed.subarray(0, newline)), content: packed.subarray(newline + 1) };
    } catch (error) {
      throw new FormatError("damaged");
    }
  }

  /* ---- key slots ---------------------------------------------------------------------------- */

  /* The id of a contact's slot: an HMAC of the normalised e-mail address under the portal's salt. */
  async function slotId(saltBase64, email) {
    var saltKey = await crypto.subtle.importKey("raw", fromBase64(saltBase64), { name: "HMAC", hash: "SHA-256" },
                                                false, ["sign"]);
    var mac = new Uint8Array(await crypto.subtle.sign("HMAC", saltKey, encoder.encode(email.trim().toLowerCase())));
    return toBase64(mac.subarray(0, 16));
  }

  /* The customer's data key, unwrapped as a non-extractable key that can only unwrap content keys.
     `gate` is the entry page's slot table ({kid, salt, slots}). One KDF per attempt: an unknown
     address costs as long as a wrong password. */
  async function unlockSlot(gate, email, password) {
    var id = await slotId(gate.salt, email);
    var slot = gate.slots.filter(function (s) { return s.id === id; })[0];
    var costly = slot || gate.slots[0];
    if (!costly || costly.kdf !== KDF) throw new FormatError("wrong");
    var base = await crypto.subtle.importKey("raw", encoder.encode(password), "PBKDF2", false, ["deriveKey"]);
    var wrapping = await crypto.subtle.deriveKey(
      { name: "PBKDF2", salt: fromBase64(costly.salt), iterations: costly.iter, hash: "SHA-256" },
      base, { name: "AES-GCM", length: 256 }, false, ["unwrapKey"]);
    if (!slot) throw new FormatError("wrong");
    var aad = concat([encoder.encode("portico/1\0slot\0"), fromBase64(gate.kid)]);
    try {
      return await crypto.subtle.unwrapKey("raw", fromBase64(slot.key), wrapping,
        { name: "AES-GCM", iv: fromBase64(slot.iv), additionalData: aad }, "AES-GCM", false, ["unwrapKey"]);
    } catch (error) {
      throw new FormatError("wrong");
    }
  }

  global.PorticoFormat = {
    FormatError: FormatError,
    fromBase64: fromBase64,
    toBase64: toBase64,
    sameBytes: sameBytes,
    parseBlob: parseBlob,
    openBlob: openBlob,
    slotId: slotId,
    unlockSlot: unlockSlot
  };
})(window);
