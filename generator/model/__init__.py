"""The model: the export's records joined into one book per customer, with derived figures.

canonical.py  the dataclasses every later stage reads (customers, orders, invoices, ...)
ledger.py     joins records into a `Ledger` of `CustomerBook`s: references, stages, balances
privacy.py    blanks the fields a customer's settings hide, before anything can show them
figures.py    what no single record holds: aging, balances, stage counts, spend, activity
"""

from __future__ import annotations

from .canonical import CustomerBook, Ledger, Line, document_files
from .ledger import ACROSS_CUSTOMERS, UNKNOWN_REFERENCE, UNOPENABLE, build_ledger, newest_export_date, warn_unopenable

__all__ = [
    "ACROSS_CUSTOMERS",
    "UNKNOWN_REFERENCE",
    "UNOPENABLE",
    "CustomerBook",
    "Ledger",
    "Line",
    "build_ledger",
    "document_files",
    "newest_export_date",
    "warn_unopenable",
]
