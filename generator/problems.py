"""Problems found in the input, each pinned to file, row and column.

Every stage that reads input reports into one `ProblemLog`; `portico check` prints it and
`portico build` decides from it whether to stop (strict) or to skip the bad records.
"""

from __future__ import annotations

import errno
from collections import Counter
from dataclasses import asdict, dataclass, field

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Problem:
    severity: str
    file: str
    row: int | None
    column: str | None
    message: str
    kind: str  # a short stable tag, used to group and count: "bad-date", "unknown-customer", ...
    entity: str | None = None  # what the row was read as (two entities may read one file)

    @property
    def source(self) -> str:
        """`shipments (orders.csv)`, or just the file when no entity reads it."""
        return f"{self.entity} ({self.file})" if self.entity else self.file

    def location(self) -> str:
        parts = [self.source]
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column {self.column!r}")
        return ", ".join(parts)

    def __str__(self) -> str:
        return f"{self.location()}: {self.message}"


@dataclass
class ProblemLog:
    problems: list[Problem] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)  # reason -> count of rows skipped on purpose

    def error(
        self, file: str, row: int | None, column: str | None, message: str, kind: str, entity: str | None = None
    ) -> None:
        self.problems.append(Problem(ERROR, file, row, column, message, kind, entity))

    def warning(
        self, file: str, row: int | None, column: str | None, message: str, kind: str, entity: str | None = None
    ) -> None:
        self.problems.append(Problem(WARNING, file, row, column, message, kind, entity))

    def skip(self, reason: str, count: int = 1) -> None:
        self.skipped[reason] += count

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == WARNING]

    def grouped(self) -> list[tuple[tuple[str, str, str], list[Problem]]]:
        """Problems grouped by (severity, source, kind), errors first, in order of first sighting."""
        groups: dict[tuple[str, str, str], list[Problem]] = {}
        for p in self.problems:
            groups.setdefault((p.severity, p.source, p.kind), []).append(p)
        return sorted(groups.items(), key=lambda item: item[0][0] != ERROR)

    def as_json(self) -> list[dict]:
        return [asdict(p) for p in self.problems]


def describe_os_error(exc: OSError, needed: int | None = None, folder: object | None = None) -> str:
    """One line for a failed file operation: which file, and why in plain words (a full disk says
    how much room the work needed). Used wherever the disk, not the input, stopped the work."""
    where = exc.filename or "a file"
    if exc.errno == errno.ENOSPC:
        where = folder or where
        room = f" (about {needed / 1_000_000:.1f} MB are needed)" if needed else ""
        return f"the disk holding {where} is full{room}; free some room and run this again"
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return f"cannot write {where}: {exc.strerror} (the folder is read-only or belongs to someone else)"
    return f"{where}: {exc.strerror or exc}"
