"""The password gate in a real Chromium: sign-in, sessions, sign-out, direct links, damage, isolation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import CHROMIUM, CHROMIUM_ARGS, REPO, StaticServer, blob_url, demo_config
from playwright.sync_api import expect

from generator.pipeline import BuildOptions, build, check
from generator.render.i18n import Catalogues
from generator.seal.keystore import read_keystore
from generator.seal.manage import direct_link
from generator.site.slugs import opaque_slug

pytestmark = pytest.mark.browser
CATALOGUES = Catalogues([REPO / "themes" / "default" / "locales"])


class Demo:
    def __init__(self, folder, config):
        self.folder = folder
        self.config = config
        self.keystore = read_keystore(folder / "keystore.json")
        self.ledger, _ = check(config)
        self.server = StaticServer(folder / "public")

    def url(self, customer_id: str, name: str = "") -> str:
        return f"{self.server.url}/{opaque_slug(self.keystore.site_key, customer_id)}/{name}"

    def contact(self, customer_id: str) -> tuple[str, str]:
        email, secret = sorted(self.keystore.customers[customer_id].contacts.items())[0]
        return email, secret.password

    def say(self, customer_id: str, message: str, **values) -> str:
        """A theme string as this customer reads it (the demo's customers speak five languages)."""
        language = self.ledger.books[customer_id].customer.language
        return (
            CATALOGUES.translations(language).gettext(message) % values
            if values
            else CATALOGUES.translations(language).gettext(message)
        )

    @staticmethod
    def on_sign_in(message: str) -> str:
        """A text of the sign-in page or any shell: in the browser's language (the tests' browser speaks English),
        as a shell is the same for every portal and says nothing of its customer's language."""
        return CATALOGUES.translations("en").gettext(message)

    def link(self, customer_id: str, number: str) -> str:
        url = direct_link(self.config, self.ledger, self.keystore, customer_id, number)
        return self.server.url + "/" + url.split("/", 3)[3]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gated")
    config = demo_config(folder)
    result = build(config, BuildOptions(strict=True, new_keystore=True))
    assert result.ok, result.failure
    served = Demo(folder, config)
    yield served
    served.server.close()


def sign_in(page, demo, customer_id, remember=False, password=None):
    email, right = demo.contact(customer_id)
    page.fill("#gate-email", email.upper())  # e-mail addresses are matched case-insensitively
    page.fill("#gate-password", password or right)
    if remember:
        page.check("input[name=remember]")
    page.click("button[type=submit]")


def open_signed_in(page, demo, customer_id):
    page.goto(demo.url(customer_id))
    sign_in(page, demo, customer_id)
    page.wait_for_selector(f"h1:has-text('{demo.ledger.books[customer_id].customer.name}')")


def open_section(page, demo, customer_id, section):
    """Click a section in the navigation, in the customer's language, and wait for its heading."""
    label = demo.say(customer_id, section)
    page.click(f"nav >> text={label}")
    page.wait_for_selector(f"h1:has-text('{label}')")
    return label


def test_sign_in_once_then_pages_open_without_asking(page, demo):
    page.goto(demo.url("C1002"))
    page.wait_for_selector("[data-gate-form]:not([hidden])")
    sign_in(page, demo, "C1002")
    page.wait_for_selector("h1:has-text('Brauerei Kranich GmbH')")
    page.click(f"nav >> text={demo.say('C1002', 'Orders')}")  # Bestellungen
    page.click("table[data-list] tbody tr >> nth=0 >> a")
    page.wait_for_selector(f"h1:has-text('{demo.say('C1002', 'Order %(number)s', number='SO-')}')")
    assert re.search(r"/[a-z2-7]{16}/\?p=[a-z2-7]{16}$", page.url)  # opaque names, also in the address bar
    page.click(f"nav >> text={demo.say('C1002', 'Invoices')}")
    page.click("table[data-list] tbody tr >> nth=0 >> a")
    invoice = demo.say("C1002", "Invoice %(number)s", number="INV-")
    page.wait_for_selector(f"h1:has-text('{invoice}')")
    page.reload()
    page.wait_for_selector(f"h1:has-text('{invoice}')")
    assert page.errors == []


def test_wrong_password_and_unknown_email_get_the_same_message(page, demo):
    page.goto(demo.url("C1002"))
    sign_in(page, demo, "C1002", password="not-the-password")
    page.wait_for_selector(".gate-status.error")
    message = page.text_content("[data-gate-status]")
    assert message == demo.on_sign_in("That e-mail address and password do not match. Please try again.")
    page.evaluate("() => { document.querySelector('[data-gate-status]').textContent = ''; }")
    page.fill("#gate-email", "stranger@example.com")
    page.fill("#gate-password", "whatever-it-is")
    page.click("button[type=submit]")
    expect(page.locator("[data-gate-status]")).to_have_text(message)  # polls outside the page's CSP
    assert page.input_value("#gate-password") == ""


def test_sign_out_then_a_protected_page_asks_again(page, demo):
    open_signed_in(page, demo, "C1003")
    invoices = open_section(page, demo, "C1003", "Invoices")  # Factures
    invoices_url = page.url
    page.click("[data-sign-out]")
    page.wait_for_selector("[data-gate-form]:not([hidden])")
    assert page.text_content("[data-gate-status]") == demo.on_sign_in("You have signed out.")
    page.goto(invoices_url)
    page.wait_for_selector("[data-gate-form]:not([hidden])")  # the page's own address asks
    assert page.url == invoices_url
    sign_in(page, demo, "C1003")
    page.wait_for_selector(f"h1:has-text('{invoices}')")  # back where they were going
    assert page.url == invoices_url


def test_remember_me_survives_a_restart_a_plain_session_does_not(playwright, demo, tmp_path):
    def browser_session(profile, action):
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            tab = context.pages[0] if context.pages else context.new_page()
            return action(tab)
        finally:
            context.close()

    def opens_without_asking(tab):
        tab.goto(demo.url("C1004"))
        tab.wait_for_selector("h1:has-text('Welcome'), [data-gate-form]:not([hidden])")
        return tab.is_visible("h1:has-text('Welcome')")

    for remember, survives in ((True, True), (False, False)):
        profile = tmp_path / f"profile-{remember}"

        def first_visit(tab, remember=remember):
            tab.goto(demo.url("C1004"))
            sign_in(tab, demo, "C1004", remember=remember)
            tab.wait_for_selector("h1:has-text('Welcome')")
            return opens_without_asking(tab)  # within the same browser session it always does

        assert browser_session(profile, first_visit) is True
        assert browser_session(profile, opens_without_asking) is survives, f"remember={remember}"


def test_expired_session_asks_again(page, demo):
    open_signed_in(page, demo, "C1005")
    page.evaluate(
        """slug => new Promise(done => {
        const open = indexedDB.open('portico', 1);
        open.onsuccess = () => {
          const store = open.result.transaction('sessions', 'readwrite').objectStore('sessions');
          const get = store.get(slug);
          get.onsuccess = () => {
            const s = get.result; s.expires = Date.now() - 1000; store.put(s, slug).onsuccess = done;
          };
        };
    })""",
        demo.url("C1005").rstrip("/").split("/")[-1],
    )
    page.reload()
    page.wait_for_selector("[data-gate-form]:not([hidden])")
    assert page.text_content("[data-gate-status]") == demo.on_sign_in("Your session has ended. Please sign in again.")


def test_session_key_is_not_extractable(page, demo):
    open_signed_in(page, demo, "C1006")
    found = page.evaluate(
        """slug => new Promise(done => {
        indexedDB.open('portico', 1).onsuccess = e => {
          e.target.result.transaction('sessions').objectStore('sessions').get(slug).onsuccess = g => {
            const key = g.target.result.key;
            crypto.subtle.exportKey('raw', key).then(() => done('exported'), () => done(
              [key.extractable, key.algorithm.name, key.usages.join()].join('|')));
          };
        };
    })""",
        demo.url("C1006").rstrip("/").split("/")[-1],
    )
    assert found == "false|AES-GCM|unwrapKey"


def test_direct_link_opens_its_document_only_and_leaves_the_address_bar(page, demo):
    invoice = demo.ledger.books["C1009"].invoices[0].number
    link = demo.link("C1009", invoice)
    assert "#k=" in link
    page.goto(link)
    page.wait_for_selector(f"h1:has-text('{invoice}')")
    page.wait_for_selector(".direct-link-banner")  # the opened page's scripts have run (they follow the text)
    assert "#" not in page.url and "k=" not in page.url
    assert page.locator("nav.site-nav").count() == 0  # no way into pages the link cannot open ...
    page.click(".direct-link-banner a")  # ... but the sign-in: anything else needs a password
    page.wait_for_selector("[data-gate-form]:not([hidden])")
    assert page.errors == []


def tamper(route):
    """One bit of the page's payload flipped on the way, in the middle of its ciphertext."""
    response = route.fetch()
    body = bytearray(response.body())
    body[len(body) // 2] ^= 0x01
    route.fulfill(response=response, body=bytes(body))


def test_a_tampered_page_shows_the_damage_message(page, demo):
    open_signed_in(page, demo, "C1010")
    open_section(page, demo, "C1010", "Orders")  # Pedidos
    target = page.url
    page.route(blob_url(target), tamper)
    page.reload()
    page.wait_for_selector(".gate-status.error")
    assert page.text_content("[data-gate-status]") == demo.on_sign_in(
        "This page is damaged or has been altered, so it cannot be opened. Please reload it; "
        "if that does not help, contact us.",
    )


def test_an_address_naming_a_download_never_shows_it_as_a_page(page, demo):
    """`?p=` may name any blob of the portal: a CSV download (export text, hostile or not) opens
    with the session's key but is data, never written into the window as markup."""
    open_signed_in(page, demo, "C1002")
    open_section(page, demo, "C1002", "Invoices")
    download = page.get_attribute('a[href$=".bin"]', "href")
    page.goto(demo.url("C1002", f"?p={download.removesuffix('.bin')}"))
    page.wait_for_selector(".gate-status.error")
    assert page.text_content("[data-gate-status]") == demo.on_sign_in(
        "This page is damaged or has been altered, so it cannot be opened. Please reload it; "
        "if that does not help, contact us.",
    )
    assert "INV-" not in page.content()  # nothing of the CSV's rows
    page.goto(demo.url("C1002"))
    page.wait_for_selector("h1:has-text('Brauerei Kranich GmbH')")  # still signed in


def test_signing_in_at_the_address_of_a_page_that_is_gone_opens_the_portal(page, demo):
    """A bookmark from before a re-key (which renames every page), or of an order since removed."""
    page.goto(demo.url("C1002", "?p=aaaaaaaaaaaaaaaa"))
    page.wait_for_selector("[data-gate-form]:not([hidden])")
    sign_in(page, demo, "C1002")
    page.wait_for_selector("h1:has-text('Brauerei Kranich GmbH')")
    assert page.url == demo.url("C1002")


def test_a_download_after_the_session_ended_asks_to_sign_in_at_the_same_page(page, demo):
    open_signed_in(page, demo, "C1002")
    open_section(page, demo, "C1002", "Documents")
    documents = page.url
    page.context.clear_cookies()  # the browser session ended: a session without "remember me" ends with it
    page.click("table[data-list] tbody tr >> nth=0 >> a")
    page.wait_for_selector("[data-gate-form]:not([hidden])")
    assert page.text_content("[data-gate-status]") == demo.on_sign_in("Your session has ended. Please sign in again.")
    sign_in(page, demo, "C1002")
    page.wait_for_selector(f"h1:has-text('{demo.say('C1002', 'Documents')}')")
    assert page.url == documents


def test_one_customers_session_does_not_open_anothers_pages(page, demo):
    open_signed_in(page, demo, "C1011")
    page.goto(demo.url("C1001"))  # another customer's portal: its own sign-in
    page.wait_for_selector("[data-gate-form]:not([hidden])")
    assert "Harbourside" not in page.content()
    # another customer's page served at one of C1011's addresses does not open with C1011's key
    c1001_page = demo.url("C1001")
    page.goto(demo.url("C1011"))
    page.wait_for_selector("h1:has-text('Welcome, Greenleaf')")
    page.click("nav >> text=Invoices")
    page.wait_for_selector("h1:has-text('Invoices')")
    page.route(blob_url(page.url), lambda route: route.fulfill(response=route.fetch(url=blob_url(c1001_page))))
    page.reload()
    page.wait_for_selector(".gate-status.error")
    assert "Harbourside" not in page.content()


def test_encrypted_downloads_open_in_the_browser(page, demo):
    open_signed_in(page, demo, "C1002")
    page.click(f"nav >> text={demo.say('C1002', 'Documents')}")
    with page.expect_download() as pdf:
        page.click("table[data-list] tbody tr >> nth=0 >> a")
    assert Path(pdf.value.path()).read_bytes()[:5] == b"%PDF-"
    assert pdf.value.suggested_filename.endswith(".pdf")
    with page.expect_download() as table:
        page.click(f"text={demo.say('C1002', 'Download CSV')}")
    assert Path(table.value.path()).read_text(encoding="utf-8-sig").startswith("Dokument,Datum")  # German headings
    assert page.errors == []


def test_unsupported_browser_gets_a_message(browser, demo):
    context = browser.new_context()
    context.add_init_script("delete window.DecompressionStream;")
    tab = context.new_page()
    tab.goto(demo.url("C1002"))
    tab.wait_for_selector(".gate-status.error")
    assert tab.text_content("[data-gate-status]") == demo.on_sign_in(
        "This browser cannot open the portal safely. Please use a current version of Chrome, Edge, Firefox or Safari.",
    )
    context.close()
