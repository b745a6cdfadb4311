"""Key slots: a contact's password unlocks the customer's data key (specified in docs/encryption.md).

A slot wraps the data key with AES-256-GCM under a key derived from the password by
PBKDF2-HMAC-SHA256 (600,000 iterations), salted with the portal's salt and the contact's
e-mail address. Nothing public tells a slot's owner: the browser runs the KDF once and tries the
key on every slot, and the slots are padded with decoys, indistinguishable from real ones, to a
bucket of 8, 16, 32, … . So a list of e-mail addresses confirms nobody as a contact.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .blobs import KEY_BYTES, VERSION_LABEL, CustomerKeys, DecryptError, b64, unb64

KDF_NAME = "PBKDF2-SHA256"
MIN_ITERATIONS = 600_000  # OWASP 2023 for PBKDF2-HMAC-SHA256; never lower outside tests
UNSAFE_TEST_ITERATIONS_ENV = "PORTICO_UNSAFE_KDF_ITERATIONS_FOR_TESTS_ONLY"
SALT_BYTES = 16
SLOT_BUCKET = 8  # slots per portal: 8, 16, 32, … (the rest decoys)
SLOT_PLAINTEXT_CLASS = 64  # a slot's plaintext is padded to a multiple of this


def normalise_email(email: str) -> str:
    return email.strip().lower()


def kdf_iterations() -> int:
    """600,000, unless the loudly named test-only environment variable says otherwise."""
    override = os.environ.get(UNSAFE_TEST_ITERATIONS_ENV)
    return int(override) if override else MIN_ITERATIONS


def login_salt(portal_salt: bytes, email: str) -> bytes:
    """The KDF's salt: the portal's (new at every revocation) and the address, so one sign-in runs one KDF."""
    return hashlib.sha256(
        VERSION_LABEL + b"\0login\0" + portal_salt + b"\0" + normalise_email(email).encode("utf-8")
    ).digest()


def password_key(portal_salt: bytes, email: str, password: str, iterations: int) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), login_salt(portal_salt, email), iterations)


def slot_aad(key_id: bytes) -> bytes:
    return VERSION_LABEL + b"\0slot\0" + key_id


@dataclass(frozen=True)
class Unlocked:
    """What a slot holds: the portal's data key, and the key ring of other portals (JSON bytes;
    empty unless the contact may open several customers' portals)."""

    data_key: bytes
    ring: bytes = b""


def slot_length(rings: list[bytes]) -> int:
    """The plaintext length of every slot: 64 bytes, or the class (64, 128, 256, …) that holds the
    largest key ring. One length for all slots of all portals, so no slot's size tells a ring."""
    needed = max((KEY_BYTES + 4 + len(ring) for ring in rings), default=0)
    length = SLOT_PLAINTEXT_CLASS
    while length < needed:
        length *= 2
    return length


def slot_plaintext(data_key: bytes, ring: bytes = b"", length: int = SLOT_PLAINTEXT_CLASS) -> bytes:
    body = data_key + struct.pack(">I", len(ring)) + ring
    if len(body) > length:
        raise ValueError(f"a key ring of {len(ring)} bytes does not fit a {length}-byte slot")
    return body + b"\0" * (length - len(body))


def make_slot(
    keys: CustomerKeys,
    portal_salt: bytes,
    email: str,
    password: str,
    iterations: int,
    ring: bytes = b"",
    length: int = SLOT_PLAINTEXT_CLASS,
) -> dict:
    """One contact's slot: {"iv", "key"}, nothing that names the contact."""
    return seal_slot(keys, password_key(portal_salt, email, password, iterations), ring, length)


def seal_slot(keys: CustomerKeys, kek: bytes, ring: bytes = b"", length: int = SLOT_PLAINTEXT_CLASS) -> dict:
    """A slot from the KDF's output (which the keystore caches, so a slot table can be made anew,
    with fresh ivs, without running the KDF again)."""
    iv = os.urandom(12)
    wrapped = AESGCM(kek).encrypt(iv, slot_plaintext(keys.data_key, ring, length), slot_aad(keys.key_id))
    return {"iv": b64(iv), "key": b64(wrapped)}


def slot_count(real: int, bucket: int = SLOT_BUCKET) -> int:
    count = bucket
    while count < real:
        count *= 2
    return count


def padded_slots(real: list[dict], file_key: bytes, portal_salt: bytes, table: int = 0) -> list[dict]:
    """The real slots among decoys of the same size, in an order that says nothing. Decoys are
    derived from the customer's secret file key, the salt and the table's number, so a rebuild
    gives the same bytes, and a table made anew (any slot changed) changes every slot alike."""
    size = max((len(unb64(s["key"])) for s in real), default=SLOT_PLAINTEXT_CLASS + 16)
    slots = list(real)
    for index in range(slot_count(len(real)) - len(real)):
        stream = _stream(file_key, portal_salt, table, index, 12 + size)
        slots.append({"iv": b64(stream[:12]), "key": b64(stream[12:])})
    return sorted(slots, key=lambda s: s["iv"])


def _stream(file_key: bytes, portal_salt: bytes, table: int, index: int, length: int) -> bytes:
    out = b""
    block = 0
    while len(out) < length:
        label = b"decoy slot\0" + portal_salt + struct.pack(">III", table, index, block)
        out += hmac.new(file_key, label, hashlib.sha256).digest()
        block += 1
    return out[:length]


def open_slots(gate: dict, email: str, password: str) -> Unlocked:
    """What the browser does at sign-in: one KDF, then the key tried on every slot."""
    if gate.get("kdf") != KDF_NAME:
        raise DecryptError(f"unknown KDF {gate.get('kdf')!r}")
    kek = AESGCM(password_key(unb64(gate["salt"]), email, password, gate["iter"]))
    aad = slot_aad(unb64(gate["kid"]))
    for slot in gate["slots"]:
        try:
            plain = kek.decrypt(unb64(slot["iv"]), unb64(slot["key"]), aad)
        except InvalidTag:
            continue
        (ring_length,) = struct.unpack_from(">I", plain, KEY_BYTES)
        start = KEY_BYTES + 4
        return Unlocked(plain[:KEY_BYTES], plain[start : start + ring_length])
    raise DecryptError("wrong e-mail address or password")
