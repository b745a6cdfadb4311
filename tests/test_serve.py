"""`portico serve` end to end: a real server process, real file edits, a real Chromium tab."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from conftest import REPO, minimal_config
from playwright.sync_api import expect

from generator.seal.keystore import read_keystore

pytestmark = pytest.mark.browser

CUSTOMERS = "id,name\nC1,Alpha Works\n"
CONTACTS = "customer,name,email\nC1,Ann,ann@alpha.example\n"
ORDERS = "order,customer,date,sku,qty,price\nA-1,C1,2026-05-01,X,2,1.50\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(site, tmp_path):
    """Start `portico serve` on a site with its own copy of the theme; yields (site, base URL, theme)."""
    site.file("customers.csv", CUSTOMERS)
    site.file("contacts.csv", CONTACTS)
    site.file("orders.csv", ORDERS)
    theme = tmp_path / "themes"
    shutil.copytree(REPO / "themes", theme)
    raw = minimal_config(
        contacts={"file": "contacts.csv", "columns": {"customer": "customer", "name": "name", "email": "email"}}
    )
    raw["themes_dir"] = str(theme)
    config = site.config(raw)
    processes = []

    def start(*extra):
        port = free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "generator", "serve", "--config", str(config), "--port", str(port), *extra],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "CI": ""},
        )
        processes.append(process)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
                return f"http://127.0.0.1:{port}", theme / "default"
            except OSError:
                assert process.poll() is None, process.stdout.read()
                time.sleep(0.2)
        raise AssertionError("serve did not start")

    yield site, start
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=20) == 0  # Ctrl-C stops cleanly


def edit(path, old, new):
    path.write_text(path.read_text().replace(old, new))


def test_reload_error_overlay_and_recovery(served, page):
    _, start = served
    url, theme = start("--no-encrypt")
    page.goto(f"{url}/C1/order-A-1.html")
    expect(page.locator("h1")).to_contain_text("Order A-1")
    order = theme / "templates" / "order.html"

    edit(order, '<dl class="facts">', '<p id="edited">First edit</p><dl class="facts">')
    expect(page.locator("#edited")).to_have_text("First edit", timeout=20000)  # reloaded by itself

    edit(order, '<p id="edited">First edit</p>', '<p id="edited">{{ broken( }}</p>')
    overlay = page.locator("#portico-build-error")
    expect(overlay).to_be_visible(timeout=20000)
    expect(overlay).to_contain_text("order.html")

    edit(order, "{{ broken( }}", "Fixed")
    expect(page.locator("#edited")).to_have_text("Fixed", timeout=20000)
    expect(overlay).to_have_count(0)


def test_css_changes_swap_stylesheets_without_reloading(served, page):
    _, start = served
    url, theme = start("--no-encrypt")
    page.goto(f"{url}/C1/index.html")
    page.evaluate("() => { window.stillTheSamePage = true; }")
    css = theme / "static" / "portico.css"
    css.write_text(css.read_text() + "\nh1 { color: rgb(1, 2, 3); }\n")
    expect(page.locator("h1")).to_have_css("color", "rgb(1, 2, 3)", timeout=20000)
    assert page.evaluate("() => window.stillTheSamePage") is True


def test_encrypted_serve_reloads_signed_in_pages(served, page):
    site, start = served
    url, theme = start()
    keystore = read_keystore(site.root / "keystore" / "keystore.json")
    portal = "C1"  # this site names portals by customer id
    password = keystore.customers["C1"].contacts["ann@alpha.example"].password
    page.goto(f"{url}/{portal}/")
    page.fill("#gate-email", "ann@alpha.example")
    page.fill("#gate-password", password)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_contain_text("Welcome", timeout=20000)
    edit(theme / "templates" / "dashboard.html", "<h1>", '<h1 id="edited">')
    expect(page.locator("h1#edited")).to_contain_text("Welcome", timeout=20000)  # reloaded, still signed in


def test_serve_never_serves_the_build_state(served):
    _, start = served
    url, _ = start("--no-encrypt")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(f"{url}/.portico/build.json", timeout=5)
    assert caught.value.code == 404
