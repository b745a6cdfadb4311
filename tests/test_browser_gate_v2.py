"""Gate v2 in a real Chromium, on a small site rebuilt between steps: migration from a v1 keystore,
re-keying after a password change, sign-out across tabs, and sessions that unauthenticated bytes
cannot end."""

from __future__ import annotations

import json
import re

import pytest
from conftest import StaticServer, blob_url
from test_gate_build import CONTACTS, CUSTOMERS, ORDERS, gate_config, ledger_of

from generator.seal import manage as staff
from generator.seal.blobs import b64
from generator.seal.keystore import read_keystore
from generator.site.slugs import opaque_slug

pytestmark = pytest.mark.browser


@pytest.fixture
def served(site):
    site.file("customers.csv", CUSTOMERS)
    site.file("contacts.csv", CONTACTS)
    site.file("orders.csv", ORDERS)
    site.public.mkdir(parents=True, exist_ok=True)
    server = StaticServer(site.public)
    site.url = server.url
    yield site
    server.close()


def keystore_path(site):
    return site.root / "keystore" / "keystore.json"


def portal_url(site, customer_id: str, name: str = "") -> str:
    return f"{site.url}/{opaque_slug(read_keystore(keystore_path(site)).site_key, customer_id)}/{name}"


def password(site, customer_id: str, email: str) -> str:
    return read_keystore(keystore_path(site)).customers[customer_id].contacts[email].password


def sign_in(page, site, customer_id: str, email: str, secret: str | None = None) -> None:
    page.goto(portal_url(site, customer_id))
    page.wait_for_selector("[data-gate-form]:not([hidden])")
    page.fill("#gate-email", email)
    page.fill("#gate-password", secret or password(site, customer_id, email))
    page.click("button[type=submit]")


def signed_in(page, name: str) -> None:
    page.wait_for_selector(f"h1:has-text('{name}')")


def write_v1_keystore(site, passwords: dict[str, dict[str, str]]) -> None:
    """A keystore as version 1 wrote it: slots found by an HMAC of the e-mail (they are dropped)."""
    customers = {}
    for customer_id, contacts in passwords.items():
        customers[customer_id] = {
            "key_id": b64(bytes([len(customers)]) * 16).replace("+", "-").replace("/", "_").rstrip("="),
            "data_key": b64(bytes([1 + len(customers)]) * 32),
            "file_key": b64(bytes([9 + len(customers)]) * 32),
            "email_salt": b64(b"0123456789abcdef"),
            "enabled": True,
            "contacts": {
                email: {"password": secret, "slot": {"id": "AAAA", "iter": 1000}, "slot_key_id": "x"}
                for email, secret in contacts.items()
            },
        }
    data = {"version": 1, "site_key": b64(b"s" * 32), "shared_secret": b64(b"t" * 32), "customers": customers}
    keystore_path(site).parent.mkdir(parents=True, exist_ok=True)
    keystore_path(site).write_text(json.dumps(data), encoding="utf-8")


def test_a_v1_keystore_migrates_and_every_contact_signs_in_with_the_same_password(browser, served):
    passwords = {
        "C1": {"ann@alpha.example": "ann-v1-password-kept", "bob@alpha.example": "bob-v1-password-kept"},
        "C2": {"cy@beta.example": "cy-v1-password-kept"},
    }
    write_v1_keystore(served, passwords)
    result = served.build(gate_config(), encrypt=True)
    assert result.ok, result.failure
    assert result.access.slots_made == 3 and not result.access.new_passwords and not result.access.rotated
    migrated = read_keystore(keystore_path(served))
    assert migrated.to_json()["version"] == 2
    assert migrated.customers["C1"].salt != b"0123456789abcdef"  # the published v1 salt is not reused
    names = {"C1": "Alpha Works", "C2": "Beta Foods"}
    for customer_id, contacts in passwords.items():
        for email, secret in contacts.items():
            context = browser.new_context()
            page = context.new_page()
            sign_in(page, served, customer_id, email, secret)
            signed_in(page, names[customer_id])
            assert page.evaluate("document.documentElement.outerHTML").count("PTC") == 0
            context.close()


def test_after_a_password_change_open_sessions_must_sign_in_again(browser, served):
    assert served.build(gate_config(), encrypt=True, new_keystore=True).ok
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, served, "C1", "ann@alpha.example")
    signed_in(page, "Alpha Works")
    ks = read_keystore(keystore_path(served))
    staff.rotate_passwords(ledger_of(served), ks, "C1", "bob@alpha.example")  # re-keys C1
    ks.save()
    assert served.build(gate_config(), encrypt=True).ok
    page.goto(portal_url(served, "C1"))
    page.wait_for_selector("[data-gate-form]:not([hidden])")  # Ann's session opens nothing new
    assert "Alpha Works" not in page.inner_text("body")
    assert "changed" in page.text_content("[data-gate-status]")
    sign_in(page, served, "C1", "ann@alpha.example")  # her own password still works
    signed_in(page, "Alpha Works")
    context.close()


def test_signing_out_in_one_tab_signs_out_every_tab_of_the_portal(browser, served):
    assert served.build(gate_config(), encrypt=True, new_keystore=True).ok
    context = browser.new_context()
    first = context.new_page()
    sign_in(first, served, "C1", "ann@alpha.example")
    signed_in(first, "Alpha Works")
    second = context.new_page()
    second.goto(portal_url(served, "C1"))
    signed_in(second, "Alpha Works")  # the session is shared: no second sign-in
    other_portal = context.new_page()
    sign_in(other_portal, served, "C2", "cy@beta.example")
    signed_in(other_portal, "Beta Foods")
    first.click("[data-sign-out]")
    second.wait_for_selector("[data-gate-form]:not([hidden])")
    assert "Alpha Works" not in second.inner_text("main")  # the decrypted page is gone
    assert "why=signed_out" in second.url
    assert other_portal.is_visible("h1:has-text('Beta Foods')")  # another portal's session is left alone
    context.close()


def test_a_foreign_or_damaged_page_does_not_end_the_session(browser, served):
    assert served.build(gate_config(), encrypt=True, new_keystore=True).ok
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, served, "C1", "ann@alpha.example")
    signed_in(page, "Alpha Works")
    page.click("nav >> text=Orders")
    page.wait_for_selector("h1:has-text('Orders')")
    orders = blob_url(page.url)
    foreign = blob_url(portal_url(served, "C2"))  # another customer's page, whose blob claims another key id
    page.route(orders, lambda route: route.fulfill(response=route.fetch(url=foreign)))
    page.reload()
    page.wait_for_selector(".gate-status.error")
    assert "damaged" in page.text_content("[data-gate-status]")
    page.unroute(orders)
    page.goto(portal_url(served, "C1"))
    signed_in(page, "Alpha Works")  # still signed in: nothing unauthenticated ended the session
    context.close()


def test_the_entry_page_says_nothing_of_its_contacts(served):
    assert served.build(gate_config(), encrypt=True, new_keystore=True).ok
    shells = {
        customer_id: (served.public / portal_url(served, customer_id).split("/")[-2] / "index.html").read_text()
        for customer_id in ("C1", "C2")
    }
    tables = {c: json.loads(re.search(r'id="portico-gate">([^<]+)<', s).group(1)) for c, s in shells.items()}
    shapes = {
        c: (sorted(t), [sorted(s) for s in t["slots"]], [len(s["key"]) for s in t["slots"]]) for c, t in tables.items()
    }
    assert shapes["C1"] == shapes["C2"]  # two contacts and one: the same number and size of slots


def test_one_sign_in_opens_every_portal_of_a_key_ring_and_one_sign_out_ends_them(browser, served):
    served.file("contacts.csv", CONTACTS + "C2,Ann,ann@alpha.example,yes\n")
    assert served.build(gate_config(), encrypt=True, new_keystore=True).ok
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, served, "C1", "ann@alpha.example")
    signed_in(page, "Alpha Works")
    page.wait_for_selector("[data-portal-switcher]:not([hidden]) a")
    switcher = page.locator("[data-portal-switcher]")
    assert switcher.locator("a").all_inner_texts() == ["Beta Foods"]
    switcher.locator("a").click()
    signed_in(page, "Beta Foods")  # no second sign-in
    page.wait_for_selector("[data-portal-switcher]:not([hidden]) a")
    assert page.locator("[data-portal-switcher] a").all_inner_texts() == ["Alpha Works"]
    bob = browser.new_context().new_page()  # a contact of one customer sees no switcher
    sign_in(bob, served, "C1", "bob@alpha.example")
    signed_in(bob, "Alpha Works")
    bob.wait_for_timeout(300)  # the switcher fills in after the page opens; it must stay hidden
    assert not bob.locator("[data-portal-switcher]").is_visible()
    page.click("[data-sign-out]")
    page.wait_for_selector("[data-gate-form]:not([hidden])")
    page.goto(portal_url(served, "C1"))
    page.wait_for_selector("[data-gate-form]:not([hidden])")  # signed out of the whole ring
    context.close()
