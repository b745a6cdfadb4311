/* Portico's encrypted file format, version 2, read in the browser (docs/encryption.md; the Python
 * side is generator/seal/blobs.py and slots.py). Decoding only: a blob opened with the session's
 * data key or with one content key from a direct link, and a key slot unlocked with a contact's
 * password. No page behaviour here (that is gate.js); no dependencies: WebCrypto and
 * DecompressionStream. Exposes `window.PorticoFormat`.
 */
(function (global) {
  "use strict";

  var MAGIC = "PTC2";
  var VERSION = "portico/2";
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

  /* ---- blobs ------------------------------------------------------------------------------ */

  /* Binds the format version, the customer's key id and the blob's published path. */
  function associatedData(keyId, path) {
    return concat([encoder.encode(VERSION + "\0"), keyId, encoder.encode("\0" + path)]);
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

  async function sha256(bytes) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  }

  /* The KDF's salt: the portal's salt and the normalised e-mail address. */
  async function loginSalt(portalSalt, email) {
    return sha256(concat([encoder.encode(VERSION + "\0login\0"), portalSalt,
                          encoder.encode("\0" + email.trim().toLowerCase())]));
  }

  /* Unlocks the contact's slot: one KDF, then the key tried on every slot (nothing public says
     which slot is whose, or whether the address has one at all: an unknown address costs the same
     KDF and fails the same way). `gate` is the entry page's table ({kid, salt, kdf, iter, slots}).
     Returns {dataKey, ring}: the data key as a non-extractable key that can only unwrap content
     keys, and the key ring of the contact's other portals (parsed JSON, [] when there is none). */
  async function unlockSlot(gate, email, password) {
    if (gate.kdf !== KDF || !gate.slots || !gate.slots.length) throw new FormatError("wrong");
    var base = await crypto.subtle.importKey("raw", encoder.encode(password), "PBKDF2", false, ["deriveKey"]);
    var wrapping = await crypto.subtle.deriveKey(
      { name: "PBKDF2", salt: await loginSalt(fromBase64(gate.salt), email), iterations: gate.iter, hash: "SHA-256" },
      base, { name: "AES-GCM", length: 256 }, false, ["decrypt"]);
    return openSlots(gate, wrapping);
  }

  /* A personal sign-in link carries the KDF's output itself (in the fragment, never sent to a
     server): the same slot opens with it, without the password and without the KDF. */
  async function unlockWithLoginKey(gate, raw) {
    if (gate.kdf !== KDF || !gate.slots || !gate.slots.length || raw.length !== 32) throw new FormatError("wrong");
    var wrapping = await crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["decrypt"]);
    return openSlots(gate, wrapping);
  }

  async function openSlots(gate, wrapping) {
    var aad = concat([encoder.encode(VERSION + "\0slot\0"), fromBase64(gate.kid)]);
    for (var i = 0; i < gate.slots.length; i++) {
      var plain;
      try {
        plain = new Uint8Array(await crypto.subtle.decrypt(
          { name: "AES-GCM", iv: fromBase64(gate.slots[i].iv), additionalData: aad }, wrapping,
          fromBase64(gate.slots[i].key)));
      } catch (error) {
        continue; // not this contact's slot (or a decoy)
      }
      try {
        return await unpackSlot(plain);
      } finally {
        plain.fill(0); // the raw key lives no longer than it must
      }
    }
    throw new FormatError("wrong");
  }

  /* A slot's plaintext: the data key (32 bytes), the ring's length (4 bytes) and the ring (JSON). */
  async function unpackSlot(plain) {
    var dataKey = await importDataKey(plain.subarray(0, 32));
    var ringLength = new DataView(plain.buffer, plain.byteOffset).getUint32(32);
    var ring = ringLength ? JSON.parse(decoder.decode(plain.subarray(36, 36 + ringLength))) : [];
    for (var i = 0; i < ring.length; i++) {
      var raw = fromBase64(ring[i].key);
      ring[i] = { portal: ring[i].portal, kid: ring[i].kid, name: ring[i].name, dataKey: await importDataKey(raw) };
      raw.fill(0);
    }
    return { dataKey: dataKey, ring: ring };
  }

  function importDataKey(raw) {
    return crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["unwrapKey"]);
  }

  global.PorticoFormat = {
    FormatError: FormatError,
    fromBase64: fromBase64,
    toBase64: toBase64,
    parseBlob: parseBlob,
    openBlob: openBlob,
    unlockSlot: unlockSlot,
    unlockWithLoginKey: unlockWithLoginKey
  };
})(window);
