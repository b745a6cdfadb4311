"""One row to canonical fields: where each field's text comes from (a column, a constant, a
template, the first non-blank of several, another table by key, or arithmetic over the row's
other fields), and that text parsed by the field's type. Every value that cannot be used is
reported with entity, file, row and column."""

from __future__ import annotations

import re
import string
from collections import ChainMap
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..config import ColumnSpec
from ..config.expressions import Expression, ExpressionError
from ..config.schema import Lookup
from ..config.urls import UnsafeLink
from ..problems import ProblemLog
from .values import ValueParser


class UnknownKey(ValueError):
    """A lookup found no row with the key: the field is left blank."""


@dataclass
class LookupTable:
    """Another table of the export, by the value of its key column."""

    spec: Lookup
    rows: dict[str, dict[str, str]]

    def text(self, key: str) -> str:
        found = self.rows.get(key)
        if found is None:
            raise UnknownKey(f"no {self.spec.key} {key!r} in {self.spec.file}")
        if self.spec.column is not None:
            return found.get(self.spec.column, "")
        return self.spec.template.format_map(_Blanks(found, frozenset()))


DISTINCT_CELLS_KEPT = 200_000  # per field: what a column's repeated cells may cost in memory


@dataclass(frozen=True)
class FieldMap:
    """One canonical field and how to get its text out of a row."""

    name: str
    kind: str
    spec: ColumnSpec
    pattern: re.Pattern[str] | None
    choices: tuple[FieldMap, ...] = ()  # first_of: the origins tried in order
    lookup: LookupTable | None = None
    expression: Expression | None = None  # compute: worked out from the other fields, not from text
    needs: frozenset[str] = field(default_factory=frozenset)  # columns (and fields) the text depends on
    named: frozenset[str] = field(default_factory=frozenset)  # the columns it names: the file must have them
    _texts: dict[tuple[str, frozenset[str]], str] = field(default_factory=dict, compare=False, repr=False)

    def text(self, row: Mapping[str, str], mapped: dict[str, str], nulls: frozenset[str]) -> str:
        """The field's text. A column's cells repeat (a customer id on every line of its invoices,
        a date on every line of one invoice), so the text of each distinct cell is worked out once."""
        if self.spec.column is None:
            return self._finish(self._origin(row, mapped, nulls))
        key = (row.get(self.spec.column, ""), nulls)
        text = self._texts.get(key)
        if text is None:
            text = self._finish(self._origin(row, mapped, nulls))  # a cell that does not match raises, uncached
            if len(self._texts) < DISTINCT_CELLS_KEPT:
                self._texts[key] = text
        return text

    def _finish(self, text: str) -> str:
        text = text.strip()
        spec = self.spec
        if not text and spec.default is not None:
            text = spec.default
        if text and self.pattern is not None:
            found = self.pattern.search(text)
            if found is None:
                raise ValueError(f"{text!r} does not match the pattern {spec.match!r}")
            text = found.group(1) if found.groups() else found.group(0)
        if spec.map is not None and text in spec.map:
            text = spec.map[text]
        return text

    def _origin(self, row: Mapping[str, str], mapped: dict[str, str], nulls: frozenset[str]) -> str:
        spec = self.spec
        if spec.column is not None:
            text = row.get(spec.column, "")
            return "" if nulls and text.strip() in nulls else text
        if spec.value is not None:
            return spec.value
        if spec.template is not None:
            return spec.template.format_map(_Blanks(ChainMap(mapped, row), nulls))
        if self.choices:
            return next((text for choice in self.choices if (text := choice.text(row, mapped, nulls))), "")
        key = row.get(self.lookup.spec.on, "").strip()
        return self.lookup.text(key) if key and key not in nulls else ""

    @property
    def column(self) -> str:
        """The column a problem with this field is reported at."""
        if self.lookup is not None:
            return self.lookup.spec.on
        return self.spec.column or next((c.column for c in self.choices), self.name)


class _Blanks(dict):
    """Template values: a missing or null cell reads as blank."""

    def __init__(self, source: Mapping[str, str], nulls: frozenset[str]):
        super().__init__()
        self.source = source
        self.nulls = nulls

    def __missing__(self, key: str) -> str:
        text = self.source.get(key, "")
        return "" if self.nulls and text.strip() in self.nulls else text


def _template_columns(template: str) -> set[str]:
    return {part[1] for part in string.Formatter().parse(template) if part[1]}


def field_map(name: str, kind: str, spec: ColumnSpec, lookups: Mapping[int, LookupTable]) -> FieldMap:
    """How to read one field; `lookups` holds the loaded table of each lookup spec (by id)."""
    choices = tuple(field_map(name, kind, choice, lookups) for choice in spec.first_of or ())
    named = {spec.column} if spec.column else {spec.lookup.on} if spec.lookup else set()
    named |= {c for choice in choices for c in choice.named}
    needs = named | (_template_columns(spec.template) if spec.template else set())
    needs |= {c for choice in choices for c in choice.needs}
    return FieldMap(
        name,
        kind,
        spec,
        re.compile(spec.match) if spec.match else None,
        choices,
        lookups.get(id(spec.lookup)) if spec.lookup is not None else None,
        Expression(spec.compute) if spec.compute is not None else None,
        frozenset(needs),
        frozenset(named),
    )


def field_maps(
    columns: dict[str, ColumnSpec], types: dict[str, str], lookups: Mapping[int, LookupTable] | None = None
) -> list[FieldMap]:
    maps = [field_map(name, types[name], spec, lookups or {}) for name, spec in columns.items()]
    # templates read other fields' texts, and computed fields their values: both come last
    return sorted(maps, key=lambda m: (m.expression is not None, m.spec.template is not None))


class RowMapper:
    """Turns a raw row into typed fields, reporting every value it cannot use."""

    def __init__(
        self,
        maps: list[FieldMap],
        required: tuple[str, ...],
        parser: ValueParser,
        problems: ProblemLog,
        file: str,
        entity: str,
        only: frozenset[str] | None = None,
    ):
        self.maps = maps
        self.only = only  # map only these fields (and what they are worked out from); None: all
        self._mapped = self._maps_of(only)
        self._reading = _value_caches(self._mapped)
        self.required = frozenset(required)
        self.parser = parser
        self.nulls = parser.options.null_values
        self._named: dict[tuple[str, ...], list[FieldMap]] = {}  # some fields' maps, by their names
        self.problems = problems
        self.file = file
        self.entity = entity

    def error(self, row: int | None, column: str | None, message: str, kind: str) -> None:
        self.problems.error(self.file, row, column, message, kind, self.entity)

    def warning(self, row: int | None, column: str | None, message: str, kind: str) -> None:
        self.problems.warning(self.file, row, column, message, kind, self.entity)

    def map(self, number: int, row: dict[str, str]) -> tuple[dict[str, Any], bool]:
        fields: dict[str, Any] = {}
        texts: dict[str, str] = {}
        ok = True
        for fm, known in self._reading:
            if known is not None:
                cell = row.get(fm.spec.column, "")
                found = known.get(cell)
                if found is not None:
                    texts[fm.name], fields[fm.name] = found
                    continue
            try:
                if fm.expression is not None:
                    fields[fm.name] = fm.expression.evaluate(fields)
                    continue
                text = fm.text(row, texts, self.nulls)
                texts[fm.name] = text
                if not text:
                    if fm.name in self.required:
                        self.error(number, fm.column, f"required field '{fm.name}' is empty", "missing-field")
                        ok = False
                    fields[fm.name] = None
                    continue
                value = fields[fm.name] = self.parser.parse(fm.kind, text)
                if known is not None and len(known) < DISTINCT_CELLS_KEPT:
                    known[cell] = (text, value)
            except UnknownKey as exc:
                fields[fm.name] = None
                if fm.name in self.required:
                    self.error(number, fm.column, f"{fm.name}: {exc}", "unknown-reference")
                    ok = False
                else:
                    self.warning(number, fm.column, f"{fm.name}: {exc}; left blank", "unknown-reference")
            except UnsafeLink as exc:  # the row stays (its figures are right); the link is left out
                self.error(number, fm.column, f"{fm.name}: {exc}; left out", "bad-url")
                fields[fm.name] = None
            except ExpressionError as exc:
                self.error(number, fm.column, f"{fm.name}: cannot compute {exc}", "bad-compute")
                fields[fm.name] = None
                ok = False
            except ValueError as exc:
                self.error(number, fm.column, f"{fm.name}: {exc}", f"bad-{fm.kind}")
                fields[fm.name] = None
                ok = False
        return fields, ok

    def first_blank(self, names: list[str], row: dict[str, str]) -> str | None:
        """The first of these fields that is blank in the row (None: none is). A field whose
        column the file lacks is not mapped, so never blank; nor is a text that cannot be read
        (a cell not matching the field's pattern): mapping the row reports it, and what is
        worked out from such a field reads it as blank, as in `map`."""
        key = tuple(names)
        maps = self._named.get(key)
        if maps is None:
            maps = self._named[key] = self._maps_of(frozenset(names))  # (with what their templates read)
        texts: dict[str, str] = {}
        for fm in maps:
            try:
                text = texts[fm.name] = fm.text(row, texts, self.nulls)
            except ValueError:
                continue
            if not text and fm.name in names:
                return fm.name
        return None

    def without_columns(self, missing: list[str]) -> bool:
        """Leave out the fields these absent columns would give (they read as blank); False when
        one of them is required, so that no row can be used."""
        lost = [fm for fm in self.maps if fm.spec.column in missing]
        if any(fm.name in self.required for fm in lost):
            return False
        self.maps = [fm for fm in self.maps if fm not in lost]
        self._mapped = self._maps_of(self.only)
        self._reading = _value_caches(self._mapped)
        self._named.clear()
        return True

    def _maps_of(self, names: frozenset[str] | None) -> list[FieldMap]:
        """The maps of these fields and of the fields their templates and expressions read, in order."""
        if names is None:
            return self.maps
        by_name = {fm.name: fm for fm in self.maps}
        wanted: set[str] = set()
        todo = list(names)
        while todo:
            name = todo.pop()
            if name in by_name and name not in wanted:
                wanted.add(name)
                fm = by_name[name]
                todo += fm.needs | (fm.expression.names if fm.expression is not None else set())
        return [fm for fm in self.maps if fm.name in wanted]

    def columns(self) -> set[str]:
        """The columns the file must have (a template's placeholders may name fields instead)."""
        return {c for fm in self.maps for c in fm.named}

    def raw_columns(self) -> tuple[str, ...]:
        """Every column a mapped field's text depends on, templates' placeholders included."""
        return tuple(sorted({c for fm in self._mapped for c in fm.needs}))


def _value_caches(maps: list[FieldMap]) -> list[tuple[FieldMap, dict[str, tuple[str, Any]] | None]]:
    """Each map, with the text and value of each distinct cell it has read when its field is a
    column's: most of a line's cells repeat (a product's description and price, a quantity),
    and a cell that read well once reads the same again."""
    return [(fm, {} if fm.spec.column is not None and fm.expression is None else None) for fm in maps]


def mapper_column(mapper: RowMapper, field_name: str) -> str:
    for fm in mapper.maps:
        if fm.name == field_name:
            return fm.column
    return field_name
