"""Read the export: every mapped entity's file, row by row, into records of typed fields.

Input: the `exports` section of the config and the files it names. Output: for each entity, a
list of `Record`s with typed fields (and, for documents, the fields of each line). Every value
that cannot be used is reported with file, row and column; a record with such a value is marked
`bad` so the build can skip it (or stop, when strict). Relations between entities are joined
later, by the model.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..config import ColumnSpec, Config, FileOptions, Source
from ..config.entities import ENTITIES, LINE_FIELDS
from ..config.schema import ExportsConfig, Lookup
from ..problems import ProblemLog
from .formats import (
    LineSelection,
    MisfitRow,
    RawRows,
    ReadError,
    ReadOptions,
    file_size,
    guess_format,
    open_rows,
)
from .mapping import DISTINCT_CELLS_KEPT, LookupTable, RowMapper, field_maps, mapper_column
from .records import SHARED, SKIPPED, Export, Origin, Record, RowOwners, owner_field
from .values import ParseOptions, ValueParser


class LoadError(Exception):
    """A file that could not be read at all; the message names it."""


def _first_set(name: str, layers: tuple[FileOptions, ...], default: Any) -> Any:
    """The first layer (lines, then their document's file, ...) that sets the option wins."""
    for layer in layers:
        value = getattr(layer, name)
        if value is not None:
            return value
    return default


def _parse_options(exports: ExportsConfig, *layers: FileOptions) -> ParseOptions:
    return ParseOptions(
        date_formats=tuple(_first_set("date_formats", layers, exports.date_formats)),
        decimal_separator=_first_set("decimal_separator", layers, exports.decimal_separator),
        thousands_separator=_first_set("thousands_separator", layers, exports.thousands_separator),
        true_values=frozenset(v.lower() for v in exports.true_values),
        false_values=frozenset(v.lower() for v in exports.false_values),
        null_values=frozenset(v.strip() for v in _first_set("null_values", layers, exports.null_values)),
    )


def _read_options(exports: ExportsConfig, source: FileOptions, path: Path) -> ReadOptions:
    return ReadOptions(
        format=source.format or guess_format(path),
        encoding=source.encoding or exports.encoding,
        delimiter=source.delimiter or exports.delimiter,
        quotechar=source.quotechar or exports.quotechar,
        sheet=source.sheet,
        records=source.records,
    )


class ExportReader:
    """Reads every mapped entity of an export into records."""

    def __init__(
        self,
        config: Config,
        problems: ProblemLog,
        on_rows: Callable[[int], None] | None = None,
        owners: RowOwners | None = None,
        selection: dict[str, LineSelection] | None = None,
        owners_only: bool = False,
    ):
        self.exports = config.exports
        self.folder = config.export_dir
        self.config_folder = config.root
        self.problems = problems
        self.on_rows = on_rows or (lambda n: None)
        self.owners = owners  # filled in while reading, when given
        self.selection = selection or {}  # file -> only these lines of it
        self.owners_only = owners_only  # map only the fields that tell whose a row is, and no lines
        self._conflicts_seen: set[tuple[str, Any, str, Any]] = set()
        self._lookup_tables: dict[tuple[str, str], dict[str, dict[str, str]]] = {}

    def read(self, parallel: bool | None = None) -> Export:
        """Every mapped entity, with the contacts staff added outside the export."""
        export = self._read_export(parallel)
        added = self.exports.added_contacts
        if added is not None:
            export["contacts"] = export.get("contacts", []) + self.read_entity("contacts", added, self.config_folder)
        return export

    def _read_export(self, parallel: bool | None) -> Export:
        """Every mapped entity of the export folder. On a large export, the entities without lines (customers,
        contacts, payments, ...) are read in a forked worker while this process reads the
        documents with lines, which are the bulk; their records would cost more to send back."""
        sources = self.exports.sources()
        side = [name for name in sources if not ENTITIES[name].has_lines]
        main = [name for name in sources if name not in side]
        if parallel is None:
            parallel = self.export_bytes(sources) >= PARALLEL_READ_BYTES and (os.cpu_count() or 1) > 1
        if not (parallel and side and main and "fork" in multiprocessing.get_all_start_methods()):
            return {name: self.read_entity(name, source) for name, source in sources.items()}
        _SIDE_JOB.update(reader=self, names=side)
        try:
            with multiprocessing.get_context("fork").Pool(1) as pool:
                pending = pool.apply_async(_read_side)
                export = {name: self.read_entity(name, sources[name]) for name in main}
                side_records, problems, skipped, owners = pending.get()
        finally:
            _SIDE_JOB.clear()
        if self.owners is not None:
            self.owners.update(owners)
        export.update(side_records)
        self.problems.problems[:0] = problems  # the side entities come first, as in a serial read
        self.problems.skipped = Counter(skipped) + self.problems.skipped
        return {name: export[name] for name in sources}

    def export_bytes(self, sources: dict[str, Source]) -> int:
        files = {self.folder / s.file for s in sources.values()}
        return sum(file_size(f) or 0 for f in files)

    def read_entity(self, name: str, source: Source, folder: Path | None = None) -> list[Record]:
        entity = ENTITIES[name]
        only = frozenset(_whose_fields(name, source)) if self.owners_only else None
        mapper, rows = self._open(
            name, source.file, source, source.columns, entity.fields, entity.required, folder or self.folder, only
        )
        line_mapper = None
        if source.lines is not None and source.lines.file is None and not self.owners_only:
            line_mapper = self._mapper(
                name, source.file, (source.lines, source), source.lines.columns, LINE_FIELDS, entity.line_required
            )
        records = self._records(name, mapper, rows, source, line_mapper, entity.key)
        if source.lines is not None and source.lines.file is not None:
            self._attach_line_file(name, source, records)
        return records

    def _mapper(
        self,
        entity: str,
        file: str,
        layers: tuple[FileOptions, ...],
        columns: dict[str, ColumnSpec],
        types: dict[str, str],
        required: tuple[str, ...],
        only: frozenset[str] | None = None,
    ) -> RowMapper:
        parser = ValueParser(_parse_options(self.exports, *layers))
        maps = field_maps(columns, types, self._lookups(columns.values()))
        return RowMapper(maps, required, parser, self.problems, file, entity, only)

    def _lookups(self, specs) -> dict[int, LookupTable]:
        """The tables these columns look values up in (each file read once), by id of their spec."""
        found: dict[int, LookupTable] = {}
        for spec in specs:
            found.update(self._lookups(spec.first_of or ()))
            if spec.lookup is not None:
                key = (spec.lookup.file, spec.lookup.key)
                if key not in self._lookup_tables:
                    self._lookup_tables[key] = self._read_lookup(spec.lookup)
                found[id(spec.lookup)] = LookupTable(spec.lookup, self._lookup_tables[key])
        return found

    def _read_lookup(self, lookup: Lookup) -> dict[str, dict[str, str]]:
        path = self.folder / lookup.file
        try:
            table = open_rows(path, _read_options(self.exports, lookup, path))
            if table.columns is not None and lookup.key not in table.columns:
                raise LoadError(
                    f"{lookup.file}: no column {lookup.key!r} to look values up by "
                    f"(columns: {', '.join(table.columns)})"
                )
            return {row[lookup.key].strip(): row for _, row in table.rows if row.get(lookup.key, "").strip()}
        except ReadError as exc:
            raise LoadError(str(exc)) from None

    def _open(
        self,
        entity: str,
        file: str,
        options: FileOptions,
        columns: dict[str, ColumnSpec],
        types: dict[str, str],
        required: tuple[str, ...],
        folder: Path | None = None,
        only: frozenset[str] | None = None,
    ) -> tuple[RowMapper, Iterator]:
        path = (folder or self.folder) / file
        mapper = self._mapper(entity, file, (options,), columns, types, required, only)
        try:
            if file in self.selection and path == self.folder / file:  # (not a file of the same name elsewhere)
                table = self.selection[file].table(path, _read_options(self.exports, options, path))
            else:
                table = open_rows(path, _read_options(self.exports, options, path))
        except ReadError as exc:
            raise LoadError(str(exc)) from None
        return mapper, self._checked_rows(table, mapper)

    def _checked_rows(self, table: RawRows, mapper: RowMapper) -> Iterator[tuple[int, dict[str, str]]]:
        """The table's rows, after checking that the mapped columns exist in it. A missing column
        is one error; a field it would give stays blank, unless the field is required, when no row
        can be used. A row whose fields do not line up with the header is an error and skipped."""
        wanted = mapper.columns()
        if table.columns is not None:
            missing = sorted(wanted - set(table.columns))
            for column in missing:
                mapper.error(
                    1, column, f"column not found in the header (columns: {', '.join(table.columns)})", "missing-column"
                )
            if not mapper.without_columns(missing):
                return
            yield from self._counted(table, mapper)
            return
        seen: set[str] = set()
        for number, row in self._counted(table):
            seen.update(row)
            yield number, row
        for column in sorted(wanted - seen):
            mapper.error(None, column, "no record has this key", "missing-column")

    def _counted(self, table: RawRows, lined_up: RowMapper | None = None) -> Iterator[tuple[int, dict[str, str]]]:
        """The table's rows, counted for the progress shown; with `lined_up`, a row whose fields do
        not line up with the header is reported and skipped. (One loop for both: it runs for every
        row of the export, once for each entity reading it.)"""
        batch = 0
        try:
            for number, row in table.rows:
                batch += 1
                if batch == 5000:
                    self.on_rows(batch)
                    batch = 0
                if lined_up is not None and isinstance(row, MisfitRow):
                    self._misfit(number, row, lined_up)
                    continue
                yield number, row
        except ReadError as exc:
            raise LoadError(str(exc)) from None
        except UnicodeDecodeError as exc:
            raise LoadError(f"{table.path}: cannot be decoded ({exc.reason}); set `encoding`") from None
        self.on_rows(batch)

    def _misfit(self, number: int, row: MisfitRow, mapper: RowMapper) -> None:
        mapper.error(
            number,
            None,
            f"the row has {row.found} fields but the header has {row.expected}: its columns would not line "
            "up (a delimiter inside an unquoted field?); the row is skipped",
            "bad-row",
        )
        if self.owners is not None:
            self.owners.own(mapper.file, number, SKIPPED)

    def _records(
        self,
        entity: str,
        mapper: RowMapper,
        rows: Iterator,
        source: Source,
        line_mapper: RowMapper | None,
        key: str | None,
    ) -> list[Record]:
        if source.group_by is not None:
            grouped = self._grouped(entity, mapper, rows, source, line_mapper)
            if key is not None and key != source.group_by:  # grouped by another field: the key may repeat
                first_by_key: dict[Any, Record] = {}
                whose = owner_field(entity)
                for record in grouped:
                    self._repeated(first_by_key, mapper, key, record, whose)
                    if self.owners is not None:  # whose the number is, as for records not grouped
                        self.owners.claim(entity, record.fields.get(key), record.fields.get(whose) if whose else SHARED)
            return grouped
        records: list[Record] = []
        first_of_key: dict[Any, Record] = {}
        owners, whose = self.owners, owner_field(entity)
        for number, row in rows:
            if self._skipped(number, row, source, mapper):
                continue
            fields, ok = mapper.map(number, row)
            if owners is not None:
                owner = fields.get(whose) if whose else SHARED
                owners.own(mapper.file, number, owner)
                if key is not None:
                    owners.claim(entity, fields.get(key), owner)
            record = Record(Origin(mapper.file, number), fields, [] if source.lines is not None else None, bad=not ok)
            if key is not None:
                self._repeated(first_of_key, mapper, key, record, whose)
            records.append(record)
        return records

    def _repeated(
        self, first_of_key: dict[Any, Record], mapper: RowMapper, key: str, record: Record, whose: str | None
    ) -> None:
        """Note the record's key; one seen before makes it a duplicate."""
        if record.fields.get(key) is not None:
            first = first_of_key.setdefault(record.fields[key], record)
            if first is not record:
                self._duplicate(mapper, key, record, first, whose)

    @staticmethod
    def _duplicate(mapper: RowMapper, key: str, record: Record, first: Record, whose: str | None) -> None:
        """A key seen before is left out; when the two rows are two customers', the first is too:
        whatever names that key (a payment, a shipment, a status) could not tell whose it is."""
        value, column = record.fields[key], mapper_column(mapper, key)
        record.bad = True
        if whose is None or record.fields.get(whose) == first.fields.get(whose):
            mapper.error(
                record.origin.row,
                column,
                f"duplicate {key} {value!r} (first on row {first.origin.row})",
                "duplicate-id",
            )
            return
        for this, other in ((record, first), (first, record)):
            mapper.error(
                this.origin.row,
                column,
                f"duplicate {key} {value!r}: also customer {other.fields.get(whose)!r}'s on row {other.origin.row}; "
                "left out, for both",
                "duplicate-id",
            )
        first.bad = True

    def _grouped(
        self, entity: str, mapper: RowMapper, rows: Iterator, source: Source, line_mapper: RowMapper | None
    ) -> list[Record]:
        """Rows sharing the group field form one record; each row may add a line.

        Most rows of a group repeat its header cells exactly, so a row whose raw header cells
        were already seen joins that record without being mapped and parsed again, nor asked
        again whether it is skipped (the fields that decide it are header fields: their cells
        are among the raw ones).
        """
        grouped: dict[Any, Record] = {}
        by_raw_header: dict[tuple, Record] = {}
        raw_columns = mapper.raw_columns()
        blanks = ("",) * len(raw_columns)  # (a missing cell reads as blank)
        skipped_by_raw: dict[tuple, str] = {}  # why rows with these raw header cells are skipped
        records: list[Record] = []
        owners, whose = self.owners, owner_field(entity)
        for number, row in rows:
            raw = tuple(map(row.get, raw_columns, blanks))
            record = by_raw_header.get(raw)
            if record is None:
                reason = skipped_by_raw.get(raw) or self._skip_reason(row, source, mapper)
                if reason is not None:
                    self._skip(number, mapper, reason)
                    if len(skipped_by_raw) < DISTINCT_CELLS_KEPT:
                        skipped_by_raw[raw] = reason
                    continue
            line_ok = True
            if line_mapper is not None:
                line_fields, line_ok = line_mapper.map(number, row)
            if record is None:
                fields, ok = mapper.map(number, row)
                group = fields.get(source.group_by)
                record = grouped.get(group)
                if record is None:
                    record = Record(
                        Origin(mapper.file, number), fields, [] if line_mapper is not None else None, bad=not ok
                    )
                    grouped[group] = record
                    records.append(record)
                    record.rows = 0
                    if owners is not None:
                        owners.claim(entity, group, fields.get(whose) if whose else SHARED)
                else:
                    record.bad |= not ok
                    self._compare_header(record, fields, number, mapper, source)
                if ok:
                    by_raw_header[raw] = record
            record.rows += 1
            if owners is not None:
                owners.own(mapper.file, number, record.fields.get(whose) if whose else SHARED)
            record.bad |= not line_ok
            if line_mapper is not None and line_ok:
                record.lines.append(line_fields)
        return records

    @staticmethod
    def _skip_reason(row: dict[str, str], source: Source, mapper: RowMapper) -> str | None:
        """Why the mapping skips the row (a field it must have is blank); None: it does not."""
        if not source.skip_when_blank:
            return None
        blank = mapper.first_blank(source.skip_when_blank, row)
        return None if blank is None else f"{mapper.entity} ({mapper.file}): rows with no {blank}"

    def _skip(self, number: int, mapper: RowMapper, reason: str) -> None:
        self.problems.skip(reason)
        if self.owners is not None:
            self.owners.own(mapper.file, number, SKIPPED)

    def _skipped(self, number: int, row: dict[str, str], source: Source, mapper: RowMapper) -> bool:
        reason = self._skip_reason(row, source, mapper)
        if reason is not None:
            self._skip(number, mapper, reason)
        return reason is not None

    def _compare_header(
        self, record: Record, fields: dict[str, Any], number: int, mapper: RowMapper, source: Source
    ) -> None:
        for name, value in fields.items():
            first = record.fields.get(name)
            if value == first or value is None:
                continue
            if first is None:
                record.fields[name] = value
                continue
            two_customers = name == owner_field(mapper.entity)  # their rows never make one record
            record.bad |= two_customers
            seen = (mapper.entity, mapper.file, record.fields.get(source.group_by), name, value)
            if seen in self._conflicts_seen:
                continue  # said once per record and value, not once per row
            self._conflicts_seen.add(seen)
            message = (
                f"{name} is {value!s} here but {first!s} on row {record.origin.row} "
                f"of the same {source.group_by} {record.fields.get(source.group_by)!s}"
            )
            column = mapper_column(mapper, name)
            if two_customers:
                mapper.error(number, column, message + ": left out, for both", "header-conflict")
            elif source.on_conflict == "first":
                mapper.warning(number, column, message + " (first value kept)", "header-conflict")
            else:
                mapper.error(number, column, message, "header-conflict")
                record.bad = True

    def _attach_line_file(self, name: str, source: Source, records: list[Record]) -> None:
        lines_source = source.lines
        mapper, rows = self._open(
            name,
            lines_source.file,
            lines_source,
            lines_source.columns,
            LINE_FIELDS,
            ("document", *ENTITIES[name].line_required),
        )
        by_key = {r.fields.get(ENTITIES[name].key): r for r in records}
        whose = owner_field(name)
        for number, row in rows:
            fields, ok = mapper.map(number, row)
            parent = by_key.get(fields.get("document"))
            if self.owners is not None:
                self.owners.own(mapper.file, number, parent.fields.get(whose) if parent and whose else SHARED)
            if parent is None:
                if fields.get("document") is not None:
                    mapper.error(
                        number,
                        mapper_column(mapper, "document"),
                        f"unknown {name[:-1]} {fields['document']!r}",
                        "unknown-reference",
                    )
                continue
            parent.rows += 1
            if ok:
                parent.lines.append(fields)
            else:
                parent.bad = True


def _whose_fields(entity: str, source: Source) -> set[str]:
    """The fields that decide whose a row is, which numbers it claims, and whether it is skipped."""
    fields = {owner_field(entity), ENTITIES[entity].key, source.group_by, *source.skip_when_blank}
    return fields - {None}


PARALLEL_READ_BYTES = 4 * 1024 * 1024
_SIDE_JOB: dict = {}  # set before forking; the worker inherits it


def _read_side() -> tuple[Export, list, Counter, RowOwners | None]:
    reader: ExportReader = _SIDE_JOB["reader"]
    reader.problems = ProblemLog()
    reader.on_rows = lambda n: None
    if reader.owners is not None:
        reader.owners = RowOwners()
    sources = reader.exports.sources()
    records = {name: reader.read_entity(name, sources[name]) for name in _SIDE_JOB["names"]}
    return records, reader.problems.problems, reader.problems.skipped, reader.owners


def read_export(
    config: Config,
    problems: ProblemLog,
    on_rows: Callable[[int], None] | None = None,
    parallel: bool | None = None,
    owners: RowOwners | None = None,
    selection: dict[str, LineSelection] | None = None,
    owners_only: bool = False,
) -> Export:
    """`owners`: filled with whose each row is; `selection`: read only these lines of these files;
    `owners_only`: records of only what `owners` needs (fields deciding whose a row is, no lines)."""
    return ExportReader(config, problems, on_rows, owners, selection, owners_only).read(parallel)
