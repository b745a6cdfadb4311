"""The canonical data model: what a customer's portal is made of, as plain dataclasses.

These types are the currency between stages: the ledger builder fills them from the records
the export was read into and joins them, the planner and templates read them. Amounts are
`Decimal`s in the customer's currency; dates are `date`s. No type here knows where it was read
from, except the `origin` kept for error messages.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from difflib import get_close_matches
from typing import Any

from ..read.documents import DocumentFile
from ..read.records import Origin, pickled_by_position

ZERO = Decimal("0")
CENT = Decimal("0.01")


@pickled_by_position
@dataclass(slots=True)
class Address:
    name: str = ""
    street: str = ""
    city: str = ""
    postal_code: str = ""
    region: str = ""
    country: str = ""

    def lines(self) -> list[str]:
        town = " ".join(p for p in (self.postal_code, self.city) if p)
        return [p for p in (self.name, self.street, town, self.region, self.country) if p]

    def __bool__(self) -> bool:
        return any(self.lines())


@pickled_by_position
@dataclass(slots=True)
class Line:
    sku: str
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    discount: Decimal
    tax: Decimal
    total: Decimal


def make_line(fields: dict[str, Any]) -> Line:
    """A line from parsed fields; the total is computed when the export leaves it out. (Made
    for every line of the export, before any page can be rendered: positional and lean.)"""
    get = fields.get
    quantity = get("quantity") or ZERO
    unit_price = get("unit_price") or ZERO
    gross = quantity * unit_price
    discount = get("discount")
    if discount is None:
        rate = get("discount_rate")
        if rate is None and get("discount_percent") is not None:
            rate = fields["discount_percent"] / 100
        if rate is not None:
            discount = (gross * rate).quantize(CENT)
    discount = discount or ZERO
    total = get("total")
    if total is None:
        total = (gross - discount).quantize(CENT)
    sku, description, unit, tax = get("sku") or "", get("description") or "", get("unit") or "", get("tax") or ZERO
    return Line(sku, description, quantity, unit, unit_price, discount, tax, total)


@pickled_by_position
@dataclass(slots=True)
class Contact:
    customer_id: str
    name: str
    email: str
    phone: str
    role: str
    portal_access: bool
    notifications: bool = True  # the export can opt a contact out of event e-mail


@pickled_by_position
@dataclass(slots=True)
class SalesRep:
    name: str
    email: str = ""
    phone: str = ""


@pickled_by_position
@dataclass(slots=True)
class Customer:
    id: str
    name: str
    email: str
    phone: str
    billing: Address
    shipping: Address
    language: str
    currency: str
    portal_enabled: bool
    group: str
    sales_rep: SalesRep | None
    payment_terms: str
    payment_days: int
    price_group: str
    slug: str  # the export's own portal name for the customer, if it has one
    origin: Origin
    language_known: bool = True  # False: neither the export nor the settings name one (site default)
    contacts: list[Contact] = field(default_factory=list)


@pickled_by_position
@dataclass(slots=True)
class StageEvent:
    stage: str
    date: date


@pickled_by_position
@dataclass(slots=True)
class Shipment:
    id: str
    order_number: str
    customer_id: str
    date: date
    carrier: str
    tracking_number: str
    tracking_url: str
    status: str
    label: str = ""  # the ERP's own status (one of `portal.states`), shown instead of `status`


@pickled_by_position
@dataclass(slots=True)
class Document:
    id: str
    customer_id: str
    order_number: str
    invoice_number: str
    title: str
    file: str  # as the export row wrote it
    date: date | None
    size: int
    source: DocumentFile | None = None  # the file as checked (read/documents.py); read only through it


@pickled_by_position
@dataclass(slots=True)
class Payment:
    customer_id: str
    invoice_number: str
    date: date
    amount: Decimal
    method: str
    reference: str


@pickled_by_position
@dataclass(slots=True)
class Invoice:
    number: str
    customer_id: str
    order_number: str
    date: date
    due_date: date
    kind: str  # "invoice" or "credit_note"
    status: str  # open | paid | void | overdue (derived)
    lines: list[Line]
    tax: Decimal
    total: Decimal
    paid: Decimal
    balance: Decimal
    days_overdue: int
    payment_link: str
    origin: Origin
    payments: list[Payment] = field(default_factory=list)
    documents: list[Document] = field(default_factory=list)
    label: str = ""  # the ERP's own status (one of `portal.states`), shown instead of `status`


@pickled_by_position
@dataclass(slots=True)
class Order:
    number: str
    customer_id: str
    date: date
    status: str
    stage: str
    history: list[StageEvent]
    promised_date: date | None
    shipped_date: date | None
    carrier: str
    ship_to: Address
    po_number: str
    sales_rep: str
    notes: str
    lines: list[Line]
    subtotal: Decimal
    shipping: Decimal
    tax: Decimal
    total: Decimal
    origin: Origin
    invoices: list[Invoice] = field(default_factory=list)
    shipments: list[Shipment] = field(default_factory=list)
    documents: list[Document] = field(default_factory=list)


@pickled_by_position
@dataclass(slots=True)
class Quote:
    number: str
    customer_id: str
    date: date
    valid_until: date | None
    status: str
    lines: list[Line]
    total: Decimal
    notes: str
    origin: Origin
    label: str = ""  # the ERP's own status (one of `portal.states`), shown instead of `status`


@pickled_by_position
@dataclass(slots=True)
class Product:
    sku: str
    name: str
    description: str
    unit: str
    list_price: Decimal | None
    stock: Decimal | None
    min_quantity: Decimal | None = None  # the least a customer may order (None: any quantity)


@pickled_by_position
@dataclass(slots=True)
class PriceBreak:
    sku: str
    price: Decimal
    min_quantity: Decimal
    group: str = ""  # the price group whose price list it is on; "" for a customer's own price


@pickled_by_position
@dataclass(frozen=True, slots=True)
class Movement:
    """One movement of a customer's account: invoices raise what is owed, payments lower it."""

    date: date
    kind: str  # invoice | credit_note | payment | recorded (a paid amount the export states on an invoice)
    reference: str
    amount: Decimal  # positive: owed; negative: paid or credited
    invoice: str = ""  # the invoice it concerns, if any


@pickled_by_position
@dataclass(slots=True)
class CustomerBook:
    """Everything one customer's portal shows, joined and sorted newest first."""

    customer: Customer
    orders: list[Order] = field(default_factory=list)
    invoices: list[Invoice] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)
    shipments: list[Shipment] = field(default_factory=list)
    quotes: list[Quote] = field(default_factory=list)
    documents: list[Document] = field(default_factory=list)
    prices: dict[str, list[PriceBreak]] = field(default_factory=dict)
    credit: Decimal = ZERO  # payments applied to no invoice: credit on account
    account: list[Movement] = field(default_factory=list)  # every movement, oldest first


@dataclass
class Ledger:
    """The whole export, modelled: one book per customer plus what they share."""

    as_of: date
    books: dict[str, CustomerBook]
    catalogue: dict[str, Product]
    has: frozenset[str]  # the entities the export maps, so absent ones grow no pages
    price_lists: dict[str, dict[str, list[PriceBreak]]] = field(default_factory=dict)  # group -> sku -> breaks

    def unopenable(self) -> list[str]:
        """Customers whose portal is built but has no contact who could sign in to it."""
        return sorted(
            cid
            for cid, book in self.books.items()
            if book.customer.portal_enabled and not any(c.portal_access for c in book.customer.contacts)
        )

    def unknown(self, customer_ids: Iterable[str]) -> str | None:
        """What to tell someone who named customer ids the export does not have (with the
        closest it does have); None when every id is known."""
        missing = sorted(set(customer_ids) - set(self.books))
        if not missing:
            return None
        said = []
        for customer_id in missing:
            close = sorted(get_close_matches(customer_id, list(self.books), n=3, cutoff=0.5))
            said.append(
                f"no customer {customer_id!r} in the export" + (f" (did you mean {', '.join(close)}?)" if close else "")
            )
        return "; ".join(said)


def document_files(books: Iterable[CustomerBook]) -> dict[tuple[int, int], str]:
    """Each document file (device, inode) and the customer it went to."""
    return {document.source.identity[:2]: book.customer.id for book in books for document in book.documents}
