"""List tables, declared once and rendered twice: as an HTML table and as a CSV download.

A `Table` holds typed cells (text, money, date, number, state). The HTML template formats them
for the customer's locale and gives each a sortable key; `to_csv` writes the raw values with
text cells neutralised against spreadsheet formula injection.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import PurePosixPath
from typing import Any

from ..model.canonical import CustomerBook, PriceBreak, Product
from .labels import N_

TEXT, MONEY, DATE, NUMBER, STATE = "text", "money", "date", "number", "state"


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = TEXT
    filter: bool = False  # offer a drop-down filter on this column


@dataclass(frozen=True)
class Cell:
    value: Any
    link: tuple[str, str] | None = None  # (kind, key) of a page, resolved to a URL when rendered
    download: str | None = None  # the file name a linked download is saved under


@dataclass
class Table:
    name: str  # also the CSV file's name
    caption: str
    columns: list[Column]
    rows: list[list[Cell]] = field(default_factory=list)

    def without(self, hidden: set[str]) -> Table:
        """The table without the columns a portal's settings hide (from the page and the CSV alike)."""
        keep = [i for i, c in enumerate(self.columns) if c.key not in hidden]
        if len(keep) == len(self.columns):
            return self
        return Table(
            self.name, self.caption, [self.columns[i] for i in keep], [[row[i] for i in keep] for row in self.rows]
        )

    def filter_values(self, index: int) -> list[str]:
        return sorted({str(row[index].value) for row in self.rows if row[index].value not in (None, "")})


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    """A text cell a spreadsheet will show as text, never evaluate (OWASP CSV injection)."""
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_value(cell: Cell, column: Column, state: Callable[[str], str] = str) -> str:
    value = cell.value
    if value is None:
        return ""
    if column.kind in (MONEY, NUMBER) and isinstance(value, (Decimal, int)):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if column.kind == STATE:
        return neutralise(state(str(value)))
    return neutralise(str(value))


def to_csv(
    table: Table, translate: Callable[[str], str] = lambda label: label, state: Callable[[str], str] = str
) -> bytes:
    """The table as CSV; `translate` gives the column headings, `state` the states, in the customer's language."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([neutralise(translate(c.label)) for c in table.columns])
    for row in table.rows:
        writer.writerow([csv_value(cell, column, state) for cell, column in zip(row, table.columns, strict=True)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # the BOM makes Excel read UTF-8


def to_json(
    table: Table, money, number, translate: Callable[[str], str] = lambda label: label, extra: dict | None = None
) -> bytes:
    """The table as JSON for a page's script: headings in the customer's language, and each money
    or number cell as [its text for the customer, its plain value for sorting and CSV]; `extra`
    keys beside (what a basket needs to price any quantity)."""
    formats = {MONEY: money, NUMBER: number}

    def cell(value: Any, kind: str) -> Any:
        if kind in formats:
            return None if value is None else [formats[kind](value), str(value)]
        return "" if value is None else str(value)

    data = {
        "columns": [{"key": c.key, "label": translate(c.label), "kind": c.kind} for c in table.columns],
        "rows": [[cell(c.value, col.kind) for c, col in zip(row, table.columns, strict=True)] for row in table.rows],
        **(extra or {}),
    }
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def orders_table(book: CustomerBook) -> Table:
    columns = [
        Column("number", N_("Order")),
        Column("date", N_("Date"), DATE),
        Column("po_number", N_("Your reference")),
        Column("stage", N_("Stage"), STATE, filter=True),
        Column("shipped", N_("Shipped"), DATE),
        Column("total", N_("Total"), MONEY),
    ]
    rows = [
        [
            Cell(o.number, ("order", o.number)),
            Cell(o.date),
            Cell(o.po_number),
            Cell(o.stage),
            Cell(o.shipped_date),
            Cell(o.total),
        ]
        for o in book.orders
    ]
    return Table("orders", N_("Orders"), columns, rows)


def invoices_table(book: CustomerBook) -> Table:
    columns = [
        Column("number", N_("Invoice")),
        Column("date", N_("Date"), DATE),
        Column("due", N_("Due"), DATE),
        Column("status", N_("Status"), STATE, filter=True),
        Column("total", N_("Total"), MONEY),
        Column("balance", N_("Balance"), MONEY),
    ]
    rows = [
        [
            Cell(i.number, ("invoice", i.number)),
            Cell(i.date),
            Cell(i.due_date),
            Cell(i.label or ("credit_note" if i.kind == "credit_note" else i.status)),
            Cell(i.total),
            Cell(i.balance),
        ]
        for i in book.invoices
    ]
    return Table("invoices", N_("Invoices"), columns, rows)


def shipments_table(book: CustomerBook) -> Table:
    columns = [
        Column("date", N_("Date"), DATE),
        Column("order", N_("Order")),
        Column("carrier", N_("Carrier"), filter=True),
        Column("tracking", N_("Tracking number")),
        Column("status", N_("Status"), STATE, filter=True),
    ]
    rows = [
        [
            Cell(s.date),
            Cell(s.order_number, ("order", s.order_number)),
            Cell(s.carrier),
            Cell(s.tracking_number, ("tracking", s.tracking_url) if s.tracking_url else None),
            Cell(s.label or s.status),
        ]
        for s in book.shipments
    ]
    return Table("shipments", N_("Shipments"), columns, rows)


def quotes_table(book: CustomerBook) -> Table:
    columns = [
        Column("number", N_("Quote")),
        Column("date", N_("Date"), DATE),
        Column("valid_until", N_("Valid until"), DATE),
        Column("status", N_("Status"), STATE, filter=True),
        Column("total", N_("Total"), MONEY),
    ]
    rows = [
        [
            Cell(q.number, ("quote", q.number)),
            Cell(q.date),
            Cell(q.valid_until),
            Cell(q.label or q.status),
            Cell(q.total),
        ]
        for q in book.quotes
    ]
    return Table("quotes", N_("Quotes"), columns, rows)


def documents_table(book: CustomerBook) -> Table:
    columns = [
        Column("title", N_("Document")),
        Column("date", N_("Date"), DATE),
        Column("order", N_("Order")),
        Column("invoice", N_("Invoice")),
        Column("size", N_("Size (KB)"), NUMBER),
    ]
    rows = [
        [
            Cell(d.title, ("document", d.id), download=PurePosixPath(d.file).name),
            Cell(d.date),
            Cell(d.order_number, ("order", d.order_number) if d.order_number else None),
            Cell(d.invoice_number, ("invoice", d.invoice_number) if d.invoice_number else None),
            Cell(Decimal(max(1, round(d.size / 1024)))),
        ]
        for d in book.documents
    ]
    return Table("documents", N_("Documents"), columns, rows)


def unit_price(breaks, fallback: Decimal | None, quantity: Decimal = Decimal(1)) -> Decimal | None:
    """The price of one unit when buying `quantity`: the lowest break that quantity reaches, else
    the fallback (the list price). catalogue.js prices a basket by the same rule."""
    return min((p.price for p in breaks if p.min_quantity <= quantity), default=fallback)


def catalogue_table(catalogue: dict[str, Product], price_list: dict[str, list[PriceBreak]]) -> Table:
    """Every product with its list price and the price on a price group's list: what all the
    portals of that group share (a customer's own prices come on top, see `own_prices`)."""
    columns = [
        Column("sku", N_("Item")),
        Column("name", N_("Description")),
        Column("unit", N_("Unit")),
        Column("list_price", N_("List price"), MONEY),
        Column("your_price", N_("Your price"), MONEY),
        Column("stock", N_("In stock"), NUMBER),
    ]
    products = sorted(catalogue.values(), key=lambda p: p.sku)
    minimums = any(p.min_quantity for p in products)  # a column only where the export has them
    if minimums:
        columns.append(Column("min_quantity", N_("Minimum order"), NUMBER))
    rows = [
        [
            Cell(p.sku),
            Cell(p.name),
            Cell(p.unit),
            Cell(p.list_price),
            Cell(unit_price(price_list.get(p.sku, ()), p.list_price)),
            Cell(p.stock),
            *([Cell(p.min_quantity)] if minimums else []),
        ]
        for p in products
    ]
    return Table("catalogue", N_("Catalogue"), columns, rows)


def ordering(
    catalogue: dict[str, Product], price_list: dict[str, list[PriceBreak]], list_price_shown: bool = True
) -> dict[str, dict]:
    """What a basket needs to price any quantity (shared by a price group's portals): each
    product's price where no break applies (its list price; where list prices are hidden, the
    price its row shows instead, so nothing hidden is in the file), its group's price breaks as
    [from quantity, price], and its minimum."""
    return {
        p.sku: {
            "list": _plain(p.list_price if list_price_shown else unit_price(price_list.get(p.sku, ()), p.list_price)),
            "breaks": [[_plain(b.min_quantity), _plain(b.price)] for b in price_list.get(p.sku, ())],
            "minimum": _plain(p.min_quantity),
        }
        for p in sorted(catalogue.values(), key=lambda p: p.sku)
    }


def own_breaks(book: CustomerBook, catalogue: dict[str, Product]) -> dict[str, list[list[str]]]:
    """The customer's own price breaks (not its group's), for the basket on its catalogue page."""
    own = {}
    for sku, breaks in sorted(book.prices.items()):
        mine = [[_plain(b.min_quantity), _plain(b.price)] for b in breaks if not b.group]
        if mine and sku in catalogue:
            own[sku] = mine
    return own


def _plain(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def own_prices(
    book: CustomerBook, catalogue: dict[str, Product], price_list: dict[str, list[PriceBreak]]
) -> dict[str, Decimal]:
    """The customer's price for one unit wherever it is not its price group's (its own price list)."""
    own = {}
    for sku, breaks in book.prices.items():
        product = catalogue.get(sku)
        if product is None:
            continue
        price = unit_price(breaks, product.list_price)
        if price != unit_price(price_list.get(sku, ()), product.list_price):
            own[sku] = price
    return own
