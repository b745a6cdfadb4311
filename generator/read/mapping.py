"""One row to canonical fields: which column (or constant, or template) gives each field, and
its text parsed by the field's type. Every value that cannot be used is reported with file, row
and column."""

from __future__ import annotations

import re
import string
from collections import ChainMap
from dataclasses import dataclass
from typing import Any

from ..config import ColumnSpec
from ..problems import ProblemLog
from .values import ValueParser


@dataclass(frozen=True)
class FieldMap:
    """One canonical field and how to get its text out of a row."""

    name: str
    kind: str
    spec: ColumnSpec
    pattern: re.Pattern[str] | None

    def text(self, row: dict[str, str], mapped: dict[str, str]) -> str:
        spec = self.spec
        if spec.column is not None:
            text = row.get(spec.column, "")
        elif spec.value is not None:
            text = spec.value
        else:
            text = spec.template.format_map(_Blanks(ChainMap(mapped, row)))
        text = text.strip()
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

    @property
    def column(self) -> str:
        return self.spec.column or self.name


class _Blanks(dict):
    def __init__(self, source: ChainMap):
        super().__init__()
        self.source = source

    def __missing__(self, key: str) -> str:
        return self.source.get(key, "")


def field_maps(columns: dict[str, ColumnSpec], types: dict[str, str]) -> list[FieldMap]:
    maps = [
        FieldMap(name, types[name], spec, re.compile(spec.match) if spec.match else None)
        for name, spec in columns.items()
    ]
    return sorted(maps, key=lambda m: m.spec.template is not None)  # templates may use other fields


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
    ):
        self.maps = maps
        self.required = frozenset(required)
        self.parser = parser
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
        for fm in self.maps:
            try:
                text = fm.text(row, texts)
                texts[fm.name] = text
                if not text:
                    if fm.name in self.required:
                        self.error(number, fm.column, f"required field '{fm.name}' is empty", "missing-field")
                        ok = False
                    fields[fm.name] = None
                    continue
                fields[fm.name] = self.parser.parse(fm.kind, text)
            except ValueError as exc:
                self.error(number, fm.column, f"{fm.name}: {exc}", f"bad-{fm.kind}")
                fields[fm.name] = None
                ok = False
        return fields, ok

    def without_columns(self, missing: list[str]) -> bool:
        """Leave out the fields these absent columns would give (they read as blank); False when
        one of them is required, so that no row can be used."""
        lost = [fm for fm in self.maps if fm.spec.column in missing]
        if any(fm.name in self.required for fm in lost):
            return False
        self.maps = [fm for fm in self.maps if fm not in lost]
        return True

    def columns(self) -> set[str]:
        return {fm.spec.column for fm in self.maps if fm.spec.column is not None}

    def raw_columns(self) -> tuple[str, ...]:
        """Every column a field's text depends on, templates' placeholders included."""
        names = set(self.columns())
        for fm in self.maps:
            if fm.spec.template is not None:
                names.update(part[1] for part in string.Formatter().parse(fm.spec.template) if part[1])
        return tuple(sorted(names))


def mapper_column(mapper: RowMapper, field_name: str) -> str:
    for fm in mapper.maps:
        if fm.name == field_name:
            return fm.column
    return field_name
