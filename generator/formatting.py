"""Locale-aware formatting of money, numbers and dates (Babel), one formatter per customer.

A large build formats millions of amounts, and Babel's general formatter looks up locale data
on every call. So each formatter asks Babel once for its locale's symbols, grouping and
patterns, and formats with plain string operations; locales with unusual grouping (e.g. the
Indian 2-digit groups) keep using Babel. A test checks the fast path against Babel itself.
"""
from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_percent
from babel.numbers import (
    get_currency_precision, get_currency_symbol, get_decimal_symbol, get_group_symbol, get_minus_sign_symbol,
)


def parse_locale(language: str, fallback: str = "en") -> Locale:
    for candidate in (language, fallback, "en"):
        try:
            return Locale.parse(candidate.replace("-", "_"))
        except (UnknownLocaleError, ValueError, TypeError):
            continue
    raise AssertionError("Babel always knows 'en'")


class _Pattern:
    """A Babel number pattern reduced to what plain formatting needs, or None to use Babel."""

    def __init__(self, pattern, locale: Locale, digits: int | None, symbol: str = ""):
        self.pattern = pattern
        self.locale = locale
        self.fast = pattern.grouping == (3, 3) and "%" not in pattern.pattern and "‰" not in pattern.pattern
        self.group = get_group_symbol(locale)
        self.decimal = get_decimal_symbol(locale)
        self.minus = get_minus_sign_symbol(locale)
        self.digits = digits  # fixed fraction digits (money), or None for 0..3 (plain numbers)
        self.prefix = [p.replace("¤", symbol) for p in pattern.prefix]
        self.suffix = [s.replace("¤", symbol) for s in pattern.suffix]
        self.max_fraction = pattern.frac_prec[1]
        self.min_fraction = pattern.frac_prec[0]

    def format(self, value: Decimal) -> str:
        negative = value < 0
        if self.digits is not None:
            text = f"{abs(value).quantize(Decimal(1).scaleb(-self.digits), ROUND_HALF_EVEN):,.{self.digits}f}"
        else:
            rounded = abs(value).quantize(Decimal(1).scaleb(-self.max_fraction), ROUND_HALF_EVEN)
            text = f"{rounded:,f}"
            if "." in text:
                whole, fraction = text.split(".")
                fraction = fraction.rstrip("0").ljust(self.min_fraction, "0")
                text = f"{whole}.{fraction}" if fraction else whole
        text = text.replace(",", "\0").replace(".", self.decimal).replace("\0", self.group)
        index = 1 if negative and len(self.prefix) > 1 else 0
        prefix, suffix = self.prefix[index], self.suffix[index]
        if negative and len(self.prefix) == 1:
            prefix = self.minus + prefix
        return f"{prefix}{text}{suffix}"


REMEMBERED_VALUES = 50_000  # per formatter and kind; beyond that, values are formatted each time


def _remember(cache: dict, value, text: str) -> None:
    if len(cache) < REMEMBERED_VALUES:
        cache[value] = text


class Formatter:
    def __init__(self, language: str, currency: str, date_format: str = "medium"):
        self.locale = parse_locale(language)
        self.currency = currency
        self.date_format = date_format  # a Babel style (short, medium, long, full) or pattern
        money = self.locale.currency_formats["standard"]
        self._money_pattern = money
        self._decimal_pattern = self.locale.decimal_formats[None]
        self._money = _Pattern(money, self.locale, get_currency_precision(currency),
                               get_currency_symbol(currency, self.locale))
        self._number = _Pattern(self._decimal_pattern, self.locale, None)
        self._dates: dict[tuple[date, str], str] = {}
        self._amounts: dict[Decimal, str] = {}  # prices and quantities repeat across lines and pages
        self._numbers: dict[Decimal, str] = {}

    @property
    def language(self) -> str:
        return self.locale.language

    def money(self, amount: Decimal | None) -> str:
        if amount is None:
            return ""
        text = self._amounts.get(amount)
        if text is None:
            if self._money.fast:
                text = self._money.format(Decimal(amount))
            else:
                text = self._money_pattern.apply(amount, self.locale, currency=self.currency, currency_digits=True)
            _remember(self._amounts, amount, text)
        return text

    def number(self, value: Decimal | int | None) -> str:
        if value is None:
            return ""
        text = self._numbers.get(value)
        if text is None:
            if self._number.fast:
                text = self._number.format(Decimal(value))
            else:
                text = self._decimal_pattern.apply(value, self.locale)
            _remember(self._numbers, value, text)
        return text

    def date(self, value: date | None, style: str | None = None) -> str:
        if value is None:
            return ""
        style = style or self.date_format
        key = (value, style)
        if key not in self._dates:
            self._dates[key] = format_date(value, style, locale=self.locale)
        return self._dates[key]

    def month(self, value: date) -> str:
        return self.date(value, "MMM yy")

    def percent(self, value: Decimal | float | None) -> str:
        """A fraction as a percentage in the locale's way: 0.15 → `15 %` in German."""
        if value is None:
            return ""
        return format_percent(value, locale=self.locale)
