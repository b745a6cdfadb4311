"""The build state's maps, read straight from its columns.

A state of 250,000 files is a few long arrays on disk (`state.py`). Turning them back into three
dicts of 250,000 entries cost more than reading the file, and a no-op build or a publish never
looks most of them up. So the maps here answer from the columns as read: each builds its index
(a path or a key to its row) the first time it is asked for one entry, and never copies a value.
They are read-only: a build makes a new state of plain dicts (`staging.py`).
"""

from __future__ import annotations

import base64
import sys
from array import array
from collections.abc import Callable, ItemsView, Iterable, Iterator, Mapping, Sequence, ValuesView
from functools import cached_property
from itertools import compress, islice


class Packed(Sequence[str]):
    """Strings of one width stored end to end: one string for the file to hold and for the reader
    to parse, instead of 250,000 (digests and recipes are all 64 hexadecimal digits)."""

    def __init__(self, text: str, width: int, count: int):
        if not (isinstance(text, str) and type(width) is int and type(count) is int):
            raise TypeError("a packed column is a string, its width and count whole numbers")
        if width <= 0 or count < 0 or len(text) != width * count:
            raise ValueError("a packed column of the wrong length")
        self.text, self.width, self.count = text, width, count

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[str]:
        width = self.width
        return (self.text[start : start + width] for start in range(0, len(self.text), width))

    def __getitem__(self, row):  # one row (a slice only for Sequence's own helpers)
        if isinstance(row, slice):
            return [self[i] for i in range(*row.indices(self.count))]
        if not 0 <= row < self.count:
            raise IndexError(row)
        start = row * self.width
        return self.text[start : start + self.width]


def pack(values: Sequence[str]) -> dict | list:
    """A column of strings as it is written: packed when every value has one width, else a list."""
    widths = set(map(len, values))
    if len(widths) == 1 and 0 not in widths:
        return {"width": widths.pop(), "count": len(values), "text": "".join(values)}
    return list(values)


def unpack(column: object) -> Sequence[str]:
    """What `pack` wrote (ValueError, TypeError or KeyError when it is not)."""
    if isinstance(column, dict):
        return Packed(column["text"], column["width"], column["count"])
    if isinstance(column, list) and only(str, column):
        return column
    raise TypeError("not a column of strings")


def pack_rows(rows: list[int]) -> str:
    """Row numbers as they are written: 4-byte little-endian integers, in base64. A JSON list of
    250,000 numbers costs more to parse and to check than the state's every other column."""
    packed = array("I", rows)
    if sys.byteorder == "big":
        packed.byteswap()
    return base64.b64encode(packed.tobytes()).decode("ascii")


def unpack_rows(text: object, size: int) -> array:
    """What `pack_rows` wrote, each row number checked to be below `size` (a damaged state is then
    no state, rather than an IndexError in the middle of a build); ValueError or TypeError if not."""
    if not isinstance(text, str):
        raise TypeError("row numbers are a base64 string")
    data = base64.b64decode(text, validate=True)
    if len(data) % 4:
        raise ValueError("row numbers cut short")
    rows = array("I")
    rows.frombytes(data)
    if sys.byteorder == "big":
        rows.byteswap()
    if rows and max(rows) >= size:
        raise ValueError("a row number beyond its table")
    return rows


class Walk(ItemsView, ValuesView):
    """A map's items or values, walked along its columns rather than looked up one key at a time
    (`Mapping`'s own would build the index, then ask it once per row)."""

    def __init__(self, mapping: Mapping, walk: Callable[[], Iterator]):
        super().__init__(mapping)
        self._walk = walk

    def __iter__(self) -> Iterator:
        return self._walk()

    def __contains__(self, item: object) -> bool:
        return any(item == entry for entry in self._walk())


class Paths:
    """Every path a state names, in its rows; where each is, found on first use."""

    def __init__(self, paths: list[str]):
        self.paths = paths

    @cached_property
    def row(self) -> dict[str, int]:
        return dict(zip(self.paths, range(len(self.paths)), strict=True))


class FileDigests(Mapping[str, str]):
    """Written path → SHA-256, for the first `count` paths (the state's files; any after them are
    paths only a recipe or a link names)."""

    def __init__(self, paths: Paths, digests: Sequence[str]):
        self.paths, self.digests = paths, digests

    def __getitem__(self, path: str) -> str:
        row = self.paths.row[path]
        if row >= len(self.digests):
            raise KeyError(path)
        return self.digests[row]

    def __iter__(self) -> Iterator[str]:
        return islice(self.paths.paths, len(self.digests))

    def __len__(self) -> int:
        return len(self.digests)

    def items(self) -> ItemsView[str, str]:
        return Walk(self, lambda: zip(self, self.digests, strict=True))


class RecipeTable(Mapping[str, tuple[str, str]]):
    """State key → (recipe, written path)."""

    def __init__(self, keys: list[str], recipes: Sequence[str], rows: list[int], paths: Paths):
        self.keys_, self.recipes, self.rows, self.paths = keys, recipes, rows, paths

    @cached_property
    def _row_of_key(self) -> dict[str, int]:
        return dict(zip(self.keys_, range(len(self.keys_)), strict=True))

    def __getitem__(self, key: str) -> tuple[str, str]:
        row = self._row_of_key[key]
        return self.recipes[row], self.paths.paths[self.rows[row]]

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys_)

    def __len__(self) -> int:
        return len(self.keys_)

    def values(self) -> ValuesView[tuple[str, str]]:
        return Walk(self, lambda: zip(self.recipes, map(self.paths.paths.__getitem__, self.rows), strict=True))

    def items(self) -> ItemsView[str, tuple[str, str]]:
        return Walk(self, lambda: zip(self.keys_, self.values(), strict=True))


class LinkTable(Mapping[str, tuple[str, ...]]):
    """Written path → the written paths it links to. The pages of a portal link the same few
    files, so rows share link sets, stored end to end (`rows`, set n ending at `ends[n]`); a
    row's `set_of_row` is its set's number plus one, 0 when it links nothing."""

    def __init__(self, paths: Paths, rows: Sequence[int], ends: Sequence[int], set_of_row: Sequence[int]):
        self.paths, self.rows, self.ends, self.set_of_row = paths, rows, ends, set_of_row
        self._made: dict[int, tuple[str, ...]] = {}

    def _set(self, number: int) -> tuple[str, ...]:
        """Set `number - 1` (as `set_of_row` counts), made once however many rows share it."""
        links = self._made.get(number)
        if links is None:
            start, end = self.ends[number - 2] if number > 1 else 0, self.ends[number - 1]
            links = self._made[number] = tuple(map(self.paths.paths.__getitem__, self.rows[start:end]))
        return links

    def __getitem__(self, path: str) -> tuple[str, ...]:
        number = self.set_of_row[self.paths.row[path]]
        if not number:
            raise KeyError(path)
        return self._set(number)

    def get(self, path: str, default=None):
        """Without raising and catching a KeyError for each of the many paths that link nothing."""
        row = self.paths.row.get(path)
        number = self.set_of_row[row] if row is not None else 0
        return self._set(number) if number else default

    def items(self) -> ItemsView[str, tuple[str, ...]]:
        def walk() -> Iterator[tuple[str, tuple[str, ...]]]:
            for path, number in zip(self.paths.paths, self.set_of_row, strict=True):
                if number:
                    yield path, self._set(number)

        return Walk(self, walk)

    def __iter__(self) -> Iterator[str]:
        return compress(self.paths.paths, self.set_of_row)  # the rows whose set is not 0

    @cached_property
    def _count(self) -> int:
        return len(self.set_of_row) - self.set_of_row.count(0)

    def __len__(self) -> int:
        return self._count


def only(kind: type, values: Iterable[object]) -> bool:
    """Whether every value is of this kind, checked at C speed: a state holds a million of them."""
    return set(map(type, values)) <= {kind}
