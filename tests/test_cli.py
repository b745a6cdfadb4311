"""Every `portico` command, run as a process the way staff and CI run it: exit codes, output on
stdout (JSON where asked) and stderr, and what each leaves on disk."""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import minimal_config

from generator.seal.keystore import read_keystore

CUSTOMERS = "id,name,email\nC1,Alpha Works,info@alpha.example\nC2,Beta Foods,info@beta.example\n"
CONTACTS = "customer,name,email\nC1,Ann,ann@alpha.example\nC1,Bob,bob@alpha.example\nC2,Cy,cy@beta.example\n"
ORDERS = "order,customer,date,sku,qty,price\nA-1,C1,2026-05-01,X,2,1.50\nB-1,C2,2026-06-01,Y,1,9.99\n"


def portico(site, *args: str, check: bool = False, env: dict | None = None) -> subprocess.CompletedProcess:
    """`portico ARGS` as a process in the site's folder (config.yaml there), outside CI."""
    environment = {**os.environ, "CI": "", **(env or {})}
    done = subprocess.run(
        [sys.executable, "-m", "generator", *args],
        cwd=site.root,
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
    )
    if check:
        assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    return done


@pytest.fixture
def shop(site):
    site.file("customers.csv", CUSTOMERS)
    site.file("contacts.csv", CONTACTS)
    site.file("orders.csv", ORDERS)
    site.config(
        minimal_config(
            contacts={"file": "contacts.csv", "columns": {"customer": "customer", "name": "name", "email": "email"}}
        )
    )
    return site


@pytest.fixture
def built(shop):
    done = portico(shop, "build", "--new-keystore", "--json", check=True)
    report = json.loads(done.stdout)
    assert report["ok"] and report["customers"] == 2 and report["encrypted"]
    return shop


def keystore_of(site):
    return read_keystore(site.root / "keystore" / "keystore.json")


def test_version_and_help():
    done = subprocess.run([sys.executable, "-m", "generator", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.startswith("portico ")
    done = subprocess.run([sys.executable, "-m", "generator", "--help"], capture_output=True, text=True)
    for command in ("build", "check", "passwords", "publish", "serve", "revoke", "keystore"):
        assert command in done.stdout


def test_build_writes_portals_and_reports_json(built):
    assert (built.public / "C1" / "index.html").is_file() and (built.public / "C2" / "index.html").is_file()
    full = json.loads(portico(built, "build", "--full", "--json", check=True).stdout)
    noop = json.loads(portico(built, "build", "--json", check=True).stdout)
    assert noop["noop"] is True  # nothing changed: the counts come from the last build's state
    assert [noop[k] for k in ("customers", "pages", "files", "bytes")] == [
        full[k] for k in ("customers", "pages", "files", "bytes")
    ]
    assert noop["customers"] == 2 and noop["pages"] > 4
    assert [(p["path"], p["pages"], p["files"]) for p in noop["portals"]] == [
        (p["path"], p["pages"], p["files"]) for p in full["portals"]
    ]
    assert all(p["customer"] is None and p["name"] is None for p in noop["portals"])  # the state names no one


def test_check_names_file_row_and_column_and_exits_1(shop):
    assert portico(shop, "check").returncode == 0
    shop.file("orders.csv", ORDERS + "C-1,C1,soon,X,1,1\n")
    done = portico(shop, "check", "--json")
    assert done.returncode == 1
    problem = json.loads(done.stdout)["problems"][0]
    assert (problem["file"], problem["row"], problem["column"], problem["kind"]) == (
        "orders.csv",
        4,
        "date",
        "bad-date",
    )
    assert "orders (orders.csv): bad-date" in done.stderr and problem["entity"] == "orders"


def test_a_broken_config_exits_2(shop):
    (shop.root / "config.yaml").write_text("exports: [not, a, mapping]\n")
    done = portico(shop, "build")
    assert done.returncode == 2 and "config error" in done.stderr


def test_passwords_list_gives_every_contact_a_password_and_url(built):
    done = portico(built, "passwords", "list", "--json", check=True)
    rows = json.loads(done.stdout)
    assert sorted(r["email"] for r in rows) == ["ann@alpha.example", "bob@alpha.example", "cy@beta.example"]
    assert all(len(r["password"]) >= 20 and r["portal_url"].endswith("/") for r in rows)
    only = json.loads(portico(built, "passwords", "list", "--customer", "C2", "--json", check=True).stdout)
    assert [r["email"] for r in only] == ["cy@beta.example"]


def test_passwords_set_accepts_a_strong_one_and_refuses_a_weak_one(built):
    strong = "Tangerine-Velvet-Orbit-4821"
    portico(built, "passwords", "set", "C1", "--contact", "ann@alpha.example", "--password", strong, check=True)
    assert keystore_of(built).customers["C1"].contacts["ann@alpha.example"].password == strong
    done = portico(built, "passwords", "set", "C1", "--contact", "ann@alpha.example", "--password", "password1")
    assert done.returncode == 1 and "refused" in done.stderr
    assert keystore_of(built).customers["C1"].contacts["ann@alpha.example"].password == strong


def test_passwords_rotate_prints_new_passwords(built):
    before = keystore_of(built).customers["C1"].contacts["bob@alpha.example"].password
    done = portico(built, "passwords", "rotate", "C1", "--contact", "bob@alpha.example", check=True)
    customer, email, password = done.stdout.strip().split("\t")
    assert (customer, email) == ("C1", "bob@alpha.example") and password != before
    assert keystore_of(built).customers["C1"].contacts["bob@alpha.example"].password == password


def test_passwords_link_prints_a_direct_link_with_its_key_in_the_fragment(built):
    done = portico(built, "passwords", "link", "C1", "A-1", check=True)
    url, _, key = done.stdout.strip().partition("#k=")
    assert re.search(r"/C1/\?p=[a-z2-7]{16}$", url) and len(base64.urlsafe_b64decode(key + "=")) == 32
    done = portico(built, "passwords", "link", "C1", "B-1")  # another customer's order
    assert done.returncode == 1 and "no order, invoice or quote 'B-1'" in done.stderr


def test_revoke_rotates_the_customers_keys(built):
    before = keystore_of(built).customers["C1"].keys.key_id
    portico(built, "revoke", "C1", check=True)
    assert keystore_of(built).customers["C1"].keys.key_id != before
    assert portico(built, "revoke", "C9").returncode == 2  # no such customer: a usage error


def test_keystore_new_master_key_prints_32_random_bytes(tmp_path):
    """It needs no config: staff run it before there is anything (it once crashed asking for one)."""
    keys = set()
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-m", "generator", "keystore", "new-master-key"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        keys.add(done.stdout.strip())
    assert len(keys) == 2 and all(len(base64.b64decode(k)) == 32 for k in keys)


def test_a_master_key_from_new_master_key_encrypts_the_keystore(built):
    master = subprocess.run(
        [sys.executable, "-m", "generator", "keystore", "new-master-key"], capture_output=True, text=True, check=True
    ).stdout.strip()
    portico(built, "passwords", "rotate", "C2", check=True, env={"PORTICO_MASTER_KEY": master})
    assert (built.root / "keystore" / "keystore.json").read_bytes().startswith(b"PORTICO-KEYSTORE-1")
    assert portico(built, "passwords", "list").returncode == 1  # without the key it cannot be read


def test_publish_to_a_folder(built, tmp_path):
    target = tmp_path / "www"
    done = portico(built, "publish", "--target", str(target), "--json", check=True)
    report = json.loads(done.stdout)
    assert report["ok"] and report["new"] == report["uploaded"] > 0
    assert (target / "C1" / "index.html").read_bytes() == (built.public / "C1" / "index.html").read_bytes()
    again = json.loads(portico(built, "publish", "--target", str(target), "--json", check=True).stdout)
    assert again["uploaded"] == 0 and again["unchanged"] == report["new"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_builds_serves_and_stops_on_ctrl_c(shop):
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "generator", "serve", "--no-encrypt", "--port", str(port)],
        cwd=shop.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "CI": ""},
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                page = urllib.request.urlopen(f"http://127.0.0.1:{port}/C1/orders.html", timeout=5).read()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, server.stderr.read()
                time.sleep(0.2)
        assert b"A-1" in page and b"/__portico/reload.js" in page
    finally:
        server.send_signal(signal.SIGINT)
        _, stderr = server.communicate(timeout=30)
    assert server.returncode == 0, stderr
    assert "serving" in stderr and "Traceback" not in stderr


def test_python_build_py_is_portico_build(shop):
    done = subprocess.run(
        [sys.executable, str(Path(__file__).parents[1] / "build.py"), "--no-encrypt", "--json"],
        cwd=shop.root,
        capture_output=True,
        text=True,
        env={**os.environ, "CI": ""},
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["encrypted"] is False


@pytest.mark.parametrize(
    "command",
    [
        ["build", "--customer", "C3"],
        ["passwords", "list", "--customer", "C3"],
        ["passwords", "rotate", "C3"],
        ["passwords", "set", "C3", "--contact", "ann@alpha.example", "--password", "Tangerine-Velvet-Orbit-4821"],
        ["passwords", "link", "C3", "A-1"],
        ["revoke", "C3"],
    ],
)
def test_an_unknown_customer_id_is_a_usage_error_with_the_close_matches(built, command):
    done = portico(built, *command)
    assert done.returncode == 2, done.stderr
    assert "no customer 'C3' in the export (did you mean C1, C2?)" in done.stderr.replace("\n", " ")


def test_serve_with_an_unknown_customer_exits_2(shop):
    done = subprocess.run(
        [sys.executable, "-m", "generator", "serve", "--no-encrypt", "--port", str(free_port()), "--customer", "C9"],
        cwd=shop.root,
        capture_output=True,
        text=True,
        env={**os.environ, "CI": ""},
        timeout=60,
    )
    assert done.returncode == 2 and "no customer 'C9'" in done.stderr


def test_a_config_that_is_not_utf8_or_not_a_file_is_a_config_error(site):
    site.root.mkdir(parents=True, exist_ok=True)
    (site.root / "latin1.yaml").write_bytes('site:\n  name: "Café"\n'.encode("latin-1"))
    done = portico(site, "check", "--config", "latin1.yaml")
    assert done.returncode == 2 and "not UTF-8 text (byte 19)" in done.stderr
    done = portico(site, "check", "--config", ".")
    assert done.returncode == 2 and "cannot be read" in done.stderr


def test_json_reports_a_path_whose_bytes_are_not_utf8(tmp_path):
    """Such a path reaches Python as surrogates, which JSON can only escape (orjson refuses them)."""
    folder = os.fsencode(tmp_path) + b"/caf\xe9"
    done = subprocess.run(
        [sys.executable, "-m", "generator", "check", "--json", "--config", folder + b"/config.yaml"],
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 2 and b"Traceback" not in done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is False and "caf\udce9" in report["config_errors"][0]
