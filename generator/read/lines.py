"""Export files that can be handled line by line: every line one record, lines compared and
read again as bytes. A quick rebuild compares an edited export this way (`incremental/`), and a
large export is split into batches of customers this way (`spill.py`)."""

from __future__ import annotations

from pathlib import Path

from ..config import Config
from .formats import guess_format


def whole_line(line: bytes) -> bool:
    return line.count(b'"') % 2 == 0  # an odd number of quotes: a quoted field goes on to the next line


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
