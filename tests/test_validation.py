"""Every validation message names file, row and column; config errors name the key path."""

from __future__ import annotations

import json

import pytest
from conftest import minimal_config

from generator.cli import main
from generator.config import ConfigError
from generator.pipeline import check

GOOD_CUSTOMERS = "id,name\nC1,Alpha\nC2,Beta\n"


def problems_of(site, customers=GOOD_CUSTOMERS, orders="order,customer,date,sku,qty,price\n", raw=None):
    site.file("customers.csv", customers)
    site.file("orders.csv", orders)
    _, problems = check(site.load(raw))
    problems.problems = [p for p in problems.problems if p.kind != "no-portal-access"]  # no contacts here: by design
    return [(p.severity, p.file, p.row, p.column, p.kind) for p in problems.problems], problems


@pytest.mark.parametrize(
    "row, where, kind, text",
    [
        ("A-1,C1,2026-13-45,X,1,2", "date", "bad-date", "'2026-13-45' is not a date"),
        ("A-1,C1,2026-05-01,X,one,2", "qty", "bad-decimal", "'one' is not a number"),
        ("A-1,C1,2026-05-01,X,1,NaN", "price", "bad-decimal", "'NaN' is not a number"),
        ("A-1,C9,2026-05-01,X,1,2", "customer", "unknown-customer", "unknown customer 'C9'"),
        ("A-1,,2026-05-01,X,1,2", "customer", "missing-field", "required field 'customer' is empty"),
    ],
)
def test_bad_values_name_file_row_and_column(site, row, where, kind, text):
    found, problems = problems_of(
        site, orders="order,customer,date,sku,qty,price\nA-0,C1,2026-05-01,X,1,2\n" + row + "\n"
    )
    assert found == [("error", "orders.csv", 3, where, kind)]
    assert text in problems.errors[0].message


def test_duplicate_id(site):
    found, problems = problems_of(site, customers="id,name\nC1,Alpha\nC2,Beta\nC1,Again\n")
    assert found == [("error", "customers.csv", 4, "id", "duplicate-id")]
    assert "first on row 2" in problems.errors[0].message


def test_header_fields_that_disagree_across_line_rows(site):
    found, problems = problems_of(
        site, orders="order,customer,date,sku,qty,price\nA-1,C1,2026-05-01,X,1,2\nA-1,C2,2026-05-01,Y,1,2\n"
    )
    assert found == [("error", "orders.csv", 3, "customer", "header-conflict")]
    assert "customer is C2 here but C1 on row 2 of the same number A-1" in problems.errors[0].message


def test_header_conflict_can_keep_the_first_value(site):
    raw = minimal_config()
    raw["exports"]["orders"]["on_conflict"] = "first"
    found, _ = problems_of(
        site, orders="order,customer,date,sku,qty,price\nA-1,C1,2026-05-01,X,1,2\nA-1,C1,2026-05-02,Y,1,2\n", raw=raw
    )
    assert found == [("warning", "orders.csv", 3, "date", "header-conflict")]


def test_rows_of_two_customers_are_an_error_even_when_the_first_value_is_kept(site):
    raw = minimal_config()
    raw["exports"]["orders"]["on_conflict"] = "first"
    found, problems = problems_of(
        site, orders="order,customer,date,sku,qty,price\nA-1,C1,2026-05-01,X,1,2\nA-1,C2,2026-05-01,Y,1,2\n", raw=raw
    )
    assert found == [("error", "orders.csv", 3, "customer", "header-conflict")]
    assert "left out, for both" in problems.errors[0].message


def test_missing_column_is_reported_once(site):
    found, problems = problems_of(site, orders="order,customer,when,sku,qty,price\nA-1,C1,2026-05-01,X,1,2\n")
    assert found == [("error", "orders.csv", 1, "date", "missing-column")]
    assert "when" in problems.errors[0].message  # lists the columns there are


def test_unknown_reference_between_entities(site):
    raw = minimal_config(shipments={"file": "shipments.csv", "columns": {"order": "order", "date": "date"}})
    site.file("shipments.csv", "order,date\nA-1,2026-05-02\nB-7,2026-05-03\n")
    found, _ = problems_of(site, orders="order,customer,date,sku,qty,price\nA-1,C1,2026-05-01,X,1,2\n", raw=raw)
    assert found == [("error", "shipments.csv", 3, "order", "unknown-reference")]


def test_document_file_must_exist_in_the_documents_folder(site):
    raw = minimal_config(
        documents={"file": "documents.csv", "folder": "docs", "columns": {"customer": "c", "title": "t", "file": "f"}}
    )
    site.file("documents.csv", "c,t,f\nC1,Manual,docs/manual.pdf\nC1,Escape,../../etc/passwd\nC1,Gone,nope.pdf\n")
    site.file("docs/manual.pdf", b"%PDF-1.4 test")
    found, problems = problems_of(site, orders="order,customer,date,sku,qty,price\nA-1,C1,2026-05-01,X,1,2\n", raw=raw)
    assert found == [
        ("error", "documents.csv", 3, "f", "refused-file"),
        ("error", "documents.csv", 4, "f", "refused-file"),
    ]
    messages = [p.message for p in problems.problems]
    assert "not a path inside the documents folder" in messages[0] and "not found" in messages[1]


def test_every_problem_is_reported_not_just_the_first(site):
    orders = (
        "order,customer,date,sku,qty,price\n"
        "A-1,C1,bad,X,1,2\nA-2,C1,2026-05-01,X,x,2\nA-3,C7,2026-05-01,X,1,2\nA-4,C1,also bad,X,1,2\n"
    )
    found, problems = problems_of(site, orders=orders)
    assert len(found) == 4
    groups = {key: len(items) for key, items in problems.grouped()}
    assert groups[("error", "orders (orders.csv)", "bad-date")] == 2


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (
            lambda c: c["exports"]["orders"]["columns"].update(date=42),
            "exports.orders.columns.date: Input should be a valid",
        ),
        (
            lambda c: c["exports"]["orders"]["columns"].update(colour="Colour"),
            "exports.orders.columns.colour: not a field of orders",
        ),
        (lambda c: c["exports"]["orders"].update(delimeter=";"), "exports.orders.delimeter: unknown key"),
        (lambda c: c.update(sitee={}), "sitee: unknown key"),
        (lambda c: c["exports"].pop("customers"), "exports.customers: required key is missing"),
        (
            lambda c: c["exports"]["customers"]["columns"].pop("name"),
            "exports.customers.columns.name: required field is not mapped",
        ),
        (
            lambda c: c.update(portal={"status_map": {"orders": {"10": "teleported"}}}),
            "portal.status_map.orders.10: 'teleported' is not one of",
        ),
        (lambda c: c["site"].update(as_of="yesterday"), "site.as_of: Input should be a valid date"),
        (lambda c: c["exports"].pop("orders"), "exports: map at least one of orders, invoices, quotes"),
        (
            lambda c: c["exports"]["orders"]["columns"].update(date={"column": "d", "value": "x"}),
            "exports.orders.columns.date: give exactly one of column, value, template, compute, first_of, lookup",
        ),
    ],
)
def test_config_errors_name_the_key_path(site, mutate, expected):
    raw = minimal_config()
    mutate(raw)
    with pytest.raises(ConfigError) as caught:
        site.load(raw)
    assert any(p.startswith(expected) for p in caught.value.problems), caught.value.problems


def test_check_command_groups_counts_and_exits_1(site, capsys):
    site.file("customers.csv", GOOD_CUSTOMERS)
    site.file("orders.csv", "order,customer,date,sku,qty,price\nA-1,C1,bad,X,1,2\nA-2,C1,worse,X,1,2\n")
    config = site.config(minimal_config())
    assert main(["check", "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert "error orders (orders.csv): bad-date (2)" in err
    assert "row 2, column 'date': date: 'bad' is not a date" in err


def test_check_json_report(site, capsys):
    site.file("customers.csv", GOOD_CUSTOMERS)
    site.file("orders.csv", "order,customer,date,sku,qty,price\nA-1,C3,2026-01-01,X,1,2\n")
    assert main(["check", "--json", "--config", str(site.config(minimal_config()))]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and report["errors"] == 1
    assert report["problems"][0] | {} == {
        "severity": "error",
        "file": "orders.csv",
        "row": 2,
        "column": "customer",
        "message": "unknown customer 'C3'",
        "kind": "unknown-customer",
        "entity": "orders",
    }


def test_valid_export_checks_clean(site, capsys):
    site.file("customers.csv", GOOD_CUSTOMERS)
    site.file("orders.csv", "order,customer,date,sku,qty,price\nA-1,C1,2026-01-01,X,1,2\n")
    assert main(["check", "--config", str(site.config(minimal_config()))]) == 0
    assert "export is valid: 2 customers" in capsys.readouterr().err


def test_config_error_exits_2(site, capsys):
    raw = minimal_config()
    raw["exports"]["orders"]["columns"]["colour"] = "x"
    assert main(["check", "--config", str(site.config(raw))]) == 2
    assert "exports.orders.columns.colour" in capsys.readouterr().err


def test_usage_error_exits_2():
    with pytest.raises(SystemExit) as caught:
        main(["build", "--no-such-flag"])
    assert caught.value.code == 2
