"""Whose each export row is, as `portico keys` found it, so that a shard reads only its own.

`portico keys` reads the whole export: it makes keys and key slots for every customer. Beside the
keystore (`keystore.json.rows`) it keeps what a shard would otherwise read the whole export again
for: the fingerprint of every input it read (the keystore as it left it included), each export
line's owner and who holds each number, the problems of the whole export, every customer's slug
and who may sign in, which document file went to whom, and what every portal shares (the
catalogue, price lists). It holds customer ids and e-mail addresses, so it is sealed like the
build's memory (`kept.py`): under a key the keystore derives, readable only with the keystore.

A shard (`portico build --shard I/N`) with the same inputs then reads its customers' rows and
the shared ones, models their books and renders their portals: the files a shard that read
everything makes (the tests compare them), in about the time a quarter of the export takes.
Whenever that is not certain — no such file, made with other inputs or another keystore, a whole
export that has rows crossing customers, a row read again that says otherwise — the shard reads
the whole export, as it always did.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

from .. import pipeline
from ..config import Config
from ..model import Ledger
from ..output import ENGINE_VERSION, InputDigests
from ..progress import Progress
from ..seal import kdf_iterations, read_keystore
from ..seal.access import ended_links
from . import kept
from .export_diff import ExportSnapshot, SnapshotFile, read_lines
from .memory import access_of, crosses_customers, document_files

KIND = "rows"
VERSION = f"1/{ENGINE_VERSION}"


def path_for(config: Config) -> Path:
    keystore = config.path(config.gate.keystore)
    return keystore.with_name(keystore.name + ".rows")


def keep(config: Config, whole: pipeline.WholeExport) -> None:
    """After `portico keys`: what the shards need (nothing, and any older file removed, when the
    export cannot be read line by line)."""
    snapshot = ExportSnapshot.take(config, whole.owners, whole.inputs)
    path = path_for(config)
    if snapshot is None:
        path.unlink(missing_ok=True)
        return
    ledger = whole.ledger
    body = {
        "files": {name: (f.header, f.owners, f.digest, f.index) for name, f in snapshot.files.items()},
        "keys": snapshot.keys,
        "problems": whole.problems,
        "slug_problems": whole.slug_problems,
        "slugs": whole.slugs,
        "access": {customer_id: access_of(book) for customer_id, book in ledger.books.items()},
        "unopenable": ledger.unopenable(),
        "document_files": document_files(ledger.books.values()),
        "shared": (ledger.as_of, ledger.catalogue, ledger.has, ledger.price_lists),
    }
    kept.seal(path, whole.keystore, _header(whole.inputs.fingerprint()), body)


def _header(inputs: str) -> dict:
    """What the shard's inputs must be: the same files, and key slots made at the same KDF cost
    (a shard trusts the keystore's slots instead of checking them against the export)."""
    return {"kind": KIND, "version": VERSION, "inputs": inputs, "iterations": kdf_iterations()}


def prepare(
    config: Config, options: pipeline.BuildOptions, progress: Progress, inputs: InputDigests
) -> pipeline.Prepared | None:
    """A shard's books from its customers' rows alone, or None: read the whole export. `inputs`:
    the build's, taken before it read anything."""
    if options.shard is None or not options.encrypt or options.only is not None:
        return None
    body = _opened(config, inputs)
    if body is None:
        return None
    try:
        return _prepared(config, options, progress, body)
    except (*pipeline.BUILD_ERRORS, OSError):  # the whole export's read says what is wrong, and where
        return None


def _prepared(
    config: Config, options: pipeline.BuildOptions, progress: Progress, body: dict
) -> pipeline.Prepared | None:
    """The shard's customers' rows read and modelled; None when what they say is not what the
    whole export said of them."""
    slugs = body["slugs"]
    customers = {customer_id for customer_id, folder in slugs.items() if options.shard.holds(folder)}
    snapshot = _snapshot(config, body)
    if snapshot is None:
        return None
    progress.stage("Reading the shard's rows")
    edit = snapshot.reread(config, customers, snapshot, Counter(), Counter(), parallel=None)  # a quarter is many rows
    if edit is None:
        return None
    books = pipeline.model_stage(config, edit.export, edit.problems)
    as_of, catalogue, has, price_lists = body["shared"]
    if (books.as_of, books.catalogue, books.price_lists) != (as_of, catalogue, price_lists):
        return None
    known, given = body["access"], body["document_files"]
    if crosses_customers(body["problems"], known, given, customers, edit.export, books):
        return None
    if books.books.keys() != customers or any(access_of(books.books[c]) != known[c] for c in customers):
        return None  # a customer without a portal, or with other contacts: what the whole export says decides
    ledger = Ledger(as_of, books.books, catalogue, has, price_lists)
    return pipeline.Prepared(ledger, slugs, body["problems"], body["slug_problems"], body["unopenable"], customers)


def _opened(config: Config, inputs: InputDigests) -> dict | None:
    """The body `portico keys` kept, if it was made from exactly the inputs there are now, and
    the keystore is still what the whole export would leave it (no direct link has ended since)."""
    try:
        header, clear, sealed = kept.header_of(path_for(config))
        if header != _header(inputs.fingerprint()):
            return None  # the export, the settings or the keystore changed since `portico keys`
        keystore = read_keystore(config.path(config.gate.keystore))
        if ended_links(keystore, date.today()):
            return None  # the whole export's build re-keys those pages (or, in a shard, asks for `portico keys`)
        return kept.opened(clear, sealed, keystore)
    except kept.UNUSABLE:
        return None


def _snapshot(config: Config, body: dict) -> ExportSnapshot | None:
    """The export's lines now, with each one's owner as `portico keys` found it."""
    files = {}
    for name, (header, owners, digest, index) in body["files"].items():
        read = read_lines(config.export_dir / name)
        if read is None or read.digest != digest or read.header != header or len(read.lines) != len(owners):
            return None
        files[name] = SnapshotFile(header, None, owners, digest, index, read.lines)
    return ExportSnapshot(files, dict(body["keys"]))
