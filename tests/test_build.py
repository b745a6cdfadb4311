"""The build command end to end: output layout, strictness, failure safety, CLI and reports."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import yaml
from conftest import REPO, demo_config, minimal_config, static_file

from generator.cli import main

CUSTOMERS = "id,name,portal\nC1,Alpha,yes\nC2,Beta,no\nC3,Gamma,yes\n"
ORDERS = (
    "order,customer,date,sku,qty,price\nA-1,C1,2026-05-01,X,2,1.50\nA-2,C1,2026-05-03,Y,1,3\nB-1,C3,2026-06-01,X,1,1\n"
)


def tree_digest(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def config_with_portal_flag():
    raw = minimal_config()
    raw["exports"]["customers"]["columns"]["portal_enabled"] = "portal"
    return raw


def test_build_writes_one_portal_per_enabled_customer(site):
    site.file("customers.csv", CUSTOMERS)
    site.file("orders.csv", ORDERS)
    result = site.build(config_with_portal_flag())
    assert result.ok, result.failure
    assert sorted(p.slug for p in result.portals) == ["C1", "C3"]
    assert not (site.public / "C2").exists()  # portal disabled
    files = sorted(p.name for p in (site.public / "C1").iterdir())
    assert files == ["account.html", "index.html", "order-A-1.html", "order-A-2.html", "orders.csv", "orders.html"]
    assert (site.public / "404.html").is_file() and (site.public / static_file(site.public, "lists.js")).is_file()
    assert (site.public / "robots.txt").read_text() == "User-agent: *\nDisallow: /\n"


def test_modules_without_data_grow_no_pages(site):
    site.file("customers.csv", CUSTOMERS)
    site.file("orders.csv", ORDERS)
    site.build(config_with_portal_flag())
    dashboard = (site.public / "C1" / "index.html").read_text()
    for absent in ("invoices.html", "quotes.html", "statement.html", "catalogue.html"):
        assert absent not in dashboard
        assert not (site.public / "C1" / absent).exists()


def test_failed_build_leaves_previous_output_untouched(site):
    site.file("customers.csv", CUSTOMERS)
    site.file("orders.csv", ORDERS)
    raw = config_with_portal_flag()
    assert site.build(raw).ok
    before = tree_digest(site.public)

    site.file("orders.csv", ORDERS + "C-1,C1,not-a-date,X,1,1\n")  # bad input, strict
    result = site.build(raw, strict=True)
    assert not result.ok and "1 error(s)" in result.failure
    assert tree_digest(site.public) == before

    templates = site.root / "templates"  # a template that breaks halfway through rendering
    templates.mkdir()
    (templates / "order.html").write_text("{{ order.no_such_field.deeper }}")
    site.file("orders.csv", ORDERS)
    result = site.build(raw)
    assert not result.ok and "order.html, line 1" in result.failure
    assert tree_digest(site.public) == before
    leftovers = [p.name for p in site.root.iterdir() if p.name.startswith(".public.") and p.name != ".public.lock"]
    assert not leftovers  # no staging left behind


def test_non_strict_build_skips_bad_records_and_says_so(site):
    site.file("customers.csv", CUSTOMERS)
    site.file("orders.csv", ORDERS + "C-1,C1,not-a-date,X,1,1\n")
    result = site.build(config_with_portal_flag(), strict=False)
    assert result.ok
    assert len(result.problems.errors) == 1
    assert not (site.public / "C1" / "order-C-1.html").exists()
    assert (site.public / "C1" / "order-A-1.html").exists()


def test_ci_environment_makes_build_strict(site, monkeypatch, capsys):
    site.file("customers.csv", CUSTOMERS)
    site.file("orders.csv", ORDERS + "C-1,C1,not-a-date,X,1,1\n")
    config = site.config(config_with_portal_flag())
    monkeypatch.setenv("CI", "true")
    assert main(["build", "--no-encrypt", "--config", str(config)]) == 1
    assert "strict mode" in capsys.readouterr().err
    assert main(["build", "--no-encrypt", "--no-strict", "--config", str(config)]) == 0


def test_json_report(site, capsys):
    site.file("customers.csv", CUSTOMERS)
    site.file("orders.csv", ORDERS)
    assert main(["build", "--no-encrypt", "--json", "--config", str(site.config(config_with_portal_flag()))]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True and report["customers"] == 2
    assert report["portals"][0] == {"customer": "C1", "name": "Alpha", "path": "C1/", "pages": 5, "files": 6}
    assert report["pages"] == 5 + 4 + 3  # C1, C3, and the site's index, 404 and robots.txt


def test_customer_option_limits_the_build(site):
    site.file("customers.csv", CUSTOMERS)
    site.file("orders.csv", ORDERS)
    config = site.config(config_with_portal_flag())
    assert main(["build", "--no-encrypt", "-q", "--customer", "C3", "--config", str(config)]) == 0
    assert sorted(p.name for p in site.public.iterdir() if p.is_dir()) == [".portico", "C3", "_static"]


def test_content_pages_respect_their_audience(site):
    site.file("customers.csv", "id,name,group\nC1,Alpha,key\nC2,Beta,trade\n")
    site.file("orders.csv", ORDERS.replace("C3", "C2"))
    content = site.root / "content"
    content.mkdir()
    (content / "terms.md").write_text("---\ntitle: Terms\nnav_order: 2\n---\nPay *on time*.\n")
    (content / "vip.md").write_text("---\ntitle: Key accounts\nnav_order: 1\naudience: [key]\n---\nHello.\n")
    raw = minimal_config()
    raw["exports"]["customers"]["columns"]["group"] = "group"
    assert site.build(raw).ok
    assert "<em>on time</em>" in (site.public / "C1" / "page-terms.html").read_text()
    assert (site.public / "C1" / "page-vip.html").exists()
    assert not (site.public / "C2" / "page-vip.html").exists()
    nav = (site.public / "C1" / "index.html").read_text()
    assert nav.index("Key accounts") < nav.index("Terms")  # nav_order


def test_bad_front_matter_names_the_file(site):
    site.file("customers.csv", CUSTOMERS)
    site.file("orders.csv", ORDERS)
    (site.root / "content").mkdir()
    (site.root / "content" / "broken.md").write_text("---\nnav_order: first\n---\nText\n")
    result = site.build(strict=True)
    assert not result.ok
    messages = {(p.file, p.message.split(":")[0]) for p in result.problems.errors}
    assert messages == {("broken.md", "title"), ("broken.md", "nav_order")}


def test_build_py_runs_the_demo_from_the_repo_root(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(demo_config(tmp_path).model_dump(mode="json", exclude={"root", "source_path"})))
    run = subprocess.run(
        [sys.executable, "build.py", "--config", str(config), "--new-keystore"],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "CI": "true", "COLUMNS": "200"},
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert "Harbourside Marine Ltd (C1001)" in run.stderr
    portals = [p for p in (tmp_path / "public").iterdir() if p.is_dir() and not p.name.startswith(("_", "."))]
    assert len(portals) == 11  # the demo's closed customer has no portal
    assert all(len(p.name) == 16 and (p / "index.html").is_file() for p in portals)  # opaque names
    assert "UNSAFE" in run.stderr  # the tests' cheap KDF says so loudly


def test_the_account_page_says_where_to_get_help(demo_build):
    """`site.support_email` and `site.support_phone` (the demo sets both) as links on the account page."""
    page = (demo_build / "C1002" / "account.html").read_text()
    assert '<a href="mailto:portal@larkspur-supply.example">portal@larkspur-supply.example</a>' in page
    assert '<a href="tel:+442079460999">+44 20 7946 0999</a>' in page
    assert ">Hilfe</h2>" in page  # C1002 reads German
