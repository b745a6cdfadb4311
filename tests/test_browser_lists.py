"""The theme's list script in a real Chromium: sorting, searching, filtering, no script errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import StaticServer

pytestmark = pytest.mark.browser


def column_values(page, index: int, attribute: str = "data-sort") -> list[str]:
    return page.eval_on_selector_all(
        f"table[data-list] tbody tr:not([hidden]) td:nth-child({index + 1})",
        f"cells => cells.map(c => c.getAttribute('{attribute}') ?? c.textContent.trim())",
    )


def test_sorting_by_money_and_date(page, demo_server):
    page.goto(f"{demo_server.url}/C1009/invoices.html")
    page.get_by_role("button", name="Total").click()
    totals = [float(v) for v in column_values(page, 4)]
    assert totals == sorted(totals) and len(totals) > 3
    assert page.get_attribute("th:nth-child(5)", "aria-sort") == "ascending"
    page.get_by_role("button", name="Total").click()
    assert [float(v) for v in column_values(page, 4)] == sorted(totals, reverse=True)
    page.get_by_role("button", name="Due").click()
    dues = column_values(page, 2)
    assert dues == sorted(dues)
    assert page.errors == []


def test_search_and_filter(page, demo_server):
    page.goto(f"{demo_server.url}/C1009/invoices.html")
    total_rows = len(column_values(page, 0))
    page.get_by_label("Status").select_option("overdue")
    statuses = column_values(page, 3)
    assert statuses and set(statuses) == {"overdue"} and len(statuses) < total_rows
    assert page.text_content("[data-list-count]") == f"{len(statuses)} / {total_rows}"
    page.get_by_label("Status").select_option("")
    first_number = column_values(page, 0)[0]
    page.get_by_label("Search").fill(first_number)
    assert column_values(page, 0) == [first_number]
    page.get_by_label("Search").fill("no such thing anywhere")
    assert column_values(page, 0) == []
    assert page.text_content("[data-list-count]") == f"0 / {total_rows}"
    assert page.errors == []


def test_csv_link_downloads_the_list(page, demo_server):
    page.goto(f"{demo_server.url}/C1002/orders.html")
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV herunterladen").click()  # C1002 reads German
    data = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert data.splitlines()[0] == "Bestellung,Datum,Ihre Referenz,Status,Versandt,Gesamt"
    assert len(data.splitlines()) - 1 == len(column_values(page, 0))


def test_phone_width_shows_labels_beside_values(browser, demo_server):
    context = browser.new_context(viewport={"width": 375, "height": 800})
    tab = context.new_page()
    tab.goto(f"{demo_server.url}/C1002/orders.html")
    label = tab.eval_on_selector(
        "table[data-list] tbody td:nth-child(6)", "td => getComputedStyle(td, '::before').content"
    )
    assert label == '"Gesamt"'
    assert tab.evaluate("document.documentElement.scrollWidth") <= 375 + 1  # no sideways scrolling
    context.close()


def test_hostile_export_fields_never_run_as_script(page, site):
    site.file("customers.csv", 'id,name\nC1,"<img src=x onerror=alert(1)><script>alert(2)</script>"\n')
    site.file("orders.csv", 'order,customer,date,sku,qty,price\n"<svg onload=alert(3)>",C1,2026-05-01,X,1,2\n')
    assert site.build().ok
    server = StaticServer(site.public)
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        for name in ("index.html", "account.html", "orders.html"):
            page.goto(f"{server.url}/C1/{name}")
            page.wait_for_load_state("load")
        page.get_by_role("button", name="Order").click()  # the list script handles the hostile text too
    finally:
        server.close()
    assert dialogs == []
    assert "<svg onload=alert(3)>" in page.text_content("table[data-list]")
