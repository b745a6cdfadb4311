"""Export files that can be handled line by line: every line one record, lines compared and
read again as bytes. A quick rebuild compares an edited export this way (`incremental/`), and a
large export is split into batches of customers this way (`spill.py`)."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from ..config import Config
from .formats import delimiter_of, guess_format


def record_checks(config: Config) -> dict[str, RecordCheck]:
    """For each row file (`line_files`), whether a line of it is one whole record."""
    checks = {}
    for source in config.exports.sources().values():
        for options in (source, source.lines):
            if options is not None and options.file is not None:
                delimiter = delimiter_of(options.delimiter or config.exports.delimiter)
                checks[options.file] = whole_record(delimiter, options.quotechar or config.exports.quotechar)
    return checks


class RecordCheck:
    """Whether a line is one whole record as the csv module reads it: every quoted field closes on
    the line. Counting quotes is not enough: a quote inside an unquoted field (`5" pipe`) is just a
    character, and one that opens a field later on the line may close on the next."""

    def __init__(self, delimiter: str, quotechar: str):
        d, q = re.escape(delimiter.encode("ascii")), re.escape(quotechar.encode("ascii"))
        field = rb"(?:%s(?:[^%s]|%s%s)*%s[^%s]*|[^%s%s][^%s]*|)" % (q, q, q, q, q, d, q, d, d)
        self.record = re.compile(rb"%s(?:%s%s)*\r?" % (field, d, field), re.DOTALL)
        self.quote = quotechar.encode("ascii")

    def __call__(self, line: bytes) -> bool:
        return self.quote not in line or self.record.fullmatch(line) is not None

    def every_line(self, text: bytes) -> bool:
        """Whether every line of `text` (lines joined by newlines) is one whole record: only the
        lines holding a quote are looked at (a hundredth of Online Retail's half a million)."""
        at = text.find(self.quote)
        while at != -1:
            start, end = text.rfind(b"\n", 0, at) + 1, text.find(b"\n", at)
            end = len(text) if end == -1 else end
            if self.record.fullmatch(text, start, end) is None:
                return False
            at = text.find(self.quote, end)
        return True


@lru_cache
def whole_record(delimiter: str, quotechar: str) -> RecordCheck:
    return RecordCheck(delimiter, quotechar)


def line_files(config: Config) -> dict[str, Path] | None:
    """The export's row files by name, when every one is delimited text (None otherwise)."""
    files = {}
    for source in config.exports.sources().values():
        for options in (source, source.lines):
            if options is None or options.file is None:
                continue
            path = config.export_dir / options.file
            if (options.format or guess_format(path)) != "csv" or (
                options.delimiter or config.exports.delimiter
            ) == "auto":
                return None
            if not _lines_end_with_newline_bytes(options.encoding or config.exports.encoding or "utf-8-sig"):
                return None
            files[options.file] = path
    return files


def _lines_end_with_newline_bytes(encoding: str) -> bool:
    """Whether a line of text in this encoding ends with the byte '\n', quotes and delimiters
    being their ASCII bytes too, so lines can be compared as bytes (not in UTF-16, say)."""
    sample = '\n",;\t|ab'
    try:
        return sample.encode("ascii").decode(encoding) == sample  # (a byte order mark may only start a file)
    except (LookupError, UnicodeError):
        return False
