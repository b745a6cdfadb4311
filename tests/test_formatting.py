"""The formatter gives exactly what the installed Babel gives, for every locale Babel ships.

The fast path (plain string operations) is used only where it reproduces Babel on probe values;
these tests compare the formatter with Babel on many more values, in every locale, so a Babel
release that changes its rules (as 2.19 did for Swiss grouping) is followed, never contradicted.
"""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from babel import Locale
from babel.localedata import locale_identifiers
from babel.numbers import format_currency, format_decimal

from generator.render.formatting import PROBES, Formatter, number_formats

ALL_LOCALES = sorted(locale_identifiers())
CURRENCIES = ["EUR", "GBP", "USD", "CHF", "JPY", "SEK", "BHD"]


def amounts(seed: int = 7, count: int = 40):
    rng = random.Random(seed)
    fixed = [
        "0",
        "0.005",
        "0.015",
        "-0.5",
        "1",
        "12.345",
        "999.995",
        "1000",
        "-1234.5",
        "1234567.891",
        "-0.004",
        "123456789012.345",
        "-98765432.125",
    ]
    return [Decimal(v) for v in fixed] + [Decimal(rng.randint(-(10**12), 10**12)) / 1000 for _ in range(count)]


def test_every_locale_babel_ships_formats_money_and_numbers_as_babel_does():
    values = amounts(count=12)
    mismatches = []
    for locale in ALL_LOCALES:
        for currency in ("EUR", "JPY", "BHD"):
            fmt = Formatter(locale, currency)
            mismatches += [
                (locale, currency, v) for v in values if fmt.money(v) != format_currency(v, currency, locale=locale)
            ]
        fmt = Formatter(locale, "EUR")
        mismatches += [(locale, "number", v) for v in values if fmt.number(v) != format_decimal(v, locale=locale)]
    assert not mismatches, mismatches[:20]


@pytest.mark.parametrize(
    "locale",
    ["en", "en_GB", "de", "de_CH", "fr", "fr_CH", "nl", "es", "it", "sv", "pl", "pt_BR", "hi", "ar", "ja", "en_IN"],
)
@pytest.mark.parametrize("currency", CURRENCIES)
def test_money_matches_babel_on_many_values(locale, currency):
    fmt = Formatter(locale, currency)
    for amount in amounts(count=150):
        assert fmt.money(amount) == format_currency(amount, currency, locale=locale), (amount, locale, currency)


def test_the_fast_path_serves_the_common_locales():
    """Speed: the plain-string path is trusted wherever it agrees, so the usual locales use it."""
    for locale in ("en", "en_GB", "de", "fr", "nl", "es", "it"):
        money, number = number_formats(str(Locale.parse(locale)), "EUR")
        assert getattr(money, "__self__", None) is not None, locale  # a bound _Pattern.format, not Babel
        assert getattr(number, "__self__", None) is not None, locale


def test_a_pattern_that_disagrees_on_one_probe_falls_back_to_babel():
    from generator.render.formatting import _Pattern, _trusted

    locale = Locale.parse("de")
    fast = _Pattern(locale.decimal_formats[None], locale, None)
    babel = lambda value: "babel:" + str(value)
    assert _trusted(fast, babel) is babel
    assert _trusted(fast, lambda v: fast.format(v)) == fast.format
    assert len(PROBES) > 10


def test_german_money_looks_german():
    assert Formatter("de", "EUR").money(Decimal("1234.56")) == "1.234,56\xa0€"
    assert Formatter("en", "GBP").money(Decimal("-1234.5")) == "-£1,234.50"


@pytest.mark.parametrize("locale, expected", [("de", "15\xa0%"), ("fr", "15\xa0%"), ("en", "15%"), ("nl", "15%")])
def test_percentages_and_date_patterns_follow_the_locale(locale, expected):
    from datetime import date

    from babel.dates import format_date

    fmt = Formatter(locale, "EUR", "dd/MM/yyyy")
    assert fmt.percent(Decimal("0.15")) == expected
    assert fmt.date(date(2026, 11, 20)) == "20/11/2026"  # the configured pattern
    assert fmt.date(date(2026, 11, 20), "long") == format_date(date(2026, 11, 20), "long", locale=locale)
