"""Where each page and file of a portal lives, and what kind of file it is.

One flat folder per portal; the file names here are logical (the seal stage may publish them
under opaque names, and links follow through the renderer's `href`). The entry page, the one a
portal's URL opens, is `index.html`.
"""

from __future__ import annotations

import hashlib
import mimetypes
import posixpath
import re
from pathlib import PurePosixPath

from ..model import CustomerBook

SLUG_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
SHARED_DIR = "_shared"  # files several portals read (the catalogue of a price group), encrypted with a key of their own

MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".csv": "text/csv; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".ico": "image/x-icon",
    ".pdf": "application/pdf",
    ".woff2": "font/woff2",
}

# Document suffixes that browsers show or save but never run as a page; any other becomes `.bin`.
INERT_SUFFIXES = frozenset(
    {".pdf", ".png", ".jpg", ".jpeg", ".gif", ".webp", ".tif", ".tiff", ".txt", ".csv", ".tsv"}
    | {".xlsx", ".xls", ".ods", ".docx", ".doc", ".odt", ".zip", ".eml", ".msg"}
)


def url_safe(text: str) -> str:
    """A file-name-safe form of an id; ids that needed changing get a hash so two never collide."""
    safe = SLUG_UNSAFE.sub("-", text).strip("-.") or "x"
    if safe != text:
        safe = f"{safe}-{hashlib.sha256(text.encode()).hexdigest()[:6]}"
    return safe


def media_type(path: str) -> str:
    """The Content-Type of a site file, from its name."""
    suffix = posixpath.splitext(path)[1].lower()
    return MEDIA_TYPES.get(suffix) or mimetypes.guess_type(path)[0] or "application/octet-stream"


class PortalPaths:
    """The logical file name of every page a portal can have."""

    entry = dashboard = "index.html"  # the page the portal's URL opens

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
        """A document keeps its suffix only if no browser would run it as a page (never .html or
        .svg): export documents are always downloads, never pages of the site."""
        suffix = PurePosixPath(file).suffix.lower()
        return f"document-{doc_id}{suffix if suffix in INERT_SUFFIXES else '.bin'}"

    @staticmethod
    def page(slug: str) -> str:
        return f"page-{url_safe(slug)}.html"

    @staticmethod
    def shared(name: str) -> str:
        """A file of the site that several portals read (not inside any portal's folder)."""
        return f"{SHARED_DIR}/{name}.json"

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
