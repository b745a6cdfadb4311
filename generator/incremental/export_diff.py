"""Which customers an edit to the export touched, found by comparing the export's raw lines.

After a full read, a long-running process (`portico serve`) keeps a snapshot of the export:
every file's lines and, for each line, the customer it belongs to (the reader records that).
When the files change, the new lines are compared with the old ones; the customers owning a
changed line, before or after the edit, are the ones to rebuild, and the lines to read again
are all of theirs plus the rows every portal reads (catalogue products, price-group prices).

Whenever that cannot be told for sure — a file that is not delimited text, a header that
changed, a record spanning lines, a changed row that belongs to everyone or to a key another
customer holds, too many changed lines — the answer is None, and the caller builds everything.
"""

from __future__ import annotations

import gzip
import hashlib
from array import array
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from functools import cached_property, partial
from pathlib import Path
from queue import Empty, Queue
from threading import Event, Thread
from typing import Any

from isal import isal_zlib

from ..config import Config
from ..output import InputDigests
from ..problems import ProblemLog
from ..read import SHARED, SKIPPED, Export, LineSelection, RowOwners, owner_field, read_export
from ..read.formats import UNREADABLE
from ..read.lines import line_files, record_checks

INFLATED_AT_ONCE = 1 << 18  # compressed bytes inflated at once (a megabyte or so of lines)
INFLATED_AHEAD = 16  # pieces inflated ahead of the splitting
GZIP_WINDOW = 31  # zlib's window bits for a gzip member
MAX_CHANGED_LINES = 5000  # beyond this a full read is about as quick, and simpler to trust
COMPARED_TOGETHER = 512  # lines compared as one list first; only a block that differs is looked into


@dataclass(eq=False)
class SnapshotFile:
    """An export file's lines as a build read them: split (as a read gives them, for comparing an
    edit and reading rows again) or one string (as a new process unpickles them: half a million
    line objects would be a third more memory). The split lines are made from the string when
    first asked, and kept; the string from the lines only to keep the memory for a new process.
    Compared by identity: two snapshots' lines are not compared."""

    header: bytes
    body: bytes | None  # the data lines, joined by newlines as in the file: line i is row i + 2 (the header is row 1)
    owners: list[str]  # per line: a customer id, SHARED or SKIPPED
    digest: bytes
    # owner -> its lines, in order: arrays of machine integers, which a new process unpickles in a
    # tenth of the time half a million int objects take (`kept.py`)
    index: dict[str, Sequence[int]] = field(default_factory=dict)
    split: list[bytes] | None = field(default=None, repr=False, compare=False)  # the body's lines, once split

    def __post_init__(self) -> None:
        if self.body is None and self.split is None:
            raise ValueError("a snapshot of a file needs its lines")
        if not self.index:
            index = self.index
            for i, owner in enumerate(self.owners):
                lines = index.get(owner)
                if lines is None:
                    lines = index[owner] = array("I")
                lines.append(i)

    @property
    def lines(self) -> list[bytes]:
        if self.split is None:
            self.split = self.body.split(b"\n") if self.owners else []
        return self.split

    @property
    def text(self) -> bytes:
        """The data lines as one string, as the file holds them (joined when asked, not kept:
        only keeping the memory for a new process asks)."""
        return self.body if self.body is not None else b"\n".join(self.split)

    def rows(self, wanted: set[str]) -> LineSelection:
        """The lines of these customers, and the shared ones, in file order."""
        lines = sorted(i for owner in (*wanted, SHARED) for i in self.index.get(owner, ()))
        return LineSelection(self.header, [(i + 2, self.lines[i]) for i in lines])

    def owner(self, row: int) -> str:
        return self.owners[row - 2] if 2 <= row < len(self.owners) + 2 else SKIPPED


@dataclass
class ExportEdit:
    """What changed, and what to read again."""

    customers: set[str]  # whose portals to rebuild
    export: Export  # their records and the shared ones, read again
    problems: ProblemLog  # what reading those rows reported
    skipped: Counter  # change in the counts of skipped rows
    snapshot: ExportSnapshot  # the export as it is now
    before: ExportSnapshot  # and as it was

    def touched(self, file: str, row: int | None, snapshot: ExportSnapshot) -> bool:
        """Whether that row belongs to one of the customers rebuilt (in the snapshot given)."""
        known = snapshot.files.get(file)
        return row is not None and known is not None and known.owner(row) in self.customers


@dataclass
class FileRead:
    digest: bytes
    header: bytes
    lines: list[bytes]  # the data lines

    @cached_property
    def body(self) -> bytes:
        """The data lines as one string (joined when asked: a quick rebuild never asks)."""
        return b"\n".join(self.lines)


def read_lines(path: Path) -> FileRead | None:
    """The file's digest and lines; None when a line is not always a record, or the file cannot
    be read (gone, damaged, cut short while being written): the ordinary build reads it, and
    says what is wrong and where."""
    try:
        raw = path.read_bytes()
        lines = _inflated_lines(raw) if path.suffix.lower() == ".gz" else _lines_of(raw)
    except UNREADABLE:
        return None
    if lines is None:
        return None
    return FileRead(hashlib.sha256(raw).digest(), lines[0], lines[1:])


def _lines_of(data: bytes) -> list[bytes] | None:
    """The lines of the text, or None if one holds a bare carriage return (which also ends a record)."""
    if b"\r" in data and data.count(b"\r") != data.count(b"\r\n"):
        return None
    return data.split(b"\n")


def _inflated_lines(raw: bytes) -> list[bytes] | None:
    """`_lines_of` a gzip file's content, inflated on another thread piece by piece while this one
    splits the pieces already inflated (ISA-L lets go of the interpreter's lock): a quick rebuild
    waits about as long as the inflating alone, not the inflating and then the splitting. The
    thread has ended when this returns, however it returns."""
    pieces: Queue[bytes | BaseException | None] = Queue(INFLATED_AHEAD)
    stop = Event()
    inflater = Thread(target=_inflate, args=(raw, pieces, stop), name="portico-inflate", daemon=True)
    inflater.start()
    try:
        try:
            return _split_as_inflated(pieces)
        except isal_zlib.error:  # what ISA-L refuses, as the standard library reads it (or refuses it)
            return _lines_of(gzip.decompress(raw))
    finally:
        stop.set()
        while inflater.is_alive():  # (it may be waiting for room on the queue)
            with suppress(Empty):
                pieces.get_nowait()
            inflater.join(0.001)


def _split_as_inflated(pieces: Queue) -> list[bytes] | None:
    lines: list[bytes] = []
    unfinished: list[bytes] = []  # the pieces of the line not ended yet (joined once it ends: a file
    # of very long lines, or whose lines end with a bare carriage return, costs no more than others)
    carriage_returns = line_ends = 0
    ends_with_return = False
    while (piece := pieces.get()) is not None:
        if isinstance(piece, BaseException):
            raise piece
        if not piece:
            continue
        if ends_with_return or b"\r" in piece:  # (counting costs a tenth of the splitting; looking, nothing)
            carriage_returns += piece.count(b"\r")
            line_ends += piece.count(b"\r\n") + (ends_with_return and piece[:1] == b"\n")
        ends_with_return = piece[-1:] == b"\r"
        split = piece.split(b"\n")
        if len(split) == 1:  # the line goes on
            unfinished.append(piece)
            continue
        if unfinished:
            unfinished.append(split[0])
            split[0] = b"".join(unfinished)
        unfinished = [split.pop()]
        lines += split
    lines.append(b"".join(unfinished))
    return lines if carriage_returns == line_ends else None


def _inflate(raw: bytes, pieces: Queue, stop: Event) -> None:
    """Every member of a gzip file inflated, in pieces, onto the queue, then None (or the error);
    until `stop` (the splitting thread wants no more)."""
    try:
        compressed, inflater = memoryview(raw), isal_zlib.decompressobj(wbits=GZIP_WINDOW)
        for start in range(0, len(raw), INFLATED_AT_ONCE):
            data = compressed[start : start + INFLATED_AT_ONCE]
            while data:
                if stop.is_set():
                    return
                if inflater.eof:  # another member follows
                    inflater = isal_zlib.decompressobj(wbits=GZIP_WINDOW)
                pieces.put(inflater.decompress(data))
                data = inflater.unused_data if inflater.eof else b""
        if not inflater.eof:
            raise isal_zlib.error("the file ends inside a compressed member")
        pieces.put(None)
    except BaseException as exc:  # handed to the splitting thread, which raises it
        pieces.put(exc)


class ReadAhead:
    """The export's files read on another thread from now on, for an `edit` a little later:
    inflating a compressed export lets go of the interpreter's lock, so a new process opens what
    the last build kept meanwhile. Called with a path, it gives `read_lines` of it."""

    def __init__(self, config: Config):
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="portico-read-ahead")
        self._reads = {path: self._pool.submit(read_lines, path) for path in (line_files(config) or {}).values()}

    def __call__(self, path: Path) -> FileRead | None:
        future = self._reads.pop(path, None)
        return future.result() if future is not None else read_lines(path)

    def close(self) -> None:
        """Wait for the thread (nothing may fork while it reads), and let go of what it read."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._reads.clear()


@dataclass
class ExportSnapshot:
    files: dict[str, SnapshotFile]
    keys: dict[tuple[str, Any], str]  # (entity, key) -> the customer holding it

    @classmethod
    def take(cls, config: Config, owners: RowOwners, inputs: InputDigests) -> ExportSnapshot | None:
        """After a full read that recorded `owners`; None when the export cannot be compared by lines,
        or a file is no longer what it was before the read (`inputs`): the owners are of other lines."""
        paths = line_files(config)
        if paths is None:
            return None
        files, checks = {}, record_checks(config)
        for name, path in paths.items():
            read = read_lines(path)
            if read is None or not checks[name].every_line(read.body):
                return None
            if read.digest != inputs.files.get(path):
                return None  # written while the build read it: the next build reads it again
            rows = owners.of_rows(name, 2, len(read.lines))  # (line i is row i + 2: the header is row 1)
            # (the string checked above is kept for a new process rather than joined again)
            files[name] = SnapshotFile(read.header, read.body, rows, read.digest, split=read.lines)
        return cls(files, dict(owners.keys))

    def edit(self, config: Config, read_file: Callable[[Path], FileRead | None] | None = None) -> ExportEdit | None:
        """What changed in the export since this snapshot (None: the whole export must be read);
        `read_file`: how to read a file's lines (`read_lines`, or a `ReadAhead`'s)."""
        paths = line_files(config)
        if paths is None or paths.keys() != self.files.keys():
            return None
        changes: dict[str, LineChange] = {}
        checks = record_checks(config)
        for name, path in paths.items():
            read = (read_file or read_lines)(path)
            if read is None:
                return None
            known = self.files[name]
            if read.digest == known.digest:
                continue
            if read.header != known.header:
                return None
            change = _compare(known.lines, read)
            if change is None or not all(checks[name](change.now.lines[i]) for i in change.new):
                return None
            changes[name] = change
        return self._read_changes(config, changes)

    def _read_changes(self, config: Config, changes: dict[str, LineChange]) -> ExportEdit | None:
        before = {name: [(i + 2, self.files[name].lines[i]) for i in c.old] for name, c in changes.items()}
        after = {name: [(i + 2, c.now.lines[i]) for i in c.new] for name, c in changes.items()}
        old_probe, new_probe, old_owners, new_owners = ProblemLog(), ProblemLog(), RowOwners(), RowOwners()
        read_export(config, old_probe, parallel=False, owners=old_owners, selection=self._only(before))
        read_export(config, new_probe, parallel=False, owners=new_owners, selection=self._only(after))
        customers = {self.files[name].owners[i] for name, c in changes.items() for i in c.old}
        customers |= {new_owners.owner(name, i + 2) for name, c in changes.items() for i in c.new}
        customers |= {self.keys.get(key, owner) for key, owner in new_owners.keys.items()}  # a key another holds
        customers |= {self.keys.get(key, owner) for key, owner in old_owners.keys.items()}  # (or held, until now)
        customers.discard(SKIPPED)
        if SHARED in customers:
            return None  # a row everyone reads, or a number two customers used: only the whole export tells
        files = dict(self.files)
        for name, change in changes.items():
            files[name] = change.applied(self.files[name], partial(new_owners.owner, name))
        after_edit = ExportSnapshot(files, dict(self.keys))
        return after_edit.reread(config, customers, self, old_probe.skipped, new_probe.skipped)

    def _only(self, lines: dict[str, list[tuple[int, bytes]]]) -> dict[str, LineSelection]:
        return {name: LineSelection(f.header, lines.get(name, [])) for name, f in self.files.items()}

    def reread(
        self,
        config: Config,
        customers: set[str],
        before: ExportSnapshot,
        skipped_before: Counter,
        skipped_after: Counter,
        parallel: bool | None = False,
    ) -> ExportEdit | None:
        """These customers' rows and the shared ones read again; None when a number they use is
        another customer's, or everyone's (only the whole export tells whose it is then).
        `parallel`: as `read_export` (the few rows of a quick rebuild are not worth a process)."""
        problems, owners = ProblemLog(), RowOwners()
        export = read_export(
            config,
            problems,
            parallel=parallel,
            owners=owners,
            selection={name: f.rows(customers) for name, f in self.files.items()},
        )
        for key, owner in owners.keys.items():
            if owner_field(key[0]) is None:
                continue  # everyone's by nature (a catalogue product): what it holds is compared by the caller
            holder = self.keys.get(key)
            if owner is SHARED or (holder is not None and holder != owner and holder not in customers):
                return None
            if owner not in customers:  # rows once merged under a touched customer's number are another's now
                return None
        self.keys = {k: v for k, v in self.keys.items() if v not in customers}
        self.keys.update((k, v) for k, v in owners.keys.items() if v in customers)
        skipped = Counter(skipped_after)
        skipped.subtract(skipped_before)
        return ExportEdit(customers, export, problems, skipped, self, before)


@dataclass
class LineChange:
    now: FileRead  # the file as it is now
    old: list[int]  # indices of the old lines that changed or went
    new: list[int]  # indices of the new lines that changed or came
    splice: tuple[int, int, int] | None  # (start, old end, new end) of a run where lines were added or removed

    def applied(self, known: SnapshotFile, owner: Callable[[int], str]) -> SnapshotFile:
        """The snapshot of the file after the change: the changed lines get their new owners (`owner`
        of a row number)."""
        if self.splice is None:  # lines stay where they were: move the changed ones between owners
            kept = list(known.owners)
            index = dict(known.index)  # the lists of owners whose lines did not move stay shared
            for i in self.new:
                kept[i] = owner(i + 2)
                if kept[i] != known.owners[i]:
                    index[known.owners[i]] = [line for line in index[known.owners[i]] if line != i]
                    index[kept[i]] = sorted([*index.get(kept[i], ()), i])
            return SnapshotFile(known.header, None, kept, self.now.digest, index, self.now.lines)
        else:
            start, old_end, new_end = self.splice
            kept = known.owners[:start] + [owner(i + 2) for i in range(start, new_end)] + known.owners[old_end:]
        return SnapshotFile(known.header, None, kept, self.now.digest, split=self.now.lines)


def _compare(old: list[bytes], now: FileRead) -> LineChange | None:
    """The lines that differ; None when too many do.

    Same number of lines: the lines that differ, place by place. Otherwise the run left after
    the lines both share at the start and at the end (rows added or removed in one place, e.g.
    new orders at the end of the file)."""
    new = now.lines
    if len(old) == len(new):
        differing = [
            i
            for start in range(0, len(old), COMPARED_TOGETHER)
            if old[start : start + COMPARED_TOGETHER] != new[start : start + COMPARED_TOGETHER]
            for i in range(start, min(start + COMPARED_TOGETHER, len(old)))
            if old[i] != new[i]
        ]
        return LineChange(now, differing, differing, None) if len(differing) <= MAX_CHANGED_LINES else None
    start = 0
    shortest = min(len(old), len(new))
    while start < shortest and old[start] == new[start]:
        start += 1
    end = 0
    while end < shortest - start and old[-1 - end] == new[-1 - end]:
        end += 1
    old_end, new_end = len(old) - end, len(new) - end
    if max(old_end, new_end) - start > MAX_CHANGED_LINES:
        return None
    return LineChange(now, list(range(start, old_end)), list(range(start, new_end)), (start, old_end, new_end))
