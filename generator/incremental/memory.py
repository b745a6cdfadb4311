"""What a session remembers of the last build: plain data, kept in memory or beside the output."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .. import pipeline
from ..config import Config
from ..model import ACROSS_CUSTOMERS, CustomerBook, Ledger, document_files
from ..output import InputDigests
from ..problems import ProblemLog
from ..read import Export
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


def crosses_customers(
    problems: ProblemLog,
    known: Iterable[str],
    given: dict[tuple[int, int], str],
    customers: set[str],
    export: Export,
    read_again: Ledger,
) -> bool:
    """Whether the rows read again (the `customers`' own, and the shared ones) meet rows of
    customers not read again: a group that is another customer's id, a document file another
    customer's row names. Only the whole export tells what then holds (`ledger.py`: rows never
    cross between customers), so the whole export is read, as it is when the last reading of it
    (`problems`) found such a case. `known`: every customer it had; `given`: each document file
    (device, inode) and the customer it went to."""
    if any(problem.kind in ACROSS_CUSTOMERS for problem in problems.problems):
        return True
    ids = set(known)
    if read_again.books.keys() - ids:
        return True  # a new customer: its id may be the group of customers not read again
    if any(record.fields.get("group") in ids for record in export.get("customers", ())):
        return True
    others = {file for file, customer_id in given.items() if customer_id not in customers}
    return any(file in others for file in document_files(read_again.books.values()))


def others_fingerprint(inputs: InputDigests, config: Config, snapshot: ExportSnapshot) -> str:
    """The fingerprint of every input but the export's row files."""
    return inputs.fingerprint(leave_out=(config.export_dir / name for name in snapshot.files))
