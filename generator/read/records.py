"""What reading an export yields: records of typed fields, each knowing where it was read, and,
when asked, whose each row is (so a long-running process can re-read only some customers)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..config.entities import ENTITIES


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


@dataclass
class RowOwners:
    """Which customer each row of each file belongs to, and which customer holds each key
    (document number, id): what a long-running process needs to rebuild only the customers
    whose rows changed. Collected only when asked for."""

    # file -> each row's customer id, by row number (None: not read). A list, not a dict of row
    # numbers: 8 bytes a row instead of about 70, for every row of the export while a build runs
    rows: dict[str, list[str | None]] = field(default_factory=dict)
    keys: dict[tuple[str, Any], str] = field(default_factory=dict)  # (entity, key) -> customer id

    def own(self, file: str, number: int, owner: Any) -> None:
        owner = SHARED if owner is None else owner
        rows = self.rows.setdefault(file, [])
        if number >= len(rows):
            rows.extend([None] * (number + 1 - len(rows)))
        before = rows[number]
        if before is None or before == SKIPPED:
            rows[number] = owner
        elif owner != before and owner != SKIPPED:
            rows[number] = SHARED  # two entities read this row for different customers

    def owner(self, file: str, number: int) -> str:
        """Whose the row is: SKIPPED if no entity read it."""
        rows = self.rows.get(file, ())
        return (rows[number] if number < len(rows) else None) or SKIPPED

    def claim(self, entity: str, key: Any, owner: Any) -> None:
        if key is not None:
            before = self.keys.setdefault((entity, key), SHARED if owner is None else owner)
            if before != owner:
                self.keys[(entity, key)] = SHARED

    def update(self, other: RowOwners) -> None:
        for file, rows in other.rows.items():
            for number, owner in enumerate(rows):
                if owner is not None:
                    self.own(file, number, owner)
        for (entity, key), owner in other.keys.items():
            self.claim(entity, key, owner)
