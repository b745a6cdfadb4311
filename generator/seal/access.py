"""Who may open which portal: bring the keystore in line with the export's contacts.

Runs between modelling and planning in an encrypted build. Every enabled customer gets keys,
every contact with portal access a password and a key slot; slots are made in parallel and
cached, so only new or changed passwords run the KDF. Access taken away (a contact removed or
switched off, a customer disabled or gone from the export) rotates that customer's keys, so
nothing published afterwards opens with the old ones.

A person who is a contact of several customers (a group's accountant: the same e-mail address
in several customers' contacts) gets one password for all of them, and a **key ring** in each of
their slots: every portal they may open, with its data key, so one sign-in opens them all. The
ring is made from the keystore at every build, so a customer's revocation, or the person losing
access there, takes that portal out of every ring at once.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date

from ..model import Ledger
from .blobs import b64, b64url
from .keystore import ContactSecret, CustomerSecret, Keystore
from .passwords import generate_password
from .slots import make_slot, normalise_email, slot_length


@dataclass
class AccessChanges:
    new_customers: list[str] = field(default_factory=list)
    new_passwords: list[tuple[str, str]] = field(default_factory=list)  # (customer id, e-mail)
    rotated: dict[str, str] = field(default_factory=dict)  # customer id -> why
    expired_links: list[tuple[str, str]] = field(default_factory=list)  # (customer id, page) re-keyed on its own
    slots_made: int = 0
    kdf_seconds: float = 0.0


def allowed_emails(ledger: Ledger, customer_id: str) -> set[str]:
    contacts = ledger.books[customer_id].customer.contacts
    return {normalise_email(c.email) for c in contacts if c.portal_access and c.email}


def sync_access(
    keystore: Keystore,
    ledger: Ledger,
    iterations: int,
    on_slot: Callable[[int], None] = lambda n: None,
    today: date | None = None,
    slugs: dict[str, str] | None = None,
) -> AccessChanges:
    changes = AccessChanges()
    _expire_links(keystore, today or date.today(), changes)
    for customer_id, book in ledger.books.items():
        if book.customer.portal_enabled:
            _grant(keystore, customer_id, allowed_emails(ledger, customer_id), changes)
        else:
            _withdraw(keystore, customer_id, "portal disabled", changes)
    for customer_id in set(keystore.customers) - set(ledger.books):
        _withdraw(keystore, customer_id, "no longer in the export", changes)
    _make_slots(keystore, iterations, key_rings(keystore, ledger, slugs or {}), changes, on_slot)
    return changes


def customers_of(keystore: Keystore, email: str) -> list[str]:
    """The customers whose portals this address may open."""
    address = normalise_email(email)
    return sorted(cid for cid, secret in keystore.customers.items() if secret.enabled and address in secret.contacts)


def key_rings(keystore: Keystore, ledger: Ledger, slugs: dict[str, str]) -> dict[tuple[str, str], bytes]:
    """(customer id, e-mail) -> the key ring in that contact's slot (JSON, docs/encryption.md):
    every portal the address opens, this one included, when there is more than one."""
    portals: dict[str, list[str]] = {}
    for customer_id, secret in keystore.customers.items():
        if secret.enabled and customer_id in slugs and customer_id in ledger.books:
            for email in secret.contacts:
                portals.setdefault(email, []).append(customer_id)
    rings = {}
    for email, customer_ids in portals.items():
        if len(customer_ids) < 2:
            continue
        entries = [
            {
                "portal": slugs[c],
                "kid": b64(keystore.customers[c].keys.key_id),
                "key": b64(keystore.customers[c].keys.data_key),
                "name": ledger.books[c].customer.name,
            }
            for c in sorted(customer_ids, key=lambda c: (ledger.books[c].customer.name, c))
        ]
        ring = json.dumps(entries, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        rings.update(((c, email), ring) for c in customer_ids)
    return rings


def _expire_links(keystore: Keystore, today: date, changes: AccessChanges) -> None:
    """A direct link made with --valid-days ends when its day has passed: its page gets a key of
    its own at this build, and every link to it made before opens nothing built afterwards."""
    for customer_id, secret in sorted(keystore.customers.items()):
        for page, until in sorted(secret.link_expiries.items()):
            if date.fromisoformat(until) < today:
                secret.link_epochs[page] = secret.link_epochs.get(page, 0) + 1
                del secret.link_expiries[page]
                changes.expired_links.append((customer_id, page))


def _grant(keystore: Keystore, customer_id: str, allowed: set[str], changes: AccessChanges) -> None:
    if customer_id not in keystore.customers:
        changes.new_customers.append(customer_id)
    secret = keystore.customer(customer_id)
    secret.enabled = True
    removed = set(secret.contacts) - allowed
    if removed:
        for email in removed:
            del secret.contacts[email]
        keystore.rotate(customer_id)
        changes.rotated[customer_id] = f"{len(removed)} contact(s) lost portal access"
    for email in sorted(allowed - set(secret.contacts)):
        known = [keystore.customers[c].contacts[email].password for c in customers_of(keystore, email)]
        secret.contacts[email] = ContactSecret(known[0] if known else generate_password())  # one person, one password
        if not known:
            changes.new_passwords.append((customer_id, email))


def _withdraw(keystore: Keystore, customer_id: str, reason: str, changes: AccessChanges) -> None:
    secret = keystore.customers.get(customer_id)
    if secret is not None and secret.enabled:
        keystore.rotate(customer_id)
        secret.enabled = False
        changes.rotated[customer_id] = reason


def key_context(secret: CustomerSecret, iterations: int) -> str:
    """What a slot opens with: the portal's key and salt and the KDF cost."""
    return f"{b64url(secret.keys.key_id)}:{b64url(secret.salt)}:{iterations}"


def slot_context(secret: CustomerSecret, iterations: int, ring: bytes, length: int) -> str:
    """What a cached slot was made for: remade when the key, salt, KDF cost, ring or slot length changes."""
    return f"{key_context(secret, iterations)}|{hashlib.sha256(ring).hexdigest()[:16]}:{length}"


def is_current(secret: CustomerSecret, contact: ContactSecret, iterations: int) -> bool:
    """Whether a cached slot opens this portal as it is now (the gate publishes only those)."""
    return contact.slot is not None and (contact.slot_for or "").split("|")[0] == key_context(secret, iterations)


def _make_slots(
    keystore: Keystore,
    iterations: int,
    rings: dict[tuple[str, str], bytes],
    changes: AccessChanges,
    on_slot: Callable[[int], None],
) -> None:
    """The slow part of a first build: one PBKDF2 per slot, on every core (hashlib frees the GIL)."""
    length = slot_length(list(rings.values()))
    todo = [
        (customer_id, secret, email, contact, rings.get((customer_id, email), b""))
        for customer_id, secret in sorted(keystore.customers.items())
        if secret.enabled
        for email, contact in sorted(secret.contacts.items())
        if contact.slot is None
        or contact.slot_for != slot_context(secret, iterations, rings.get((customer_id, email), b""), length)
    ]

    def make(item: tuple[str, CustomerSecret, str, ContactSecret, bytes]) -> None:
        _, secret, email, contact, ring = item
        contact.slot = make_slot(secret.keys, secret.salt, email, contact.password, iterations, ring, length)
        contact.slot_for = slot_context(secret, iterations, ring, length)
        on_slot(1)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        list(pool.map(make, todo))
    changes.slots_made = len(todo)
    changes.kdf_seconds = time.perf_counter() - started
