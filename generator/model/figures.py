"""The figures a portal shows that are not in any one record: dashboard, aging, spend chart.

Pure functions of a `CustomerBook` and the ledger date, so tests can check each figure
against a hand computation from the export.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from .canonical import ZERO, CustomerBook, Invoice, Movement

AGING_BUCKETS = (
    ("current", None, 0),
    ("1-30", 1, 30),
    ("31-60", 31, 60),
    ("61-90", 61, 90),
    ("over-90", 91, None),
)


@dataclass(frozen=True)
class Bucket:
    key: str
    amount: Decimal
    count: int


def days_past_due(invoice: Invoice, as_of: date) -> int:
    return (as_of - invoice.due_date).days


def open_items(book: CustomerBook) -> list[Invoice]:
    """Invoices and credit notes with something left to pay or to use, oldest due first."""
    items = [i for i in book.invoices if i.status != "void" and i.balance != 0]
    return sorted(items, key=lambda i: (i.due_date, i.number))


def aging(book: CustomerBook, as_of: date) -> list[Bucket]:
    amounts = {key: ZERO for key, _, _ in AGING_BUCKETS}
    counts: Counter[str] = Counter()
    for invoice in open_items(book):
        key = aging_bucket(days_past_due(invoice, as_of))
        amounts[key] += invoice.balance
        counts[key] += 1
    return [Bucket(key, amounts[key], counts[key]) for key, _, _ in AGING_BUCKETS]


def aging_bucket(days: int) -> str:
    for key, low, high in AGING_BUCKETS:
        if (low is None or days >= low) and (high is None or days <= high):
            return key
    raise AssertionError(days)


@dataclass(frozen=True)
class Balances:
    open: Decimal  # what the customer owes: open items less the credit on account
    overdue: Decimal
    open_count: int
    overdue_count: int
    credit: Decimal = ZERO  # payments applied to no invoice


def balances(book: CustomerBook) -> Balances:
    items = open_items(book)
    overdue = [i for i in items if i.status == "overdue"]
    return Balances(
        open=sum((i.balance for i in items), ZERO) - book.credit,
        overdue=sum((i.balance for i in overdue), ZERO),
        open_count=sum(1 for i in items if i.balance > 0),
        overdue_count=len(overdue),
        credit=book.credit,
    )


@dataclass(frozen=True)
class StatementLine:
    movement: Movement
    balance: Decimal  # what is owed after this movement


@dataclass(frozen=True)
class Statement:
    """The account over a period: opening balance, every movement with a running balance, closing balance."""

    start: date  # the first day of the period
    end: date
    opening: Decimal
    lines: list[StatementLine]
    closing: Decimal


def statement(book: CustomerBook, as_of: date, months: int = 12) -> Statement:
    start = months_back(as_of, months)[0]
    movements = [m for m in book.account if m.date <= as_of]
    balance = sum((m.amount for m in movements if m.date < start), ZERO)
    opening, lines = balance, []
    for movement in movements:
        if movement.date >= start:
            balance += movement.amount
            lines.append(StatementLine(movement, balance))
    return Statement(start, as_of, opening, lines, balance)


def stage_counts(book: CustomerBook, stages: list[str]) -> list[tuple[str, int]]:
    counts = Counter(order.stage for order in book.orders)
    shown = [(stage, counts.get(stage, 0)) for stage in stages]
    if counts.get("cancelled"):
        shown.append(("cancelled", counts["cancelled"]))
    return shown


@dataclass(frozen=True)
class Bar:
    month: date
    amount: Decimal
    x: int
    y: int
    height: int


@dataclass(frozen=True)
class SpendChart:
    bars: list[Bar]
    maximum: Decimal
    width: int
    height: int
    bar_width: int

    @property
    def total(self) -> Decimal:
        return sum((b.amount for b in self.bars), ZERO)


def last_twelve_months(as_of: date) -> list[date]:
    return months_back(as_of, 12)


def months_back(as_of: date, count: int) -> list[date]:
    """The first days of the `count` months up to and including as_of's, oldest first."""
    months = []
    year, month = as_of.year, as_of.month
    for _ in range(count):
        months.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months[::-1]


def monthly_spend(book: CustomerBook, as_of: date) -> dict[date, Decimal]:
    """Net invoiced per month (credit notes subtract); orders when the export has no invoices."""
    documents = book.invoices if book.invoices else book.orders
    months = {m: ZERO for m in last_twelve_months(as_of)}
    for doc in documents:
        if getattr(doc, "status", "") == "void" or getattr(doc, "stage", "") == "cancelled":
            continue
        key = doc.date.replace(day=1)
        if key in months and doc.date <= as_of:
            months[key] += doc.total
    return months


def spend_chart(book: CustomerBook, as_of: date, width: int = 600, height: int = 160) -> SpendChart:
    months = monthly_spend(book, as_of)
    maximum = max([a for a in months.values()] + [ZERO])
    slot = width // len(months)
    bar_width = slot - 8
    bars = []
    for index, (month, amount) in enumerate(months.items()):
        bar_height = int(height * amount / maximum) if maximum > 0 and amount > 0 else 0
        bars.append(Bar(month, amount, x=index * slot + 4, y=height - bar_height, height=bar_height))
    return SpendChart(bars, maximum, width, height, bar_width)


@dataclass(frozen=True)
class Activity:
    date: date
    kind: str  # order | invoice | credit_note | payment | shipment | quote | document
    reference: str
    amount: Decimal | None
    target: tuple[str, str] | None  # (kind, key) of the page it links to


def recent_activity(book: CustomerBook, limit: int) -> list[Activity]:
    events: list[Activity] = []
    events += [Activity(o.date, "order", o.number, o.total, ("order", o.number)) for o in book.orders[:limit]]
    events += [Activity(i.date, i.kind, i.number, i.total, ("invoice", i.number)) for i in book.invoices[:limit]]
    events += [
        Activity(
            p.date,
            "payment",
            p.reference or p.invoice_number,
            p.amount,
            ("invoice", p.invoice_number) if p.invoice_number else None,
        )
        for p in book.payments[:limit]
    ]
    events += [
        Activity(s.date, "shipment", s.tracking_number or s.order_number, None, ("order", s.order_number))
        for s in book.shipments[:limit]
    ]
    events += [Activity(q.date, "quote", q.number, q.total, ("quote", q.number)) for q in book.quotes[:limit]]
    events.sort(key=lambda e: e.date, reverse=True)
    return events[:limit]
