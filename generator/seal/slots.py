"""Key slots: a contact's password unlocks the customer's data key (specified in docs/encryption.md).

A slot wraps the data key with AES-256-GCM under a key derived from the password by
PBKDF2-HMAC-SHA256 (600,000 iterations). The browser finds the contact's slot by an HMAC of
the e-mail address under a per-customer salt, so no address is published.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .blobs import CustomerKeys, DecryptError, b64, unb64

KDF_NAME = "PBKDF2-SHA256"
MIN_ITERATIONS = 600_000  # OWASP 2023 for PBKDF2-HMAC-SHA256; never lower outside tests
UNSAFE_TEST_ITERATIONS_ENV = "PORTICO_UNSAFE_KDF_ITERATIONS_FOR_TESTS_ONLY"


def normalise_email(email: str) -> str:
    return email.strip().lower()


def email_slot_id(email_salt: bytes, email: str) -> str:
    """How the browser finds a contact's slot without the e-mail address being published."""
    return b64(hmac.new(email_salt, normalise_email(email).encode("utf-8"), hashlib.sha256).digest()[:16])


def kdf_iterations() -> int:
    """600,000, unless the loudly named test-only environment variable says otherwise."""
    override = os.environ.get(UNSAFE_TEST_ITERATIONS_ENV)
    return int(override) if override else MIN_ITERATIONS


def slot_aad(key_id: bytes) -> bytes:
    return b"portico/1\0slot\0" + key_id


def make_slot(keys: CustomerKeys, email_salt: bytes, email: str, password: str, iterations: int) -> dict:
    salt = os.urandom(16)
    kek = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    iv = os.urandom(12)
    wrapped = AESGCM(kek).encrypt(iv, keys.data_key, slot_aad(keys.key_id))
    return {
        "id": email_slot_id(email_salt, email),
        "kdf": KDF_NAME,
        "iter": iterations,
        "salt": b64(salt),
        "iv": b64(iv),
        "key": b64(wrapped),
    }


def open_slot(slot: dict, key_id: bytes, password: str) -> bytes:
    """The data key a slot wraps (what the browser does at sign-in)."""
    if slot["kdf"] != KDF_NAME:
        raise DecryptError(f"unknown KDF {slot['kdf']!r}")
    kek = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), unb64(slot["salt"]), slot["iter"])
    try:
        return AESGCM(kek).decrypt(unb64(slot["iv"]), unb64(slot["key"]), slot_aad(key_id))
    except InvalidTag:
        raise DecryptError("wrong password") from None
