"""What a session remembers of the last build: plain data, kept in memory or beside the output."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .. import pipeline
from ..config import Config
from ..model import CustomerBook
from ..output import input_fingerprint
from ..problems import ProblemLog
from .export_diff import ExportSnapshot


@dataclass
class Memory:
    workshop: pipeline.Workshop  # what the last build made: config, ledger, slugs, renderer, state, ...
    others: str  # fingerprint of every input but the export's row files
    snapshot: ExportSnapshot
    problems: ProblemLog
    stamp: tuple[int, int] | None
    portals: dict[str, pipeline.PortalSummary]  # by customer id
    site_pages: int  # pages of the site itself (index, 404, robots.txt)
    access: dict[str, Access]  # by customer id: who may sign in (a change means new key slots)
    unopenable: set[str]  # customers whose portal no contact can sign in to
    document_files: dict[tuple[int, int], str]  # each document file (device, inode) -> the customer given it


Access = tuple[bool, tuple[tuple[str, bool], ...]]  # portal on, and each contact's (e-mail, access)


def access_of(book: CustomerBook) -> Access:
    contacts = sorted((c.email, c.portal_access) for c in book.customer.contacts)
    return book.customer.portal_enabled, tuple(contacts)


def document_files(books: Iterable[CustomerBook]) -> dict[tuple[int, int], str]:
    return {document.source.identity[:2]: book.customer.id for book in books for document in book.documents}


def others_fingerprint(config: Config, snapshot: ExportSnapshot) -> str:
    """The fingerprint of every input but the export's row files."""
    return input_fingerprint(config, leave_out=frozenset(config.export_dir / name for name in snapshot.files))
