"""What real exports do that crafted ones rarely do, each on a small export of its own: rows whose
fields do not line up with the header, columns that are missing, required fields left unmapped,
several entities read from one file. Every message names entity, file, row and column."""

from __future__ import annotations

import pytest
from conftest import minimal_config

from generator.config import ConfigError
from generator.pipeline import check

CUSTOMERS = "id,name,city,phone\nC1,Alpha Works,Leeds,0113\nC2,Beta Foods,York,0190\n"
ORDERS = "order,customer,date,sku,qty,price\nA-1,C1,2026-05-01,X,2,1.50\nB-1,C2,2026-06-01,Y,1,9.99\n"


def customers_config(**columns):
    raw = minimal_config()
    raw["exports"]["customers"]["columns"].update(columns)
    return raw


def problems_of(site, raw):
    ledger, problems = check(site.load(raw))
    return ledger, [(p.severity, p.entity, p.file, p.row, p.column, p.kind) for p in problems.problems], problems


def test_a_row_with_more_fields_than_the_header_is_an_error_not_a_shifted_row(site):
    """An unquoted comma in a city: zipped with the header it would put 'Spain' in the phone."""
    site.file("customers.csv", CUSTOMERS + "C3,Gamma SA,Madrid, Spain,91 555\n")
    site.file("orders.csv", ORDERS)
    ledger, found, problems = problems_of(site, customers_config(billing_city="city", phone="phone"))
    assert found == [("error", "customers", "customers.csv", 4, None, "bad-row")]
    assert "the row has 5 fields but the header has 4" in problems.errors[0].message
    assert sorted(ledger.books) == ["C1", "C2"]  # the row is skipped, never guessed
    assert ledger.books["C2"].customer.phone == "0190"


def test_a_row_with_fewer_fields_is_an_error_too(site):
    site.file("customers.csv", CUSTOMERS + "C3,Gamma SA\n")
    site.file("orders.csv", ORDERS)
    _, found, problems = problems_of(site, customers_config(billing_city="city"))
    assert found == [("error", "customers", "customers.csv", 4, None, "bad-row")]
    assert "2 fields but the header has 4" in problems.errors[0].message


def test_a_delimiter_ending_every_line_is_not_a_misfit(site):
    site.file("customers.csv", "id,name,city\nC1,Alpha Works,Leeds,\nC2,Beta Foods,York,\n")
    site.file("orders.csv", ORDERS)
    ledger, found, _ = problems_of(site, customers_config(billing_city="city"))
    assert found == [] and ledger.books["C1"].customer.billing.city == "Leeds"


def test_a_misfit_row_fails_a_strict_build_and_is_skipped_and_listed_otherwise(site):
    site.file("customers.csv", CUSTOMERS)
    site.file("orders.csv", ORDERS + "B-2,C2,2026-06-02,Z,1,2,extra\n")
    strict = site.build(strict=True)
    assert not strict.ok and "1 error(s)" in strict.failure
    relaxed = site.build()
    assert relaxed.ok and [(p.row, p.kind) for p in relaxed.problems.errors] == [(4, "bad-row")]
    assert not (site.public / "C2" / "order-B-2.html").exists()


def test_one_missing_optional_column_is_one_error_and_nothing_cascades(site):
    """A mapped `email` column the file lacks: one problem; every customer and order still reads."""
    site.file("customers.csv", CUSTOMERS)
    site.file("orders.csv", ORDERS)
    ledger, found, problems = problems_of(site, customers_config(email="Mail", billing_city="city"))
    assert found == [("error", "customers", "customers.csv", 1, "Mail", "missing-column")]
    assert "columns: id, name, city, phone" in problems.errors[0].message
    assert sorted(ledger.books) == ["C1", "C2"] and ledger.books["C1"].customer.email == ""
    assert [o.number for o in ledger.books["C1"].orders] == ["A-1"]
    assert ledger.books["C1"].customer.billing.city == "Leeds"


def test_a_missing_required_column_reads_no_rows_of_that_file(site):
    site.file("customers.csv", CUSTOMERS)
    site.file("orders.csv", ORDERS.replace("date", "when"))
    ledger, found, _ = problems_of(site, minimal_config())
    assert found == [("error", "orders", "orders.csv", 1, "date", "missing-column")]
    assert all(not book.orders for book in ledger.books.values())


def test_required_line_fields_left_unmapped_are_a_config_error(site):
    site.file("customers.csv", CUSTOMERS)
    site.file("orders.csv", ORDERS)
    raw = minimal_config()
    del raw["exports"]["orders"]["lines"]["columns"]["quantity"]
    with pytest.raises(ConfigError) as caught:
        site.load(raw)
    assert any(
        p.startswith("exports.orders.lines.columns.quantity: required line field is not mapped")
        for p in caught.value.problems
    ), caught.value.problems


def test_a_blank_required_line_field_is_a_row_error(site):
    site.file("customers.csv", CUSTOMERS)
    site.file("orders.csv", ORDERS + "A-2,C1,2026-05-03,Z,,4\n")
    _, found, _ = problems_of(site, minimal_config())
    assert found == [("error", "orders", "orders.csv", 4, "qty", "missing-field")]


def test_two_entities_reading_one_file_each_name_themselves(site):
    """Shipments taken from the orders file: a skipped row says which entity skipped it."""
    site.file("customers.csv", CUSTOMERS)
    site.file(
        "orders.csv",
        "order,customer,date,sku,qty,price,shipped\nA-1,C1,2026-05-01,X,2,1.50,2026-05-03\n"
        "B-1,C2,2026-06-01,Y,1,9.99,\nB-1,C2,2026-06-01,Z,1,1,\n",
    )
    raw = minimal_config(
        shipments={"file": "orders.csv", "skip_when_blank": ["date"], "columns": {"order": "order", "date": "shipped"}}
    )
    ledger, found, problems = problems_of(site, raw)
    assert found == []
    assert dict(problems.skipped) == {"shipments (orders.csv): rows with no date": 2}
    assert [s.order_number for s in ledger.books["C1"].shipments] == ["A-1"]
