"""Themes: inheritance of templates, static files and strings; fingerprinted assets with SRI."""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po
from conftest import REPO, StaticServer, demo_config, minimal_config, static_file

from generator.pipeline import BuildOptions, build

CUSTOMERS = "id,name,lang\nC1,Alpha Works,en\nC2,Beta GmbH,de\n"
ORDERS = "order,customer,date,sku,qty,price\nA-1,C1,2026-05-01,X,2,1.50\nB-1,C2,2026-06-01,Y,1,9.99\n"


def write_catalogue(path: Path, language: str, strings: dict[str, str]) -> None:
    path.mkdir(parents=True, exist_ok=True)
    catalogue = Catalog(locale=language)
    for source, text in strings.items():
        catalogue.add(source, text)
    with (path / "messages.po").open("wb") as handle:
        write_po(handle, catalogue)


@pytest.fixture
def themed(site, tmp_path):
    """A site whose themes folder holds the default theme and a child that changes very little."""
    site.file("customers.csv", CUSTOMERS)
    site.file("orders.csv", ORDERS)
    themes = tmp_path / "themes"
    shutil.copytree(REPO / "themes" / "default", themes / "default")
    child = themes / "child"
    (child / "templates").mkdir(parents=True)
    (child / "theme.yaml").write_text("name: Child\nextends: default\n")
    (child / "templates" / "account.html").write_text(
        '{% extends "default/account.html" %}\n'
        '{% block content %}<p id="child-note">{{ _("Overview") }} from the child</p>{{ super() }}{% endblock %}\n'
    )
    write_catalogue(child / "locales" / "en" / "LC_MESSAGES", "en", {"Overview": "Start here"})
    raw = minimal_config()
    raw["exports"]["customers"]["columns"]["language"] = "lang"
    raw["themes_dir"] = str(themes)
    site.raw = raw
    return site


def build_with(site, theme: str, output: str):
    raw = {**site.raw, "theme": theme, "output": output}
    result = site.build(raw)
    assert result.ok, result.failure
    return site.root / output


def test_a_child_theme_overrides_one_template_and_one_string_and_inherits_the_rest(themed):
    parent = build_with(themed, "default", "parent")
    child = build_with(themed, "child", "child")
    account = (child / "C1" / "account.html").read_text()
    assert '<p id="child-note">Start here from the child</p>' in account  # its own template, its own string
    assert "<h1>Your account</h1>" in account  # ... which called the parent's template
    assert ">Start here</a>" in (child / "C1" / "orders.html").read_text()  # its string, in the parent's base.html
    # everything else is the parent's: the same pages, identical but for the one string
    for name in ("orders.html", "order-A-1.html", "index.html"):
        assert (child / "C1" / name).read_text().replace("Start here", "Overview") == (parent / "C1" / name).read_text()
    # a German customer: the child has no German catalogue, so German comes from the parent
    assert ">Übersicht</a>" in (child / "C2" / "orders.html").read_text()
    assert (child / "C2" / "orders.html").read_text() == (parent / "C2" / "orders.html").read_text()


def test_a_childs_static_file_replaces_its_parents_and_adds_its_stylesheet(themed):
    child = themed.raw["themes_dir"] + "/child"
    Path(child, "static").mkdir()
    Path(child, "static", "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    Path(child, "static", "child.css").write_text("h1 { color: teal; }")
    Path(child, "theme.yaml").write_text("extends: default\ncss: [child.css]\n")
    out = build_with(themed, "child", "child")
    page = (out / "C1" / "orders.html").read_text()
    sheets = re.findall(r'<link rel="stylesheet" href="\.\./(_static/[^"]+)"', page)
    assert sheets == [static_file(out, "portico.css"), static_file(out, "child.css")]  # parent's first, then its own
    assert (out / static_file(out, "favicon.svg")).read_text() == "<svg xmlns='http://www.w3.org/2000/svg'/>"


@pytest.mark.parametrize(
    "manifests, message",
    [
        ({"a": "extends: b\n", "b": "extends: a\n"}, "themes extend each other in a circle: a → b → a"),
        ({"a": "extends: missing\n"}, "theme 'missing': no folder"),
        ({"a": "extends: default\nsize: large\n"}, "size: Extra inputs are not permitted"),
    ],
)
def test_theme_mistakes_are_clear_errors(themed, manifests, message):
    themes = Path(themed.raw["themes_dir"])
    for name, manifest in manifests.items():
        (themes / name).mkdir()
        (themes / name / "theme.yaml").write_text(manifest)
    result = themed.build({**themed.raw, "theme": "a"})
    assert not result.ok and message in result.failure


def test_the_shipped_harbour_theme_extends_default_and_changes_its_look(tmp_path):
    config = demo_config(tmp_path, theme="harbour", portal={"slug": "id"})
    assert build(config, BuildOptions(encrypt=False)).ok
    out = tmp_path / "public"
    dashboard = (out / "C1002" / "index.html").read_text()
    sheets = re.findall(r'<link rel="stylesheet" href="\.\./(_static/[^"]+)"', dashboard)
    assert sheets[:2] == [static_file(out, "portico.css"), static_file(out, "harbour.css")]
    assert 'class="harbour-banner"' in dashboard and "Offener Saldo" in dashboard  # its banner, then default's page
    assert ">Startseite</a>" in dashboard  # its own German string
    assert ">Home</a>" in (out / "C1001" / "index.html").read_text()
    assert ">Aperçu</a>" in (out / "C1003" / "index.html").read_text()  # no French of its own: default's


def test_fingerprinted_names_follow_the_content_and_sri_hashes_match_the_files(themed):
    out = build_with(themed, "default", "public")
    css_before = static_file(out, "portico.css")
    references = set()
    for page in out.rglob("*.html"):
        for url, integrity in re.findall(
            r'(?:href|src)="(?:\.\./)?(_static/[^"]+)" integrity="([^"]+)"', page.read_text()
        ):
            data = (out / url).read_bytes()
            assert integrity == "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode(), url
            assert hashlib.sha256(data).hexdigest()[:10] in url
            references.add(url)
    assert {static_file(out, n) for n in ("portico.css", "lists.js")} <= references

    css = Path(themed.raw["themes_dir"]) / "default" / "static" / "portico.css"
    css.write_text(css.read_text() + "\n.brand { letter-spacing: .1em; }\n")
    out = build_with(themed, "default", "public")
    css_after = static_file(out, "portico.css")
    assert css_after != css_before and not (out / css_before).exists()
    assert static_file(out, "lists.js") in references  # unchanged file, unchanged name
    assert f'href="../{css_after}"' in (out / "C1" / "orders.html").read_text()


@pytest.mark.browser
def test_the_browser_refuses_an_asset_that_does_not_match_its_integrity_hash(themed, page):
    out = build_with(themed, "default", "public")
    css = out / static_file(out, "portico.css")
    server = StaticServer(out)
    try:
        page.goto(f"{server.url}/C1/orders.html")
        assert page.evaluate("getComputedStyle(document.querySelector('.site-header')).display") == "flex"
        css.write_text(css.read_text().replace(".site-header { display: flex;", ".site-header { display: grid;"))
        page.context.new_cdp_session(page).send("Network.clearBrowserCache")
        page.goto(f"{server.url}/C1/orders.html")
        # the altered stylesheet is refused whole: the header falls back to the browser's default
        assert page.evaluate("getComputedStyle(document.querySelector('.site-header')).display") == "block"
        assert any("integrity" in e.lower() for e in page.errors), page.errors
    finally:
        server.close()
