"""What reading an export yields: records of typed fields, each knowing where it was read, and,
when asked, whose each row is (so a long-running process can re-read only some customers)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, fields
from operator import attrgetter
from typing import Any, TypeVar

from ..config.entities import ENTITIES

T = TypeVar("T")


def pickled_by_position(cls: type[T]) -> type[T]:
    """Pickle the dataclass as its fields in order, unpickled by calling it with them: a slotted
    dataclass otherwise pickles through `dataclasses`' own state functions, which look up its
    fields for every object. A batched build pickles a batch's books (a quarter of a million
    lines at Online Retail's size) and loads them back to render them: a third less time both
    ways. (A pickle written the old way still loads: the state functions stay.)"""
    names = [f.name for f in fields(cls)]
    values = attrgetter(*names) if len(names) > 1 else lambda obj: (getattr(obj, names[0]),)

    def __reduce__(self):
        return cls, values(self)

    cls.__reduce__ = __reduce__
    return cls


@pickled_by_position
@dataclass(frozen=True, slots=True)
class Origin:
    """Where a record was read: the file (relative to the export folder) and its row."""

    file: str
    row: int


@dataclass(slots=True)
class Record:
    origin: Origin
    fields: dict[str, Any]
    lines: list[dict[str, Any]] | None = None  # each line's fields, when the record has lines
    bad: bool = False
    rows: int = 1


Export = dict[str, list[Record]]  # entity name -> its records


SHARED = "\0shared"  # a row any portal may read (a catalogue product, a price group's price), or one of no one
SKIPPED = "\0skipped"  # a row the mapping skips (e.g. no customer) or a blank line


def owner_field(entity: str) -> str | None:
    """The field that says which customer an entity's record belongs to."""
    if entity == "customers":
        return "id"
    return "customer" if "customer" in ENTITIES[entity].fields else None


LISTED_AHEAD = 4096  # how far past the rows listed a row number may be and still be listed


def _joined(before: str | None, owner: str) -> str:
    """A row's owner once one more entity read it."""
    if before is None or before == SKIPPED:
        return owner
    if owner != before and owner != SKIPPED:
        return SHARED  # two entities read this row for different customers
    return before


@dataclass
class RowOwners:
    """Which customer each row of each file belongs to, and which customer holds each key
    (document number, id): what a long-running process needs to rebuild only the customers
    whose rows changed. Collected only when asked for."""

    # file -> each row's customer id, by row number from the first row owned (None: not read). A
    # list, not a dict of row numbers: 8 bytes a row instead of about 70, for every row of the
    # export while a build runs. Rows numbered far beyond those listed (a few rows read again out
    # of a long file, a sheet's row 200,000,000), or before the first, are kept apart, so the list
    # never grows beyond twice the rows it holds.
    rows: dict[str, list[str | None]] = field(default_factory=dict)
    starts: dict[str, int] = field(default_factory=dict)  # file -> the row number its list starts at
    far: dict[str, dict[int, str]] = field(default_factory=dict)  # file -> row number -> customer id
    listed: Counter = field(default_factory=Counter)  # file -> how many rows its list holds
    keys: dict[tuple[str, Any], str] = field(default_factory=dict)  # (entity, key) -> customer id

    def own(self, file: str, number: int, owner: Any) -> None:
        owner = SHARED if owner is None else owner
        rows = self.rows.get(file)
        if rows is None:  # listed from here: a chunk of a file read alone starts far down it
            rows = self.rows[file] = []
            self.starts[file] = number
        index = number - self.starts[file]
        if index == len(rows):  # the next row (most are): nothing to join, no gap to fill
            rows.append(owner)
            self.listed[file] += 1
        elif 0 <= index < len(rows):
            rows[index] = _joined(rows[index], owner)
        elif 0 <= index <= 2 * self.listed[file] + LISTED_AHEAD:
            rows.extend([None] * (index - len(rows)))
            rows.append(_joined(None, owner))
            self.listed[file] += 1
        else:
            far = self.far.setdefault(file, {})
            far[number] = _joined(far.get(number), owner)

    def owner(self, file: str, number: int) -> str:
        """Whose the row is: SKIPPED if no entity read it."""
        rows, index = self.rows.get(file, ()), number - self.starts.get(file, 0)
        found = rows[index] if 0 <= index < len(rows) else self.far.get(file, {}).get(number)
        return found or SKIPPED

    def of_rows(self, file: str, first: int, count: int) -> list[str]:
        """`owner` of the rows numbered `first`, `first + 1`, … (`count` of them), as slices of
        the list rather than a call a row: a build asks it of every row of the export."""
        start, far = self.starts.get(file, 0), self.far.get(file, {})
        before = min(count, max(0, start - first))  # rows before the list's (all far)
        found = list(map(far.get, range(first, first + before)))
        if before < count:
            index = first + before - start
            found += self.rows.get(file, [])[index : index + count - before]
        found += map(far.get, range(first + len(found), first + count))
        return [owner or SKIPPED for owner in found]

    def claim(self, entity: str, key: Any, owner: Any) -> None:
        if key is not None:
            before = self.keys.setdefault((entity, key), SHARED if owner is None else owner)
            if before != owner:
                self.keys[(entity, key)] = SHARED

    def update(self, other: RowOwners) -> None:
        for file, rows in other.rows.items():
            for number, owner in enumerate(rows, start=other.starts[file]):
                if owner is not None:
                    self.own(file, number, owner)
        for file, far in other.far.items():
            for number, owner in far.items():
                self.own(file, number, owner)
        for (entity, key), owner in other.keys.items():
            self.claim(entity, key, owner)
