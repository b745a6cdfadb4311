"""Who may open which portal: bring the keystore in line with the export's contacts.

Runs between modelling and planning in an encrypted build. Every enabled customer gets keys,
every contact with portal access a password and a key slot; slots are made in parallel and
cached, so only new or changed passwords run the KDF. Access taken away (a contact removed or
switched off, a customer disabled or gone from the export) rotates that customer's keys, so
nothing published afterwards opens with the old ones.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date

from ..model import Ledger
from .blobs import b64url
from .keystore import ContactSecret, CustomerSecret, Keystore
from .passwords import generate_password
from .slots import make_slot, normalise_email


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
    _make_slots(keystore, iterations, changes, on_slot)
    return changes


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
        secret.contacts[email] = ContactSecret(generate_password())
        changes.new_passwords.append((customer_id, email))


def _withdraw(keystore: Keystore, customer_id: str, reason: str, changes: AccessChanges) -> None:
    secret = keystore.customers.get(customer_id)
    if secret is not None and secret.enabled:
        keystore.rotate(customer_id)
        secret.enabled = False
        changes.rotated[customer_id] = reason


def slot_context(secret: CustomerSecret, iterations: int) -> str:
    """What a cached slot was made for: a slot is remade when the key, the salt or the KDF cost changes."""
    return f"{b64url(secret.keys.key_id)}:{b64url(secret.salt)}:{iterations}"


def is_stale(secret: CustomerSecret, contact: ContactSecret, iterations: int) -> bool:
    return contact.slot is None or contact.slot_for != slot_context(secret, iterations)


def _make_slots(keystore: Keystore, iterations: int, changes: AccessChanges, on_slot: Callable[[int], None]) -> None:
    """The slow part of a first build: one PBKDF2 per slot, on every core (hashlib frees the GIL)."""
    todo = [
        (secret, email, contact)
        for secret in keystore.customers.values()
        if secret.enabled
        for email, contact in sorted(secret.contacts.items())
        if is_stale(secret, contact, iterations)
    ]

    def make(item: tuple[CustomerSecret, str, ContactSecret]) -> None:
        secret, email, contact = item
        contact.slot = make_slot(secret.keys, secret.salt, email, contact.password, iterations)
        contact.slot_for = slot_context(secret, iterations)
        on_slot(1)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        list(pool.map(make, todo))
    changes.slots_made = len(todo)
    changes.kdf_seconds = time.perf_counter() - started
