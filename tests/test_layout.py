"""What a customer sees, in Chromium, in both themes: no page scrolls sideways on a phone, every
section is reachable at every width, axe-core finds no WCAG 2.2 A/AA violation on any page kind,
the customer copies print as one page with seller, bill-to, totals and how to pay, and a page a
direct link opened shows that page alone."""

from __future__ import annotations

from pathlib import Path

import pypdf
import pytest
from axe_playwright_python.sync_playwright import Axe
from conftest import StaticServer, demo_config, served_demo_portal, sign_in_by_form

from generator.pipeline import BuildOptions, build, check
from generator.seal import manage
from generator.seal.keystore import read_keystore

THEMES = ("default", "harbour")
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
PAGE_KINDS = (  # one page of every kind a portal has, by its file name in a plain preview
    "index.html",
    "orders.html",
    "order-SO-24008.html",
    "invoices.html",
    "invoice-INV-71008.html",
    "statement.html",
    "shipments.html",
    "quotes.html",
    "quote-Q-5001.html",
    "documents.html",
    "catalogue.html",
    "requests.html",
    "account.html",
    "page-delivery-terms.html",
)


@pytest.fixture(scope="module", params=THEMES)
def themed(request, tmp_path_factory):
    """The demo as a plain preview in one theme, served over HTTP: (theme, public folder, server)."""
    folder = tmp_path_factory.mktemp(request.param)
    config = demo_config(folder, theme=request.param, portal={"slug": "id"})
    result = build(config, BuildOptions(strict=True, encrypt=False))
    assert result.ok, result.failure
    server = StaticServer(folder / "public")
    yield request.param, folder / "public", server
    server.close()


def pages_of(public: Path) -> list[str]:
    return sorted(p.relative_to(public).as_posix() for p in public.glob("C*/*.html"))


def test_no_page_scrolls_sideways_on_a_phone(themed, browser):
    theme, public, server = themed
    pages = pages_of(public)
    assert len(pages) > 200
    page = browser.new_page(viewport={"width": 375, "height": 800})
    wide = []
    for path in pages:
        page.goto(f"{server.url}/{path}")
        scroll, client = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        if scroll > client:
            wide.append((path, scroll))
    for width in (320, 414):  # the narrowest and widest phones, every page kind of one portal
        page.set_viewport_size({"width": width, "height": 800})
        for kind in PAGE_KINDS:
            page.goto(f"{server.url}/C1002/{kind}")
            scroll, client = page.evaluate(
                "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
            )
            if scroll > client:
                wide.append((f"{kind} at {width}", scroll))
    page.close()
    assert wide == [], f"{theme}: pages wider than the screen: {wide[:10]}"


def test_every_section_is_reachable_at_every_width(themed, browser):
    theme, public, server = themed
    for width in (375, 1024, 1280):
        page = browser.new_page(viewport={"width": width, "height": 800})
        for portal in sorted({p.split("/")[0] for p in pages_of(public)}):
            page.goto(f"{server.url}/{portal}/index.html")
            toggle = page.locator("[data-nav-toggle]")
            if toggle.is_visible():
                assert width < 768, f"{theme}: a menu button at {width} px"
                toggle.click()
                assert toggle.get_attribute("aria-expanded") == "true"
            links = page.locator(".site-nav a")
            assert links.count() >= 10
            for index in range(links.count()):
                box = links.nth(index).bounding_box()
                assert box and box["width"] > 0 and box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5, (
                    theme,
                    width,
                    portal,
                    links.nth(index).inner_text(),
                )
        page.close()


def test_axe_finds_no_wcag_violation_on_any_page_kind(themed, browser):
    theme, _, server = themed
    axe, found = Axe(), []
    for width in (375, 1280):
        page = browser.new_page(viewport={"width": width, "height": 900})
        for kind in PAGE_KINDS:
            page.goto(f"{server.url}/C1002/{kind}")
            results = axe.run(page, options={"runOnly": {"type": "tag", "values": WCAG}, "resultTypes": ["violations"]})
            found += [(kind, width, v["id"], len(v["nodes"])) for v in results.response["violations"]]
        page.close()
    assert found == [], f"{theme}: {found}"


def test_the_invoice_and_the_statement_print_as_one_page_with_what_a_customer_copy_needs(themed, browser, tmp_path):
    theme, _, server = themed
    page = browser.new_page()
    for document in ("invoice-INV-71037.html", "statement.html"):
        page.goto(f"{server.url}/C1009/{document}")
        for paper in ("A4", "Letter"):
            pdf = tmp_path / f"{document}.{paper}.pdf"
            page.pdf(path=str(pdf), format=paper)
            reader = pypdf.PdfReader(pdf)
            assert len(reader.pages) == 1, (theme, document, paper, len(reader.pages))
            text = " ".join(reader.pages[0].extract_text().split())
            for needed in (
                "Larkspur Industrial Supply Ltd",  # the seller
                "1 Foundry Lane",
                "GB 123 4567 89",  # its tax id
                "Pennine Construction Ltd",  # bill to
                "GB82 WEST 1234 5698 7654 32",  # how to pay
                "WESTGB2L",
            ):
                assert needed in text, (theme, document, paper, needed, text[:400])
            assert "Total" in text or "Balance" in text
    page.close()


def test_a_direct_link_page_shows_that_page_alone(tmp_path, browser):
    config = demo_config(tmp_path)
    assert build(config, BuildOptions(strict=True, new_keystore=True)).ok
    ledger, _ = check(config)
    keystore = read_keystore(tmp_path / "keystore.json")
    link = manage.direct_link(config, ledger, keystore, "C1002", "INV-71008")
    server = StaticServer(tmp_path / "public")
    try:
        page = browser.new_page(viewport={"width": 375, "height": 800})
        page.goto(link.replace(config.site.base_url.rstrip("/"), server.url))
        page.wait_for_selector("h1:has-text('INV-71008')")
        # the page is written first; its scripts then run and limit it to itself, the banner last
        page.wait_for_selector(".direct-link-banner")
        banner = page.locator(".direct-link-banner")
        assert banner.is_visible()
        texts = page.evaluate("window.PorticoSignInTexts.languages[document.documentElement.lang]")
        assert texts["link_only"] in banner.inner_text()
        assert page.locator(".site-nav, [data-nav-toggle], [data-sign-out]").count() == 0
        local = page.eval_on_selector_all(
            "a[href]",
            "links => links.map(a => a.getAttribute('href')).filter(h => !/^([a-z][a-z0-9+.-]*:|#)/i.test(h))",
        )
        assert local == ["./"]  # only the banner's way to sign in
        page.close()
    finally:
        server.close()


def test_pages_open_in_place_with_address_title_and_history_as_after_a_load(tmp_path, browser):
    with served_demo_portal(tmp_path) as portal:
        page = browser.new_page()
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        entry = portal.entry
        sign_in_by_form(page, entry, portal.email, portal.password)
        page.wait_for_selector("h1:has-text('Welcome')")
        page.evaluate("window.stillThisWindow = true")  # gone after an ordinary load
        length = page.evaluate("history.length")

        page.click(".site-nav a:has-text('Invoices')")
        page.wait_for_selector("main h1:has-text('Invoices')")
        invoices = page.url
        assert page.title().startswith("Invoices") and "?p=" in invoices and invoices != entry
        assert page.evaluate("window.stillThisWindow") is True  # in place: no reload
        assert page.evaluate("history.length") == length + 1  # one entry per click, however many clicks before
        assert page.evaluate("document.activeElement.id") == "main"
        page.click("table[data-list] tbody tr >> nth=0 >> a")
        page.wait_for_selector("main h1:has-text('Invoice INV-')")
        invoice_title, invoice_url = page.title(), page.url
        assert page.evaluate("history.length") == length + 2

        page.go_back()
        page.wait_for_selector("main h1:has-text('Invoices')")
        assert page.url == invoices and page.title().startswith("Invoices")
        page.go_back()
        page.wait_for_selector("main h1:has-text('Welcome')")
        assert page.url == entry
        page.go_forward()
        page.go_forward()
        page.wait_for_selector("main h1:has-text('Invoice INV-')")
        assert (page.title(), page.url) == (invoice_title, invoice_url)
        assert page.evaluate("window.stillThisWindow") is True

        page.goto(invoices)  # a page opened by its address still opens (an ordinary load)
        page.wait_for_selector("main h1:has-text('Invoices')")
        assert page.evaluate("window.stillThisWindow") is None
        assert errors == []


def test_back_while_a_shown_page_is_still_starting_still_ends_on_the_right_page(tmp_path, browser):
    """Showing a page in place re-runs the theme's scripts; a Back before navigate.js has run again
    finds no listener. The address moves without its page unless navigate.js catches up when it runs."""
    with served_demo_portal(tmp_path) as portal:
        page = browser.new_page()
        sign_in_by_form(page, portal.entry, portal.email, portal.password)
        page.wait_for_selector("h1:has-text('Welcome')")
        page.click(".site-nav a:has-text('Invoices')")
        page.wait_for_selector("main h1:has-text('Invoices')")
        invoices = page.url

        held = []  # the next page's navigate.js waits here until released
        page.route("**/navigate*.js", lambda route: held.append(route))
        page.click("table[data-list] tbody tr >> nth=0 >> a")
        page.wait_for_selector("main h1:has-text('Invoice INV-')")
        page.go_back()
        assert page.url == invoices and page.locator("main h1:has-text('Invoice INV-')").count() == 1
        assert held, "navigate.js was not requested again: the race this test is about did not happen"
        for route in held:
            route.continue_()
        page.wait_for_selector("main h1:has-text('Invoices')")
        assert page.url == invoices and page.title().startswith("Invoices")


def test_lists_keep_sorting_on_a_phone(themed, browser):
    _, _, server = themed
    page = browser.new_page(viewport={"width": 375, "height": 800})
    page.goto(f"{server.url}/C1009/invoices.html")
    control = page.locator("[data-list-sort]")
    assert control.is_visible() and page.locator("table[data-list] thead").is_hidden()
    dates = "[...document.querySelectorAll('table[data-list] tbody tr')].map(r => r.cells[1].dataset.sort)"
    for choice, newest_first in (("1:ascending", False), ("1:descending", True)):
        control.select_option(choice)
        shown = page.evaluate(dates)
        assert len(shown) > 3 and shown == sorted(shown, reverse=newest_first), (choice, shown)
    page.close()


@pytest.mark.parametrize("theme", THEMES)
def test_axe_finds_no_violation_on_the_sign_in_page_and_signed_in(theme, tmp_path, browser):
    """The encrypted portal as a customer meets it: the sign-in page (with "Forgot your password?"
    open), then, signed in, pages with the sign-out button and the menu."""
    axe, found = Axe(), []
    options = {"runOnly": {"type": "tag", "values": WCAG}, "resultTypes": ["violations"]}
    with served_demo_portal(tmp_path, "C1009", theme=theme) as portal:
        for width in (375, 1280):
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.goto(portal.entry)
            page.wait_for_selector("[data-gate-form]:not([hidden])")
            page.click("[data-gate-forgot] summary")
            found += [("sign-in", width, v["id"]) for v in axe.run(page, options=options).response["violations"]]
            page.fill("#gate-email", portal.email)
            page.fill("#gate-password", portal.password)
            page.click("[data-gate-form] button[type=submit]")
            page.wait_for_selector("main h1:has-text('Welcome')")
            found += [("dashboard", width, v["id"]) for v in axe.run(page, options=options).response["violations"]]
            if width < 768:
                page.click("[data-nav-toggle]")
            page.click(".site-nav a:has-text('Statement')")
            page.wait_for_selector("main h1:has-text('Statement')")
            found += [("statement", width, v["id"]) for v in axe.run(page, options=options).response["violations"]]
            page.close()
    assert found == [], f"{theme}: {found}"


def test_the_404_page_is_styled_at_any_depth_and_leads_back(themed, browser):
    """A CDN serves 404.html for a missing path anywhere: it still finds its stylesheet and offers the start page."""
    _, public, server = themed
    page = browser.new_page()
    not_found = (public / "404.html").read_bytes()
    page.route(
        "**/C1002/deep/missing.html", lambda route: route.fulfill(status=404, body=not_found, content_type="text/html")
    )
    page.goto(f"{server.url}/C1002/deep/missing.html")
    header = page.locator(".site-header")
    assert header.evaluate("node => getComputedStyle(node).display") == "flex"  # the theme's stylesheet applies
    back = page.locator("main a.button")
    assert back.get_attribute("href") == "/" and back.is_visible()
    page.close()
