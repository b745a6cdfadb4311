"""The encrypted file format (version 2).

Specified in docs/encryption.md; the browser's decoder is themes/default/static/portico-format.js.
In short:

* every file of a customer is sealed with its own content key (CEK), which is wrapped by the
  customer's data key; a session holds the data key, a direct link carries one CEK;
* AES-256-GCM throughout; the associated data binds the format version, the customer's key id
  and the file's published path, so a blob moved to another file or customer fails to open;
* nonces, CEKs and file names are derived by HMAC from a per-customer file key, so the same
  inputs and keystore give byte-identical output, and a nonce repeats only for identical input;
* the plaintext is padded to a size class, so a file's size says little of what it holds.

The key slots that unlock a customer's data key are in `slots.py`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct
import zlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from isal import isal_zlib

MAGIC = b"PTC2"
# Pages are deflated by ISA-L at its level 1: a third of zlib's level 1 time for the same size
# (Online Retail's pages: 36 against 117 µs each, 1% larger); they are padded to a size class anyway.
DEFLATE_LEVEL = 1
RAW_DEFLATE = -15  # no zlib header: the browser's 'deflate-raw'
VERSION_LABEL = b"portico/2"
KEY_ID_BYTES = 16
KEY_BYTES = 32
HEADER = struct.Struct(">4s16s12s48s12s")  # magic, key id, wrap nonce, wrapped CEK, body nonce


class DecryptError(Exception):
    """A blob that does not open: wrong key, another customer's or path's blob, or tampered bytes."""


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


_URL_SAFE = str.maketrans("-_", "+/")


def unb64(text: str) -> bytes:
    """Base64 in either alphabet, padded or not; strict otherwise (binascii.Error). Straight to
    binascii: a keystore holds four of these per customer, all decoded when it is read."""
    text = text.translate(_URL_SAFE)
    return binascii.a2b_base64(text + "=" * (-len(text) % 4), strict_mode=True)


def _mac(key: bytes, label: str, *parts: bytes) -> bytes:
    """Every name, key and nonce is derived under the format's version: keys carried over from
    version 1 (a migrated keystore) never give a version 1 key and nonce again."""
    return hmac.new(key, b"\0".join([VERSION_LABEL, label.encode(), *parts]), hashlib.sha256).digest()


def associated_data(key_id: bytes, path: str) -> bytes:
    """Binds version, customer key and published path ('<portal>/<file name>')."""
    return VERSION_LABEL + b"\0" + key_id + b"\0" + path.encode("utf-8")


@dataclass(frozen=True)
class CustomerKeys:
    key_id: bytes  # 16 random bytes, public: it names which data key a blob needs
    data_key: bytes  # 32 random bytes: wraps content keys; what a signed-in session holds
    file_key: bytes  # 32 random bytes: derives file names, content keys and nonces

    @classmethod
    def generate(cls) -> CustomerKeys:
        return cls(os.urandom(KEY_ID_BYTES), os.urandom(KEY_BYTES), os.urandom(KEY_BYTES))

    def __post_init__(self) -> None:
        if (len(self.key_id), len(self.data_key), len(self.file_key)) != (KEY_ID_BYTES, KEY_BYTES, KEY_BYTES):
            raise ValueError("a key id must be 16 bytes, a data or file key 32")

    @classmethod
    def derived(cls, secret: bytes) -> CustomerKeys:
        """Keys made from one secret (the keystore's shared secret), the same whenever it is."""
        return cls(_mac(secret, "key id")[:KEY_ID_BYTES], _mac(secret, "data key"), _mac(secret, "file key"))

    def file_name(self, logical_path: str, extension: str) -> str:
        """An opaque, stable name that says nothing of what the file holds."""
        digest = _mac(self.file_key, "name", logical_path.encode("utf-8"))
        return base64.b32encode(digest[:10]).decode("ascii").lower() + extension

    def content_key(self, published_path: str, epoch: int = 0) -> bytes:
        """A file's own key. `epoch` counts how often the file was re-keyed on its own (an expired
        direct link): a new epoch, a new key, and every link made before opens nothing."""
        if epoch:
            return _mac(self.file_key, "cek", published_path.encode("utf-8"), str(epoch).encode())
        return _mac(self.file_key, "cek", published_path.encode("utf-8"))


def size_class(length: int, smallest: int) -> int:
    """The smallest of `smallest`, 2×, 4×, … that holds `length` (0: no padding, the length itself)."""
    if smallest <= 0:
        return length
    size = smallest
    while size < length:
        size *= 2
    return size


def _pad(data: bytes, smallest_class: int) -> bytes:
    framed = struct.pack(">I", len(data)) + data
    return framed + b"\0" * (size_class(len(framed), smallest_class) - len(framed))


def seal(
    keys: CustomerKeys,
    path: str,
    media_type: str,
    content: bytes,
    size_classes: int = 0,
    epoch: int = 0,
    random: bool = False,
) -> bytes:
    """Compress then encrypt one file; `path` is its published path, '<portal>/<name>'. With
    `size_classes`, the plaintext is padded to the smallest of that many bytes, twice as many, … .
    `random` content (a decoy) is stored, not deflated: the same stream format and size, no search."""
    plaintext = _pad(_deflated(media_type.encode("utf-8") + b"\n" + content, random), size_classes)
    aad = associated_data(keys.key_id, path)
    cek = keys.content_key(path, epoch)
    wrap_nonce = _mac(keys.file_key, "wrap", path.encode("utf-8"), cek)[:12]
    body_nonce = _mac(keys.file_key, "nonce", path.encode("utf-8"), hashlib.sha256(plaintext).digest())[:12]
    wrapped = AESGCM(keys.data_key).encrypt(wrap_nonce, cek, aad)
    body = AESGCM(cek).encrypt(body_nonce, plaintext, aad)
    return HEADER.pack(MAGIC, keys.key_id, wrap_nonce, wrapped, body_nonce) + body


def _deflated(data: bytes, random: bool) -> bytes:
    if random:  # zlib's level 0 stores: ISA-L has no such level
        return zlib.compress(data, 0, RAW_DEFLATE)
    return isal_zlib.compress(data, DEFLATE_LEVEL, RAW_DEFLATE)


@dataclass(frozen=True)
class Opened:
    media_type: str
    content: bytes


def open_blob(blob: bytes, path: str, *, data_key: bytes | None = None, content_key: bytes | None = None) -> Opened:
    """The reference decoder: with the data key (a session) or one content key (a direct link)."""
    if len(blob) < HEADER.size + 16:
        raise DecryptError("too short to be a Portico blob")
    magic, key_id, wrap_nonce, wrapped, body_nonce = HEADER.unpack_from(blob)
    if magic != MAGIC:
        raise DecryptError("not a Portico v2 blob")
    aad = associated_data(key_id, path)
    try:
        cek = content_key if content_key is not None else AESGCM(data_key).decrypt(wrap_nonce, wrapped, aad)
        plaintext = AESGCM(cek).decrypt(body_nonce, blob[HEADER.size :], aad)
    except InvalidTag:
        raise DecryptError("the key does not open this file, or the file was altered") from None
    (length,) = struct.unpack_from(">I", plaintext)
    packed = zlib.decompress(plaintext[4 : 4 + length], RAW_DEFLATE)
    media_type, _, content = packed.partition(b"\n")
    return Opened(media_type.decode("utf-8"), content)
