"""What real exports do that crafted ones rarely do, each on a small export of its own: rows whose
fields do not line up with the header, columns that are missing, required fields left unmapped,
several entities read from one file. Every message names entity, file, row and column."""

from __future__ import annotations

import re
from decimal import Decimal

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
    problems.problems = [p for p in problems.problems if p.kind != "no-portal-access"]  # no contacts here: by design
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


# -- mapping that real exports need ------------------------------------------------------------


def lines_config(**line_columns):
    raw = minimal_config()
    raw["exports"]["orders"]["lines"]["columns"] = line_columns
    return raw


def test_a_computed_field_is_decimal_arithmetic_over_the_rows_other_fields(site):
    site.file("customers.csv", CUSTOMERS)
    site.file(
        "orders.csv",
        "order,customer,date,sku,qty,line_total\nA-1,C1,2026-05-01,X,3,10.00\nA-2,C1,2026-05-02,Y,0,5.00\n",
    )
    raw = lines_config(sku="sku", quantity="qty", total="line_total", unit_price={"compute": "total / quantity"})
    ledger, found, problems = problems_of(site, raw)
    [line] = ledger.books["C1"].orders[0].lines  # A-2 could not be computed; A-1 is the only order left
    assert line.unit_price == Decimal(10) / Decimal(3) and line.total == Decimal("10.00")
    assert found == [("error", "orders", "orders.csv", 3, "unit_price", "bad-compute")]
    assert "unit_price: cannot compute total / quantity: division by zero" in problems.errors[0].message


def test_a_computed_total_with_rounding(site):
    site.file("customers.csv", CUSTOMERS)
    site.file("orders.csv", "order,customer,date,sku,qty,price,disc\nA-1,C1,2026-05-01,X,3,1.10,0.15\n")
    raw = lines_config(
        sku="sku",
        quantity="qty",
        unit_price="price",
        discount_rate="disc",
        total={"compute": "round(quantity * unit_price * (1 - discount_rate), 2)"},
    )
    ledger, found, _ = problems_of(site, raw)
    assert found == [] and ledger.books["C1"].orders[0].lines[0].total == Decimal("2.80")  # 3 × 1.10 × 0.85 = 2.805


@pytest.mark.parametrize(
    "compute, message",
    [
        ("total / qty", "'qty' is not a mapped field here"),
        ("sku * 2", "'sku' is not a number field"),
        ("__import__('os').system('true')", "is not allowed"),
        ("total /", "is not an expression"),
    ],
)
def test_a_bad_computation_is_a_config_error_naming_the_key(site, compute, message):
    raw = lines_config(sku="sku", quantity="qty", total="t", unit_price={"compute": compute})
    with pytest.raises(ConfigError) as caught:
        site.load(raw)
    problem = "; ".join(caught.value.problems)
    assert "exports.orders.lines.columns.unit_price" in problem and message in problem, problem


def test_a_lookup_takes_a_field_from_another_table_by_key(site):
    site.file("customers.csv", "id,name,rep\nC1,Alpha Works,1002\nC2,Beta Foods,1099\nC3,Gamma Ltd,\n")
    site.file("employees.csv", "employeeNumber,firstName,lastName\n1002,Diane,Murphy\n1056,Mary,Patterson\n")
    site.file("orders.csv", ORDERS)
    lookup = {"file": "employees.csv", "key": "employeeNumber", "on": "rep", "template": "{firstName} {lastName}"}
    ledger, found, problems = problems_of(site, customers_config(sales_rep={"lookup": lookup}))
    assert ledger.books["C1"].customer.sales_rep.name == "Diane Murphy"
    assert ledger.books["C2"].customer.sales_rep is None and ledger.books["C3"].customer.sales_rep is None
    assert found == [("warning", "customers", "customers.csv", 3, "rep", "unknown-reference")]
    assert "no employeeNumber '1099' in employees.csv" in problems.warnings[0].message


def test_a_lookup_whose_key_column_is_missing_is_a_clear_error(site):
    site.file("customers.csv", "id,name,rep\nC1,Alpha Works,1002\n")
    site.file("employees.csv", "id,firstName\n1002,Diane\n")
    site.file("orders.csv", ORDERS)
    lookup = {"file": "employees.csv", "key": "employeeNumber", "on": "rep", "column": "firstName"}
    ledger, _, problems = problems_of(site, customers_config(sales_rep={"lookup": lookup}))
    assert ledger is None and "employees.csv: no column 'employeeNumber' to look values up by" in str(
        problems.errors[0]
    )


def test_null_literals_read_as_blank_site_wide_and_per_file(site):
    site.file("customers.csv", "id,name,city\nC1,Alpha Works,NULL\nC2,Beta Foods,\\N\n")
    site.file(
        "orders.csv",
        "order,customer,date,sku,qty,price,promised\nA-1,C1,2026-05-01,X,2,1.50,NULL\nB-1,C2,2026-06-01,Y,1,9.99,n/a\n",
    )
    raw = customers_config(billing_city="city")
    raw["exports"]["null_values"] = ["NULL", "\\N"]
    raw["exports"]["orders"]["columns"]["promised_date"] = "promised"
    raw["exports"]["orders"]["null_values"] = ["NULL", "n/a"]
    ledger, found, _ = problems_of(site, raw)
    assert found == []
    assert ledger.books["C1"].customer.billing.city == "" and ledger.books["C2"].customer.billing.city == ""
    assert ledger.books["C2"].orders[0].promised_date is None


def test_first_of_takes_the_first_non_blank_origin(site):
    site.file("customers.csv", "id,company,first,last\nC1,Alpha Works,,\nC2,,Bea,Foods\nC3,NULL,Cy,Gamma\n")
    site.file("orders.csv", ORDERS)
    raw = minimal_config()
    raw["exports"]["null_values"] = ["NULL"]
    raw["exports"]["customers"]["columns"]["name"] = {"first_of": ["company", {"template": "{first} {last}"}]}
    ledger, found, _ = problems_of(site, raw)
    assert found == []
    assert {c: b.customer.name for c, b in ledger.books.items()} == {
        "C1": "Alpha Works",
        "C2": "Bea Foods",
        "C3": "Cy Gamma",
    }


# -- portals nobody can open -------------------------------------------------------------------

NAMES_ONLY = "customer,name\nC1,Ann\nC2,Bob\n"  # an ERP that exports contacts without e-mail addresses


def contacts_config(**extra):
    raw = minimal_config(contacts={"file": "contacts.csv", "columns": {"customer": "customer", "name": "name"}})
    raw["exports"].update(extra)
    return raw


def test_portals_nobody_can_open_are_a_warning_with_count_and_ids(site):
    site.file("customers.csv", CUSTOMERS)
    site.file("contacts.csv", NAMES_ONLY)
    site.file("orders.csv", ORDERS)
    ledger, problems = check(site.load(contacts_config()))
    [warning] = [p for p in problems.warnings if p.kind == "no-portal-access"]
    assert warning.message.startswith("2 portal(s) have no contact with an e-mail address and portal access")
    assert "C1, C2" in warning.message and ledger.unopenable() == ["C1", "C2"]
    result = site.build(contacts_config(), encrypt=True, new_keystore=True)
    assert result.ok and result.unopenable == ["C1", "C2"] and result.access.slots_made == 0


def test_contacts_added_outside_the_export_are_read_and_checked_like_the_exports(site):
    site.file("customers.csv", CUSTOMERS)
    site.file("contacts.csv", NAMES_ONLY)
    site.file("orders.csv", ORDERS)
    (site.root / "portal-contacts.csv").write_text(
        "customer,name,email\nC1,Ann,ann@alpha.example\nC2,Bob,not-an-address\nC9,Zed,zed@x.example\n"
    )
    added = {"file": "portal-contacts.csv", "columns": {"customer": "customer", "name": "name", "email": "email"}}
    ledger, problems = check(site.load(contacts_config(added_contacts=added)))
    found = [(p.entity, p.file, p.row, p.column, p.kind) for p in problems.errors]
    assert found == [
        ("contacts", "portal-contacts.csv", 3, "email", "bad-email"),
        ("contacts", "portal-contacts.csv", 4, "customer", "unknown-customer"),
    ]
    assert [(c.name, c.email, c.portal_access) for c in ledger.books["C1"].customer.contacts] == [
        ("Ann", "", False),
        ("Ann", "ann@alpha.example", True),
    ]
    assert ledger.unopenable() == ["C2"]


def test_an_added_contact_gets_a_password_and_a_changed_file_rebuilds(site):
    site.file("customers.csv", CUSTOMERS)
    site.file("contacts.csv", NAMES_ONLY)
    site.file("orders.csv", ORDERS)
    extra = site.root / "portal-contacts.csv"
    extra.write_text("customer,name,email\nC1,Ann,ann@alpha.example\n")
    added = {"file": "portal-contacts.csv", "columns": {"customer": "customer", "name": "name", "email": "email"}}
    first = site.build(contacts_config(added_contacts=added), encrypt=True, new_keystore=True)
    assert first.ok and first.access.new_passwords == [("C1", "ann@alpha.example")] and first.unopenable == ["C2"]
    extra.write_text("customer,name,email\nC1,Ann,ann@alpha.example\nC2,Bob,bob@beta.example\n")
    again = site.build(contacts_config(added_contacts=added), encrypt=True)
    assert not again.noop and again.access.new_passwords == [("C2", "bob@beta.example")] and again.unopenable == []


# -- the ERP's own stages and statuses -------------------------------------------------------------

STAGED_ORDERS = (
    "order,customer,date,sku,qty,price,status\nA-1,C1,2026-05-01,X,2,1.50,OH\nB-1,C2,2026-06-01,Y,1,9.99,10\n"
)


def staged_config():
    raw = minimal_config(
        invoices={
            "file": "invoices.csv",
            "columns": {
                "number": "number",
                "customer": "customer",
                "date": "date",
                "due_date": "due",
                "total": "total",
                "status": "status",
            },
        },
    )
    raw["exports"]["orders"]["columns"]["status"] = "status"
    raw["exports"]["customers"]["columns"]["language"] = "lang"
    raw["portal"].update(
        order_stages=["received", "on_hold", "shipped"],
        states={
            "on_hold": {"label": {"en": "On hold", "de": "Angehalten"}},
            "disputed": {"label": {"en": "Disputed", "de": "Strittig"}, "counts_as": "open"},
        },
        status_map={"orders": {"OH": "on_hold", "10": "received"}, "invoices": {"D": "disputed"}},
    )
    return raw


def visible(page: str) -> str:
    """The text a reader sees: tags (and their attributes) left out."""
    return re.sub(r"<[^>]+>", " ", page)


def test_the_erps_own_stages_and_statuses_read_as_their_labels_in_the_customers_language(site):
    site.file("customers.csv", "id,name,lang\nC1,Alpha Works,de\nC2,Beta Foods,en\n")
    site.file("orders.csv", STAGED_ORDERS)
    site.file(
        "invoices.csv",
        "number,customer,date,due,total,status\nI-1,C1,2026-05-01,2026-05-31,9.00,D\n"
        "I-2,C2,2026-06-01,2026-07-31,5.00,D\n",
    )
    result = site.build(staged_config())
    assert result.ok and not [w for w in result.problems.warnings if w.kind == "unlabelled-state"]
    german = {
        name: (site.public / "C1" / name).read_text()
        for name in ("orders.html", "order-A-1.html", "index.html", "invoices.html", "invoice-I-1.html")
    }
    for name, page in german.items():
        assert "on_hold" not in visible(page) and "disputed" not in visible(page), name
    assert '<option value="on_hold">Angehalten</option>' in german["orders.html"]  # the filter
    assert '<span class="state state-on_hold">Angehalten</span>' in german["order-A-1.html"]  # the badge
    assert '<span class="step">Angehalten</span>' in german["order-A-1.html"]  # the timeline
    assert "Angehalten" in german["index.html"]  # orders by stage
    assert '<span class="state state-disputed">Strittig</span>' in german["invoice-I-1.html"]
    assert "Angehalten" in (site.public / "C1" / "orders.csv").read_text(encoding="utf-8-sig")
    assert "Disputed" in (site.public / "C2" / "invoices.html").read_text()


def test_a_status_that_counts_as_open_is_still_owed_and_can_be_overdue(site):
    site.file("customers.csv", "id,name,lang\nC1,Alpha Works,en\nC2,Beta Foods,en\n")
    site.file("orders.csv", STAGED_ORDERS)
    site.file(
        "invoices.csv",
        "number,customer,date,due,total,status\nI-1,C1,2026-05-01,2026-05-31,9.00,D\n"
        "I-2,C1,2026-05-01,2026-05-31,0.00,D\n",
    )
    ledger, _, _ = problems_of(site, staged_config())
    invoices = {i.number: i for i in ledger.books["C1"].invoices}
    assert (invoices["I-1"].status, invoices["I-1"].label, invoices["I-1"].balance) == (
        "overdue",
        "disputed",
        Decimal("9.00"),
    )
    assert invoices["I-1"].days_overdue == 30
    assert (invoices["I-2"].status, invoices["I-2"].label) == ("paid", "")  # nothing owed: no longer disputed


def test_an_unlabelled_stage_is_a_warning_and_reads_as_words_not_a_code(site):
    site.file("customers.csv", "id,name,lang\nC1,Alpha Works,en\nC2,Beta Foods,en\n")
    site.file("orders.csv", STAGED_ORDERS.replace(",OH\n", ",IP\n"))
    site.file("invoices.csv", "number,customer,date,due,total,status\n")
    raw = staged_config()
    raw["portal"]["order_stages"] = ["received", "on_hold", "in_process", "shipped"]
    raw["portal"]["status_map"]["orders"] = {"IP": "in_process", "10": "received"}
    result = site.build(raw)
    assert [w.kind for w in result.problems.warnings if w.kind == "unlabelled-state"] == ["unlabelled-state"]
    assert (
        '<span class="state state-in_process">In process</span>' in (site.public / "C1" / "order-A-1.html").read_text()
    )


def test_a_custom_invoice_status_needs_counts_as(site):
    raw = staged_config()
    raw["portal"]["states"]["disputed"].pop("counts_as")
    with pytest.raises(ConfigError) as caught:
        site.load(raw)
    assert any("status_map.invoices.D: 'disputed' is not one of" in p for p in caught.value.problems)
    assert any("portal.states.disputed: an order stage must be listed" in p for p in caught.value.problems)
