"""The sections of a portal, declared once.

Each section says what it needs (its switch in `portal.modules`, the entities the export must
map), what it is called in the navigation, which templates its pages use, and what those pages
depend on besides the customer's own book (`shared`: ledger data such as the catalogue). The
planner, the navigation and the recipe engine iterate `SECTIONS`; nothing else knows a section
by name. A new kind of section is one entry here plus its templates.

The order of `SECTIONS` is the order of the navigation.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..config.schema import PortalConfig, SiteConfig
from ..model import CustomerBook, Ledger, figures
from ..read import Page
from . import tables
from .labels import N_
from .paths import PATHS
from .planned import COPY, CSV, DATA, PAGE, NavItem, PlannedFile, Portal


@dataclass
class PortalContext:
    """One customer's portal, as its sections plan it."""

    portal: Portal
    book: CustomerBook
    ledger: Ledger
    site: SiteConfig
    pages: list[Page]  # the content pages this customer sees, in their language
    sections: list[str] = field(default_factory=list)  # the keys of the sections that are on
    nav: list[NavItem] = field(default_factory=list)
    shared: dict[str, PlannedFile] = field(default_factory=dict)  # the site's files several portals read, by path

    @property
    def settings(self) -> PortalConfig:
        return self.portal.settings

    def page(self, owner: Section, path: str, template: str, inputs: tuple[str, ...] = (), **extra: Any) -> PlannedFile:
        """A page of this portal: its template gets the portal's context, the section's key and `extra`."""
        context = {
            "portal": self.portal,
            "book": self.book,
            "customer": self.book.customer,
            "nav": self.nav,
            "paths": PATHS,
            "as_of": self.ledger.as_of,
            "section": owner.key,
            **extra,
        }
        return PlannedFile(self.portal, path, PAGE, template, context, shared=owner.shared, inputs=inputs)


@dataclass(frozen=True, kw_only=True)
class Section:
    key: str
    label: str | None = None  # in the navigation (translated where shown); None: not in the navigation
    module: str | None = None  # its switch in `portal.modules`; None: always on
    needs: tuple[str, ...] = ()  # entities the export must map for the section to exist
    templates: tuple[str, ...] = ()  # the templates its pages render
    shared: tuple[str, ...] = ()  # ledger data beyond the customer's book that its pages show

    def available(self, context: PortalContext) -> bool:
        switched_on = self.module is None or getattr(context.settings.modules, self.module)
        return switched_on and all(entity in context.ledger.has for entity in self.needs)

    def nav(self, context: PortalContext) -> list[NavItem]:
        return [NavItem(self.key, self.label, PATHS.list(self.key))] if self.label else []

    def files(self, context: PortalContext) -> list[PlannedFile]:
        return []


@dataclass(frozen=True, kw_only=True)
class Overview(Section):
    """The dashboard: the portal's entry page."""

    def nav(self, context: PortalContext) -> list[NavItem]:
        return [NavItem(self.key, self.label, PATHS.dashboard)]

    def files(self, context: PortalContext) -> list[PlannedFile]:
        book, as_of, settings = context.book, context.ledger.as_of, context.settings
        page = context.page(
            self,
            PATHS.dashboard,
            "dashboard.html",
            balances=figures.balances(book),
            stages=figures.stage_counts(book, settings.order_stages) if "orders" in context.sections else [],
            chart=figures.spend_chart(book, as_of),
            activity=figures.recent_activity(book, settings.recent_activity),
        )
        page.entry = True
        return [page]


@dataclass(frozen=True, kw_only=True)
class Details:
    """One page per document of a kind (each order, invoice, quote)."""

    template: str
    name: str  # what the template calls the document
    items: Callable[[CustomerBook], list]
    path: Callable[[Any], str]


@dataclass(frozen=True, kw_only=True)
class Listing(Section):
    """A sortable list (with its CSV download), and optionally a page per item."""

    table: Callable[[PortalContext], tables.Table]
    details: Details | None = None

    def files(self, context: PortalContext) -> list[PlannedFile]:
        table = self.table(context).without(set(context.settings.hidden_fields))
        files = [
            context.page(self, PATHS.list(self.key), "list.html", table=table),
            PlannedFile(context.portal, PATHS.csv(self.key), CSV, table=table, shared=self.shared),
        ]
        if self.details is not None:
            d = self.details
            files += [context.page(self, d.path(item), d.template, **{d.name: item}) for item in d.items(context.book)]
        return files


@dataclass(frozen=True, kw_only=True)
class DocumentFiles(Listing):
    """The documents list, and each document's file as a download."""

    def files(self, context: PortalContext) -> list[PlannedFile]:
        return super().files(context) + [
            PlannedFile(context.portal, PATHS.document(d.id, d.file), COPY, document=d.source)
            for d in context.book.documents
        ]


@dataclass(frozen=True, kw_only=True)
class Catalogue(Section):
    """The catalogue. The portals of a price group share one file of its products and prices (per
    language, currency and shown columns), which the page's script fetches once and shows a page
    of at a time; each portal's own page carries only what is the customer's alone: its own prices.
    So a catalogue of thousands of products costs one file, not one copy per portal."""

    def files(self, context: PortalContext) -> list[PlannedFile]:
        portal, settings, ledger = context.portal, context.settings, context.ledger
        group = context.book.customer.price_group
        price_list = ledger.price_lists.get(group, {})
        hidden = frozenset(settings.hidden_fields)
        variant = repr((group, portal.language, portal.currency, sorted(hidden)))
        path = PATHS.shared("catalogue-" + hashlib.sha256(variant.encode()).hexdigest()[:16])
        priced = "your_price" not in hidden  # a basket shows prices: none where they are hidden
        if path not in context.shared:
            table = tables.catalogue_table(ledger.catalogue, price_list).without(hidden)
            speaks = {"language": portal.language, "currency": portal.currency, "date_format": settings.date_format}
            shown = "list_price" not in hidden
            extra = {"ordering": tables.ordering(ledger.catalogue, price_list, shown)} if priced else {}
            context.shared[path] = PlannedFile(
                None, path, DATA, context={**speaks, "extra": extra}, table=table, shared=self.shared
            )
        columns = context.shared[path].table.columns
        own = tables.own_prices(context.book, ledger.catalogue, price_list) if priced else {}
        breaks = tables.own_breaks(context.book, ledger.catalogue) if priced else {}
        return [
            context.page(
                self,
                PATHS.list(self.key),
                "catalogue.html",
                data=path,
                columns=columns,
                own_prices=own,
                own_breaks=breaks,
            )
        ]


@dataclass(frozen=True, kw_only=True)
class SinglePage(Section):
    """One page of its own (the statement, the request form, the account page)."""

    template: str
    context: Callable[[PortalContext], dict[str, Any]] = lambda context: {}

    def files(self, context: PortalContext) -> list[PlannedFile]:
        return [context.page(self, PATHS.list(self.key), self.template, **self.context(context))]


@dataclass(frozen=True, kw_only=True)
class Requests(SinglePage):
    """The request form: only where requests have somewhere to go."""

    def available(self, context: PortalContext) -> bool:
        actions = context.settings.actions
        return super().available(context) and bool(actions.email or actions.form_url or context.site.support_email)


@dataclass(frozen=True, kw_only=True)
class ContentPages(Section):
    """The site's own Markdown pages this customer may see, in the customer's language."""

    def nav(self, context: PortalContext) -> list[NavItem]:
        return [NavItem(f"page:{p.slug}", p.title, PATHS.page(p.slug), external=True) for p in context.pages]

    def files(self, context: PortalContext) -> list[PlannedFile]:
        return [
            context.page(
                self, PATHS.page(page.slug), "content.html", inputs=(page.html,), page=page, section=f"page:{page.slug}"
            )
            for page in context.pages
        ]


@dataclass(frozen=True, kw_only=True)
class NavLinks(Section):
    """Links configured in `branding.nav_links`, for the customers in their audience."""

    def nav(self, context: PortalContext) -> list[NavItem]:
        customer = context.book.customer
        return [
            NavItem(f"link:{i}", link.label, link.url, external=True)
            for i, link in enumerate(context.settings.branding.nav_links)
            if link.audience is None or customer.id in link.audience or customer.group in link.audience
        ]


def _statement(context: PortalContext) -> dict[str, Any]:
    book, as_of = context.book, context.ledger.as_of
    return {
        "statement": figures.statement(book, as_of, context.settings.statement_months),
        "items": figures.open_items(book),
        "aging": figures.aging(book, as_of),
        "balances": figures.balances(book),
    }


SECTIONS: tuple[Section, ...] = (
    Overview(key="dashboard", label=N_("Overview"), templates=("dashboard.html",)),
    Listing(
        key="orders",
        label=N_("Orders"),
        module="orders",
        needs=("orders",),
        templates=("list.html", "order.html"),
        table=lambda c: tables.orders_table(c.book),
        details=Details(
            template="order.html", name="order", items=lambda b: b.orders, path=lambda o: PATHS.order(o.number)
        ),
    ),
    Listing(
        key="invoices",
        label=N_("Invoices"),
        module="invoices",
        needs=("invoices",),
        templates=("list.html", "invoice.html"),
        table=lambda c: tables.invoices_table(c.book),
        details=Details(
            template="invoice.html", name="invoice", items=lambda b: b.invoices, path=lambda i: PATHS.invoice(i.number)
        ),
    ),
    SinglePage(
        key="statement",
        label=N_("Statement"),
        module="statement",
        needs=("invoices",),
        templates=("statement.html",),
        template="statement.html",
        context=_statement,
    ),
    Listing(
        key="shipments",
        label=N_("Shipments"),
        module="shipments",
        needs=("shipments",),
        templates=("list.html",),
        table=lambda c: tables.shipments_table(c.book),
    ),
    Listing(
        key="quotes",
        label=N_("Quotes"),
        module="quotes",
        needs=("quotes",),
        templates=("list.html", "quote.html"),
        table=lambda c: tables.quotes_table(c.book),
        details=Details(
            template="quote.html", name="quote", items=lambda b: b.quotes, path=lambda q: PATHS.quote(q.number)
        ),
    ),
    DocumentFiles(
        key="documents",
        label=N_("Documents"),
        module="documents",
        needs=("documents",),
        templates=("list.html",),
        table=lambda c: tables.documents_table(c.book),
    ),
    Catalogue(
        key="catalogue",
        label=N_("Catalogue"),
        module="catalogue",
        needs=("catalogue",),
        templates=("catalogue.html",),
        shared=("catalogue", "price_lists"),
    ),
    Requests(
        key="requests", label=N_("Requests"), module="requests", templates=("requests.html",), template="requests.html"
    ),
    ContentPages(key="content", templates=("content.html",)),
    NavLinks(key="links"),
    SinglePage(
        key="account", label=N_("Account"), module="account", templates=("account.html",), template="account.html"
    ),
)
