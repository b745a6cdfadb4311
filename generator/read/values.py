"""Cell text to typed values: dates, decimals, yes/no, e-mail addresses, as the export writes them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from ..config.entities import BOOL, DATE, DECIMAL, EMAIL, TEXT, URL
from ..config.urls import checked_url

EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAGNITUDE = 15  # no amount, price or quantity an ERP exports is beyond 10^15 or below 10^-15


@dataclass(frozen=True)
class ParseOptions:
    date_formats: tuple[str, ...]
    decimal_separator: str
    thousands_separator: str
    true_values: frozenset[str]
    false_values: frozenset[str]
    null_values: frozenset[str] = frozenset()  # cells that mean blank, e.g. NULL


class ValueParser:
    """Parses cell text by field type; caches results, as exports repeat the same values a lot."""

    def __init__(self, options: ParseOptions):
        self.options = options
        self._dates: dict[str, date] = {}
        self._decimals: dict[str, Decimal] = {}

    def parse(self, kind: str, text: str) -> Any:
        if kind == TEXT:
            return text
        if kind == DATE:
            return self.date(text)
        if kind == DECIMAL:
            return self.decimal(text)
        if kind == BOOL:
            return self.boolean(text)
        if kind == EMAIL:
            if not EMAIL_PATTERN.match(text):
                raise ValueError(f"{text!r} is not an e-mail address")
            return text
        if kind == URL:
            return checked_url(text)
        raise AssertionError(kind)

    def date(self, text: str) -> date:
        cached = self._dates.get(text)
        if cached is not None:
            return cached
        value = self._parse_date(text)
        if len(self._dates) < 200_000:
            self._dates[text] = value
        return value

    def _parse_date(self, text: str) -> date:
        for fmt in self.options.date_formats:
            try:
                return datetime.strptime(text, fmt).date()
            except ValueError:
                pass
        try:  # ISO dates are unambiguous, so they are always understood
            return datetime.fromisoformat(text).date()
        except ValueError:
            pass
        raise ValueError(f"{text!r} is not a date in the format {' or '.join(self.options.date_formats)}")

    def decimal(self, text: str) -> Decimal:
        cached = self._decimals.get(text)
        if cached is not None:
            return cached
        normal = text.replace(" ", "").replace("\u00a0", "")
        if self.options.thousands_separator:
            normal = normal.replace(self.options.thousands_separator, "")
        if self.options.decimal_separator != ".":
            normal = normal.replace(self.options.decimal_separator, ".")
        try:
            value = Decimal(normal)
        except InvalidOperation:
            raise ValueError(f"{text!r} is not a number") from None
        if not value.is_finite():
            raise ValueError(f"{text!r} is not a number")
        if value and not -MAGNITUDE <= value.adjusted() <= MAGNITUDE:
            raise ValueError(f"{text[:40]!r} is out of range (a number between 1e-{MAGNITUDE} and 1e{MAGNITUDE})")
        if len(self._decimals) < 200_000:
            self._decimals[text] = value
        return value

    def boolean(self, text: str) -> bool:
        folded = text.strip().lower()
        if folded in self.options.true_values:
            return True
        if folded in self.options.false_values:
            return False
        raise ValueError(
            f"{text!r} is not yes/no (known: {', '.join(sorted(self.options.true_values))} "
            f"/ {', '.join(sorted(v for v in self.options.false_values if v))})"
        )
