"""Locale-aware formatting of money, numbers and dates (Babel), one formatter per customer.

Patterns are looked up once per formatter, not once per value: a large build formats
millions of amounts.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from babel import Locale, UnknownLocaleError
from babel.dates import format_date


def parse_locale(language: str, fallback: str = "en") -> Locale:
    for candidate in (language, fallback, "en"):
        try:
            return Locale.parse(candidate.replace("-", "_"))
        except (UnknownLocaleError, ValueError, TypeError):
            continue
    raise AssertionError("Babel always knows 'en'")


class Formatter:
    def __init__(self, language: str, currency: str):
        self.locale = parse_locale(language)
        self.currency = currency
        self._money = self.locale.currency_formats["standard"]
        self._decimal = self.locale.decimal_formats[None]

    @property
    def language(self) -> str:
        return self.locale.language

    def money(self, amount: Decimal | None) -> str:
        if amount is None:
            return ""
        return self._money.apply(amount, self.locale, currency=self.currency, currency_digits=True)

    def number(self, value: Decimal | int | None) -> str:
        if value is None:
            return ""
        return self._decimal.apply(value, self.locale)

    def date(self, value: date | None, style: str = "medium") -> str:
        if value is None:
            return ""
        return format_date(value, style, locale=self.locale)

    def month(self, value: date) -> str:
        return format_date(value, "MMM yy", locale=self.locale)
