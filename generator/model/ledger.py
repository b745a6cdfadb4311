"""Join the loaded records into one book per customer, deriving what the export leaves out.

Here the relations are resolved (an invoice's order, a payment's invoice, a shipment's order),
references that lead nowhere are reported with file, row and column, ERP status codes become
customer-facing stages, and the figures a portal shows are derived: totals, paid and balance,
due dates, overdue days, tracking and payment links.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..config import Config, PortalConfig
from ..config.entities import ADDRESS_PARTS
from ..config.schema import INVOICE_STATES, QUOTE_STATES, SHIPMENT_STATES
from ..problems import ProblemLog
from ..read import Export, Record
from ..read.documents import DocumentFile, DocumentRefused, documents_folder, locate, unpublishable_inside
from ..read.formats import file_size
from .allocation import OLDEST_FIRST, settle_payments
from .canonical import (
    CENT,
    ZERO,
    Address,
    Contact,
    Customer,
    CustomerBook,
    Document,
    Invoice,
    Ledger,
    Line,
    Order,
    Payment,
    PriceBreak,
    Product,
    Quote,
    SalesRep,
    Shipment,
    StageEvent,
    make_line,
)
from .privacy import hide_fields


def _text(fields: dict[str, Any], name: str) -> str:
    return fields.get(name) or ""


UNKNOWN_REFERENCE = "unknown-reference"  # a number no record of its kind has (or another customer's)
ACROSS_CUSTOMERS = frozenset({"shared-file", "ambiguous-group"})  # problems that take every customer's rows to judge


class LedgerBuilder:
    def __init__(self, config: Config, export: Export, problems: ProblemLog, as_of: date):
        self.config = config
        self.export = export
        self.problems = problems
        self.as_of = as_of
        self.books: dict[str, CustomerBook] = {}

    # -- helpers -----------------------------------------------------------------------------

    def column(self, entity: str, field_name: str) -> str:
        spec = getattr(self.config.exports, entity).columns.get(field_name)
        return (spec.column if spec is not None and spec.column else None) or field_name

    def reject(self, entity: str, record: Record, field_name: str, message: str, kind: str) -> None:
        """An error on the record: it is left out (or stops a strict build)."""
        origin = record.origin
        self.problems.error(origin.file, origin.row, self.column(entity, field_name), message, kind, entity)
        record.bad = True

    def warn(self, entity: str, record: Record, field_name: str, message: str, kind: str) -> None:
        origin = record.origin
        self.problems.warning(origin.file, origin.row, self.column(entity, field_name), message, kind, entity)

    def good(self, entity: str) -> list[Record]:
        return [r for r in self.export.get(entity, ()) if not r.bad]

    def book_for(self, entity: str, record: Record, field_name: str = "customer") -> CustomerBook | None:
        customer_id = record.fields.get(field_name)
        book = self.books.get(customer_id)
        if book is None:
            self.reject(entity, record, field_name, f"unknown customer {customer_id!r}", "unknown-customer")
        return book

    def theirs(
        self,
        entity: str,
        record: Record,
        field_name: str,
        document: Order | Invoice,
        customer_id: str,
        leave_out: bool = False,
    ) -> bool:
        """Whether the order or invoice a row names belongs to the row's own customer. A row of one
        customer naming another's document (an ERP typing error, or a hostile row) must not put
        anything of its own on that customer's pages: reported, and the link is not made (with
        `leave_out`, the row is not used at all)."""
        if document.customer_id == customer_id:
            return True
        kind = "order" if isinstance(document, Order) else "invoice"
        message = f"{kind} {document.number!r} belongs to customer {document.customer_id!r}, not {customer_id!r}"
        if leave_out:
            self.reject(entity, record, field_name, message, UNKNOWN_REFERENCE)
        else:
            self.warn(entity, record, field_name, f"{message}; the link is not made", UNKNOWN_REFERENCE)
        return False

    def settings(self, book: CustomerBook) -> PortalConfig:
        return self.config.settings_for(book.customer.id, book.customer.group)

    def state(
        self,
        entity: str,
        record: Record,
        allowed: tuple[str, ...] | list[str],
        default: str,
        book: CustomerBook,
        read_as: str | None = None,
    ) -> str:
        """The customer-facing state of a record's status, by `entity`'s status map; `read_as`:
        the entity the record was read as, when another's map applies (order history rows)."""
        code = record.fields.get("status")
        if code is None:
            return default
        settings = self.settings(book)
        mapping: dict[str, str] = getattr(settings.status_map, entity)
        if code in mapping:
            return mapping[code]
        folded = code.strip().lower().replace(" ", "_")
        custom = settings.states.get(folded)
        if folded in allowed or (custom is not None and custom.counts_as in allowed):
            return folded
        self.warn(
            read_as or entity,
            record,
            "status",
            f"status {code!r} is not in the status_map for {entity}; shown as {default!r}",
            "unknown-status",
        )
        return default

    def meaning(self, state: str, book: CustomerBook) -> tuple[str, str]:
        """(the built-in state whose rules apply, the ERP's own state to show instead, if any)."""
        custom = self.settings(book).states.get(state)
        if custom is not None and custom.counts_as is not None:
            return custom.counts_as, state
        return state, ""

    # -- stages ------------------------------------------------------------------------------

    def build(self) -> Ledger:
        self.customers()
        self.contacts()
        catalogue = self.catalogue()
        price_lists = self.prices(catalogue)
        orders = self.orders(catalogue)
        self.order_history(orders)
        invoices = self.invoices(orders, catalogue)
        self.payments(invoices)
        self.settle(invoices)
        self.shipments(orders)
        self.quotes(catalogue)
        self.documents(orders, invoices)
        for book in self.books.values():
            for items in (book.orders, book.invoices, book.quotes):
                items.sort(key=lambda d: (d.date, d.number), reverse=True)
            book.payments.sort(key=lambda p: p.date, reverse=True)
            book.shipments.sort(key=lambda s: (s.date, s.id), reverse=True)
            book.documents.sort(key=lambda d: (d.date or date.min, d.title), reverse=True)
            hide_fields(book, self.settings(book).hidden_fields)
        ledger = Ledger(self.as_of, self.books, catalogue, frozenset(self.export), price_lists)
        warn_unopenable(self.config, ledger, self.problems)
        return ledger

    def customers(self) -> None:
        site = self.config.site
        ids = {record.fields.get("id") for record in self.export.get("customers", ())}  # a bad row's id too
        for record in self.good("customers"):
            f = record.fields
            group = self.group_of(record, ids)
            if f["id"] in self.books:
                self.reject("customers", record, "id", f"duplicate id {f['id']!r}", "duplicate-id")
                continue
            terms = _text(f, "payment_terms")
            days = re.search(r"(?<!\d)\d{1,4}(?!\d)", terms)  # "Net 30", "30 Tage netto"
            rep = (
                SalesRep(f["sales_rep"], _text(f, "sales_rep_email"), _text(f, "sales_rep_phone"))
                if f.get("sales_rep")
                else None
            )
            settings = self.config.settings_for(f["id"], group)
            if self.config.portal.slug == "field" and not f.get("slug"):
                self.reject(
                    "customers", record, "slug", "portal.slug is 'field' but this customer has no slug", "missing-field"
                )
                continue
            customer = Customer(
                id=f["id"],
                name=f["name"],
                email=_text(f, "email"),
                phone=_text(f, "phone"),
                billing=_address(f, "billing"),
                shipping=_address(f, "shipping"),
                language=(f.get("language") or settings.language or site.language).strip().replace("-", "_"),
                language_known=bool(f.get("language") or settings.language),
                currency=(f.get("currency") or site.currency).strip().upper(),
                portal_enabled=f.get("portal_enabled") is not False and settings.enabled,
                group=group,
                sales_rep=rep,
                payment_terms=terms,
                payment_days=int(days.group()) if days else settings.default_payment_days,
                price_group=_text(f, "price_group"),
                slug=_text(f, "slug"),
                origin=record.origin,
            )
            self.books[customer.id] = CustomerBook(customer)

    def group_of(self, record: Record, ids: set[str]) -> str:
        """The customer's group, unless it is also a customer's id: an audience (`audience: [C1]`)
        names customers and groups alike, so a customer put in group "C1" would see what is meant
        for customer C1 only."""
        group = _text(record.fields, "group")
        if group not in ids:
            return group
        self.warn(
            "customers",
            record,
            "group",
            f"group {group!r} is also a customer id: audiences could not tell them apart; the customer is in no group",
            "ambiguous-group",
        )
        return ""

    def contacts(self) -> None:
        """The export's contacts, then those staff added: a later row for the same e-mail replaces an earlier one."""
        for record in self.good("contacts"):
            book = self.book_for("contacts", record)
            if book is None:
                continue
            f = record.fields
            contacts = book.customer.contacts
            if f.get("email"):
                contacts[:] = [c for c in contacts if c.email.strip().lower() != f["email"].strip().lower()]
            contacts.append(
                Contact(
                    customer_id=book.customer.id,
                    name=f["name"],
                    email=_text(f, "email"),
                    phone=_text(f, "phone"),
                    role=_text(f, "role"),
                    portal_access=bool(f.get("email")) and f.get("portal_access") is not False,
                    notifications=f.get("notifications") is not False,
                )
            )

    def catalogue(self) -> dict[str, Product]:
        products: dict[str, Product] = {}
        for record in self.good("catalogue"):
            f = record.fields
            products[f["sku"]] = Product(
                sku=f["sku"],
                name=f["name"],
                description=_text(f, "description"),
                unit=_text(f, "unit"),
                list_price=f.get("list_price"),
                stock=f.get("stock"),
                min_quantity=f.get("min_quantity"),
            )
        return products

    def prices(self, catalogue: dict[str, Product]) -> dict[str, dict[str, list[PriceBreak]]]:
        """Each book's price breaks (its price group's and its own), and each price group's list."""
        price_lists: dict[str, dict[str, list[PriceBreak]]] = {}
        by_group: dict[str, list[CustomerBook]] = {}
        for book in self.books.values():
            if book.customer.price_group:
                by_group.setdefault(book.customer.price_group, []).append(book)
        for record in self.good("prices"):
            f = record.fields
            if catalogue and f["sku"] not in catalogue:
                self.warn("prices", record, "sku", f"sku {f['sku']!r} is not in the catalogue", UNKNOWN_REFERENCE)
            if f.get("customer"):
                price = PriceBreak(f["sku"], f["price"], f.get("min_quantity") or ZERO)
                book = self.book_for("prices", record)
                books = [book] if book else []
            elif f.get("price_group"):
                price = PriceBreak(f["sku"], f["price"], f.get("min_quantity") or ZERO, f["price_group"])
                price_lists.setdefault(price.group, {}).setdefault(price.sku, []).append(price)
                books = by_group.get(f["price_group"], [])
            else:
                self.reject("prices", record, "customer", "a price needs a customer or a price group", "missing-field")
                continue
            for book in books:
                book.prices.setdefault(price.sku, []).append(price)
        for breaks in [b for book in self.books.values() for b in book.prices.values()] + [
            b for price_list in price_lists.values() for b in price_list.values()
        ]:
            breaks.sort(key=lambda p: p.min_quantity)
        return price_lists

    @staticmethod
    def lines(record: Record, catalogue: dict[str, Product]) -> list[Line]:
        """The record's lines, described from the catalogue where the export leaves the description out."""
        lines = [make_line(fields) for fields in record.lines or ()]
        for line in lines:
            if not line.description and line.sku in catalogue:
                line.description = catalogue[line.sku].name
                line.unit = line.unit or catalogue[line.sku].unit
        return lines

    def orders(self, catalogue: dict[str, Product]) -> dict[str, Order]:
        orders: dict[str, Order] = {}
        for record in self.good("orders"):
            book = self.book_for("orders", record)
            if book is None:
                continue
            portal = self.settings(book)
            f = record.fields
            lines = self.lines(record, catalogue)
            subtotal = sum((line.total for line in lines), ZERO)
            shipping = f.get("shipping") or ZERO
            tax = f["tax"] if f.get("tax") is not None else sum((line.tax for line in lines), ZERO)
            default = "shipped" if f.get("shipped_date") and "shipped" in portal.order_stages else portal.default_stage
            order = Order(
                number=f["number"],
                customer_id=book.customer.id,
                date=f["date"],
                status=_text(f, "status"),
                stage=self.state("orders", record, [*portal.order_stages, "cancelled"], default, book),
                history=[],
                promised_date=f.get("promised_date"),
                shipped_date=f.get("shipped_date"),
                carrier=_text(f, "carrier"),
                ship_to=_address(f, "ship_to"),
                po_number=_text(f, "po_number"),
                sales_rep=_text(f, "sales_rep"),
                notes=_text(f, "notes"),
                lines=lines,
                subtotal=subtotal,
                shipping=shipping,
                tax=tax,
                total=f["total"] if f.get("total") is not None else subtotal + shipping + tax,
                origin=record.origin,
            )
            orders[order.number] = order
            book.orders.append(order)
        return orders

    def order_history(self, orders: dict[str, Order]) -> None:
        for record in self.good("order_history"):
            order = orders.get(record.fields["order"])
            if order is None:
                self.reject(
                    "order_history", record, "order", f"unknown order {record.fields['order']!r}", UNKNOWN_REFERENCE
                )
                continue
            book = self.books[order.customer_id]
            portal = self.settings(book)
            stages = [*portal.order_stages, "cancelled"]
            stage = self.state("orders", record, stages, portal.default_stage, book, read_as="order_history")
            order.history.append(StageEvent(stage, record.fields["date"]))
        for order in orders.values():
            order.history.sort(key=lambda e: e.date)

    def invoices(self, orders: dict[str, Order], catalogue: dict[str, Product]) -> dict[str, Invoice]:
        source = self.config.exports.invoices
        invoices: dict[str, Invoice] = {}
        for record in self.good("invoices"):
            book = self.book_for("invoices", record)
            if book is None:
                continue
            f = record.fields
            lines = self.lines(record, catalogue)
            tax = f["tax"] if f.get("tax") is not None else sum((line.tax for line in lines), ZERO)
            total = f["total"] if f.get("total") is not None else sum((line.total for line in lines), ZERO) + tax
            order_number = _text(f, "order")
            if order_number and order_number not in orders:
                self.warn(
                    "invoices",
                    record,
                    "order",
                    f"unknown order {order_number!r}; the invoice is shown without it",
                    UNKNOWN_REFERENCE,
                )
                order_number = ""
            elif order_number and not self.theirs("invoices", record, "order", orders[order_number], book.customer.id):
                order_number = ""
            credit = bool(source.credit_note_prefix and f["number"].startswith(source.credit_note_prefix)) or total < 0
            status, label = self.meaning(self.state("invoices", record, INVOICE_STATES, "open", book), book)
            invoice = Invoice(
                number=f["number"],
                customer_id=book.customer.id,
                order_number=order_number,
                date=f["date"],
                due_date=f.get("due_date") or f["date"] + timedelta(days=book.customer.payment_days),
                kind="credit_note" if credit else "invoice",
                status=status,
                label=label,
                lines=lines,
                tax=tax,
                total=total,
                paid=f["paid"] if f.get("paid") is not None else None,
                balance=ZERO,
                days_overdue=0,
                payment_link=_text(f, "payment_link"),
                origin=record.origin,
            )
            invoices[invoice.number] = invoice
            book.invoices.append(invoice)
            if order_number:
                orders[order_number].invoices.append(invoice)
        return invoices

    def payments(self, invoices: dict[str, Invoice]) -> None:
        for record in self.good("payments"):
            f = record.fields
            invoice = invoices.get(f.get("invoice")) if f.get("invoice") else None
            if f.get("invoice") and invoice is None:
                self.reject("payments", record, "invoice", f"unknown invoice {f['invoice']!r}", UNKNOWN_REFERENCE)
                continue
            if f.get("customer"):
                book = self.book_for("payments", record)
                if book is not None and invoice is not None and invoice.customer_id != book.customer.id:
                    self.reject(
                        "payments",
                        record,
                        "invoice",
                        f"invoice {invoice.number!r} belongs to customer {invoice.customer_id!r}, "
                        f"not {book.customer.id!r}",
                        UNKNOWN_REFERENCE,
                    )
                    continue
            elif invoice is not None:
                book = self.books[invoice.customer_id]
            else:
                self.reject("payments", record, "customer", "a payment needs a customer or an invoice", "missing-field")
                continue
            if book is None:
                continue
            payment = Payment(
                book.customer.id,
                invoice.number if invoice else "",
                f["date"],
                f["amount"],
                _text(f, "method"),
                _text(f, "reference"),
            )
            book.payments.append(payment)
            if invoice is not None:
                invoice.payments.append(payment)

    def settle(self, invoices: dict[str, Invoice]) -> None:
        """Paid, balance, status and payment link of every invoice, as of the ledger date; credit on account."""
        payments = self.config.exports.payments
        allocate = (payments.allocate if payments else None) or OLDEST_FIRST
        for book in self.books.values():
            settle_payments(book, allocate)
        for invoice in invoices.values():
            invoice.balance = ZERO if invoice.status == "void" else invoice.total - invoice.paid
            if invoice.status != "void":
                counts_as = invoice.status
                invoice.status = _settled_state(invoice, self.as_of)
                if invoice.status not in (counts_as, "overdue" if counts_as == "open" else counts_as):
                    invoice.label = ""  # the ERP's own state no longer describes it (an invoice since paid)
            if invoice.status == "overdue":
                invoice.days_overdue = (self.as_of - invoice.due_date).days
            book = self.books[invoice.customer_id]
            template = self.settings(book).payment_link_template
            if not invoice.payment_link and template and invoice.balance > 0:
                customer = book.customer
                invoice.payment_link = template.format(
                    invoice=quote(invoice.number, safe=""),
                    balance=invoice.balance.quantize(CENT),
                    currency=customer.currency,
                    customer=quote(customer.id, safe=""),
                )

    def shipments(self, orders: dict[str, Order]) -> None:
        carriers = {name.lower(): url for name, url in self.config.carriers.items()}
        counts: dict[str, int] = {}
        for record in self.good("shipments"):
            f = record.fields
            order = orders.get(f["order"])
            if order is None:
                self.reject("shipments", record, "order", f"unknown order {f['order']!r}", UNKNOWN_REFERENCE)
                continue
            if f.get("customer") and not self.theirs(
                "shipments", record, "customer", order, f["customer"], leave_out=True
            ):
                continue
            counts[order.number] = counts.get(order.number, 0) + 1
            tracking = _text(f, "tracking_number")
            url = _text(f, "tracking_url")
            carrier = _text(f, "carrier")
            if not url and tracking and carrier.lower() in carriers:
                url = carriers[carrier.lower()].format(tracking=quote(tracking, safe=""))
            book = self.books[order.customer_id]
            status, label = self.meaning(self.state("shipments", record, SHIPMENT_STATES, "in_transit", book), book)
            shipment = Shipment(
                id=f"{order.number}-{counts[order.number]}",
                order_number=order.number,
                customer_id=order.customer_id,
                date=f["date"],
                carrier=carrier,
                tracking_number=tracking,
                tracking_url=url,
                status=status,
                label=label,
            )
            order.shipments.append(shipment)
            self.books[order.customer_id].shipments.append(shipment)

    def quotes(self, catalogue: dict[str, Product]) -> None:
        for record in self.good("quotes"):
            book = self.book_for("quotes", record)
            if book is None:
                continue
            f = record.fields
            lines = self.lines(record, catalogue)
            status, label = self.meaning(self.state("quotes", record, QUOTE_STATES, "open", book), book)
            if status == "open" and f.get("valid_until") and f["valid_until"] < self.as_of:
                status, label = "expired", ""
            book.quotes.append(
                Quote(
                    number=f["number"],
                    customer_id=book.customer.id,
                    date=f["date"],
                    valid_until=f.get("valid_until"),
                    status=status,
                    lines=lines,
                    total=f["total"] if f.get("total") is not None else sum((line.total for line in lines), ZERO),
                    notes=_text(f, "notes"),
                    origin=record.origin,
                    label=label,
                )
            )

    def documents(self, orders: dict[str, Order], invoices: dict[str, Invoice]) -> None:
        folder = documents_folder(self.config)
        if tables := unpublishable_inside(self.config, folder):
            self.problems.error(
                self.config.source_path.name,
                None,
                "exports.documents.folder",
                f"the documents folder {folder} also holds what must never be published ({', '.join(tables)}); "
                "a document row could publish them, so no document is published until they are kept apart",
                "unsafe-documents-folder",
                "documents",
            )
            return
        for record, book, source in self.documents_of_one_customer(folder):
            f = record.fields
            order_number = self.own_document("order", record, orders, book)
            invoice_number = self.own_document("invoice", record, invoices, book)
            document = Document(
                id=hashlib.sha256(f"{book.customer.id}\0{f['file']}".encode()).hexdigest()[:16],
                customer_id=book.customer.id,
                order_number=order_number,
                invoice_number=invoice_number,
                title=f["title"],
                file=f["file"],
                date=f.get("date"),
                size=source.size,
                source=source,
            )
            book.documents.append(document)
            if document.order_number in orders:
                orders[document.order_number].documents.append(document)
            if document.invoice_number in invoices:
                invoices[document.invoice_number].documents.append(document)

    def own_document(self, kind: str, record: Record, documents: dict, book: CustomerBook) -> str:
        """The number of the order or invoice a document row names, if it is the customer's own
        (else "", with a warning: a link to no page, or to another customer's, is not made)."""
        number = _text(record.fields, kind)
        if number and number not in documents:
            self.warn(
                "documents",
                record,
                kind,
                f"unknown {kind} {number!r}; the document is shown without it",
                UNKNOWN_REFERENCE,
            )
            return ""
        if number and not self.theirs("documents", record, kind, documents[number], book.customer.id):
            return ""
        return number

    def documents_of_one_customer(self, folder: Path) -> list[tuple[Record, CustomerBook, DocumentFile]]:
        """Each document row with its customer and its checked file; a file that rows of two
        customers name is, unless the export says files are shared, most likely one customer's
        contract named by mistake in the other's row: left out for both, with an error on each."""
        located = []
        for record in self.good("documents"):
            book = self.book_for("documents", record)
            if book is None:
                continue
            try:
                source = locate(folder, record.fields["file"], f"{record.origin.file} row {record.origin.row}")
            except DocumentRefused as exc:
                self.reject("documents", record, "file", str(exc), "refused-file")
                continue
            located.append((record, book, source))
        if not located or self.config.exports.documents.shared_files:
            return located
        named_by: dict[tuple[int, int], list[tuple[Record, str]]] = {}
        for record, book, source in located:  # by device and inode: one file, however its path is written
            named_by.setdefault(source.identity[:2], []).append((record, book.customer.id))
        for rows in named_by.values():
            if len({customer_id for _, customer_id in rows}) > 1:
                for record, customer_id in rows:
                    others = ", ".join(f"{c!r} (row {r.origin.row})" for r, c in rows if c != customer_id)
                    self.reject(
                        "documents",
                        record,
                        "file",
                        f"the file is also named for customer {others}: a file is given to one customer only "
                        "(set exports.documents.shared_files for files meant for several); left out, for all",
                        "shared-file",
                    )
        return [(record, book, source) for record, book, source in located if not record.bad]


def _settled_state(invoice: Invoice, as_of: date) -> str:
    if invoice.kind == "credit_note" or invoice.balance <= 0:
        return "paid"
    if invoice.due_date < as_of:
        return "overdue"
    return "open"


def _address(fields: dict[str, Any], prefix: str) -> Address:
    return Address(*(_text(fields, f"{prefix}_{part}") for part in ADDRESS_PARTS))


def newest_export_date(config: Config) -> date:
    """The default 'as of' date: the newest modification date among the export's files."""
    newest = 0.0
    for source in config.exports.sources().values():
        for file in (source.file, source.lines.file if source.lines else None):
            if file and file_size(path := config.export_dir / file) is not None:
                newest = max(newest, path.stat().st_mtime)
    return date.fromtimestamp(newest) if newest else date.today()


def build_ledger(config: Config, export: Export, problems: ProblemLog, as_of: date) -> Ledger:
    return LedgerBuilder(config, export, problems, as_of).build()


UNOPENABLE = "no-portal-access"


def warn_unopenable(config: Config, ledger: Ledger, problems: ProblemLog) -> None:
    """A portal with no contact who can sign in is built for nobody: say so, once, with the ids."""
    nobody = ledger.unopenable()
    if not nobody:
        return
    where = config.exports.contacts or config.exports.added_contacts
    shown = ", ".join(nobody[:20]) + (f" and {len(nobody) - 20} more" if len(nobody) > 20 else "")
    problems.warning(
        where.file if where else config.source_path.name,
        None,
        None,
        f"{len(nobody)} portal(s) have no contact with an e-mail address and portal access, so nobody can open "
        f"them: {shown}. Map contacts with e-mail addresses (exports.contacts), or add a file of your own "
        "(exports.added_contacts)",
        UNOPENABLE,
        "contacts",
    )
