"""Figures on the pages equal figures computed independently from the export files.

The expectations here are computed with the csv and json modules straight from the demo and
Northwind exports, not with Portico's readers, so a mistake in mapping, grouping, joining or
arithmetic shows up as a mismatch.
"""

from __future__ import annotations

import csv
import html
import json
import re
from collections import Counter, defaultdict
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import pytest
from babel.numbers import format_currency
from conftest import DATASETS, REPO, aging_bucket

from generator.render.i18n import Catalogues

CATALOGUES = Catalogues([REPO / "themes" / "default" / "locales"])

CENT = Decimal("0.01")
DEMO = REPO / "content" / "export"
AS_OF = date(2026, 11, 20)
STAGES = {
    "10": "received",
    "20": "confirmed",
    "30": "in_production",
    "40": "shipped",
    "50": "delivered",
    "90": "cancelled",
}


def money(amount: Decimal, currency: str, language: str) -> str:
    return format_currency(amount, currency, locale=language)


def rows(path: Path, encoding="utf-8", delimiter=","):
    with path.open(encoding=encoding, newline="") as f:
        yield from csv.DictReader(f, delimiter=delimiter)


def line_total(quantity: str, price: str, discount_fraction: Decimal) -> Decimal:
    gross = Decimal(quantity) * Decimal(price)
    discount = (gross * discount_fraction).quantize(CENT, ROUND_HALF_EVEN)
    return (gross - discount).quantize(CENT, ROUND_HALF_EVEN)


def page(root: Path, customer: str, name: str) -> str:
    return html.unescape((root / customer / name).read_text(encoding="utf-8"))


def grand_total(text: str, label: str = "Total") -> str:
    """The bold total row of a document page; its label is in the page's language."""
    language = re.search(r'<html lang="([^"]+)"', text)[1]
    label = CATALOGUES.translations(language).gettext(label)
    found = re.search(rf'class="grand"><dt>{label}</dt><dd>(.*?)</dd>', text)
    assert found, f"no {label} on the page"
    return found.group(1)


def figure(text: str, name: str) -> str:
    return re.search(rf'data-figure="{name}">(.*?)<', text).group(1)


# -- the demo ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_customers():
    return {r["CustNo"]: r for r in rows(DEMO / "customers.csv", encoding="utf-8-sig") if r["Portal"] == "Y"}


@pytest.fixture(scope="module")
def demo_invoices():
    """number -> (customer, total, paid, balance, due, void)"""
    totals = {r["InvoiceNo"]: r for r in rows(DEMO / "invoices.csv")}
    line_sums: dict[str, Decimal] = defaultdict(Decimal)
    for r in rows(DEMO / "invoice-lines.csv"):
        line_sums[r["InvoiceNo"]] += line_total(r["Qty"], r["Price"], Decimal(r["DiscPct"]) / 100)
    paid: dict[str, Decimal] = defaultdict(Decimal)
    for p in json.loads((DEMO / "payments.json").read_text())["payments"]:
        paid[p["invoice"]] += Decimal(p["amount"])
    result = {}
    for number, r in totals.items():
        total = Decimal(r["Total"])
        assert total == line_sums[number], f"the demo's own invoice {number} does not add up"
        void = r["Status"] == "X"
        balance = Decimal(0) if void else total - paid[number]
        result[number] = (r["CustNo"], total, paid[number], balance, date.fromisoformat(r["DueDate"]), void)
    return result


def test_demo_order_totals_and_lines(demo_build, demo_customers):
    orders: dict[str, dict] = {}
    for r in rows(DEMO / "orders.csv"):
        order = orders.setdefault(
            r["OrderNo"], {"customer": r["CustNo"], "lines": Decimal(0), "count": 0, "freight": Decimal(r["Freight"])}
        )
        order["lines"] += line_total(r["Qty"], r["Price"], Decimal(r["DiscPct"]) / 100)
        order["count"] += 1
    checked = 0
    for number, order in orders.items():
        customer = demo_customers.get(order["customer"])
        if customer is None:
            assert not (demo_build / order["customer"]).exists()
            continue
        text = page(demo_build, order["customer"], f"order-{number}.html")
        expected = money(order["lines"] + order["freight"], customer["Currency"], customer["Lang"])
        assert grand_total(text) == expected, number
        assert text.count('<td class="num">') == 4 * order["count"]  # quantity, price, discount, total per line
        checked += 1
    assert checked > 50


def test_demo_invoice_balances(demo_build, demo_customers, demo_invoices):
    for number, (customer_id, total, paid, balance, _due, _void) in demo_invoices.items():
        customer = demo_customers.get(customer_id)
        if customer is None:
            continue
        text = page(demo_build, customer_id, f"invoice-{number}.html")
        cur, lang = customer["Currency"], customer["Lang"]
        assert grand_total(text) == money(total, cur, lang), number
        assert grand_total(text, "Balance") == money(balance, cur, lang), number
        assert f"<dt>{CATALOGUES.translations(lang).gettext('Paid')}</dt><dd>{money(paid, cur, lang)}</dd>" in text


def test_demo_statement_aging_and_dashboard_balances(demo_build, demo_customers, demo_invoices):
    for customer_id, customer in demo_customers.items():
        buckets = Counter()
        overdue = Decimal(0)
        for _, (cid, _total, _paid, balance, due, void) in demo_invoices.items():
            if cid != customer_id or void or balance == 0:
                continue
            days = (AS_OF - due).days
            key = aging_bucket(days)
            buckets[key] += balance
            if days > 0 and balance > 0:
                overdue += balance
        cur, lang = customer["Currency"], customer["Lang"]
        statement = page(demo_build, customer_id, "statement.html")
        for key in ("current", "1-30", "31-60", "61-90", "over-90"):
            shown = re.search(rf'data-bucket="{key}">(.*?)<', statement).group(1)
            assert shown == money(buckets[key], cur, lang), (customer_id, key)
        open_balance = sum(buckets.values(), Decimal(0))
        assert figure(statement, "total-due") == money(open_balance, cur, lang)
        dashboard = page(demo_build, customer_id, "index.html")
        assert figure(dashboard, "open-balance") == money(open_balance, cur, lang)
        assert figure(dashboard, "overdue-balance") == money(overdue, cur, lang)


def test_demo_stage_counts_and_list_rows(demo_build, demo_customers):
    stages: dict[str, Counter] = defaultdict(Counter)
    seen = set()
    for r in rows(DEMO / "orders.csv"):
        if r["OrderNo"] not in seen:
            seen.add(r["OrderNo"])
            stages[r["CustNo"]][STAGES[r["Status"]]] += 1
    for customer_id in demo_customers:
        dashboard = page(demo_build, customer_id, "index.html")
        shown = {m.group(1): int(m.group(2)) for m in re.finditer(r'data-stage="(\w+)">(\d+)<', dashboard)}
        assert {k: v for k, v in shown.items() if v} == dict(stages[customer_id]), customer_id
        orders_list = page(demo_build, customer_id, "orders.html")
        assert orders_list.count("<tr>") - 1 == sum(stages[customer_id].values())


def test_demo_csv_downloads_match_the_export(demo_build, demo_invoices):
    with (demo_build / "C1009" / "invoices.csv").open(encoding="utf-8-sig", newline="") as f:
        listed = {r["Invoice"]: r for r in csv.DictReader(f)}
    expected = {n for n, (cid, *_rest) in demo_invoices.items() if cid == "C1009"}
    assert set(listed) == expected
    for number, row in listed.items():
        assert Decimal(row["Balance"]) == demo_invoices[number][3]
        assert Decimal(row["Total"]) == demo_invoices[number][1]


# -- Northwind -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def northwind_orders():
    folder = DATASETS / "northwind"
    orders = {
        r["OrderID"]: {
            "customer": r["CustomerID"],
            "freight": Decimal(r["Freight"]),
            "lines": Decimal(0),
            "shipped": bool(r["ShippedDate"]),
        }
        for r in rows(folder / "orders.csv")
    }
    for r in rows(folder / "order-details.csv"):
        orders[r["OrderID"]]["lines"] += line_total(r["Quantity"], r["UnitPrice"], Decimal(r["Discount"]))
    return orders


def test_northwind_order_totals(northwind_build, northwind_orders):
    for number, order in northwind_orders.items():
        text = page(northwind_build, order["customer"], f"order-{number}.html")
        assert grand_total(text) == money(order["lines"] + order["freight"], "USD", "en"), number


def test_northwind_counts_per_customer(northwind_build, northwind_orders):
    per_customer: dict[str, Counter] = defaultdict(Counter)
    for order in northwind_orders.values():
        per_customer[order["customer"]]["shipped" if order["shipped"] else "received"] += 1
    customers = [r["CustomerID"] for r in rows(DATASETS / "northwind" / "customers.csv")]
    site_folders = ("_static", "_shared", ".portico")
    portals = [p.name for p in northwind_build.iterdir() if p.is_dir() and p.name not in site_folders]
    assert sorted(portals) == sorted(customers)
    for customer_id in customers:
        dashboard = page(northwind_build, customer_id, "index.html")
        shown = {m.group(1): int(m.group(2)) for m in re.finditer(r'data-stage="(\w+)">(\d+)<', dashboard)}
        assert shown == {
            "received": per_customer[customer_id]["received"],
            "shipped": per_customer[customer_id]["shipped"],
        }, customer_id


def test_northwind_lines_are_described_from_the_catalogue(northwind_build):
    text = page(northwind_build, "VINET", "order-10248.html")
    for name in ("Queso Cabrales", "Singaporean Hokkien Fried Mee", "Mozzarella di Giovanni"):
        assert name in text
    assert "Steven Buchanan" in text  # EmployeeID mapped to the sales rep's name
    assert "Federal Shipping" in text  # ShipVia mapped to the carrier's name
