"""The catalogue at scale: one shared, encrypted file of products per price list (and language,
currency and shown columns), each portal's page carrying only the customer's own prices and the
key to that file; shown a page at a time in the browser, with revocation still cutting access."""

from __future__ import annotations

import csv
import io
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from babel.numbers import format_currency, format_decimal
from conftest import StaticServer, minimal_config

from generator.seal.blobs import DecryptError, open_blob, unb64
from generator.seal.keystore import read_keystore

PRODUCTS = 120  # more than two pages of 50
CUSTOMERS = "id,name,group,lang,hide\nC1,Alpha Works,trade,en,\nC2,Beta Foods,trade,en,\nC3,Gamma GmbH,trade,de,\n"
CONTACTS = "customer,name,email\nC1,Ann,ann@alpha.example\nC2,Bob,bob@beta.example\nC3,Cy,cy@gamma.example\n"
ORDERS = "order,customer,date,sku,qty,price\nA-1,C1,2026-05-01,P001,2,1.50\nB-1,C2,2026-06-01,P002,1,9.99\n"


def catalogue_csv() -> str:
    rows = [f"P{i:03d},Product {i:03d},pcs,{i}.50,{i * 3}" for i in range(1, PRODUCTS + 1)]
    return "sku,name,unit,price,stock\n" + "\n".join(rows) + "\n"


PRICES = "customer,group,sku,price,min\n,trade,P001,0.90,1\n,trade,P002,1.80,1\n,trade,P003,2.10,10\nC1,,P002,1.60,1\n"


def expected_prices(customer: str, group: str) -> dict[str, Decimal]:
    """Each customer's price for one unit, our own way from the raw rows: the lowest price of its
    group's list or its own from quantity 1, else the list price."""
    products = {r["sku"]: Decimal(r["price"]) for r in csv.DictReader(io.StringIO(catalogue_csv()))}
    for row in csv.DictReader(io.StringIO(PRICES)):
        mine = row["customer"] == customer or (not row["customer"] and row["group"] == group)
        if mine and Decimal(row["min"]) <= 1:
            products[row["sku"]] = min(products[row["sku"]], Decimal(row["price"]))
    return products


def config():
    raw = minimal_config(
        contacts={"file": "contacts.csv", "columns": {"customer": "customer", "name": "name", "email": "email"}},
        catalogue={
            "file": "catalogue.csv",
            "columns": {"sku": "sku", "name": "name", "unit": "unit", "list_price": "price", "stock": "stock"},
        },
        prices={
            "file": "prices.csv",
            "columns": {
                "customer": "customer",
                "price_group": "group",
                "sku": "sku",
                "price": "price",
                "min_quantity": "min",
            },
        },
    )
    raw["exports"]["customers"]["columns"].update(price_group="group", language="lang")
    raw["portal"]["slug"] = "id"
    return raw


@pytest.fixture
def shop(site):
    site.file("customers.csv", CUSTOMERS)
    site.file("contacts.csv", CONTACTS)
    site.file("orders.csv", ORDERS)
    site.file("catalogue.csv", catalogue_csv())
    site.file("prices.csv", PRICES)
    result = site.build(config(), encrypt=True, new_keystore=True)
    assert result.ok, result.failure
    return site


def keystore_of(site):
    return read_keystore(site.root / "keystore" / "keystore.json")


def opened_page(site, customer: str, logical: str = "catalogue.html") -> str:
    """A customer's page, decrypted as the browser does after sign-in."""
    keystore = keystore_of(site)
    secret = keystore.customers[customer]
    name = secret.keys.file_name(logical, ".bin")
    blob = (site.public / customer / name).read_bytes()
    return open_blob(blob, f"{customer}/{name}", data_key=secret.keys.data_key).content.decode()


def catalogue_config(page: str) -> dict:
    return json.loads(
        re.search(r'<script type="application/json" id="portico-catalogue">(.*?)</script>', page, re.S).group(1)
    )


def test_one_shared_file_per_price_list_language_and_currency(shop):
    shared = sorted(p.name for p in (shop.public / "_shared").iterdir())
    assert len(shared) == 2 and all(re.fullmatch(r"[a-z2-7]{16}\.bin", name) for name in shared)  # en and de
    pages = {c: catalogue_config(opened_page(shop, c)) for c in ("C1", "C2", "C3")}
    assert pages["C1"]["src"] == pages["C2"]["src"] != pages["C3"]["src"]
    assert pages["C1"]["own_prices"] == {"P002": ["€1.60", "1.60"]}  # its own price list: one product
    assert pages["C2"]["own_prices"] == {}
    own_page = opened_page(shop, "C1", "catalogue.html")
    blob = (shop.public / pages["C1"]["path"]).read_bytes()
    shared_data = open_blob(blob, pages["C1"]["path"], content_key=unb64(pages["C1"]["key"])).content
    assert "Product 117" not in own_page and b"Product 117" in shared_data  # the products are shared, not copied
    assert len(own_page) < 8_000 < len(shared_data)


def test_the_shared_file_opens_with_the_key_a_portal_carries_and_nothing_else(shop):
    page = catalogue_config(opened_page(shop, "C1"))
    blob = (shop.public / page["path"]).read_bytes()
    data = json.loads(open_blob(blob, page["path"], content_key=unb64(page["key"])).content)
    assert [c["key"] for c in data["columns"]] == ["sku", "name", "unit", "list_price", "your_price", "stock"]
    assert len(data["rows"]) == PRODUCTS
    expected = expected_prices("C2", "trade")  # the group's list: C1's own price is not in the shared file
    assert {row[0]: Decimal(row[4][1]) for row in data["rows"]} == expected
    assert data["rows"][0][3] == ["€1.50", "1.50"]
    keystore = keystore_of(shop)
    for wrong in (dict(data_key=keystore.customers["C1"].keys.data_key), dict(content_key=b"\0" * 32)):
        with pytest.raises(DecryptError):
            open_blob(blob, page["path"], **wrong)
    with pytest.raises(DecryptError):
        open_blob(blob, "_shared/elsewhere.bin", content_key=unb64(page["key"]))  # moved: refused


def test_a_revoked_customer_opens_no_catalogue_published_afterwards(shop):
    from generator.cli import main

    old = catalogue_config(opened_page(shop, "C2"))
    assert main(["revoke", "C2", "--config", str(shop.root / "config.yaml")]) == 0
    assert shop.build(config(), encrypt=True).ok
    new = catalogue_config(opened_page(shop, "C1"))
    assert new["path"] != old["path"] and not (shop.public / old["path"]).exists()
    blob = (shop.public / new["path"]).read_bytes()
    with pytest.raises(DecryptError):
        open_blob(blob, new["path"], content_key=unb64(old["key"]))  # C2's old key: nothing
    with pytest.raises(DecryptError):
        open_blob(blob, old["path"], content_key=unb64(old["key"]))
    assert open_blob(blob, new["path"], content_key=unb64(new["key"])).content


def test_hidden_columns_are_not_in_the_shared_file_that_customer_reads(site):
    site.file("customers.csv", CUSTOMERS)
    site.file("contacts.csv", CONTACTS)
    site.file("orders.csv", ORDERS)
    site.file("catalogue.csv", catalogue_csv())
    site.file("prices.csv", PRICES)
    raw = config()
    raw["customers"] = {"C2": {"hidden_fields": ["list_price", "stock"]}}
    assert site.build(raw).ok  # a preview: the shared files are plain JSON
    c1 = catalogue_config((site.public / "C1" / "catalogue.html").read_text())
    c2 = catalogue_config((site.public / "C2" / "catalogue.html").read_text())
    assert c1["key"] is None and c1["src"] != c2["src"]
    data = json.loads((site.public / c2["path"]).read_text())
    assert [c["key"] for c in data["columns"]] == ["sku", "name", "unit", "your_price"]
    assert data["rows"][0] == ["P001", "Product 001", "pcs", ["€0.90", "0.90"]]  # no list price, no stock
    assert '"1.50"' not in (site.public / c2["path"]).read_text()


# -- in the browser ------------------------------------------------------------------------------


@pytest.mark.browser
def test_the_catalogue_pages_searches_sorts_and_downloads_in_the_browser(shop, page):
    server = StaticServer(shop.public)
    try:
        keystore = keystore_of(shop)
        page.goto(f"{server.url}/C1/")
        page.fill("#gate-email", "ann@alpha.example")
        page.fill("#gate-password", keystore.customers["C1"].contacts["ann@alpha.example"].password)
        page.click("button[type=submit]")
        page.wait_for_selector("h1:has-text('Welcome')")
        page.click("nav >> text=Catalogue")
        page.wait_for_selector("table[data-catalogue] tbody tr:nth-child(50)")
        rows = page.locator("table[data-catalogue] tbody tr")
        assert rows.count() == 50 and page.text_content("[data-catalogue-page]") == "Page 1 of 3"
        expected = expected_prices("C1", "trade")
        shown = {
            r[0]: r[4]
            for r in page.evaluate(
                "() => [...document.querySelectorAll('table[data-catalogue] tbody tr')]"
                ".map(tr => [...tr.cells].map(td => td.textContent))"
            )
        }
        assert shown["P002"] == format_currency(expected["P002"], "EUR", locale="en") == "€1.60"  # its own price
        assert shown["P001"] == "€0.90" and shown["P003"] == "€3.50"  # the group's; P003's break starts at 10
        assert all(shown[sku] == format_currency(expected[sku], "EUR", locale="en") for sku in shown)
        page.click("[data-catalogue-next]")
        assert page.locator("table[data-catalogue] tbody tr").first.locator("td").first.text_content() == "P051"
        page.fill("[data-catalogue-search]", "Product 117")
        assert page.locator("table[data-catalogue] tbody tr").count() == 1
        assert page.text_content("[data-catalogue-count]") == "1 of 120 products"
        page.fill("[data-catalogue-search]", "")
        page.click("table[data-catalogue] th >> nth=5")  # stock, highest first after two clicks
        page.click("table[data-catalogue] th >> nth=5")
        first = page.locator("table[data-catalogue] tbody tr").first.locator("td")
        assert first.nth(0).text_content() == "P120" and first.nth(5).text_content() == format_decimal(360, locale="en")
        with page.expect_download() as download:
            page.click("[data-catalogue-csv]")
        lines = Path(download.value.path()).read_text(encoding="utf-8-sig").splitlines()
        assert lines[0] == "Item,Description,Unit,List price,Your price,In stock" and len(lines) == 1 + PRODUCTS
        assert "P002,Product 002,pcs,2.50,1.60,6" in lines
        assert page.errors == []
    finally:
        server.close()
