"""The plan's plain data: portals, the files planned for them, and navigation entries.

What every later stage reads: the renderer turns a `PlannedFile` into bytes, the recipe engine
digests what it is made from, the seal stage names and encrypts a portal's files.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import Config, PortalConfig
from ..model import CustomerBook
from ..read.documents import DocumentFile, read_document
from . import tables

PAGE, CSV, COPY, DATA = "page", "csv", "copy", "data"  # DATA: a table as JSON, for a page's script to show
DECOY = "decoy"  # random bytes the seal stage sealed like a file: a portal's file count says little (seal/padding.py)
SHELL = "shell"  # the public page at an encrypted page's address, which fetches and opens its sealed payload


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
    data: bytes | None = None  # ... or its bytes, already read ...
    document: DocumentFile | None = None  # ... or an export document, read only through read_document
    entry: bool = False  # the portal's entry page: the one its URL opens, which carries the key slots
    shared: tuple[str, ...] = ()  # ledger data beyond the customer's book the file shows (e.g. "catalogue")
    inputs: tuple[str, ...] = ()  # anything else the file is made from (a content page's text)
    payment_sizes: bool = False  # sealed: padded to the sizes of pages that may show payment (seal/padding.py)

    @property
    def output_path(self) -> str:
        return f"{self.portal.slug}/{self.path}" if self.portal else self.path

    def copied_bytes(self) -> bytes:
        """A COPY file's bytes; an export document's only through `read_document` (refused if swapped);
        a DECOY's random-looking, incompressible bytes, the same while its inputs are."""
        if self.kind == DECOY:
            length, *changes_with = self.inputs
            seed = "\0".join(["portico decoy", self.output_path, *changes_with]).encode()
            return hashlib.shake_256(seed).digest(int(length))
        if self.data is not None:
            return self.data
        if self.document is not None:
            return read_document(self.document)
        return self.source.read_bytes()


@dataclass
class SitePlan:
    portals: list[Portal]
    files: list[PlannedFile] = field(default_factory=list)

    def pages_per_portal(self) -> dict[str, int]:
        return self._count(lambda f: f.kind == PAGE)

    def files_per_portal(self) -> dict[str, int]:
        return self._count(lambda f: True)

    def _count(self, counts) -> dict[str, int]:
        found = {p.slug: 0 for p in self.portals}
        for f in self.files:
            if f.portal is not None and counts(f):
                found[f.portal.slug] += 1
        return found


@dataclass(frozen=True)
class NavItem:
    key: str
    label: str
    path: str
    external: bool = False  # a configured link or page title: shown as written, not translated


def portal_of(config: Config, book: CustomerBook, slug: str) -> Portal:
    customer = book.customer
    return Portal(
        customer.id,
        slug,
        customer.name,
        customer.language,
        customer.currency,
        config.settings_for(customer.id, customer.group),
        customer.language_known,
    )
