"""A large export split into batches of customers, so that a build holds one batch's records at a time.

Each row file is read once, a chunk of lines at a time, only to learn whose each line is (the
reader records that, as it does for a quick rebuild); each line then goes to a file of its
customer's batch (a stable hash of the customer id picks it), or, when every portal reads it
(a catalogue product), to a file of shared lines. A batch is then read as a quick rebuild reads
a few customers: their lines and the shared ones, in file order, with their row numbers.

Only an export whose every line is one record of delimited text, and whose every row names its
customer, is split (a separate lines file names only a document). When a batch turns out not to
be readable alone — a number two customers use, a row two customers read — `NotBatchable` says
why, and the caller reads the whole export, as it always did.
"""

from __future__ import annotations

import csv
import heapq
import itertools
import math
import multiprocessing
import os
import struct
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..config import Config
from ..problems import ProblemLog
from .export import ExportReader, LoadError, read_export
from .formats import UNREADABLE, LineSelection, open_binary
from .lines import line_files, record_checks
from .records import SHARED, SKIPPED, Export, RowOwners, owner_field

MEGABYTE = 1024 * 1024
CHUNK_LINES = 50_000  # lines read at a time to learn their owners: a chunk's records are all that is held


class NotBatchable(Exception):
    """Why the export must be read whole."""


@dataclass
class SpilledFile:
    header: bytes
    batches: list[Path]  # one file of lines per batch
    shared: Path  # the lines every batch reads


@dataclass
class Spill:
    """The export's lines, filed by batch; what only the whole export tells (every customer,
    the rows no customer reads, which numbers two customers use)."""

    files: dict[str, SpilledFile]
    batches: int
    customers: set[str] = field(default_factory=set)  # every customer owning a row
    problems: ProblemLog = field(default_factory=ProblemLog)  # of rows no batch reads; every skipped row counted

    def customers_of(self, batch: int) -> set[str]:
        return {customer for customer in self.customers if batch_of(customer, self.batches) == batch}

    def read(self, config: Config, batch: int) -> tuple[Export, ProblemLog]:
        """The batch's records, and the problems reading them reported (read in this process: a
        worker of a pool may not fork)."""
        selection = {
            name: LineSelection(f.header, list(heapq.merge(_lines(f.batches[batch]), _lines(f.shared))))
            for name, f in self.files.items()
        }
        problems, owners = ProblemLog(), RowOwners()
        export = read_export(config, problems, parallel=False, owners=owners, selection=selection)
        if "contacts" in export:  # the contacts staff added are read whole: each batch keeps its customers'
            export["contacts"] = [r for r in export["contacts"] if self._ours(r.fields.get("customer"), batch)]
        customers = self.customers_of(batch)
        for (entity, key), owner in owners.keys.items():
            if owner_field(entity) is not None and owner not in customers:
                raise NotBatchable(f"{entity} {key!r} is also read for a customer of another batch")
        return export, problems

    def _ours(self, customer: str | None, batch: int) -> bool:
        return customer is None or batch_of(customer, self.batches) == batch


def batch_of(customer: str, batches: int) -> int:
    return zlib.crc32(customer.encode("utf-8")) % batches


def batches_for(config: Config) -> int:
    """How many batches to read the export in: 0 when it is small enough to read whole, or cannot
    be read line by line."""
    settings = config.exports
    files = line_files(config)
    if not settings.batch_above_mb or files is None or _separate_line_files(config):
        return 0
    size = sum(_data_bytes(path) for path in files.values()) / MEGABYTE
    if size <= settings.batch_above_mb:
        return 0
    return max(2, math.ceil(size / settings.batch_mb))


def _separate_line_files(config: Config) -> bool:
    """A lines file names only the document a line is on: whose it is takes the documents."""
    return any(s.lines is not None and s.lines.file is not None for s in config.exports.sources().values())


def _data_bytes(path: Path) -> int:
    """The file's size as text (for gzip, the size its trailer gives, which counts modulo 4 GiB)."""
    try:
        if path.suffix.lower() != ".gz":
            return path.stat().st_size
        with path.open("rb") as f:
            f.seek(-4, 2)
            return struct.unpack("<I", f.read(4))[0]
    except OSError:
        return 0  # a missing file: the whole read says so


def spill_export(config: Config, folder: Path, batches: int) -> Spill:
    """Every row file's lines filed by batch in `folder`; raises NotBatchable. The chunks are
    read in as many processes as there are cores while this one files their lines."""
    files = line_files(config) or {}
    spill = Spill({}, batches)
    keys = RowOwners()  # only the numbers: who holds each
    try:
        headers = {name: _header(path) for name, path in files.items()}
        checks = record_checks(config)
        _CHUNK_JOB.update(config=_without_added_contacts(config), headers=headers, batches=batches)
        for index, (name, path) in enumerate(files.items()):
            batch_files = [folder / f"{index}-{batch}.lines" for batch in range(batches)]
            spill.files[name] = SpilledFile(headers[name], batch_files, folder / f"{index}-shared.lines")
            _CHUNK_JOB.update(name=name, whole=checks[name])
            _file_lines(spill, name, _filed_chunks(path), keys)
    except UNREADABLE as exc:  # the whole read says what is wrong, and where
        raise NotBatchable(str(exc)) from None
    finally:
        _CHUNK_JOB.clear()
    for (entity, key), owner in keys.keys.items():
        if owner == SHARED and owner_field(entity) is not None:
            raise NotBatchable(f"{entity} {key!r} is two customers' (or no one's)")
    _count_added_contacts(config, spill.problems)
    return spill


def _file_lines(spill: Spill, name: str, chunks: Iterator[FiledChunk], keys: RowOwners) -> None:
    """Each chunk's lines, filed by its worker, appended to its batches' files and the shared one."""
    spilled = spill.files[name]
    outputs = [p.open("wb") for p in (*spilled.batches, spilled.shared)]
    try:
        for chunk in chunks:
            spill.problems.problems += chunk.problems.problems
            spill.problems.skipped.update(chunk.problems.skipped)
            spill.customers |= chunk.customers
            for (entity, key), owner in chunk.claims:
                keys.claim(entity, key, owner)
            for out, lines in zip(outputs, chunk.lines, strict=True):
                out.write(lines)
    finally:
        for out in outputs:
            out.close()


_CHUNK_JOB: dict = {}  # set before forking; the workers inherit it


@dataclass
class FiledChunk:
    """A chunk's lines filed by batch, and what only the whole export tells, from this chunk."""

    lines: list[bytes]  # each batch's lines ("row number, tab, line" each), then the shared lines
    customers: set[str]  # the customers owning its rows
    claims: list  # the numbers its rows claim, for whom: ((entity, key), customer id)
    problems: ProblemLog  # of its rows no batch reads


def _filed_chunks(path: Path) -> Iterator[FiledChunk]:
    """Each chunk of the file's lines filed (`_filed`), in order, by as many processes as there are
    cores; a chunk that cannot be read alone (a file the whole read would refuse, say) means
    reading the export whole."""
    workers = os.cpu_count() or 1
    try:
        if workers > 1 and "fork" in multiprocessing.get_all_start_methods():
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                room, stop = threading.Semaphore(2 * workers), threading.Event()  # (or the pool reads the file ahead)
                try:
                    for filed in pool.imap(_filed, _room_kept(room, stop, _chunks(path))):
                        yield filed
                        room.release()
                finally:  # the pool's thread may wait for room: it must end before the pool can
                    stop.set()
                    room.release(2 * workers)
        else:
            yield from map(_filed, _chunks(path))
    except (LoadError, ValueError, csv.Error) as exc:
        raise NotBatchable(f"{path.name} read a chunk at a time: {exc}") from None


def _room_kept(room: threading.Semaphore, stop: threading.Event, chunks: Iterator) -> Iterator:
    """The chunks, each once there is room for it among those handed out and not yet filed."""
    for chunk in chunks:
        room.acquire()
        if stop.is_set():
            return
        yield chunk


def _filed(chunk: tuple[int, bytes]) -> FiledChunk:
    """The chunk's lines filed by their owners' batches (in the worker, so the process that reads
    the file only cuts it, and the one that writes them only appends)."""
    chunk = _numbered(*chunk)
    owners, claims, problems = _owners_of(chunk)
    batches = _CHUNK_JOB["batches"]
    filed: list[list[bytes]] = [[] for _ in range(batches + 1)]  # (the last: shared)
    batch_of_owner = {SHARED: filed[-1]}
    for (number, line), owner in zip(chunk, owners, strict=True):
        if owner != SKIPPED:
            lines = batch_of_owner.get(owner)
            if lines is None:
                lines = batch_of_owner[owner] = filed[batch_of(owner, batches)]
            lines.append(b"%d\t%s\n" % (number, line))
    customers = batch_of_owner.keys() - {SHARED}
    return FiledChunk([b"".join(lines) for lines in filed], customers, claims, problems)


def _owners_of(chunk: list[tuple[int, bytes]]) -> tuple[list[str], list, ProblemLog]:
    """Whose each line of the chunk is, the numbers it claims for whom, and the problems of rows
    no customer reads (a batch reports the others, with what only all of a customer's rows tell)."""
    config, headers, name = _CHUNK_JOB["config"], _CHUNK_JOB["headers"], _CHUNK_JOB["name"]
    selection = {other: LineSelection(header, []) for other, header in headers.items()}
    selection[name] = LineSelection(headers[name], chunk, shared=True)  # (customers and invoices may read it)
    probe, owners = ProblemLog(), RowOwners()
    read_export(config, probe, parallel=False, owners=owners, selection=selection, owners_only=True)
    probe.problems = [
        p for p in probe.problems if p.file == name and p.row is not None and owners.owner(name, p.row) == SKIPPED
    ]
    first = chunk[0][0] if chunk else 0  # (a chunk's rows are consecutive: `_chunks`)
    return owners.of_rows(name, first, len(chunk)), list(owners.keys.items()), probe


def _without_added_contacts(config: Config) -> Config:
    """The configuration reading only the export's files (the contacts staff added are read with every batch)."""
    return config.model_copy(update={"exports": config.exports.model_copy(update={"added_contacts": None})})


def _count_added_contacts(config: Config, problems: ProblemLog) -> None:
    """The rows of the contacts staff added that their mapping skips, counted once."""
    added = config.exports.added_contacts
    if added is not None:
        probe = ProblemLog()
        ExportReader(config, probe).read_entity("contacts", added, config.root)
        problems.skipped.update(probe.skipped)


def _header(path: Path) -> bytes:
    with open_binary(path) as f:
        return f.readline().rstrip(b"\n")


def _chunks(path: Path) -> Iterator[tuple[int, bytes]]:
    """The file's data lines a chunk at a time, as they are in the file, each chunk with the row
    number of its first line (the header is row 1)."""
    number = 2
    with open_binary(path) as f:
        f.readline()
        while lines := list(itertools.islice(f, CHUNK_LINES)):
            yield number, b"".join(lines)
            number += len(lines)


def _numbered(first: int, chunk: bytes) -> list[tuple[int, bytes]]:
    """The chunk's lines with their row numbers; a record that goes on past its line (a quoted
    line break, a bare carriage return) cannot be filed a line at a time."""
    whole, lines = _CHUNK_JOB["whole"], chunk.split(b"\n")
    if chunk.endswith(b"\n"):
        lines.pop()  # (what follows the last line break)
    bare_return = chunk.count(b"\r") != chunk.count(b"\r\n") + chunk.endswith(b"\r")  # (one ending a line is its own)
    if bare_return or not whole.every_line(chunk):
        for number, line in enumerate(lines, start=first):
            if not whole(line) or b"\r" in line[:-1]:
                raise NotBatchable(f"{_CHUNK_JOB['name']} row {number}: a record goes on past its line")
    return list(enumerate(lines, start=first))


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    with path.open("rb") as f:
        for entry in f:
            number, _, line = entry.removesuffix(b"\n").partition(b"\t")
            yield int(number), line
