"""A second decoder of Portico's format version 2, written from docs/encryption.md alone.

It imports nothing from `generator`: only the standard library and the `cryptography` package's
AES-GCM. Given a published folder, a contact's e-mail address and password, it signs in as a
browser would, then follows the portal's links and opens every page and file it reaches. If the
spec and the encoder ever disagree, this is where it shows.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

GATE = re.compile(r'<script type="application/json" id="portico-gate">([^<]*)</script>')
CATALOGUE = re.compile(r'<script type="application/json" id="portico-catalogue">([^<]*)</script>')
LINK = re.compile(r'href="(?:\./\?p=([a-z2-7]{16})|([a-z2-7]{16}\.bin))"')


class CannotOpen(Exception):
    pass


def portal_folder(site_key: bytes, customer_id: str) -> str:
    """§ Names: the opaque folder of a customer's portal."""
    mac = hmac.new(site_key, b"slug\x00" + customer_id.encode("utf-8"), hashlib.sha256).digest()
    return base64.b32encode(mac[:10]).decode("ascii").lower()


def unbase64(text: str) -> bytes:
    text = text.strip().replace("-", "+").replace("_", "/")
    return base64.b64decode(text + "=" * (-len(text) % 4))


def sign_in(gate: dict, email: str, password: str) -> tuple[bytes, list]:
    """§ Key slots: one PBKDF2 with the salt made from the portal's salt and the address, then the
    key tried on every slot; a slot's plaintext is data key ‖ uint32 ring length ‖ ring."""
    assert gate["v"] == 2 and gate["kdf"] == "PBKDF2-SHA256"
    address = email.strip().lower().encode("utf-8")
    salt = hashlib.sha256(b"portico/2\x00login\x00" + unbase64(gate["salt"]) + b"\x00" + address).digest()
    return sign_in_with_key(gate, hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, gate["iter"], 32))


def sign_in_with_key(gate: dict, kek: bytes) -> tuple[bytes, list]:
    """§ Personal sign-in links: the link's key is the KDF's output, tried on every slot as it is."""
    aad = b"portico/2\x00slot\x00" + unbase64(gate["kid"])
    for slot in gate["slots"]:
        try:
            plain = AESGCM(kek).decrypt(unbase64(slot["iv"]), unbase64(slot["key"]), aad)
        except InvalidTag:
            continue
        (length,) = struct.unpack(">I", plain[32:36])
        return plain[:32], json.loads(plain[36 : 36 + length]) if length else []
    raise CannotOpen("no slot opens with this key")


def open_blob(blob: bytes, path: str, data_key: bytes | None = None, cek: bytes | None = None) -> tuple[str, bytes]:
    """§ Blob: 'PTC2', key id, wrap nonce, wrapped content key, body nonce, body; AAD binds the path."""
    if len(blob) < 108 or blob[:4] != b"PTC2":
        raise CannotOpen(f"{path}: not a version 2 blob")
    key_id, wrap_nonce, wrapped, body_nonce = blob[4:20], blob[20:32], blob[32:80], blob[80:92]
    aad = b"portico/2\x00" + key_id + b"\x00" + path.encode("utf-8")
    try:
        if cek is None:
            cek = AESGCM(data_key).decrypt(wrap_nonce, wrapped, aad)
        plaintext = AESGCM(cek).decrypt(body_nonce, blob[92:], aad)
    except InvalidTag:
        raise CannotOpen(f"{path}: does not open") from None
    (length,) = struct.unpack(">I", plaintext[:4])
    packed = zlib.decompress(plaintext[4 : 4 + length], -15)
    media_type, _, content = packed.partition(b"\n")
    return media_type.decode("utf-8"), content


def linked_blobs(html: str) -> list[str]:
    """§ Where blobs are: a page links another page by its address, `./?p=<name>`, which is
    published as `<name>.bin`; any other file by its name, `<name>.bin`."""
    return [f"{page}.bin" if page else file for page, file in LINK.findall(html)]


@dataclass
class Portal:
    folder: str
    opened: dict[str, tuple[str, bytes]]  # published path -> (media type, content)
    shared: dict[str, tuple[str, bytes]]  # shared files opened with a content key a page carried
    ring: list


def read_portal(public: Path, folder: str, email: str, password: str) -> Portal:
    """Signs in at the entry page, then follows every link from every page it opens."""
    entry = (public / folder / "index.html").read_text(encoding="utf-8")
    data_key, ring = sign_in(json.loads(GATE.search(entry).group(1)), email, password)
    opened: dict[str, tuple[str, bytes]] = {}
    shared: dict[str, tuple[str, bytes]] = {}
    waiting = ["index.bin"]  # § Where blobs are: the entry page's
    while waiting:
        name = waiting.pop()
        path = f"{folder}/{name}"
        if path in opened:
            continue
        opened[path] = open_blob((public / folder / name).read_bytes(), path, data_key=data_key)
        media_type, content = opened[path]
        if media_type.startswith("text/html"):
            html = content.decode("utf-8")
            waiting += linked_blobs(html)
            if found := CATALOGUE.search(html):
                table = json.loads(found.group(1))
                shared_path = table["path"]
                shared[shared_path] = open_blob(
                    (public / shared_path).read_bytes(), shared_path, cek=unbase64(table["key"])
                )
    return Portal(folder, opened, shared, ring)
