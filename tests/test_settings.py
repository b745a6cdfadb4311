"""Layered settings (global → group → customer) and branding."""

from __future__ import annotations

import html
import re

import pytest
from conftest import minimal_config, static_file

from generator.config import ConfigError
from generator.pipeline import check

CUSTOMERS = (
    "id,name,group,rep\n"
    "C1,Alpha Works,trade,Rita Secretrep\n"
    "C2,Beta Foods,trade,Rita Secretrep\n"
    "C3,Gamma Tools,,Rita Secretrep\n"
)
ORDERS = (
    "order,customer,date,status,po,sku,qty,price\n"
    "A-1,C1,2026-05-01,30,PO-ALPHA-7731,X,2,1.50\n"
    "B-1,C2,2026-06-01,30,PO-BETA-4410,Y,1,9.99\n"
    "G-1,C3,2026-06-03,30,PO-GAMMA-5120,X,1,1\n"
)


@pytest.fixture
def layered(site):
    site.file("customers.csv", CUSTOMERS)
    site.file("orders.csv", ORDERS)
    raw = minimal_config()
    raw["exports"]["customers"]["columns"].update(group="group", sales_rep="rep")
    raw["exports"]["orders"]["columns"].update(status="status", po_number="po")
    raw["site"]["support_email"] = "help@test.example"
    raw["portal"] = {
        "slug": "id",
        "status_map": {"orders": {"30": "in_production"}},
        "branding": {
            "footer": "Global footer",
            "nav_links": [{"label": "Trade counter", "url": "https://example.com/trade", "audience": ["trade"]}],
        },
    }
    raw["groups"] = {"trade": {"branding": {"footer": "Trade footer"}, "modules": {"requests": False}}}
    raw["customers"] = {
        "C1": {
            "branding": {"footer": "Alpha footer"},
            "modules": {"requests": True},
            "hidden_fields": ["po_number", "sales_rep"],
        }
    }
    site.raw = raw
    return site


def built(site, raw=None):
    result = site.build(raw or site.raw)
    assert result.ok, result.failure
    return result


def every_file_text(folder):
    return "\n".join(p.read_bytes().decode("utf-8", "replace") for p in folder.rglob("*") if p.is_file())


def test_a_customers_setting_beats_its_groups_which_beats_the_global_one(layered):
    built(layered)
    footer = {
        c: re.search(
            r'<footer class="site-footer">.*?</footer>', (layered.public / c / "index.html").read_text(), re.S
        )[0]
        for c in ("C1", "C2", "C3")
    }
    assert "Alpha footer" in footer["C1"] and "Trade footer" not in footer["C1"]
    assert "Trade footer" in footer["C2"] and "Global footer" not in footer["C2"]
    assert "Global footer" in footer["C3"]
    # modules: the group switched requests off, C1 switched them back on; C3 has the global default
    assert (layered.public / "C1" / "requests.html").exists()
    assert not (layered.public / "C2" / "requests.html").exists()
    assert (layered.public / "C3" / "requests.html").exists()
    # a navigation link for one group only
    assert "https://example.com/trade" in (layered.public / "C2" / "index.html").read_text()
    assert "https://example.com/trade" not in (layered.public / "C3" / "index.html").read_text()


def test_a_hidden_field_is_absent_from_that_customers_pages_and_downloads(layered):
    built(layered)
    alpha = every_file_text(layered.public / "C1")
    assert "PO-ALPHA-7731" not in alpha and "Secretrep" not in alpha
    assert "Your reference" not in (layered.public / "C1" / "orders.html").read_text()  # the column itself is gone
    assert (
        "po_number" not in (layered.public / "C1" / "orders.csv").read_text()
        and "Your reference" not in (layered.public / "C1" / "orders.csv").read_text()
    )
    beta = every_file_text(layered.public / "C2")  # the same fields show for the customer next door
    assert "PO-BETA-4410" in beta and "Rita Secretrep" in beta


def test_stages_and_status_map_per_group(layered):
    raw = layered.raw
    raw["groups"]["trade"].update(
        order_stages=["received", "confirmed", "shipped", "delivered"], status_map={"orders": {"30": "confirmed"}}
    )
    built(layered, raw)
    trade = (layered.public / "C2" / "order-B-1.html").read_text()
    assert 'class="state state-confirmed"' in trade and "In production" not in trade
    other = (layered.public / "C3" / "order-G-1.html").read_text()
    assert 'class="state state-in_production"' in other and "In production" in other


def test_language_and_date_format_by_group_but_the_exports_language_wins(layered):
    raw = layered.raw
    raw["groups"]["trade"].update(language="de", date_format="dd.MM.yyyy")
    raw["exports"]["customers"]["columns"]["language"] = "lang"
    layered.file(
        "customers.csv",
        "id,name,group,rep,lang\nC1,Alpha Works,trade,Rita,fr\nC2,Beta Foods,trade,Rita,\nC3,Gamma Tools,,Rita,\n",
    )
    built(layered, raw)
    assert '<html lang="fr">' in (layered.public / "C1" / "index.html").read_text()  # the export says fr
    beta = (layered.public / "C2" / "index.html").read_text()
    assert '<html lang="de">' in beta and "Datenstand 30.06.2026" in beta  # the group's language and format
    assert '<html lang="en">' in (layered.public / "C3" / "index.html").read_text()


def test_branding_colours_css_logo_and_texts(layered, tmp_path):
    (layered.root / "brand").mkdir()
    (layered.root / "brand" / "alpha.png").write_bytes(b"\x89PNG\r\n\x1a\nalpha")
    (layered.root / "brand" / "extra.css").write_text(".site-footer { font-style: italic; }")
    raw = layered.raw
    raw["portal"]["branding"].update(
        display_name="Test Supply Portal",
        welcome="Hello, trade partner.",
        after_sign_in="**Closed** on 24 December.",
        extra_css=["brand/extra.css"],
        colors={"brand": "#0b5d3b"},
    )
    raw["customers"]["C1"]["branding"].update(logo="brand/alpha.png", colors={"brand": "rgb(120 20 20)"})
    built(layered, raw)
    out = layered.public
    alpha, gamma = (out / "C1" / "index.html").read_text(), (out / "C3" / "index.html").read_text()
    assert "<strong>Closed</strong> on 24 December." in alpha
    assert "Test Supply Portal" in alpha
    alpha_sheets = re.findall(r'<link rel="stylesheet" href="\.\./(_static/[^"]+)"', alpha)
    gamma_sheets = re.findall(r'<link rel="stylesheet" href="\.\./(_static/[^"]+)"', gamma)
    assert alpha_sheets[0] == gamma_sheets[0] == static_file(out, "portico.css")
    assert alpha_sheets[-1] == gamma_sheets[-1] == static_file(out, "extra.css")  # the site's own CSS comes last
    assert "--brand: rgb(120 20 20);" in (out / alpha_sheets[1]).read_text()
    assert "--brand: #0b5d3b;" in (out / gamma_sheets[1]).read_text()
    logo = re.search(r'<img class="logo" src="\.\./(_static/[^"]+)"', alpha)[1]
    assert (out / logo).read_bytes().endswith(b"alpha") and '<img class="logo"' not in gamma
    encrypted = layered.build(raw, encrypt=True, new_keystore=True, output_dir=layered.root / "sealed")
    assert encrypted.ok, encrypted.failure
    assert "Hello, trade partner." in (layered.root / "sealed" / "C3" / "index.html").read_text()


@pytest.mark.parametrize(
    "change, message",
    [
        (
            lambda raw: raw["customers"]["C1"].update(modules={"qoutes": False}),
            "customers.C1.modules.qoutes: unknown key",
        ),
        (
            lambda raw: raw["groups"]["trade"].update(hidden_fields=["salary"]),
            "groups.trade.hidden_fields.0: Input should be",
        ),
        (lambda raw: raw["groups"]["trade"].update(slug="id"), "groups.trade.slug: site-wide only"),
        (
            lambda raw: raw["groups"]["trade"].update(branding={"colors": {"brand": "red; } body { display: none"}}),
            "is not a CSS colour",
        ),
        (lambda raw: raw["customers"]["C1"].update(date_format="bogus"), "customers.C1.date_format"),
        (lambda raw: raw["customers"]["C1"].update(date_format="'on' xx"), "has no day, month or year"),
        (
            lambda raw: raw["customers"]["C1"].update(status_map={"orders": {"30": "teleported"}}),
            "customers.C1.status_map.orders.30: 'teleported' is not one of",
        ),
    ],
)
def test_mistakes_in_a_layer_name_the_key(layered, change, message):
    change(layered.raw)
    with pytest.raises(ConfigError) as error:
        layered.load(layered.raw)
    assert any(message in problem for problem in error.value.problems), error.value.problems


def test_check_warns_about_settings_for_unknown_customers_groups_and_stages(layered):
    raw = layered.raw
    raw["customers"]["C99"] = {"modules": {"quotes": False}}
    raw["groups"]["wholesale"] = {
        "order_stages": ["received", "packed", "shipped"],
        "default_stage": "received",
        "status_map": {"orders": {"30": "packed"}},
    }
    _, problems = check(layered.load(raw))
    warnings = [str(w) for w in problems.warnings]
    assert any("customers.C99" in w and "no customer 'C99'" in w for w in warnings), warnings
    assert any("groups.wholesale" in w and "no customer is in group 'wholesale'" in w for w in warnings)
    assert any("stage 'packed' is not one of portal.order_stages" in w for w in warnings)
    assert not problems.errors


def test_portal_switch_actions_channel_and_payment_link_per_layer(layered):
    layered.file("invoices.csv", "number,customer,date,total\nI-1,C1,2026-06-01,100\nI-2,C3,2026-06-01,50\n")
    raw = layered.raw
    raw["exports"]["invoices"] = {
        "file": "invoices.csv",
        "columns": {"number": "number", "customer": "customer", "date": "date", "total": "total"},
    }
    raw["portal"]["payment_link_template"] = "https://pay.example.com/{invoice}"
    raw["customers"]["C1"].update(
        actions={"channel": "form", "form_url": "https://forms.example.com/alpha"},
        payment_link_template="https://alpha-pay.example.com/{invoice}?amount={balance}",
    )
    raw["customers"]["C2"] = {"enabled": False}
    result = built(layered, raw)
    assert sorted(p.customer_id for p in result.portals) == ["C1", "C3"]  # C2's portal is switched off
    alpha = html.unescape((layered.public / "C1" / "requests.html").read_text())
    assert 'action="https://forms.example.com/alpha"' in alpha
    assert "form-action https://forms.example.com/alpha;" in alpha  # the CSP names the endpoint only
    assert "form-action 'none'" in html.unescape((layered.public / "C3" / "requests.html").read_text())
    assert "https://forms.example.com" not in (layered.public / "C3" / "requests.html").read_text()
    assert "https://alpha-pay.example.com/I-1?amount=100.00" in (layered.public / "C1" / "invoice-I-1.html").read_text()
    assert "https://pay.example.com/I-2" in (layered.public / "C3" / "invoice-I-2.html").read_text()
