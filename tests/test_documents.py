"""Export documents are attacker-controlled rows: they may publish only plain files of the
documents folder, read through no link, and are always downloads, never pages."""

from __future__ import annotations

import os
import re

import pytest
from conftest import minimal_config

from generator import pipeline
from generator.read.documents import DocumentRefused, locate, read_document

ORDERS = "order,customer,date,sku,qty,price\nA-1,C1,2026-05-01,X,1,2\n"
CONTACTS = "customer,name,email\nC1,Ann,ann@alpha.example\nC2,Bo,bo@beta.example\n"


def documents_site(site, rows: str, folder: str | None = None):
    site.file("customers.csv", "id,name\nC1,Alpha Works\nC2,Beta Foods\n")
    site.file("orders.csv", ORDERS)
    site.file("contacts.csv", CONTACTS)
    site.file("documents.csv", "c,t,f\n" + rows)
    site.file("documents/manual.pdf", b"%PDF-1.4 the manual")
    documents = {"file": "documents.csv", "columns": {"customer": "c", "title": "t", "file": "f"}}
    if folder is not None:
        documents["folder"] = folder
    raw = minimal_config(
        documents=documents,
        contacts={"file": "contacts.csv", "columns": {"customer": "customer", "name": "name", "email": "email"}},
    )
    return raw


def refused(result) -> list[tuple[int | None, str, str]]:
    return [(p.row, p.kind, p.message) for p in result.problems.errors]


def published_bytes(site, portal: str = "") -> bytes:
    return b"".join(p.read_bytes() for p in (site.public / portal).rglob("*") if p.is_file())


def test_a_row_cannot_publish_an_export_table(site):
    raw = documents_site(site, "C1,Manual,documents/manual.pdf\nC1,Leak,contacts.csv\nC1,Leak2,../contacts.csv\n")
    result = site.build(raw)
    assert [(row, kind) for row, kind, _ in refused(result)] == [(3, "refused-file"), (4, "refused-file")]
    assert b"bo@beta.example" not in published_bytes(site, "C1")  # another customer's address stays out
    assert b"the manual" in published_bytes(site)


def test_a_documents_folder_holding_export_tables_publishes_no_document(site):
    raw = documents_site(site, "C1,Leak,contacts.csv\n", folder=".")
    result = site.build(raw)
    [(row, kind, message)] = refused(result)
    assert (row, kind) == (None, "unsafe-documents-folder") and "contacts.csv" in message
    assert b"bo@beta.example" not in published_bytes(site, "C1")


def test_hard_links_and_symbolic_links_are_refused(site, tmp_path):
    secret = tmp_path / "outside" / "passwd"
    secret.parent.mkdir()
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n")
    raw = documents_site(
        site,
        "C1,Hard,documents/hard.txt\nC1,Soft,documents/soft.txt\nC1,Inside,documents/linked/passwd\n"
        "C1,Manual,documents/manual.pdf\n",
    )
    os.link(secret, site.root / "export" / "documents" / "hard.txt")
    os.symlink(secret, site.root / "export" / "documents" / "soft.txt")
    os.symlink(secret.parent, site.root / "export" / "documents" / "linked")
    result = site.build(raw)
    problems = {row: message for row, _, message in refused(result)}
    assert sorted(problems) == [2, 3, 4]
    assert "hard links" in problems[2]
    assert "symbolic link" in problems[3] and "symbolic link" in problems[4]
    assert b"root:x:0" not in published_bytes(site)
    assert b"the manual" in published_bytes(site)


def test_a_file_swapped_for_a_link_after_it_was_checked_is_not_read(site, tmp_path):
    folder = site.root / "export" / "documents"
    folder.mkdir(parents=True)
    (folder / "invoice.pdf").write_bytes(b"%PDF-1.4 genuine")
    secret = tmp_path / "passwd"
    secret.write_text("root:x:0:0\n")
    checked = locate(folder.resolve(), "invoice.pdf", "documents.csv row 2")
    assert read_document(checked) == b"%PDF-1.4 genuine"
    (folder / "invoice.pdf").unlink()
    os.symlink(secret, folder / "invoice.pdf")
    with pytest.raises(DocumentRefused, match=r"documents\.csv row 2: .*symbolic link"):
        read_document(checked)
    (folder / "invoice.pdf").unlink()
    (folder / "invoice.pdf").write_bytes(b"%PDF-1.4 other bytes!")  # a plain file, but not the one checked
    with pytest.raises(DocumentRefused, match="replaced or changed"):
        read_document(checked)


def test_a_build_whose_document_is_swapped_mid_build_fails_and_publishes_nothing(site, tmp_path, monkeypatch):
    raw = documents_site(site, "C1,Manual,documents/manual.pdf\n")
    secret = tmp_path / "passwd"
    secret.write_text("root:x:0:0\n")
    original = pipeline.plan_site

    def swap_then_plan(*args, **kwargs):  # after the export was modelled, before anything is read
        target = site.root / "export" / "documents" / "manual.pdf"
        target.unlink()
        os.symlink(secret, target)
        return original(*args, **kwargs)

    monkeypatch.setattr(pipeline, "plan_site", swap_then_plan)
    result = site.build(raw)
    assert not result.ok and "documents.csv row 2" in result.failure and "symbolic link" in result.failure
    assert not site.public.exists() or b"root:x:0" not in published_bytes(site)


@pytest.mark.parametrize("encrypt", [False, True])
def test_html_and_svg_documents_are_downloads_never_pages(site, encrypt):
    site.file("documents/evil.html", '<meta http-equiv="refresh" content="0;url=https://evil.example/">')
    site.file("documents/evil.svg", '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
    raw = documents_site(site, "C1,Page,documents/evil.html\nC1,Image,evil.svg\nC1,Manual,documents/manual.pdf\n")
    result = site.build(raw, encrypt=encrypt, new_keystore=encrypt)
    assert result.ok, result.failure
    names = [p.name for p in site.public.rglob("*") if p.is_file()]
    assert not [n for n in names if n.startswith("document-") and not n.endswith((".bin", ".pdf"))]
    if not encrypt:
        portal = site.public / "C1"
        documents = (portal / "documents.html").read_text()
        links = re.findall(r'<a href="(document-[^"]+)" download="([^"]+)"', documents)
        assert sorted(links, key=lambda link: link[1]) == sorted(
            [(n, d) for n, d in links if n.endswith((".bin", ".pdf"))], key=lambda link: link[1]
        )
        assert {d for _, d in links} == {"evil.html", "evil.svg", "manual.pdf"}  # saved under their own names
        assert not any(n.endswith((".html", ".svg")) for n, _ in links)


def test_a_preview_carries_the_same_content_security_policy_as_an_encrypted_build(site, tmp_path):
    raw = documents_site(site, "C1,Manual,documents/manual.pdf\n")
    assert site.build(raw).ok
    policy = re.compile(r'http-equiv="Content-Security-Policy" content="([^"]+)"')
    preview = {policy.search(p.read_text()).group(1) for p in (site.public / "C1").glob("*.html")}
    raw["portal"]["slug"] = "opaque"
    assert site.build(raw, encrypt=True, new_keystore=True).ok
    shells = {policy.search(p.read_text()).group(1) for p in site.public.glob("*/*.html")}
    assert len(preview) == 1 and preview == shells


def test_a_documents_folder_holding_the_keystore_or_the_output_publishes_no_document(site):
    raw = documents_site(site, "C1,Manual,documents/manual.pdf\n")
    raw["gate"]["keystore"] = "export/documents/keystore.json"
    result = site.build(raw)
    [(row, kind, message)] = refused(result)
    assert (row, kind) == (None, "unsafe-documents-folder") and "keystore.json" in message


def test_a_document_in_a_folder_outside_the_export_is_an_input_of_the_build(site):
    """A documents folder beside the export (`folder: ../docs`): changing a file in it is not a
    no-op, as changing a file in the export folder is not."""
    raw = documents_site(site, "C1,Manual,manual.pdf\n", folder="../docs")
    (site.root / "docs").mkdir()
    (site.root / "docs" / "manual.pdf").write_bytes(b"%PDF-1.4 the manual")
    assert site.build(raw).ok
    assert site.build(raw).noop
    (site.root / "docs" / "manual.pdf").write_bytes(b"%PDF-1.4 the manual, second edition")
    again = site.build(raw)
    assert again.ok and not again.noop
    assert b"second edition" in published_bytes(site)
