"""Requests and quote decisions as customers send them (issue 18), in Chromium: configured kinds
with fields and terms, checked before anything leaves; what leaves is exactly the documented
format, by prefilled e-mail (the mailto URL, captured) or by POST to an endpoint on 127.0.0.1;
quote approval carries the quote's number, total (checked against the export's rows) and the
accepted terms' version; kinds are layered global → group → customer."""

from __future__ import annotations

import csv
import html
import re
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlsplit

import openpyxl
import pytest
from conftest import REPO, StaticServer, demo_config, served_demo_portal, sign_in_by_form

from generator.config import ConfigError
from generator.pipeline import BuildOptions, build, check

pytestmark = pytest.mark.browser

REPAIR = {
    "key": "repair",
    "label": {"en": "Repair", "de": "Reparatur"},
    "button": {"en": "Book the repair"},
    "hint": "Tell us what is wrong.",
    "description": "The machine ",
    "description_required": True,
    "fields": [
        {"key": "serial", "label": "Serial number", "required": True},
        {"key": "units", "label": "Units", "type": "number"},
        {"key": "visit", "label": "Preferred day", "type": "date"},
        {"key": "urgency", "label": "Urgency", "type": "choice", "choices": ["Normal", "Urgent"], "required": True},
    ],
    "terms": {"text": "Repairs are billed **per hour**.", "version": "2026-01"},
}
QUOTE_TERMS = {"terms": {"text": "Prices hold for 30 days.", "version": "Q-7"}}


def preview(tmp_path, **portal):
    """The demo as a plain preview with these portal settings, served over HTTP."""
    config = demo_config(tmp_path, portal={"slug": "id", **portal})
    result = build(config, BuildOptions(strict=True, encrypt=False))
    assert result.ok, result.failure
    return config, StaticServer(tmp_path / "public")


def mailto_of(page) -> tuple[str, dict[str, str]]:
    """The address and the query of the e-mail the last send opened (its link stays on the page)."""
    href = page.locator("[data-request-mailto]").get_attribute("href")
    parts = urlsplit(href)
    assert parts.scheme == "mailto"
    return unquote(parts.path), dict(parse_qsl(parts.query, keep_blank_values=True, strict_parsing=True))


def sent_fields(body: str) -> tuple[list[tuple[str, str]], str]:
    """The documented format read back: the `name: value` lines, then the description."""
    head, _, description = body.partition("\r\n\r\n")
    return [tuple(line.split(": ", 1)) for line in head.split("\r\n")], description


def send(page, form: str) -> None:
    page.click(f"{form} button[type=submit]")


def test_a_kind_with_a_required_field_and_terms_is_refused_until_complete_then_sent_by_email(tmp_path, browser):
    config, server = preview(tmp_path, requests={"kinds": [REPAIR]})
    try:
        page = browser.new_page()
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{server.url}/C1001/requests.html")
        form = "form#request-repair"
        assert page.locator("h2#request-repair-title").inner_text() == "Repair"
        assert page.locator(f"{form} textarea").input_value() == "The machine "
        page.fill(f"{form} textarea", "  ")
        send(page, form)
        said = page.locator(f"{form} [data-request-message]").inner_text()
        for expected in ("Serial number", "Urgency", "Your message", "accept the terms"):
            assert expected in said, said
        assert page.evaluate("document.activeElement.id") == "request-repair-serial"  # the first problem
        assert page.locator(f"{form} [aria-invalid=true]").count() == 4
        assert page.locator("[data-request-mailto]").count() == 0  # nothing left

        page.fill("#request-repair-serial", "SN-7781")
        page.select_option("#request-repair-urgency", "Urgent")
        page.fill("#request-repair-units", "3")
        page.fill(f"{form} textarea", "The pump leaks.\nBcc: someone@evil.example\n&cc=x@evil.example")
        send(page, form)
        assert "accept the terms" in page.locator(f"{form} [data-request-message]").inner_text()
        assert page.locator("[data-request-mailto]").count() == 0

        page.check("#request-repair-accept")
        send(page, form)
        page.wait_for_selector("[data-request-mailto]")
        address, query = mailto_of(page)
        assert address == config.portal.actions.email
        assert set(query) == {"subject", "body"}  # nothing typed adds a header or a recipient
        assert query["subject"] == "Repair — Harbourside Marine Ltd (C1001)"
        fields, description = sent_fields(query["body"])
        assert fields == [
            ("portico-request", "1"),
            ("request", "repair"),
            ("customer", "C1001"),
            ("customer-name", "Harbourside Marine Ltd"),
            ("field.serial", "SN-7781"),
            ("field.units", "3"),
            ("field.urgency", "Urgent"),
            ("terms-version", "2026-01"),  # (the text too by the form channel: too long for a link)
        ]
        assert description == "The pump leaks.\r\nBcc: someone@evil.example\r\n&cc=x@evil.example\r\n"
        assert errors == []
    finally:
        server.close()


def test_a_request_too_long_for_an_email_link_says_so(tmp_path, browser):
    _, server = preview(tmp_path)
    try:
        page = browser.new_page()
        page.goto(f"{server.url}/C1001/requests.html")
        form = "form#request-work-request"
        page.fill(f"{form} textarea", "Please replace every valve. " * 80)
        send(page, form)
        said = page.locator(f"{form} [data-request-message]").inner_text()
        assert "too long to send by e-mail" in said and "2000" in said.replace(",", "")
        assert page.locator("[data-request-mailto]").count() == 0
        page.fill(f"{form} textarea", "Please replace the valve.")
        send(page, form)
        page.wait_for_selector("[data-request-mailto]")
        _, query = mailto_of(page)
        assert sent_fields(query["body"])[0][1] == ("request", "work-request")
    finally:
        server.close()


class Receiver:
    """An HTTP endpoint on 127.0.0.1 that keeps the bodies posted to it."""

    def __init__(self):
        bodies = self.bodies = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers["Content-Length"])
                bodies.append((self.path, self.headers["Content-Type"], self.rfile.read(length).decode("ascii")))
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"received")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/requests"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


def test_the_form_channel_posts_exactly_the_documented_fields_and_the_csp_allows_only_its_endpoint(tmp_path, browser):
    receiver = Receiver()
    actions = {"channel": "form", "form_url": receiver.url}
    _, server = preview(tmp_path, actions=actions, requests={"kinds": [REPAIR]})
    try:
        page = browser.new_page()
        page.goto(f"{server.url}/C1001/requests.html")
        csp = page.locator("meta[http-equiv=Content-Security-Policy]").get_attribute("content")
        assert f"form-action {receiver.url};" in csp
        form = "form#request-repair"
        send(page, form)
        assert "Serial number" in page.locator(f"{form} [data-request-message]").inner_text()
        assert receiver.bodies == []  # refused in the page: nothing posted
        page.fill("#request-repair-serial", "SN-1")
        page.select_option("#request-repair-urgency", "Normal")
        page.fill("#request-repair-visit", "2026-12-24")
        page.fill(f"{form} textarea", "Line one\nLine two")
        page.check("#request-repair-accept")
        send(page, form)
        page.wait_for_url(receiver.url)
        [(path, content_type, body)] = receiver.bodies
        assert path == "/requests" and content_type == "application/x-www-form-urlencoded"
        assert parse_qsl(body, keep_blank_values=True) == [
            ("portico-request", "1"),
            ("request", "repair"),
            ("customer", "C1001"),
            ("customer-name", "Harbourside Marine Ltd"),
            ("field.serial", "SN-1"),
            ("field.units", ""),
            ("field.visit", "2026-12-24"),
            ("field.urgency", "Normal"),
            ("description", "Line one\r\nLine two"),
            ("terms-version", "2026-01"),
            ("terms", "Repairs are billed **per hour**."),  # the text accepted, in the customer's language
        ]
    finally:
        server.close()
        receiver.close()


def quote_total_from_the_export(number: str) -> Decimal:
    """Independently of the pipeline: the quote's lines in the demo's workbook, quantity × price."""
    sheet = openpyxl.load_workbook(REPO / "content" / "export" / "quotes.xlsx", read_only=True)["Quotes"]
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    number_at, qty_at, price_at = header.index("QuoteNo"), header.index("Qty"), header.index("Price")
    total = sum(Decimal(str(r[qty_at])) * Decimal(str(r[price_at])) for r in rows[1:] if r[number_at] == number)
    return total.quantize(Decimal("0.01"))


def open_quote(public) -> tuple[str, str]:
    """(customer id, quote number) of a quote whose page offers the decision."""
    for path in sorted(public.glob("C*/quote-*.html")):
        if "data-request-form" in path.read_text(encoding="utf-8"):
            return path.parent.name, path.stem.removeprefix("quote-")
    raise AssertionError("no open quote in the demo")


def test_a_quote_approval_sends_number_total_and_terms_version_and_a_decline_its_reason(tmp_path, browser):
    config, server = preview(tmp_path, quotes=QUOTE_TERMS)
    customer, number = open_quote(tmp_path / "public")
    buyer = check(config)[0].books[customer].customer
    try:
        page = browser.new_page()
        page.goto(f"{server.url}/{customer}/quote-{number}.html")
        approve = "form#quote-approve"
        send(page, approve)
        assert page.locator(f"{approve} [data-request-message]").is_visible()  # the terms are not accepted
        assert page.locator("[data-request-mailto]").count() == 0
        page.fill(f"{approve} textarea", "Please deliver to gate 2.")
        page.check("#quote-approve-accept")
        send(page, approve)
        page.wait_for_selector(f"{approve} [data-request-mailto]")
        _, query = mailto_of(page)
        fields, comment = sent_fields(query["body"])
        total = quote_total_from_the_export(number)
        assert dict(fields) == {
            "portico-request": "1",
            "request": "quote-approve",
            "customer": customer,
            "customer-name": buyer.name,
            "quote": number,
            "total": str(total),
            "currency": buyer.currency,
            "terms-version": "Q-7",
        }
        assert [name for name, _ in fields][4:7] == ["quote", "total", "currency"] and total > 0
        assert comment == "Please deliver to gate 2.\r\n"

        decline = "form#quote-decline"
        assert page.locator(f"{decline} input[type=checkbox]").count() == 0  # declining needs no terms
        page.fill(f"{decline} textarea", "Too expensive.")
        send(page, decline)
        page.wait_for_selector(f"{decline} [data-request-mailto]")
        href = page.locator(f"{decline} [data-request-mailto]").get_attribute("href")
        fields, reason = sent_fields(dict(parse_qsl(urlsplit(href).query))["body"])
        assert dict(fields)["request"] == "quote-decline" and not {"terms-version", "terms"} & set(dict(fields))
        assert reason == "Too expensive.\r\n"
    finally:
        server.close()


def test_kinds_are_layered_a_groups_replace_the_global_ones_and_a_customers_the_groups(tmp_path):
    trade_order = {"key": "trade-order", "label": "Trade order"}
    own = {"key": "site-visit", "label": {"en": "Site visit", "fr": "Visite sur site"}}
    config = demo_config(
        tmp_path,
        portal={"slug": "id", "requests": {"kinds": [REPAIR]}},
        groups={"trade": {"requests": {"kinds": [trade_order]}}},
        customers={"C1003": {"requests": {"kinds": [own]}}},
    )
    assert build(config, BuildOptions(strict=True, encrypt=False)).ok

    def kinds(customer: str) -> list[tuple[str, str]]:
        page = (tmp_path / "public" / customer / "requests.html").read_text(encoding="utf-8")
        return [
            (k, html.unescape(t)) for k, t in re.findall(r'<h2 id="request-([a-z0-9_-]+)-title">([^<]*)</h2>', page)
        ]

    assert kinds("C1002") == [("repair", "Reparatur")]  # wholesale: the global kinds, in German
    assert kinds("C1001") == [("trade-order", "Trade order")]  # trade: the group's
    assert kinds("C1003") == [("site-visit", "Visite sur site")]  # its own, in French


@pytest.mark.parametrize(
    ("kinds", "message"),
    [
        ([{"key": "Repair!", "label": "x"}], "lower-case letters"),
        ([{"key": "a", "label": "x"}, {"key": "a", "label": "y"}], "same key"),
        ([{"key": "quote-approve", "label": "x"}], "quote page's own"),
        ([{"key": "a", "label": "x", "fields": [{"key": "f", "label": "F", "type": "choice"}]}], "needs `choices`"),
        ([{"key": "a", "label": {"en": " "}}], "give the text"),
        ([{"key": "a", "label": "x", "terms": {"text": "T", "version": "a\nb"}}], "one short line"),
    ],
)
def test_bad_request_kinds_are_config_errors(tmp_path, kinds, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        demo_config(tmp_path, portal={"requests": {"kinds": kinds}})


@pytest.mark.parametrize("url", ["http://forms.example.com/x", "https://forms.example.com/a;script-src *", "ftp://x"])
def test_a_form_endpoint_is_https_or_this_machine_and_cannot_bend_the_csp(tmp_path, url):
    with pytest.raises(ConfigError, match="form_url"):
        demo_config(tmp_path, portal={"actions": {"channel": "form", "form_url": url}})


def test_a_signed_in_customer_sends_a_request_from_the_encrypted_portal(tmp_path, browser):
    with served_demo_portal(tmp_path, portal={"requests": {"kinds": [REPAIR]}}) as portal:
        page = browser.new_page()
        sign_in_by_form(page, portal.entry, portal.email, portal.password)
        page.wait_for_selector("h1:has-text('Welcome')")
        page.click(".site-nav a:has-text('Requests')")
        page.wait_for_selector("form#request-repair")
        page.fill("#request-repair-serial", "SN-9")
        page.select_option("#request-repair-urgency", "Normal")
        page.check("#request-repair-accept")
        send(page, "form#request-repair")
        page.wait_for_selector("[data-request-mailto]")
        _, query = mailto_of(page)
        assert ("field.serial", "SN-9") in sent_fields(query["body"])[0]


def tab_to(page, element_id: str, most: int = 12) -> None:
    for _ in range(most):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == element_id:
            return
    raise AssertionError(f"Tab never reached #{element_id}")


def test_forms_with_fields_and_terms_pass_axe_work_by_keyboard_and_fit_320_px(tmp_path, browser):
    from axe_playwright_python.sync_playwright import Axe
    from test_layout import WCAG

    _, server = preview(tmp_path, requests={"kinds": [REPAIR]}, quotes=QUOTE_TERMS)
    customer, number = open_quote(tmp_path / "public")
    try:
        page = browser.new_page(viewport={"width": 320, "height": 700})
        found = []
        for path in ("C1001/requests.html", f"{customer}/quote-{number}.html", "C1006/catalogue.html"):
            page.goto(f"{server.url}/{path}")
            if path.endswith("catalogue.html"):  # a basket with a line below its minimum
                page.click("button[aria-label='Add SF-510 to the basket']")
                page.fill("[data-basket-quantity='SF-510']", "2")
                page.press("[data-basket-quantity='SF-510']", "Tab")
            page.click("form[data-request-form] button[type=submit] >> nth=0")  # the problems shown, too
            results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG}})
            found += [(path, v["id"]) for v in results.response["violations"]]
            wide = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert wide <= 0, (path, wide)
        assert found == []

        page.goto(f"{server.url}/C1001/requests.html")  # by keyboard alone: tab to each control, type, send
        page.focus("#request-repair-serial")
        page.keyboard.type("SN-3")
        tab_to(page, "request-repair-urgency")  # past units and the date's parts
        page.keyboard.press("ArrowDown")
        tab_to(page, "request-repair-terms")  # the terms: a scrollable region a keyboard reaches
        tab_to(page, "request-repair-accept")
        page.keyboard.press("Space")
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")  # send
        page.wait_for_selector("[data-request-mailto]")
        assert ("field.urgency", "Normal") in sent_fields(mailto_of(page)[1]["body"])[0]
    finally:
        server.close()


def export_rows(name: str, encoding: str = "utf-8-sig", delimiter: str = ",") -> list[dict[str, str]]:
    with (REPO / "content" / "export" / name).open(encoding=encoding, newline="") as f:
        return list(csv.DictReader(f, delimiter=delimiter))


def price_from_the_export(customer: str, sku: str, quantity: Decimal) -> Decimal:
    """Independently of the pipeline, from the demo's CSV files: the lowest price break of the
    customer's own and its group's that the quantity reaches, else the catalogue's list price."""
    group = next(r["Segment"] for r in export_rows("customers.csv") if r["CustNo"] == customer)
    breaks = [
        Decimal(r["price"])
        for r in export_rows("prices.csv")
        if r["sku"] == sku
        and (r["customer"] == customer or (not r["customer"] and r["price_group"] == group))
        and Decimal(r["min_qty"]) <= quantity
    ]
    if breaks:
        return min(breaks)
    product = next(r for r in export_rows("catalogue.csv", "cp1252", ";") if r["Artikel"] == sku)
    return Decimal(product["Listenpreis"].replace(",", "."))


def expected_order(customer: str, items: list[tuple[str, str]]) -> tuple[list[tuple[str, str]], str]:
    lines, total = [], Decimal(0)
    for sku, quantity in items:
        unit = price_from_the_export(customer, sku, Decimal(quantity))
        lines.append(("line", f"{sku}; {quantity}; {unit}; EUR"))
        total += (unit * Decimal(quantity)).quantize(Decimal("0.01"))
    return lines, str(total)


def basket_sent(page) -> tuple[list[tuple[str, str]], dict[str, str]]:
    page.wait_for_selector("form#catalogue-order [data-request-mailto]")
    href = page.locator("form#catalogue-order [data-request-mailto]").get_attribute("href")
    fields, _ = sent_fields(dict(parse_qsl(urlsplit(href).query))["body"])
    return [f for f in fields if f[0] == "line"], dict(fields)


def test_a_basket_at_the_customers_own_prices_refuses_a_quantity_below_its_minimum_then_sends_and_reorders(
    tmp_path, browser
):
    _, server = preview(tmp_path)
    customer = "C1006"  # its own price breaks for TL-410 (from 1 and from 10), the key group's for the rest
    try:
        page = browser.new_page()
        page.goto(f"{server.url}/{customer}/catalogue.html")
        page.wait_for_selector("table[data-catalogue] tbody button")
        for sku in ("FX-100", "SF-510", "TL-410"):
            page.fill("[data-catalogue-search]", sku)
            page.click(f"button[aria-label='Add {sku} to the basket']")
        assert page.input_value("[data-basket-quantity='SF-510']") == "12"  # added at its minimum
        for sku, quantity in (("FX-100", "3"), ("SF-510", "5"), ("TL-410", "12")):
            page.fill(f"[data-basket-quantity='{sku}']", quantity)
            page.press(f"[data-basket-quantity='{sku}']", "Tab")
        send(page, "form#catalogue-order")
        said = page.locator("form#catalogue-order [data-request-message]").inner_text()
        assert "SF-510 is sold from 12" in said
        assert page.evaluate("document.activeElement.getAttribute('data-basket-quantity')") == "SF-510"
        assert page.locator("form#catalogue-order [data-request-mailto]").count() == 0

        page.fill("[data-basket-quantity='SF-510']", "12")
        page.press("[data-basket-quantity='SF-510']", "Tab")
        send(page, "form#catalogue-order")
        lines, fields = basket_sent(page)
        expected_lines, expected_total = expected_order(customer, [("FX-100", "3"), ("SF-510", "12"), ("TL-410", "12")])
        assert lines == expected_lines and fields["total"] == expected_total and fields["currency"] == "EUR"
        assert fields["request"] == "catalogue-order" and fields["customer"] == customer
        assert "139.00" in expected_lines[2][1]  # the own break from 10 applies: checked, not assumed
        shown_total = page.locator("[data-basket-total]").inner_text()
        assert re.sub(r"[^\d]", "", shown_total) == expected_total.replace(".", "")

        order = "SO-24023"
        ordered = [(r["Item"], r["Qty"]) for r in export_rows("orders.csv") if r["OrderNo"] == order and r["Item"]]
        page.goto(f"{server.url}/{customer}/order-{order}.html")
        page.click("[data-reorder]")
        page.wait_for_selector("[data-basket-quantity]")
        assert page.locator("[data-basket-quantity]").count() == len(ordered)
        send(page, "form#catalogue-order")
        lines, fields = basket_sent(page)
        expected_lines, expected_total = expected_order(customer, ordered)
        assert lines == expected_lines and fields["total"] == expected_total
    finally:
        server.close()


def test_the_basket_is_cleared_at_sign_out_in_this_tab_and_in_another(tmp_path, browser):
    stored = "Object.keys(sessionStorage).filter(k => k.endsWith(':basket'))"
    with served_demo_portal(tmp_path, "C1006") as portal:
        context = browser.new_context()
        tabs = [context.new_page(), context.new_page()]
        sign_in_by_form(tabs[0], portal.entry, portal.email, portal.password)
        tabs[0].wait_for_selector("h1:has-text('Welcome')")
        tabs[1].goto(portal.entry)  # the same browser: the session opens the portal there too
        tabs[1].wait_for_selector("h1:has-text('Welcome')")
        for tab in tabs:
            tab.click(".site-nav a:has-text('Catalogue')")
            tab.wait_for_selector("table[data-catalogue] tbody button")
            tab.click("button[aria-label='Add FX-100 to the basket']")
            assert len(tab.evaluate(stored)) == 1  # each tab keeps its own
        tabs[0].click("[data-sign-out]")
        for tab in tabs:
            tab.wait_for_selector("[data-gate-form]:not([hidden])")
            assert tab.evaluate(stored) == []
        context.close()
