"""Who may open which portal: bring the keystore in line with the export's contacts.

Runs between modelling and planning in an encrypted build. Every enabled customer gets keys,
every contact with portal access a password and a key slot; slots are made in parallel and
cached, so only new or changed passwords run the KDF. Access taken away (a contact removed or
switched off, a customer disabled or gone from the export) rotates that customer's keys, so
nothing published afterwards opens with the old ones.

A person who is a contact of several customers (a group's accountant: the same e-mail address
in several customers' contacts) gets one password for all of them, and a **key ring** in each of
their slots: every portal they may open with that same password, with its data key, so one sign-in opens
them all (passwords that differ, as a keystore from version 1 may have, make no ring). The
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
from .blobs import b64, b64url, unb64
from .keystore import ContactSecret, CustomerSecret, Keystore
from .passwords import generate_password
from .slots import normalise_email, password_key, seal_slot, slot_length


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


def customers_of(keystore: Keystore, email: str, enabled_only: bool = True) -> list[str]:
    """The customers this address is a contact of (with `enabled_only`, whose portals it may open now)."""
    address = normalise_email(email)
    return sorted(
        cid
        for cid, secret in keystore.customers.items()
        if address in secret.contacts and (secret.enabled or not enabled_only)
    )


def key_rings(keystore: Keystore, ledger: Ledger, slugs: dict[str, str]) -> dict[tuple[str, str], bytes]:
    """(customer id, e-mail) -> the key ring in that contact's slot (JSON, docs/encryption.md):
    every portal the address opens, this one included, when there is more than one."""
    portals: dict[tuple[str, str], list[str]] = {}
    for customer_id, secret in keystore.customers.items():
        if secret.enabled and customer_id in slugs and customer_id in ledger.books:
            for email, contact in secret.contacts.items():
                # only where the password is the same: a ring must not let one customer's (say,
                # an old, leaked) password open another's portal
                portals.setdefault((email, contact.password), []).append(customer_id)
    rings = {}
    for (email, _), customer_ids in portals.items():
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


def ended_links(keystore: Keystore, today: date) -> list[tuple[str, str]]:
    """(customer id, page) of every direct link made with --valid-days whose day has passed."""
    return [
        (customer_id, page)
        for customer_id, secret in sorted(keystore.customers.items())
        for page, until in sorted(secret.link_expiries.items())
        if date.fromisoformat(until) < today
    ]


def _expire_links(keystore: Keystore, today: date, changes: AccessChanges) -> None:
    """A direct link made with --valid-days ends when its day has passed: its page gets a key of
    its own at this build, and every link to it made before opens nothing built afterwards."""
    for customer_id, page in ended_links(keystore, today):
        secret = keystore.customers[customer_id]
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


def kek_context(secret: CustomerSecret, email: str, password: str, iterations: int) -> str:
    """What a cached KDF output was made from: the salt, the cost, the address and password."""
    made_from = hashlib.sha256(f"{email}\0{password}".encode()).hexdigest()[:16]
    return f"{b64url(secret.salt)}:{iterations}:{made_from}"


def _make_slots(
    keystore: Keystore,
    iterations: int,
    rings: dict[tuple[str, str], bytes],
    changes: AccessChanges,
    on_slot: Callable[[int], None],
) -> None:
    """Makes the slot table of every portal in which any slot changed, anew and whole: fresh ivs
    for every real slot and fresh decoys, so comparing two versions of an entry page tells nothing
    (not which slots are real, not which portals share a contact). Only a new password, salt or
    cost runs the KDF (on every core: hashlib frees the GIL); other slots are re-sealed with the
    cached KDF output."""
    length = slot_length(list(rings.values()))
    tables = []
    for customer_id, secret in sorted(keystore.customers.items()):
        if not secret.enabled:
            continue
        wanted = {
            email: (
                rings.get((customer_id, email), b""),
                slot_context(secret, iterations, rings.get((customer_id, email), b""), length),
            )
            for email in secret.contacts
        }
        if any(c.slot is None or c.slot_for != wanted[e][1] for e, c in secret.contacts.items()):
            tables.append((secret, wanted))
    derive = [
        (secret, email, contact)
        for secret, _ in tables
        for email, contact in sorted(secret.contacts.items())
        if not contact.kek or contact.kek_for != kek_context(secret, email, contact.password, iterations)
    ]

    def kdf(item: tuple[CustomerSecret, str, ContactSecret]) -> None:
        secret, email, contact = item
        contact.kek = b64(password_key(secret.salt, email, contact.password, iterations))
        contact.kek_for = kek_context(secret, email, contact.password, iterations)
        on_slot(1)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        list(pool.map(kdf, derive))
    for secret, wanted in tables:
        secret.slot_table += 1
        for email, contact in secret.contacts.items():
            ring, context = wanted[email]
            contact.slot = seal_slot(secret.keys, unb64(contact.kek), ring, length)
            contact.slot_for = context
    changes.slots_made = len(derive)
    changes.kdf_seconds = time.perf_counter() - started
