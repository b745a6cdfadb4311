"""What staff do to access between builds: list, set and rotate passwords, make direct links, revoke.

Each operation reads the export (to know the customers and contacts) and the keystore, changes
the keystore, and leaves publishing to the next build: nothing here writes the output folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from ..config import Config
from ..model import Ledger
from ..problems import ProblemLog
from ..site import PATHS, Portal, portal_of, portal_slugs
from .access import customers_of
from .blobs import b64url, unb64
from .gate import Gate
from .keystore import Keystore
from .passwords import generate_password, weaknesses
from .slots import normalise_email


class StaffError(Exception):
    pass


@dataclass(frozen=True)
class PasswordRow:
    customer_id: str
    customer_name: str
    email: str
    password: str
    portal_url: str
    slug: str = ""  # the portal's folder


def portal_url(config: Config, slug: str) -> str:
    return f"{config.site.base_url.rstrip('/')}/{slug}/"


def sign_in_link(keystore: Keystore, row: PasswordRow) -> str:
    """A personal link that signs the contact in without typing the password: the KDF's output for
    their password in the fragment (which browsers never send to a server). It opens their slot as
    the password does, and stops when the password changes or the customer is re-keyed."""
    contact = keystore.customers[row.customer_id].contacts[row.email]
    if not contact.kek:
        raise StaffError(f"{row.email} at {row.customer_id} has no key slot yet; build first")
    return f"{row.portal_url}#s={b64url(unb64(contact.kek))}"


def portal_for(config: Config, ledger: Ledger, keystore: Keystore, customer_id: str) -> Portal:
    book = ledger.books.get(customer_id)
    if book is None:
        raise StaffError(f"no customer {customer_id!r} in the export")
    if customer_id not in keystore.customers or not keystore.customers[customer_id].enabled:
        raise StaffError(f"customer {customer_id!r} has no portal yet (disabled, or not built since it was added)")
    slugs = portal_slugs(config, ledger, keystore.site_key, ProblemLog())
    return portal_of(config, book, slugs[customer_id])


def list_passwords(
    config: Config, ledger: Ledger, keystore: Keystore, customer_id: str | None = None
) -> list[PasswordRow]:
    slugs = portal_slugs(config, ledger, keystore.site_key, ProblemLog())
    rows = []
    for cid, secret in sorted(keystore.customers.items()):
        if not secret.enabled or cid not in ledger.books or (customer_id and cid != customer_id):
            continue
        name = ledger.books[cid].customer.name
        rows += [
            PasswordRow(cid, name, email, contact.password, portal_url(config, slugs[cid]), slugs[cid])
            for email, contact in sorted(secret.contacts.items())
        ]
    return rows


def _contact(ledger: Ledger, keystore: Keystore, customer_id: str, email: str):
    secret = keystore.customers.get(customer_id)
    if customer_id not in ledger.books or secret is None:
        raise StaffError(f"no portal for customer {customer_id!r}; build first")
    contact = secret.contacts.get(normalise_email(email))
    if contact is None:
        known = ", ".join(sorted(secret.contacts)) or "none"
        raise StaffError(f"{email} has no portal access at {customer_id} (contacts with access: {known})")
    return contact


def set_password(
    config: Config,
    ledger: Ledger,
    keystore: Keystore,
    customer_id: str,
    email: str,
    password: str,
    force: bool = False,
    keep_key: bool = False,
) -> None:
    """A new password for one contact. Unless `keep_key`, the customer is re-keyed as well: a
    password is changed because it leaked as often as because it was forgotten, and only new
    keys stop someone who has the old password and a saved copy of the entry page."""
    _contact(ledger, keystore, customer_id, email)  # must have access there
    customer = ledger.books[customer_id].customer
    personal = [config.site.name, customer.id, customer.name, customer.email or "", email]
    personal += [c.email for c in customer.contacts if c.email] + [c.name for c in customer.contacts if c.name]
    problems = weaknesses(password, personal)
    if problems and not force:
        raise StaffError("password refused: " + "; ".join(problems) + " (--force to use it anyway)")
    for rekeyed in _give_password(keystore, customer_id, email, password):
        if not keep_key:
            keystore.rotate(rekeyed)


def rotate_passwords(
    ledger: Ledger, keystore: Keystore, customer_id: str, email: str | None = None, keep_key: bool = False
) -> list[tuple[str, str]]:
    """New generated passwords; the customer re-keyed unless `keep_key` (see `set_password`)."""
    secret = keystore.customers.get(customer_id)
    if secret is None or customer_id not in ledger.books:
        raise StaffError(f"no portal for customer {customer_id!r}; build first")
    emails = [normalise_email(email)] if email else sorted(secret.contacts)
    changed, rekeyed = [], set()
    for address in emails:
        _contact(ledger, keystore, customer_id, address)
        password = generate_password()
        rekeyed |= _give_password(keystore, customer_id, address, password)
        changed.append((address, password))
    if not keep_key:
        for customer in sorted(rekeyed):
            keystore.rotate(customer)
    return changed


def reset_password(
    ledger: Ledger, keystore: Keystore, email: str, customer_id: str | None = None, keep_key: bool = False
) -> str:
    """A forgotten password: a new generated one (see `rotate_passwords`); returns the customer
    whose portal the reset e-mail names."""
    address = normalise_email(email)
    opens = customers_of(keystore, address)
    if not opens:
        raise StaffError(f"{email} has no portal access (see portico passwords list)")
    if customer_id is not None and customer_id not in opens:
        raise StaffError(f"{email} has no portal access at {customer_id} (it opens {', '.join(opens)})")
    customer_id = customer_id or opens[0]
    rotate_passwords(ledger, keystore, customer_id, address, keep_key)
    return customer_id


def _give_password(keystore: Keystore, customer_id: str, email: str, password: str) -> set[str]:
    """One person, one password: the address's password changes at every customer it opens (its
    key ring is one sign-in); returns those customers. The next build makes their slots."""
    customers = set(customers_of(keystore, email, enabled_only=False)) | {customer_id}  # a disabled one too
    for customer in customers:
        contact = keystore.customers[customer].contacts[normalise_email(email)]
        contact.password = password
        contact.slot = None
    return customers


def revoke(keystore: Keystore, customer_id: str) -> None:
    secret = keystore.customers.get(customer_id)
    if secret is None:
        raise StaffError(f"customer {customer_id!r} is not in the keystore")
    keystore.rotate(customer_id)


def direct_link(
    config: Config,
    ledger: Ledger,
    keystore: Keystore,
    customer_id: str,
    number: str,
    valid_days: int | None = None,
    today: date | None = None,
) -> str:
    """A link that opens one order, invoice or quote page of a customer and nothing else. With
    `valid_days`, the first build after that many days re-keys the page, which ends the link
    (and any other link to that page made before it)."""
    portal = portal_for(config, ledger, keystore, customer_id)
    book = ledger.books[customer_id]
    for documents, path in ((book.invoices, PATHS.invoice), (book.orders, PATHS.order), (book.quotes, PATHS.quote)):
        if any(d.number == number for d in documents):
            if valid_days is not None:
                if valid_days < 1:
                    raise StaffError("--valid-days must be 1 or more")
                until = (today or date.today()) + timedelta(days=valid_days)
                expiries = keystore.customers[customer_id].link_expiries
                expiries[path(number)] = max(until.isoformat(), expiries.get(path(number), ""))
            return Gate(config, keystore).direct_link(portal, path(number))
    raise StaffError(f"customer {customer_id!r} has no order, invoice or quote {number!r}")
