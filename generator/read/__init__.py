"""Read the export: files of any supported format, row by row, into records of typed fields.

formats.py  one `Reader` per file format (csv, json, ndjson, xlsx), registered by name
values.py   cell text to dates, decimals, yes/no and e-mail addresses
mapping.py  a row to canonical fields: columns, constants, templates, defaults, maps
records.py  what reading yields (`Record`s with their `Origin`), and whose each row is
export.py   every mapped entity of an export, grouping line rows into documents
content.py  the site's own content pages (Markdown with front matter)
"""

from __future__ import annotations

from .content import Page, pages_for, read_pages
from .export import LoadError, read_export
from .formats import LineSelection, ReadOptions, guess_format, open_rows
from .records import SHARED, SKIPPED, Export, Origin, Record, RowOwners, owner_field

__all__ = [
    "SHARED",
    "SKIPPED",
    "Export",
    "LineSelection",
    "LoadError",
    "Origin",
    "Page",
    "ReadOptions",
    "Record",
    "RowOwners",
    "guess_format",
    "open_rows",
    "owner_field",
    "pages_for",
    "read_export",
    "read_pages",
]
