"""Plan the site: every file to produce, as data, before anything is rendered.

Which files a portal has is the business of its sections (`sections.py`): the planner asks
each section that is on for a customer for its navigation entries and its files. The renderer
turns each planned file into bytes without knowing what comes after it; the seal stage wraps a
customer's files between render and write.
"""

from __future__ import annotations

from ..config import Config
from ..model import CustomerBook, Ledger
from ..read import Page, pages_for
from .planned import COPY, PAGE, PlannedFile, Portal, SitePlan, portal_of
from .sections import SECTIONS, PortalContext, Section


class Planner:
    """`static_files`: the site's shared files (theme assets, logos) by published path."""

    def __init__(
        self, config: Config, ledger: Ledger, pages: list[Page], static_files: dict[str, bytes], slugs: dict[str, str]
    ):
        self.config = config
        self.ledger = ledger
        self.pages = pages
        self.static_files = static_files
        self.slugs = slugs
        self.sections: tuple[Section, ...] = SECTIONS

    def plan(self, only: set[str] | None = None) -> SitePlan:
        books = [
            b
            for b in self.ledger.books.values()
            if b.customer.portal_enabled and b.customer.id in self.slugs and (only is None or b.customer.id in only)
        ]
        books.sort(key=lambda b: self.slugs[b.customer.id])
        portals = [portal_of(self.config, b, self.slugs[b.customer.id]) for b in books]
        plan = SitePlan(portals)
        plan.files += self.site_files()
        shared: dict[str, PlannedFile] = {}  # files several portals read, planned by the first that needs one
        for portal, book in zip(portals, books, strict=True):
            plan.files += self.portal_files(portal, book, shared)
        plan.files += [shared[path] for path in sorted(shared)]
        return plan

    def site_files(self) -> list[PlannedFile]:
        files = [
            PlannedFile(None, "index.html", PAGE, "site_index.html", {}),
            PlannedFile(None, "404.html", PAGE, "404.html", {}),
            PlannedFile(None, "robots.txt", PAGE, "robots.txt", {}),
        ]
        return files + [PlannedFile(None, path, COPY, data=data) for path, data in sorted(self.static_files.items())]

    def portal_files(self, portal: Portal, book: CustomerBook, shared: dict[str, PlannedFile]) -> list[PlannedFile]:
        customer = book.customer
        context = PortalContext(
            portal,
            book,
            self.ledger,
            self.config.site,
            pages_for(self.pages, customer.id, customer.group, customer.language),
            shared=shared,
        )
        sections = [s for s in self.sections if s.available(context)]
        context.sections = [s.key for s in sections]
        context.nav = [item for s in sections for item in s.nav(context)]
        return [f for s in sections for f in s.files(context)]


def plan_site(
    config: Config,
    ledger: Ledger,
    pages: list[Page],
    static_files: dict[str, bytes],
    slugs: dict[str, str],
    only: set[str] | None = None,
) -> SitePlan:
    return Planner(config, ledger, pages, static_files, slugs).plan(only)
