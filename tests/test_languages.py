"""Languages: catalogues, locale formats, per-language content pages, the sign-in page's language."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.dates import format_date
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po
from babel.numbers import format_currency
from conftest import REPO, StaticServer, demo_config, minimal_config

from generator.model import figures as views
from generator.pipeline import check
from generator.render.i18n import Catalogues

SHIPPED = ["en", "de", "fr", "es", "nl"]
LOCALES = REPO / "themes" / "default" / "locales"


def text_of(path: Path) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", path.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def demo_ledger(tmp_path_factory):
    ledger, problems = check(demo_config(tmp_path_factory.mktemp("ledger"), portal={"slug": "id"}))
    assert not problems.errors
    return ledger


def test_german_and_french_customers_see_their_language_and_formats_with_the_same_templates(demo_build, demo_ledger):
    german, french, english = (demo_build / c / "index.html" for c in ("C1002", "C1003", "C1001"))
    as_of = demo_ledger.as_of
    for path, customer, language, currency, words, absent in (
        (german, "C1002", "de", "EUR", ["Übersicht", "Offener Saldo", "Rechnungen", "Datenstand"], "Open balance"),
        (french, "C1003", "fr", "EUR", ["Aperçu", "Solde ouvert", "Factures", "Données au"], "Open balance"),
        (english, "C1001", "en", "GBP", ["Overview", "Open balance", "Invoices", "Data as of"], "Offener Saldo"),
    ):
        html = path.read_text(encoding="utf-8")
        assert f'<html lang="{language}">' in html
        for word in words:
            assert word in html, (customer, word)
        assert absent not in html
        balance = views.balances(demo_ledger.books[customer]).open
        shown = re.search(r'data-figure="open-balance">([^<]+)<', html)[1]
        assert shown == format_currency(balance, currency, locale=language)  # Babel, in the customer's locale
        assert format_date(as_of, "medium", locale=language) in html
    assert re.fullmatch(
        r"[\d.]+,\d\d\xa0€", re.search(r'data-figure="open-balance">([^<]+)<', german.read_text())[1]
    )  # 1.234,56 €


def test_a_date_format_override_for_one_customer(demo_build, demo_ledger):
    """Café Lumière (C1008) asked for dd/MM/yyyy; Atelier Dufresne (C1003, also French) keeps Babel's medium."""
    as_of = demo_ledger.as_of
    assert f"Données au {as_of:%d/%m/%Y}" in text_of(demo_build / "C1008" / "index.html")
    assert f"Données au {format_date(as_of, 'medium', locale='fr')}" in text_of(demo_build / "C1003" / "index.html")


def extracted_messages() -> set:
    """Every translatable string in the default theme and the generator, as `pybabel extract`
    finds them with the theme's babel.cfg (the README's step 1)."""
    with (REPO / "themes" / "default" / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
    found = extract_from_dir(str(REPO), method_map, options_map, keywords=keywords)
    return {message for _, _, message, *_ in found}


def test_every_theme_string_has_a_translation_in_every_shipped_catalogue():
    messages = extracted_messages()
    assert len(messages) > 150
    with (LOCALES / "messages.pot").open("rb") as handle:
        template = {m.id for m in read_po(handle) if m.id}
    assert messages == template, "the .pot is stale: run the pybabel extract/update steps in the README"
    for language in SHIPPED:
        with (LOCALES / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
            catalogue = read_po(handle, locale=language)
        translated = {
            m.id
            for m in catalogue
            if m.id and not m.fuzzy and all(m.string if isinstance(m.string, tuple) else [m.string])
        }
        missing = sorted(str(m) for m in messages - translated)
        assert not missing, f"{language}: untranslated {missing[:10]}"


def test_a_missing_translation_falls_back_to_english_never_empty(tmp_path):
    locales = tmp_path / "locales" / "de" / "LC_MESSAGES"
    locales.mkdir(parents=True)
    catalogue = Catalog(locale="de")
    catalogue.add("Orders", "Aufträge")
    catalogue.add("Invoices", "")  # untranslated
    catalogue.add("Quotes", "Offerten", flags=["fuzzy"])  # not yet reviewed
    with (locales / "messages.po").open("wb") as handle:
        write_po(handle, catalogue)
    translations = Catalogues([tmp_path / "locales"]).translations("de_AT")
    assert translations.gettext("Orders") == "Aufträge"
    assert translations.gettext("Invoices") == "Invoices"
    assert translations.gettext("Quotes") == "Quotes"
    assert translations.gettext("Never seen") == "Never seen"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", *args], cwd=cwd, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return result


def test_babel_extract_update_and_compile_work_and_a_new_language_is_one_catalogue_away(site, tmp_path):
    """The README's steps, run for real: extract, init a new language, translate, build."""
    repo = tmp_path / "repo"
    for part in ("generator", "themes"):
        shutil.copytree(REPO / part, repo / part)
    locales = repo / "themes" / "default" / "locales"
    run(
        "extract",
        "-F",
        "themes/default/babel.cfg",
        "-k",
        "N_",
        "--no-location",
        "--sort-output",
        "-o",
        "themes/default/locales/messages.pot",
        ".",
        cwd=repo,
    )
    run("update", "-i", "themes/default/locales/messages.pot", "-d", "themes/default/locales", cwd=repo)
    for language in SHIPPED:
        compiled = run(
            "compile",
            "--statistics",
            "-i",
            f"themes/default/locales/{language}/LC_MESSAGES/messages.po",
            "-o",
            str(tmp_path / f"{language}.mo"),
            "-l",
            language,
            cwd=repo,
        )
        assert "(100%) translated" in compiled.stderr, compiled.stderr
    run("init", "-i", "themes/default/locales/messages.pot", "-d", "themes/default/locales", "-l", "it", cwd=repo)
    italian = locales / "it" / "LC_MESSAGES" / "messages.po"
    with italian.open("rb") as handle:
        catalogue = read_po(handle, locale="it")
    catalogue["Orders"].string = "Ordini"
    with italian.open("wb") as handle:
        write_po(handle, catalogue)

    site.file("customers.csv", "id,name,lang\nC1,Ferramenta Rossi,it\n")
    site.file("orders.csv", "order,customer,date,sku,qty,price\nA-1,C1,2026-05-01,X,2,1.50\n")
    raw = minimal_config()
    raw["exports"]["customers"]["columns"]["language"] = "lang"
    raw["themes_dir"] = str(repo / "themes")
    result = site.build(raw)
    assert result.ok, result.failure
    page = (site.public / "C1" / "orders.html").read_text(encoding="utf-8")
    assert "<h1>Ordini</h1>" in page or ">Ordini<" in page
    assert ">Overview<" in page  # not translated yet: English, never empty
    assert "€" in page and "1,50" in (site.public / "C1" / "order-A-1.html").read_text()  # Italian number format


def test_content_pages_have_language_variants(demo_build):
    assert "Lieferbedingungen" in text_of(demo_build / "C1002" / "page-delivery-terms.html")
    assert "Conditions de livraison" in text_of(demo_build / "C1003" / "page-delivery-terms.html")
    english = text_of(demo_build / "C1001" / "page-delivery-terms.html")
    assert "Delivery terms" in english and "Lieferbedingungen" not in english
    assert "Delivery terms" in text_of(demo_build / "C1010" / "page-delivery-terms.html")  # Spanish: no variant yet


def test_a_variant_without_its_page_is_reported(site):
    site.file("customers.csv", "id,name\nC1,Alpha\n")
    site.file("orders.csv", "order,customer,date,sku,qty,price\nA-1,C1,2026-05-01,X,2,1.50\n")
    content = site.root / "content"
    content.mkdir()
    (content / "faq.de.md").write_text("---\ntitle: Fragen\n---\nJa.\n")
    result = site.build()
    assert any("faq.de.md" in str(p) and "faq.md, which does not exist" in str(p) for p in result.problems.errors)


def two_customer_site(site, languages: tuple[str, str], **settings):
    """Two customers with a contact and an order each, in the given languages, built encrypted."""
    site.file("customers.csv", f"id,name,lang\nC1,Alpha,{languages[0]}\nC2,Beta,{languages[1]}\n")
    site.file("contacts.csv", "customer,name,email\nC1,Ann,ann@alpha.example\nC2,Bo,bo@beta.example\n")
    site.file("orders.csv", "order,customer,date,sku,qty,price\nA-1,C1,2026-05-01,X,2,1.50\nB-1,C2,2026-05-01,X,1,1\n")
    raw = minimal_config(
        contacts={"file": "contacts.csv", "columns": {"customer": "customer", "name": "name", "email": "email"}}
    )
    raw["exports"]["customers"]["columns"]["language"] = "lang"
    raw["site"]["support_email"] = "help@test.example"
    raw.update(settings)
    result = site.build(raw, encrypt=True, new_keystore=True)
    assert result.ok, result.failure
    return site


@pytest.fixture
def unknown_language_site(site):
    return two_customer_site(site, ("", "en"))


def shell_without_ciphertext(path: Path) -> str:
    html = path.read_text(encoding="utf-8")
    return re.sub(r'(id="portico-gate">)[^<]*<', r"\1<", html)


def test_every_shell_carries_the_words_of_every_language_and_no_customers_language(unknown_language_site):
    public = unknown_language_site.public
    [script] = (public / "_static").glob("sign-in-texts.*.js")
    texts = json.loads(script.read_text(encoding="utf-8").split("=", 1)[1].rstrip().rstrip(";"))
    assert sorted(texts["languages"]) == sorted(SHIPPED) and texts["default"] == "en"
    assert texts["languages"]["de"]["title"] == "Melden Sie sich bei Ihrem Portal an"
    assert texts["languages"]["fr"]["help"] == "Pas de mot de passe, ou oublié ? Écrivez à help@test.example."
    unknown, known = (shell_without_ciphertext(public / c / "index.html") for c in ("C1", "C2"))
    assert unknown == known  # a portal whose language is unknown and one in English: the same shell
    assert 'id="portico-languages"' not in unknown and 'id="portico-messages"' not in unknown


@pytest.mark.browser
@pytest.mark.parametrize(
    "locale, heading, label",
    [
        ("de-DE", "Melden Sie sich bei Ihrem Portal an", "Passwort"),
        ("fr-FR", "Connectez-vous à votre portail", "Mot de passe"),
        ("nl-BE", "Log in op uw portaal", "Wachtwoord"),
        ("ja-JP", "Sign in to your portal", "Password"),  # no catalogue: the site's language
    ],
)
def test_the_sign_in_page_follows_the_browsers_language(unknown_language_site, browser, locale, heading, label):
    server = StaticServer(unknown_language_site.public)
    url = server.url
    try:
        context = browser.new_context(locale=locale)
        page = context.new_page()
        page.goto(f"{url}/C1/")
        page.wait_for_selector("[data-gate-form]:not([hidden])")
        assert page.locator("h1").inner_text() == heading
        assert page.locator("label[for=gate-password]").inner_text() == label
        page.goto(f"{url}/C2/")  # a customer whose language is known: the sign-in page still cannot tell
        page.wait_for_selector("[data-gate-form]:not([hidden])")
        assert page.locator("h1").inner_text() == heading
        context.close()
    finally:
        server.close()


def test_no_shell_tells_its_customers_language_or_look_but_every_page_inside_wears_them(site):
    from generator.seal.blobs import open_blob
    from generator.seal.keystore import read_keystore

    two_customer_site(site, ("de", "fr"), customers={"C2": {"branding": {"display_name": "Beta's portal"}}})
    keystore = read_keystore(site.root / "keystore" / "keystore.json")
    outsides = set()
    for customer, language in (("C1", "de"), ("C2", "fr")):
        html = (site.public / customer / "index.html").read_text(encoding="utf-8")
        outsides.add(re.sub(r'<script type="application/json" id="portico-gate">[^<]*</script>\n', "", html))
        keys = keystore.customers[customer].keys
        pages = 0
        for blob in (site.public / customer).glob("*.bin"):
            opened = open_blob(blob.read_bytes(), f"{customer}/{blob.name}", data_key=keys.data_key).content
            if not opened.startswith(b"<!doctype"):
                continue  # a download, or a decoy: random bytes in a blob like any other
            page = opened.decode("utf-8")
            assert f'<html lang="{language}">' in page, blob
            assert ("Beta&#39;s portal" in page) == (customer == "C2"), blob
            pages += 1
        assert pages >= 4
    assert len(outsides) == 1  # every portal's one public page is alike, but for its key slots
    assert all('<html lang="en">' in o and "Beta" not in o for o in outsides)
