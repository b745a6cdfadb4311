"""The fast formatter gives exactly what Babel gives, for every shipped-language style of locale."""
from __future__ import annotations

import random
from decimal import Decimal

import pytest
from babel.numbers import format_currency, format_decimal

from generator.formatting import Formatter

LOCALES = ["en", "en_GB", "de", "de_CH", "fr", "fr_CH", "nl", "es", "it", "sv", "pl", "pt_BR", "hi", "ar", "ja"]
CURRENCIES = ["EUR", "GBP", "USD", "CHF", "JPY", "SEK", "BHD"]


def amounts():
    rng = random.Random(7)
    fixed = ["0", "0.005", "0.015", "-0.5", "1", "12.345", "999.995", "1000", "-1234.5", "1234567.891", "-0.004"]
    return [Decimal(v) for v in fixed] + [Decimal(rng.randint(-10**9, 10**9)) / 1000 for _ in range(150)]


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("currency", CURRENCIES)
def test_money_matches_babel(locale, currency):
    fmt = Formatter(locale, currency)
    for amount in amounts():
        assert fmt.money(amount) == format_currency(amount, currency, locale=locale), (amount, locale, currency)


@pytest.mark.parametrize("locale", LOCALES)
def test_numbers_match_babel(locale):
    fmt = Formatter(locale, "EUR")
    for value in amounts() + [Decimal(12), Decimal("2.50"), Decimal("0.1234")]:
        assert fmt.number(value) == format_decimal(value, locale=locale), (value, locale)


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
