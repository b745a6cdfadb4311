"""Payments that name no invoice, partial payments and overpayments: each invoice's balance, the
credit on account, the aging and the statement's running balance, checked against a computation
of our own from the raw rows (plain csv and Decimal, none of Portico's code)."""

from __future__ import annotations

import csv
import html
import io
import re
from collections import defaultdict
from datetime import date
from decimal import Decimal

import pytest
from babel.numbers import format_currency
from conftest import aging_bucket, minimal_config

from generator.pipeline import check

AS_OF = date(2026, 6, 30)
CUSTOMERS = "id,name\nC1,Alpha Works\nC2,Beta Foods\nC3,Gamma Ltd\nC4,Delta plc\nC5,Epsilon AG\n"
INVOICES = """number,customer,date,due,total,paid
I1,C1,2026-01-10,2026-02-09,100.00,
I2,C1,2026-02-10,2026-03-12,50.00,
I3,C1,2026-03-10,2026-04-09,30.00,
I4,C2,2026-01-05,2026-02-04,60.00,
I5,C2,2026-02-05,2026-03-07,40.00,
I6,C3,2026-05-01,2026-05-31,10.00,
I7,C4,2026-04-01,2026-05-01,70.00,70.00
I8,C4,2026-05-01,2026-07-31,25.00,
I9,C5,2026-06-01,2026-07-01,90.00,
"""
PAYMENTS = """customer,invoice,date,amount,reference
C1,I1,2026-02-01,100.00,P1
C1,I2,2026-03-01,20.00,P2
C1,,2026-04-01,45.00,P3
C2,I4,2026-02-01,80.00,P4
C3,,2026-05-15,25.00,P5
C4,,2026-05-20,10.00,P6
C5,,2026-06-10,30.00,P7
C5,,2026-06-20,100.00,P8
"""


def independent(invoices_csv: str, payments_csv: str):
    """Balances and credit, computed our own way: named payments first, the rest oldest due first."""
    invoices = list(csv.DictReader(io.StringIO(invoices_csv)))
    payments = list(csv.DictReader(io.StringIO(payments_csv)))
    paid = {i["number"]: Decimal(i["paid"]) if i["paid"] else Decimal(0) for i in invoices}
    stated = {i["number"] for i in invoices if i["paid"]}
    total = {i["number"]: Decimal(i["total"]) for i in invoices}
    pool = defaultdict(list)  # customer -> [amount left, date]
    for p in sorted(payments, key=lambda p: (p["date"], p["reference"])):
        amount = Decimal(p["amount"])
        if p["invoice"] and p["invoice"] not in stated:
            take = min(amount, total[p["invoice"]] - paid[p["invoice"]])
            paid[p["invoice"]] += take
            amount -= take
        if amount > 0:
            pool[p["customer"]].append(amount)
    for customer in sorted({i["customer"] for i in invoices}):
        owed = sorted(
            (i for i in invoices if i["customer"] == customer and i["number"] not in stated),
            key=lambda i: (i["due"], i["date"], i["number"]),
        )
        money = pool[customer]
        for invoice in owed:
            while money and paid[invoice["number"]] < total[invoice["number"]]:
                take = min(money[0], total[invoice["number"]] - paid[invoice["number"]])
                paid[invoice["number"]] += take
                money[0] -= take
                if money[0] == 0:
                    money.pop(0)
    balance = {n: total[n] - paid[n] for n in total}
    credit = {c: sum(pool[c], Decimal(0)) for c in {i["customer"] for i in invoices}}
    return invoices, balance, credit


def config(allocate: str | None = None):
    raw = minimal_config(
        orders=None,
        invoices={
            "file": "invoices.csv",
            "columns": {
                "number": "number",
                "customer": "customer",
                "date": "date",
                "due_date": "due",
                "total": "total",
                "paid": "paid",
            },
        },
        payments={
            "file": "payments.csv",
            "columns": {
                "customer": "customer",
                "invoice": "invoice",
                "date": "date",
                "amount": "amount",
                "reference": "reference",
            },
        },
    )
    if allocate:
        raw["exports"]["payments"]["allocate"] = allocate
    return raw


@pytest.fixture
def shop(site):
    site.file("customers.csv", CUSTOMERS)
    site.file("invoices.csv", INVOICES)
    site.file("payments.csv", PAYMENTS)
    return site


def test_balances_and_credit_equal_an_independent_computation(shop):
    ledger, problems = check(shop.load(config()))
    assert [p.kind for p in problems.problems] == ["no-portal-access"]  # no contacts in this export
    _, balance, credit = independent(INVOICES, PAYMENTS)
    found = {i.number: i.balance for book in ledger.books.values() for i in book.invoices}
    assert found == balance
    assert {c: b.credit for c, b in ledger.books.items()} == credit
    # the cases, spelled out: partial (I2) then unapplied money (P3) pays I2, then I3 in part
    assert (balance["I2"], balance["I3"]) == (Decimal("0.00"), Decimal("15.00"))
    # an overpayment (P4 pays 80 on a 60 invoice) pays the next invoice in part
    assert (balance["I4"], balance["I5"]) == (Decimal("0.00"), Decimal("20.00"))
    # unapplied money beyond every invoice is credit on account
    assert (balance["I6"], credit["C3"]) == (Decimal("0.00"), Decimal("15.00"))
    # an invoice the export states as paid takes nothing: the payment pays the next one
    assert (balance["I7"], balance["I8"], credit["C4"]) == (Decimal("0.00"), Decimal("15.00"), Decimal("0"))
    assert (balance["I9"], credit["C5"]) == (Decimal("0.00"), Decimal("40.00"))


def test_a_fully_paid_customer_is_not_overdue(shop):
    ledger, _ = check(shop.load(config()))
    book = ledger.books["C5"]
    assert [i.status for i in book.invoices] == ["paid"]
    assert [(p.reference, p.amount) for p in book.invoices[0].payments] == [
        ("P7", Decimal("30.00")),
        ("P8", Decimal("60.00")),
    ]


def money(amount, language="en"):
    return format_currency(amount, "EUR", locale=language)


def figure(page: str, name: str) -> str:
    return html.unescape(re.search(rf'data-figure="{name}">(.*?)<', page).group(1))


def test_pages_show_the_balances_credit_and_a_statement_that_adds_up(shop):
    result = shop.build(config())
    assert result.ok, result.failure
    invoices, balance, credit = independent(INVOICES, PAYMENTS)
    for customer in ("C1", "C2", "C3", "C4", "C5"):
        dashboard = (shop.public / customer / "index.html").read_text()
        statement = (shop.public / customer / "statement.html").read_text()
        owed = sum((balance[i["number"]] for i in invoices if i["customer"] == customer), Decimal(0))
        assert figure(dashboard, "open-balance") == money(owed - credit[customer]), customer
        assert figure(statement, "total-due") == money(owed - credit[customer]), customer
        assert figure(statement, "closing-balance") == money(owed - credit[customer]), customer
        if credit[customer]:
            assert figure(dashboard, "credit") == money(credit[customer])
        else:
            assert 'data-figure="credit"' not in dashboard
    overdue = {
        c: sum(
            (balance[i["number"]] for i in invoices if i["customer"] == c and date.fromisoformat(i["due"]) < AS_OF),
            Decimal(0),
        )
        for c in ("C1", "C2")
    }
    assert figure((shop.public / "C1" / "index.html").read_text(), "overdue-balance") == money(overdue["C1"])


def test_the_statement_lists_every_movement_with_a_running_balance(shop):
    ledger, _ = check(shop.load(config()))
    from generator.model.figures import statement

    account = statement(ledger.books["C1"], AS_OF, months=12)
    rows = [
        (line.movement.date, line.movement.kind, line.movement.reference, line.movement.amount, line.balance)
        for line in account.lines
    ]
    assert account.opening == 0
    assert rows == [
        (date(2026, 1, 10), "invoice", "I1", Decimal("100.00"), Decimal("100.00")),
        (date(2026, 2, 1), "payment", "P1", Decimal("-100.00"), Decimal("0.00")),
        (date(2026, 2, 10), "invoice", "I2", Decimal("50.00"), Decimal("50.00")),
        (date(2026, 3, 1), "payment", "P2", Decimal("-20.00"), Decimal("30.00")),
        (date(2026, 3, 10), "invoice", "I3", Decimal("30.00"), Decimal("60.00")),
        (date(2026, 4, 1), "payment", "P3", Decimal("-45.00"), Decimal("15.00")),
    ]
    assert account.closing == Decimal("15.00")
    shorter = statement(ledger.books["C1"], AS_OF, months=4)  # from 1 March: the opening balance carries
    assert (shorter.start, shorter.opening, len(shorter.lines)) == (date(2026, 3, 1), Decimal("50.00"), 3)
    assert shorter.closing == account.closing


def test_a_paid_amount_the_export_states_appears_on_the_statement(shop):
    ledger, _ = check(shop.load(config()))
    from generator.model.figures import statement

    kinds = [(line.movement.kind, line.movement.amount) for line in statement(ledger.books["C4"], AS_OF).lines]
    assert kinds == [
        ("invoice", Decimal("70.00")),
        ("recorded", Decimal("-70.00")),
        ("invoice", Decimal("25.00")),
        ("payment", Decimal("-10.00")),
    ]


def test_aging_buckets_follow_the_allocated_balances(shop):
    ledger, _ = check(shop.load(config()))
    from generator.model.figures import aging

    invoices, balance, _ = independent(INVOICES, PAYMENTS)
    buckets = defaultdict(Decimal)
    for i in invoices:
        if i["customer"] == "C1" and balance[i["number"]]:
            days = (AS_OF - date.fromisoformat(i["due"])).days
            key = aging_bucket(days)
            buckets[key] += balance[i["number"]]
    found = {b.key: b.amount for b in aging(ledger.books["C1"], AS_OF) if b.amount}
    assert found == dict(buckets) == {"61-90": Decimal("15.00")}


def test_allocate_none_lists_unapplied_payments_and_counts_them_for_nothing(shop):
    ledger, _ = check(shop.load(config("none")))
    c1 = ledger.books["C1"]
    assert {i.number: i.balance for i in c1.invoices} == {"I1": 0, "I2": Decimal("30.00"), "I3": Decimal("30.00")}
    assert c1.credit == 0 and len(c1.payments) == 3
    assert ledger.books["C2"].invoices[-1].balance == Decimal("-20.00")  # I4: 80 paid on 60, as the export says


def test_a_payment_naming_another_customers_invoice_is_refused(shop):
    shop.file("payments.csv", PAYMENTS + "C2,I1,2026-03-01,5.00,P9\n")
    ledger, problems = check(shop.load(config()))
    assert [(p.entity, p.row, p.column, p.kind) for p in problems.errors] == [
        ("payments", 10, "invoice", "unknown-reference")
    ]
    assert "belongs to customer 'C1', not 'C2'" in problems.errors[0].message
    assert all(p.reference != "P9" for p in ledger.books["C1"].invoices[-1].payments)


def test_allocate_belongs_to_payments_only(shop):
    from generator.config import ConfigError

    raw = config()
    raw["exports"]["invoices"]["allocate"] = "oldest_first"
    with pytest.raises(ConfigError, match=r"exports\.invoices\.allocate: only payments are allocated"):
        shop.load(raw)
