"""The file formats an export can come in, each read by a `Reader` into a stream of raw rows.

A row is a dict of column name → text, with the row number a person would see (the header
is row 1 in a CSV or spreadsheet; the first record is 1 in JSON, its line in NDJSON). Rows
are streamed, never loaded whole, so a large export needs little memory. Nothing here knows
about entities or fields: mapping columns onto fields is `mapping.py`'s job.

Readers are registered by format name (`@reads("csv")`); a new format is one function.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import stat
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol

from isal import igzip, isal_zlib

csv.field_size_limit(16 * 1024 * 1024)


class ReadError(Exception):
    """A file that cannot be read at all (missing, wrong encoding, not the format it claims)."""


@dataclass(frozen=True)
class ReadOptions:
    format: str
    encoding: str = "utf-8-sig"
    delimiter: str = ","
    quotechar: str = '"'
    sheet: str | None = None
    records: str | None = None


@dataclass
class RawRows:
    """An open file of numbered rows. `columns` is known up front for CSV and XLSX, not for JSON."""

    path: Path
    columns: list[str] | None
    rows: Iterator[tuple[int, dict[str, str]]]


class Reader(Protocol):
    """Opens one file of its format as raw rows; raises `ReadError` for a file it cannot read."""

    def __call__(self, path: Path, options: ReadOptions) -> RawRows: ...


READERS: dict[str, Reader] = {}
SUFFIXES = {"jsonl": "ndjson", "ndjson": "ndjson", "json": "json", "xlsx": "xlsx"}  # anything else is CSV


def reads(format_name: str) -> Callable[[Reader], Reader]:
    """Registers a reader for a format name (`exports.<entity>.format`)."""

    def register(reader: Reader) -> Reader:
        READERS[format_name] = reader
        return reader

    return register


def guess_format(path: Path) -> str:
    suffixes = [s.lower().lstrip(".") for s in path.suffixes]
    if suffixes and suffixes[-1] == "gz":
        suffixes = suffixes[:-1]
    return SUFFIXES.get(suffixes[-1] if suffixes else "", "csv")  # .csv, .txt, .tsv: delimited text


#: What a damaged, truncated or mislabelled file raises while it is read: each becomes a ReadError
#: naming the file (a gzip that is not one, JSON nested too deeply, an integer of 5,000 digits, a
#: NUL byte in a CSV, a name too long for the file system, ...).
UNREADABLE = (
    OSError,
    EOFError,
    ValueError,
    LookupError,
    RecursionError,
    csv.Error,
    zlib.error,
    isal_zlib.error,
    zipfile.BadZipFile,
)


def file_size(path: Path) -> int | None:
    """The size of a regular file; None for anything else, and for a path the system cannot look
    up at all (a name too long, a folder that is not one)."""
    try:
        info = path.stat()
    except (OSError, ValueError):
        return None
    return info.st_size if stat.S_ISREG(info.st_mode) else None


def open_rows(path: Path, options: ReadOptions) -> RawRows:
    try:
        if not path.is_file():
            raise ReadError(f"{path}: file not found")
        table = READERS[options.format](path, options)
    except UNREADABLE as exc:
        raise _unreadable(path, options, exc) from None
    return RawRows(table.path, table.columns, _guarded(path, options, table.rows))


def _guarded(path: Path, options: ReadOptions, rows: Iterator) -> Iterator[tuple[int, dict[str, str]]]:
    number = 0
    try:
        for number, row in rows:
            yield number, row
    except UNREADABLE as exc:
        raise _unreadable(path, options, exc, after=number) from None


def _unreadable(path: Path, options: ReadOptions, exc: Exception, after: int = 0) -> ReadError:
    if isinstance(exc, ReadError):
        return exc
    where = f" after row {after}" if after else ""
    if isinstance(exc, UnicodeDecodeError):
        return ReadError(
            f"{path}: cannot be decoded as {options.encoding}{where} ({exc.reason} at byte {exc.start}); "
            f"set the file's `encoding` in config.yaml"
        )
    if isinstance(exc, LookupError):
        return ReadError(f"{path}: unknown encoding {options.encoding!r} (e.g. utf-8, cp1252, latin-1)")
    if isinstance(exc, RecursionError):
        return ReadError(f"{path}: nested too deeply to read{where}")
    reason = getattr(exc, "strerror", None) or str(exc) or exc.__class__.__name__
    return ReadError(f"{path}: cannot be read{where} ({reason})")


def open_binary(path: Path) -> io.BufferedIOBase:
    """The file's bytes; a gzip file's inflated by ISA-L (twice zlib's speed: a large export is
    mostly read inflating it)."""
    if path.suffix.lower() == ".gz":
        return igzip.open(path, "rb")
    return open(path, "rb")


def _open_text(path: Path, encoding: str) -> io.TextIOWrapper:
    return io.TextIOWrapper(open_binary(path), encoding=encoding, newline="")


@reads("csv")
def read_csv(path: Path, options: ReadOptions) -> RawRows:
    stream = _open_text(path, options.encoding)
    delimiter = options.delimiter
    if delimiter == "auto":
        sample = stream.read(64 * 1024)
        stream.seek(0)
        try:
            delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
    reader = csv.reader(stream, delimiter=delimiter_of(delimiter), quotechar=options.quotechar)
    header = next(reader, None)
    if header is None:
        stream.close()
        return RawRows(path, [], iter(()))
    header = [h.strip() for h in header]

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        with stream:
            yield from _csv_rows(header, enumerate(reader, start=2))

    return RawRows(path, header, rows())


def delimiter_of(configured: str) -> str:
    return "\t" if configured in ("\\t", "tab") else configured


class MisfitRow(dict):
    """A delimited row whose number of fields differs from the header's: mapping it onto the
    header would shift every later column (an unquoted delimiter inside a field, a lost one), so
    it has no cells; the export reader reports it and reads on."""

    def __init__(self, found: int, expected: int):
        super().__init__()
        self.found = found
        self.expected = expected


def _csv_rows(header: list[str], numbered: Iterator[tuple[int, list[str]]]) -> Iterator[tuple[int, dict[str, str]]]:
    width = len(header)
    for number, cells in numbered:
        if not cells or (len(cells) == 1 and not cells[0].strip()):
            continue  # blank line
        if len(cells) > width and not any(cell.strip() for cell in cells[width:]):
            cells = cells[:width]  # empty cells after the last column: a delimiter ending the line
        if len(cells) != width:
            yield number, MisfitRow(len(cells), width)
            continue
        yield number, dict(zip(header, cells, strict=False))  # (as long as the header: checked above)


@dataclass(frozen=True)
class LineSelection:
    """Some lines of a delimited text file, each one whole record, with their row numbers: what
    a quick rebuild reads again when only a few customers' rows changed."""

    header: bytes
    lines: list[tuple[int, bytes]]
    # parsed once for every entity that reads the file (a batched build's chunk, read by customers
    # and invoices alike), held while the selection is: off for a selection as large as a batch
    shared: bool = False
    _parsed: dict[tuple, list] = field(default_factory=dict, compare=False, repr=False)

    def table(self, path: Path, options: ReadOptions) -> RawRows:
        dialect = {"delimiter": delimiter_of(options.delimiter), "quotechar": options.quotechar}
        header = [h.strip() for h in next(csv.reader([self.header.decode(options.encoding)], **dialect), [])]
        if not self.shared:
            return RawRows(path, header, self._rows(header, options.encoding, dialect))
        return RawRows(path, header, self._parsed_once(header, options.encoding, dialect))

    def _parsed_once(self, header: list[str], encoding: str, dialect: dict) -> Iterator[tuple[int, dict[str, str]]]:
        """(A generator, so that a line that cannot be read fails where the rows are read, as unshared.)"""
        key = (encoding, *dialect.values())
        if key not in self._parsed:
            self._parsed[key] = list(self._rows(header, encoding, dialect))
        yield from self._parsed[key]

    def _rows(self, header: list[str], encoding: str, dialect: dict) -> Iterator[tuple[int, dict[str, str]]]:
        numbers = [number for number, _ in self.lines]
        # a byte order mark only starts the file (the header): a line is plain UTF-8, decoded in C
        encoding = "utf-8" if codecs.lookup(encoding).name == "utf-8-sig" else encoding
        cells = csv.reader((line.decode(encoding) for _, line in self.lines), **dialect)
        return _csv_rows(header, zip(numbers, cells, strict=True))


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ") if value.time() != datetime.min.time() else value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _flatten(record: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        elif isinstance(value, list):
            flat[name] = json.dumps(value, ensure_ascii=False)
        else:
            flat[name] = _cell_text(value)
    return flat


@reads("json")
def read_json(path: Path, options: ReadOptions) -> RawRows:
    with _open_text(path, options.encoding) as stream:
        try:
            document = json.load(stream)
        except json.JSONDecodeError as exc:
            raise ReadError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    for key in (options.records or "").split(".") if options.records else []:
        if not isinstance(document, dict) or key not in document:
            raise ReadError(f"{path}: no key {options.records!r} holding the records")
        document = document[key]
    if not isinstance(document, list):
        raise ReadError(f"{path}: expected a list of records (set `records` to the key that holds them)")

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        for number, record in enumerate(document, start=1):
            if isinstance(record, dict):
                yield number, _flatten(record)
            else:
                raise ReadError(f"{path}: record {number} is not an object")

    return RawRows(path, None, rows())


@reads("ndjson")
def read_ndjson(path: Path, options: ReadOptions) -> RawRows:
    stream = _open_text(path, options.encoding)

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        with stream:
            for number, line in enumerate(stream, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ReadError(f"{path}: line {number} is not valid JSON ({exc.msg})") from None
                if not isinstance(record, dict):
                    raise ReadError(f"{path}: line {number} is not an object")
                yield number, _flatten(record)

    return RawRows(path, None, rows())


@reads("xlsx")
def read_xlsx(path: Path, options: ReadOptions) -> RawRows:
    import openpyxl  # imported here: only XLSX exports pay for it

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged or mislabelled file
        raise ReadError(f"{path}: not a readable XLSX workbook ({exc})") from None
    if options.sheet is not None and options.sheet not in book.sheetnames:
        raise ReadError(f"{path}: no sheet {options.sheet!r} (sheets: {', '.join(book.sheetnames)})")
    sheet = book[options.sheet] if options.sheet else book.worksheets[0]
    values = sheet.iter_rows(values_only=True)
    try:
        header = [_cell_text(h).strip() for h in next(values, None) or ()]
    except Exception as exc:  # a damaged sheet: openpyxl raises many kinds
        book.close()
        raise ReadError(f"{path}: not a readable XLSX workbook ({exc or exc.__class__.__name__})") from None

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        number = 1
        try:
            for number, cells in enumerate(values, start=2):
                texts = [_cell_text(c) for c in cells]
                if not any(t.strip() for t in texts):
                    continue
                yield number, dict(zip(header, texts, strict=False))
        except Exception as exc:  # a damaged sheet part: openpyxl raises many kinds
            raise ReadError(f"{path}: damaged after row {number} ({exc or exc.__class__.__name__})") from None
        finally:
            book.close()

    return RawRows(path, header, rows())
