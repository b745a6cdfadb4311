"""The store's manifest, sealed: which objects a publish put there, readable only with the keystore.

The manifest (every published path with its SHA-256, size and headers) lies beside the portals,
in a store that a CDN serves. In clear it would hand anyone the complete list of objects and
their sizes, which no listing-protected bucket does. So it is encrypted (AES-256-GCM, compressed
first) under a key derived from the keystore's site key: only a publish with the same keystore
reads it, and a publish with another keystore finds it unreadable, which is also how it learns
that the published portals were built with other keys. A manifest written in clear by an
earlier version is read once and replaced by a sealed one.
"""

from __future__ import annotations

import json
import os
import zlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"PORTICO-MANIFEST-2\n"


class ManifestUnreadable(Exception):
    """The manifest does not open with this keystore (another keystore's, or damaged)."""


@dataclass(frozen=True)
class ManifestSeal:
    key: bytes  # 32 bytes, from the keystore (`Keystore.manifest_key`)

    def encode(self, manifest: dict) -> bytes:
        plain = zlib.compress(json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode("utf-8"), 6)
        nonce = os.urandom(12)
        return MAGIC + nonce + AESGCM(self.key).encrypt(nonce, plain, MAGIC)

    def decode(self, raw: bytes) -> dict:
        if raw.lstrip().startswith(b"{"):  # written in clear by an earlier version: ours, replaced at the next write
            try:
                return json.loads(raw)
            except ValueError:
                raise ManifestUnreadable("the manifest is damaged") from None
        if not raw.startswith(MAGIC) or len(raw) < len(MAGIC) + 12 + 16:
            raise ManifestUnreadable("the manifest is not a Portico manifest")
        body = raw[len(MAGIC) :]
        try:
            return json.loads(zlib.decompress(AESGCM(self.key).decrypt(body[:12], body[12:], MAGIC)))
        except (InvalidTag, zlib.error, ValueError):
            raise ManifestUnreadable("the manifest does not open with this keystore") from None
