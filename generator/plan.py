"""Plan the site: every file to produce, as data, before anything is rendered.

A `PlannedFile` says whose portal it belongs to, its logical path inside that portal, and how
to make it (a template with its context, a table to write as CSV, or a file to copy). The
renderer turns each into bytes without knowing what comes after it; the build can wrap a
customer's files (encryption) between render and write without the renderer knowing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import tables, views
from .assets import AssetManifest
from .config import Config, PortalConfig
from .content import Page, pages_for
from .ledger import url_safe
from .model import CustomerBook, Ledger

PAGE, CSV, COPY = "page", "csv", "copy"


@dataclass(frozen=True, slots=True)
class Portal:
    customer_id: str
    slug: str
    name: str
    language: str
    currency: str
    settings: PortalConfig = field(default_factory=PortalConfig, compare=False, hash=False, repr=False)
    language_known: bool = True  # False: the sign-in page follows the browser's language


@dataclass(slots=True)
class PlannedFile:
    portal: Portal | None  # None: a file of the site itself (shared assets, 404)
    path: str  # logical path, relative to the portal's folder (or the site's)
    kind: str
    template: str | None = None
    context: dict[str, Any] | None = None
    table: tables.Table | None = None
    source: Path | None = None  # COPY: the file to copy ...
    data: bytes | None = None  # ... or its bytes, already read

    @property
    def output_path(self) -> str:
        return f"{self.portal.slug}/{self.path}" if self.portal else self.path


@dataclass
class SitePlan:
    portals: list[Portal]
    files: list[PlannedFile] = field(default_factory=list)

    def pages_per_portal(self) -> dict[str, int]:
        counts = {p.slug: 0 for p in self.portals}
        for f in self.files:
            if f.portal is not None and f.kind == PAGE:
                counts[f.portal.slug] += 1
        return counts


class PortalPaths:
    """The logical file name of every page a portal can have; one flat folder per portal."""

    dashboard = "index.html"

    @staticmethod
    def list(name: str) -> str:
        return f"{name}.html"

    @staticmethod
    def csv(name: str) -> str:
        return f"{name}.csv"

    @staticmethod
    def order(number: str) -> str:
        return f"order-{url_safe(number)}.html"

    @staticmethod
    def invoice(number: str) -> str:
        return f"invoice-{url_safe(number)}.html"

    @staticmethod
    def quote(number: str) -> str:
        return f"quote-{url_safe(number)}.html"

    @staticmethod
    def document(doc_id: str, file: str) -> str:
        return f"document-{doc_id}{Path(file).suffix.lower()}"

    @staticmethod
    def page(slug: str) -> str:
        return f"page-{url_safe(slug)}.html"

    def target(self, link: tuple[str, str] | None, book: CustomerBook | None = None) -> str | None:
        """The path of a (kind, key) link from a table cell or activity item."""
        if link is None:
            return None
        kind, key = link
        if kind == "tracking":
            return key
        if kind == "document" and book is not None:
            doc = next((d for d in book.documents if d.id == key), None)
            return self.document(key, doc.file) if doc else None
        return {"order": self.order, "invoice": self.invoice, "quote": self.quote}[kind](key)


PATHS = PortalPaths()


@dataclass(frozen=True)
class NavItem:
    key: str
    label: str
    path: str
    external: bool = False  # a configured link: its label is shown as written, not translated


def enabled_modules(settings: PortalConfig, ledger: Ledger, support_email: str | None) -> list[str]:
    """Modules switched on in a portal's settings whose data the export carries, in navigation order."""
    modules = settings.modules
    needs = {"orders": "orders", "invoices": "invoices", "statement": "invoices", "shipments": "shipments",
             "quotes": "quotes", "documents": "documents", "catalogue": "catalogue"}
    shown = [m for m, entity in needs.items() if getattr(modules, m) and entity in ledger.has]
    actions = settings.actions
    if modules.requests and (actions.email or actions.form_url or support_email):
        shown.append("requests")
    if modules.account:
        shown.append("account")
    return shown


MODULE_LABELS = {
    "orders": tables.N_("Orders"), "invoices": tables.N_("Invoices"), "statement": tables.N_("Statement"),
    "shipments": tables.N_("Shipments"), "quotes": tables.N_("Quotes"), "documents": tables.N_("Documents"),
    "catalogue": tables.N_("Catalogue"), "requests": tables.N_("Requests"), "account": tables.N_("Account"),
}

LIST_TABLES = {
    "orders": tables.orders_table, "invoices": tables.invoices_table, "shipments": tables.shipments_table,
    "quotes": tables.quotes_table, "documents": tables.documents_table,
}


class Planner:
    def __init__(self, config: Config, ledger: Ledger, pages: list[Page], assets: AssetManifest,
                 slugs: dict[str, str]):
        self.config = config
        self.ledger = ledger
        self.pages = pages
        self.assets = assets
        self.slugs = slugs

    def plan(self, only: set[str] | None = None) -> SitePlan:
        books = [b for b in self.ledger.books.values() if b.customer.portal_enabled and b.customer.id in self.slugs
                 and (only is None or b.customer.id in only)]
        books.sort(key=lambda b: self.slugs[b.customer.id])
        portals = [portal_of(self.config, b, self.slugs[b.customer.id]) for b in books]
        plan = SitePlan(portals)
        plan.files += self.site_files()
        for portal, book in zip(portals, books, strict=True):
            plan.files += self.portal_files(portal, book)
        return plan

    def site_files(self) -> list[PlannedFile]:
        files = [
            PlannedFile(None, "index.html", PAGE, "site_index.html", {}),
            PlannedFile(None, "404.html", PAGE, "404.html", {}),
            PlannedFile(None, "robots.txt", PAGE, "robots.txt", {}),
        ]
        unique = {asset.path: asset for asset in self.assets.assets.values()}
        return files + [PlannedFile(None, path, COPY, data=asset.data) for path, asset in sorted(unique.items())]

    def nav(self, book: CustomerBook, modules: list[str], settings: PortalConfig) -> list[NavItem]:
        items = [NavItem("dashboard", tables.N_("Overview"), PATHS.dashboard)]
        items += [NavItem(m, MODULE_LABELS[m], PATHS.list(m)) for m in modules if m != "account"]
        items += [NavItem(f"page:{p.slug}", p.title, PATHS.page(p.slug), external=True)
                  for p in self.visible_pages(book)]
        items += [NavItem(f"link:{i}", link.label, link.url, external=True)
                  for i, link in enumerate(settings.branding.nav_links)
                  if link.audience is None or book.customer.id in link.audience or book.customer.group in link.audience]
        if "account" in modules:
            items.append(NavItem("account", MODULE_LABELS["account"], PATHS.list("account")))
        return items

    def visible_pages(self, book: CustomerBook) -> list[Page]:
        customer = book.customer
        return pages_for(self.pages, customer.id, customer.group, customer.language)

    def portal_files(self, portal: Portal, book: CustomerBook) -> list[PlannedFile]:
        settings = portal.settings
        modules = enabled_modules(settings, self.ledger, self.config.site.support_email)
        base = {"portal": portal, "book": book, "customer": book.customer, "nav": self.nav(book, modules, settings),
                "paths": PATHS, "as_of": self.ledger.as_of, "modules": modules}

        def page(path: str, template: str, section: str, **extra: Any) -> PlannedFile:
            return PlannedFile(portal, path, PAGE, template, {**base, "section": section, **extra})

        files = [page(PATHS.dashboard, "dashboard.html", "dashboard", **self.dashboard(book, settings, modules))]
        hidden = set(settings.hidden_fields)
        for name, make_table in LIST_TABLES.items():
            if name in modules:
                table = make_table(book).without(hidden)
                files.append(page(PATHS.list(name), "list.html", name, table=table))
                files.append(PlannedFile(portal, PATHS.csv(name), CSV, table=table))
        if "catalogue" in modules:
            table = tables.catalogue_table(book, self.ledger.catalogue).without(hidden)
            files.append(page(PATHS.list("catalogue"), "list.html", "catalogue", table=table))
            files.append(PlannedFile(portal, PATHS.csv("catalogue"), CSV, table=table))
        if "orders" in modules:
            files += [page(PATHS.order(o.number), "order.html", "orders", order=o) for o in book.orders]
        if "invoices" in modules:
            files += [page(PATHS.invoice(i.number), "invoice.html", "invoices", invoice=i) for i in book.invoices]
        if "statement" in modules:
            files.append(page(PATHS.list("statement"), "statement.html", "statement",
                              items=views.open_items(book), aging=views.aging(book, self.ledger.as_of),
                              balances=views.balances(book)))
        if "quotes" in modules:
            files += [page(PATHS.quote(q.number), "quote.html", "quotes", quote=q) for q in book.quotes]
        if "documents" in modules:
            files += [PlannedFile(portal, PATHS.document(d.id, d.file), COPY, source=self.config.export_dir / d.file)
                      for d in book.documents]
        if "requests" in modules:
            files.append(page(PATHS.list("requests"), "requests.html", "requests"))
        if "account" in modules:
            files.append(page(PATHS.list("account"), "account.html", "account"))
        files += [page(PATHS.page(p.slug), "content.html", f"page:{p.slug}", page=p) for p in self.visible_pages(book)]
        return files

    def dashboard(self, book: CustomerBook, settings: PortalConfig, modules: list[str]) -> dict[str, Any]:
        as_of = self.ledger.as_of
        return {
            "balances": views.balances(book),
            "stages": views.stage_counts(book, settings.order_stages) if "orders" in modules else [],
            "chart": views.spend_chart(book, as_of),
            "activity": views.recent_activity(book, settings.recent_activity),
        }


def portal_of(config: Config, book: CustomerBook, slug: str) -> Portal:
    customer = book.customer
    return Portal(customer.id, slug, customer.name, customer.language, customer.currency,
                  config.settings_for(customer.id, customer.group), customer.language_known)


def plan_site(config: Config, ledger: Ledger, pages: list[Page], assets: AssetManifest,
              slugs: dict[str, str], only: set[str] | None = None) -> SitePlan:
    return Planner(config, ledger, pages, assets, slugs).plan(only)
