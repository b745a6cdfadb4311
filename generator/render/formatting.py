"""Locale-aware formatting of money, numbers and dates (Babel), one formatter per customer.

A large build formats millions of amounts, and Babel's general formatter looks up locale data
on every call. So each formatter reads its locale's symbols, grouping and patterns from the
installed Babel once and formats with plain string operations. The fast path is only trusted
where it gives what the installed Babel gives: on creation it formats a set of probe values
both ways, and any locale, currency or pattern where the two differ (unusual grouping, a
pattern with quoted text, a Babel release that changed its rules) formats with Babel itself.
So the output always agrees with whatever Babel is installed; a test checks every locale.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from functools import cache

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import (
    format_percent,
    get_currency_precision,
    get_currency_symbol,
    get_decimal_symbol,
    get_group_symbol,
    get_minus_sign_symbol,
)

#: Values the fast path must format exactly as Babel does before it is used: zero, rounding
#: ties, one to four groups of digits, negatives, tiny and huge amounts.
PROBES = tuple(
    Decimal(v)
    for v in (
        "0",
        "0.005",
        "0.015",
        "0.025",
        "0.4",
        "1",
        "2.50",
        "12.345",
        "0.1234",
        "999.995",
        "1000",
        "1234.5",
        "12345.675",
        "123456.78",
        "1234567.891",
        "98765432.1",
        "12345678901.23",
        "-0.004",
        "-0.5",
        "-1234.5",
        "-1234567.891",
        "1E+15",
    )
)


def parse_locale(language: str, fallback: str = "en") -> Locale:
    for candidate in (language, fallback, "en"):
        try:
            return Locale.parse(candidate.replace("-", "_"))
        except (UnknownLocaleError, ValueError, TypeError):
            continue
    raise AssertionError("Babel always knows 'en'")


class _Pattern:
    """A Babel number pattern reduced to plain string operations (three-digit groups only)."""

    def __init__(self, pattern, locale: Locale, digits: int | None, symbol: str = ""):
        self.handled = pattern.grouping == (3, 3) and not any(c in pattern.pattern for c in "%‰'E@")
        self.group = get_group_symbol(locale)
        self.decimal = get_decimal_symbol(locale)
        self.minus = get_minus_sign_symbol(locale)
        self.digits = digits  # fixed fraction digits (money), or None for the pattern's (plain numbers)
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


def _trusted(fast: _Pattern, babel, probes: tuple[Decimal, ...] = PROBES):
    """The fast path if it handles the pattern and gives Babel's text for every probe; else Babel."""
    if fast.handled and all(fast.format(value) == babel(value) for value in probes):
        return fast.format
    return babel


@cache
def number_formats(locale_name: str, currency: str):
    """(money, number) formatting functions for a locale and currency, each fast where it is trusted."""
    locale = Locale.parse(locale_name)
    money_pattern = locale.currency_formats["standard"]
    decimal_pattern = locale.decimal_formats[None]

    def babel_money(amount: Decimal) -> str:
        return money_pattern.apply(amount, locale, currency=currency, currency_digits=True)

    def babel_number(value: Decimal) -> str:
        return decimal_pattern.apply(value, locale)

    fast_money = _Pattern(
        money_pattern, locale, get_currency_precision(currency), get_currency_symbol(currency, locale)
    )
    return _trusted(fast_money, babel_money), _trusted(_Pattern(decimal_pattern, locale, None), babel_number)


class Formatter:
    def __init__(self, language: str, currency: str, date_format: str = "medium"):
        self.locale = parse_locale(language)
        self.currency = currency
        self.date_format = date_format  # a Babel style (short, medium, long, full) or pattern
        self._format_money, self._format_number = number_formats(str(self.locale), currency)
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
            text = self._format_money(Decimal(amount))
            _remember(self._amounts, amount, text)
        return text

    def number(self, value: Decimal | int | None) -> str:
        if value is None:
            return ""
        text = self._numbers.get(value)
        if text is None:
            text = self._format_number(Decimal(value))
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
