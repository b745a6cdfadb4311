"""What happened in a customer's account that is worth an e-mail, read from the customer's book.

Every event has a key that stays the same from export to export ("invoice:INV-71001",
"shipped:SO-24001-1"), so comparing the keys of the book just published with the keys already
notified says what is new. An overdue invoice is the one event that comes back: a reminder is
due again once `overdue_every_days` have passed since the last one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ..config import NotificationSettings
from ..model import CustomerBook
from ..site import PATHS

KINDS = ("invoice", "overdue", "shipped", "quote", "document")
SHIPPED_STATES = ("in_transit", "delivered")


@dataclass(frozen=True)
class Event:
    kind: str  # one of KINDS: the e-mail template is `emails/<kind>`
    key: str  # stable across exports: what was notified
    page: str  # the logical page the e-mail links straight to
    subject: object  # the Invoice, Shipment, Quote or Document the e-mail is about
    download: str | None = None  # a document's logical file, opened by the same direct link

    @property
    def reference(self) -> str:
        return self.key.partition(":")[2]


def events_of(book: CustomerBook, settings: NotificationSettings) -> list[Event]:
    """The events of this book that its settings switch on (overdue ones only once due a reminder
    by `overdue_after_days`; whether the interval since the last reminder has passed is the record's)."""
    found: list[Event] = []
    if settings.invoice:
        found += [
            Event("invoice", f"invoice:{i.number}", PATHS.invoice(i.number), i)
            for i in book.invoices
            if i.kind == "invoice" and i.status != "void"
        ]
    if settings.overdue:
        found += [
            Event("overdue", f"overdue:{i.number}", PATHS.invoice(i.number), i)
            for i in book.invoices
            if i.status == "overdue" and i.balance > 0 and i.days_overdue >= settings.overdue_after_days
        ]
    if settings.shipped:
        orders = {o.number: o for o in book.orders}
        found += [
            Event("shipped", f"shipped:{s.id}", PATHS.order(s.order_number), s)
            for s in book.shipments
            if s.status in SHIPPED_STATES and s.order_number in orders
        ]
    if settings.quote:
        found += [
            Event("quote", f"quote:{q.number}", PATHS.quote(q.number), q) for q in book.quotes if q.status == "open"
        ]
    if settings.document:
        found += [document_event(book, d) for d in book.documents]
    return found


def document_event(book: CustomerBook, document) -> Event:
    """A document is a download, not a page: the e-mail opens the page that lists it (its order's,
    its invoice's, or the documents list) and the same link carries the key of the file itself."""
    if document.order_number and any(o.number == document.order_number for o in book.orders):
        page = PATHS.order(document.order_number)
    elif document.invoice_number and any(i.number == document.invoice_number for i in book.invoices):
        page = PATHS.invoice(document.invoice_number)
    else:
        page = PATHS.list("documents")
    return Event("document", f"document:{document.id}", page, document, PATHS.document(document.id, document.file))


def reminder_due(last: str | None, today: date, every_days: int) -> bool:
    return last is None or (today - date.fromisoformat(last)).days >= every_days
