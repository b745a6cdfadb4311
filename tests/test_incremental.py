"""Incremental builds: for every kind of change, only what depends on it is rendered again, and
the result is exactly the tree a fresh full build makes."""

from __future__ import annotations

import hashlib
import os
import shutil

import pytest
from conftest import REPO, minimal_config, static_file

from generator.pipeline import BuildOptions, build, check
from generator.seal import manage as staff
from generator.seal.keystore import Keystore, read_keystore
from generator.site.slugs import opaque_slug

CUSTOMERS = "id,name,group,portal\nC1,Alpha Works,key,yes\nC2,Beta Foods,trade,yes\nC3,Gamma Tools,trade,yes\n"
CONTACTS = "customer,name,email\nC1,Ann,ann@alpha.example\nC2,Cy,cy@beta.example\nC3,Di,di@gamma.example\n"
ORDERS = (
    "order,customer,date,sku,qty,price\nA-1,C1,2026-05-01,X,2,1.50\nA-2,C1,2026-05-02,Y,1,4\n"
    "B-1,C2,2026-06-01,Y,1,9.99\nB-2,C2,2026-06-02,Z,3,2\nG-1,C3,2026-06-03,X,1,1\n"
)
QUOTES = "quote,customer,date,sku,qty,price\nQ-1,C1,2026-06-01,X,5,1\nQ-2,C3,2026-06-02,Y,1,2\n"


def tree(folder):
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and ".portico" not in p.parts
    }


@pytest.fixture
def project(site, tmp_path):
    site.file("customers.csv", CUSTOMERS)
    site.file("contacts.csv", CONTACTS)
    site.file("orders.csv", ORDERS)
    site.file("quotes.csv", QUOTES)
    themes = tmp_path / "themes"
    shutil.copytree(REPO / "themes", themes)
    content = site.root / "content"
    content.mkdir()
    (content / "terms.md").write_text("---\ntitle: Terms\n---\nPay on time.\n")
    raw = minimal_config(
        contacts={"file": "contacts.csv", "columns": {"customer": "customer", "name": "name", "email": "email"}},
        quotes={
            "file": "quotes.csv",
            "group_by": "number",
            "columns": {"number": "quote", "customer": "customer", "date": "date"},
            "lines": {"columns": {"sku": "sku", "quantity": "qty", "unit_price": "price"}},
        },
    )
    raw["exports"]["customers"]["columns"].update(group="group", portal_enabled="portal")
    raw["portal"] = {"slug": "opaque"}
    raw["themes_dir"] = str(themes)
    site.raw, site.themes = raw, themes
    result = site.build(raw, encrypt=True, new_keystore=True)
    assert result.ok, result.failure
    assert len(result.engine.rendered) == result.files  # the first build renders everything
    return site


def rebuild_and_compare(project):
    """An incremental build; then a full build from scratch must give the very same tree."""
    result = project.build(project.raw, encrypt=True)
    assert result.ok, result.failure
    fresh = project.root / "fresh"
    full = project.build(project.raw, encrypt=True, full=True, output_dir=fresh)
    assert full.ok, full.failure
    assert tree(project.public) == tree(fresh)
    return result


def portal_of(project, customer_id):
    ks = read_keystore(project.root / "keystore" / "keystore.json")
    return opaque_slug(ks.site_key, customer_id) + "/"


def test_nothing_changed_is_a_no_op(project):
    result = project.build(project.raw, encrypt=True)
    assert result.noop


def test_one_customers_data(project):
    project.file("orders.csv", ORDERS.replace("B-2,C2,2026-06-02,Z,3,2", "B-2,C2,2026-06-02,Z,4,2"))
    rendered = rebuild_and_compare(project).engine.rendered
    assert rendered and all(p.startswith(portal_of(project, "C2")) for p in rendered)


def test_a_template(project):
    quote = project.themes / "default" / "templates" / "quote.html"
    source = quote.read_text()
    assert "{{ quote.date|date }}" in source
    quote.write_text(source.replace("{{ quote.date|date }}", "{{ quote.date|date('long') }}"))
    rendered = rebuild_and_compare(project).engine.rendered
    assert sorted(p.split("/", 1)[1] for p in rendered) == ["quote-Q-1.html", "quote-Q-2.html"]


def test_a_site_template_override(project):
    (project.root / "templates").mkdir()
    source = (project.themes / "default" / "templates" / "account.html").read_text()
    (project.root / "templates" / "account.html").write_text(source.replace("Your account", "Your details"))
    rendered = rebuild_and_compare(project).engine.rendered
    assert sorted(p.split("/", 1)[1] for p in rendered) == ["account.html"] * 3


def test_a_content_page(project):
    (project.root / "content" / "terms.md").write_text("---\ntitle: Terms\n---\nPay within 30 days.\n")
    rendered = rebuild_and_compare(project).engine.rendered
    assert sorted(p.split("/", 1)[1] for p in rendered) == ["page-terms.html"] * 3


def test_a_new_content_page_reaches_its_audience_only(project):
    (project.root / "content" / "vip.md").write_text("---\ntitle: Key accounts\naudience: [key]\n---\nHi.\n")
    rendered = rebuild_and_compare(project).engine.rendered
    assert rendered and all(p.startswith(portal_of(project, "C1")) for p in rendered)  # the nav changed there


def test_css(project):
    """A stylesheet's name carries its hash, so every page that links it changes with it; nothing else does."""
    css = project.themes / "default" / "static" / "portico.css"
    css.write_text(css.read_text() + "\n.brand { letter-spacing: .02em; }\n")
    rendered = rebuild_and_compare(project).engine.rendered
    assert [p for p in rendered if p.startswith("_static/")] == [static_file(project.public, "portico.css")]
    assert all(p.endswith((".html", ".html.shell", ".txt")) for p in rendered if not p.startswith("_static/")), rendered
    assert not any(p.endswith((".csv", ".js")) for p in rendered)


def test_config_that_rendering_reads_and_config_it_does_not(project):
    project.raw["publish"] = {"concurrency": 3}
    result = rebuild_and_compare(project)
    assert not result.noop and result.engine.rendered == []  # publishing settings render nothing
    project.raw.setdefault("portal", {}).setdefault("branding", {})["footer"] = "Test Supply Ltd, 1 Main Street"
    rendered = rebuild_and_compare(project).engine.rendered
    assert any(p.endswith("/index.html") for p in rendered) and not any(p.startswith("_static/") for p in rendered)


def test_a_customers_settings_and_a_groups_settings(project):
    project.raw["customers"] = {"C2": {"branding": {"footer": "Beta's own footer"}}}
    rendered = rebuild_and_compare(project).engine.rendered
    assert rendered and all(p.startswith(portal_of(project, "C2")) for p in rendered)
    project.raw["groups"] = {"trade": {"modules": {"quotes": False}}}
    rendered = rebuild_and_compare(project).engine.rendered
    touched = {p.split("/")[0] + "/" for p in rendered}
    assert touched == {portal_of(project, "C2"), portal_of(project, "C3")}  # the trade group, not C1 (key)


def test_password_rotation_keeping_the_key_remakes_only_the_entry_shell(project):
    ks = read_keystore(project.root / "keystore" / "keystore.json")
    ledger, _ = check(project.load(project.raw))
    staff.rotate_passwords(ledger, ks, "C3", keep_key=True)
    ks.save()
    assert rebuild_and_compare(project).engine.rendered == [portal_of(project, "C3") + "index.html.shell"]  # the slots


def test_password_rotation_rekeys_only_that_customer(project):
    ks = read_keystore(project.root / "keystore" / "keystore.json")
    ledger, _ = check(project.load(project.raw))
    staff.rotate_passwords(ledger, ks, "C3")
    ks.save()
    rendered = rebuild_and_compare(project).engine.rendered
    assert rendered and {p.split("/")[0] + "/" for p in rendered} == {portal_of(project, "C3")}


def test_a_customer_added(project):
    project.file("customers.csv", CUSTOMERS + "C4,Delta Parts,trade,yes\n")
    project.file("contacts.csv", CONTACTS + "C4,Ed,ed@delta.example\n")
    rendered = rebuild_and_compare(project).engine.rendered
    assert rendered and all(p.startswith(portal_of(project, "C4")) for p in rendered)


def test_a_customer_disabled(project):
    gone = portal_of(project, "C2")
    project.file("customers.csv", CUSTOMERS.replace("Beta Foods,trade,yes", "Beta Foods,trade,no"))
    result = rebuild_and_compare(project)
    assert result.engine.rendered == []
    assert not (project.public / gone).exists()


def test_a_customer_removed(project):
    gone = portal_of(project, "C3")
    project.file("customers.csv", CUSTOMERS.replace("C3,Gamma Tools,trade,yes\n", ""))
    project.file("contacts.csv", CONTACTS.replace("C3,Di,di@gamma.example\n", ""))
    project.file("orders.csv", ORDERS.replace("G-1,C3,2026-06-03,X,1,1\n", ""))
    project.file("quotes.csv", QUOTES.replace("Q-2,C3,2026-06-02,Y,1,2\n", ""))
    result = rebuild_and_compare(project)
    assert result.engine.rendered == [] and not (project.public / gone).exists()


def test_unchanged_files_are_not_rewritten(project):
    before = {p: p.stat().st_ino for p in project.public.rglob("*.html")}
    project.file("orders.csv", ORDERS.replace("G-1,C3,2026-06-03,X,1,1", "G-1,C3,2026-06-03,X,2,1"))
    assert project.build(project.raw, encrypt=True).ok
    c3 = portal_of(project, "C3")
    for path, inode in before.items():
        if path.exists() and c3 not in path.as_posix():
            assert path.stat().st_ino == inode, path  # the same file, carried over


def test_a_full_build_links_the_files_the_output_holds_byte_for_byte_and_writes_the_rest(project):
    files = [p for p in project.public.rglob("*") if p.is_file() and ".portico" not in p.parts]
    before = {p: p.stat().st_ino for p in files}
    names = set(tree(project.public))
    outside = project.root / "outside"
    outside.mkdir()
    portal = next(p for p in sorted(project.public.iterdir()) if p.is_dir() and p.name != ".portico")
    elsewhere = [p for p in files if portal not in p.parents]
    altered, replaced, shared, writable = elsewhere[:4]  # the same bytes the build makes, each but the first
    altered.write_bytes(altered.read_bytes()[:-1] + b"!")  # in place: the inode stays, the bytes differ
    (outside / "secret").write_bytes(replaced.read_bytes())
    replaced.unlink()
    replaced.symlink_to(outside / "secret")  # reached through a link out of the output
    os.link(shared, outside / "shared")  # another name outside could change it after the build
    writable.chmod(0o666)  # anyone could
    shutil.copytree(portal, outside / portal.name)
    shutil.rmtree(portal)
    portal.symlink_to(outside / portal.name)  # a folder reached through a link out of the output
    result = project.build(project.raw, encrypt=True, full=True)
    assert result.ok, result.failure
    assert len(result.engine.rendered) == result.files  # rendered and sealed, every one
    anew = {altered, replaced, shared, writable}
    for path, inode in before.items():
        if path in anew or portal in path.parents:
            assert path.lstat().st_ino != inode and path.lstat().st_nlink == 1, path  # written anew
            assert not path.is_symlink() and not portal.is_symlink(), path
        else:
            assert path.stat().st_ino == inode, path  # the same bytes: linked
    fresh = project.root / "fresh"
    assert project.build(project.raw, encrypt=True, full=True, output_dir=fresh).ok
    assert tree(project.public) == tree(fresh)  # the altered file is right again, the linked ones were right
    assert set(tree(fresh)) == names


def test_corrupt_state_means_a_full_build(project):
    (project.public / ".portico" / "build.json").write_text("{not json")
    result = project.build(project.raw, encrypt=True)
    assert result.ok and len(result.engine.rendered) == result.files


def test_parallel_and_single_process_builds_are_identical(project):
    one = project.build(project.raw, encrypt=True, full=True, workers=1, output_dir=project.root / "one")
    two = project.build(project.raw, encrypt=True, full=True, workers=2, output_dir=project.root / "two")
    assert one.ok and two.ok and two.engine.workers == 2 and one.engine.workers == 1
    assert tree(project.root / "one") == tree(project.root / "two") == tree(project.public)


@pytest.mark.parametrize(
    "damage", ["marker of an earlier version", "a file added", "a file removed", "a file added inside a portal"]
)
def test_a_state_that_does_not_describe_its_tree_is_not_trusted(project, damage):
    """A state is the state of exactly the files beside it: if anything wrote into or deleted from
    the output since (or an earlier version's move-in was cut short), the next build renders
    everything and publishing refuses."""
    from generator.config import PublishConfig
    from generator.publish.files import PublishError, local_files

    if damage == "marker of an earlier version":
        (project.public / ".portico" / "applying").touch()
    elif damage == "a file added":
        (project.public / "stray.html").write_text("not built")
    elif damage == "a file added inside a portal":
        (next(project.public.glob("*/index.html")).parent / "stray.bin").write_bytes(b"not built")
    else:
        next(project.public.glob("*/*.bin")).unlink()
    with pytest.raises(PublishError, match="no complete build"):
        local_files(project.public, PublishConfig())
    result = project.build(project.raw, encrypt=True)
    assert result.ok and len(result.engine.rendered) == result.files
    assert not (project.public / ".portico" / "applying").exists() and not (project.public / "stray.html").exists()
    assert not list(project.public.glob("*/stray.bin"))


def test_the_folders_stamps_vouch_for_the_state_without_listing_them(project, monkeypatch):
    """After a build, each folder's inode and time stand for its listing: the next build trusts
    the state without listing every folder, and a name added anywhere changes a time."""
    from generator.output import state

    monkeypatch.setattr(state, "holds_exactly", lambda root, files: pytest.fail("listed the folders"))
    assert state.read_state(project.public) is not None
    folder = next(project.public.glob("*/index.html")).parent
    (folder / "stray.bin").write_bytes(b"not built")
    (folder / "stray.bin").unlink()  # the same names again, but the folder's time moved on
    monkeypatch.undo()
    calls = []
    monkeypatch.setattr(state, "holds_exactly", lambda root, files: calls.append(root) or True)
    assert state.read_state(project.public) is not None and calls == [project.public]  # listed, then trusted


def test_stamps_of_another_state_are_not_trusted(project, monkeypatch):
    """The stamps name the state file they were taken with: a state written again (by hand, or
    restored from a copy) is checked by listing its folders."""
    from generator.output import state

    build_json = project.public / ".portico" / "build.json"
    build_json.write_bytes(build_json.read_bytes())
    assert not state.folders_unchanged(project.public, state._stamp(build_json.stat()))
    monkeypatch.setattr(state, "holds_exactly", lambda root, files: False)
    assert state.read_state(project.public) is None


def test_an_output_copied_elsewhere_is_checked_by_listing_then_built_incrementally(project):
    copy = project.root / "copied"
    shutil.copytree(project.public, copy)  # every folder a new inode: the stamps no longer vouch
    result = project.build(project.raw, encrypt=True, output_dir=copy)
    assert result.ok and result.noop
    project.file("orders.csv", ORDERS.replace("G-1,C3,2026-06-03,X,1,1", "G-1,C3,2026-06-03,X,2,1"))
    result = project.build(project.raw, encrypt=True, output_dir=copy)
    assert result.ok and 0 < len(result.engine.rendered) < result.files


def test_mapping_a_new_entity_adds_its_section_to_every_portal(project):
    """The export mapping is not part of a page's recipe, but which entities it maps is: every
    portal's navigation shows a Documents entry once documents are mapped, even a portal with none."""
    project.file("documents.csv", "customer,title,file\nC1,Alpha contract,contract.pdf\n")
    project.file("docs/contract.pdf", b"%PDF-1.4 alpha")
    columns = {"customer": "customer", "title": "title", "file": "file"}
    project.raw["exports"]["documents"] = {"file": "documents.csv", "folder": "docs", "columns": columns}
    result = rebuild_and_compare(project)
    assert any(path.startswith(portal_of(project, "C2")) for path in result.engine.rendered)


def test_a_config_saved_after_it_was_read_is_read_by_the_next_build(site):
    """The build records config.yaml as it parsed it, not as it is when the build starts."""
    site.file("customers.csv", CUSTOMERS)
    site.file("orders.csv", ORDERS)
    raw = minimal_config()
    assert site.build(raw).ok
    config = site.load(raw)  # what the build will use
    renamed = {**raw, "site": {**raw["site"], "name": "Renamed Supply"}}
    site.config(renamed)  # saved before the build takes its digests
    assert build(config, BuildOptions(encrypt=False)).ok
    assert not site.build(renamed).noop


def test_a_preview_never_records_a_keystore_made_while_it_ran(site, monkeypatch):
    """A preview reads the keystore (for opaque folder names) but holds no lock on it: one made by
    another process meanwhile is not what the preview read, and the next build looks again."""
    import generator.pipeline as pipeline

    site.file("customers.csv", CUSTOMERS)
    site.file("orders.csv", ORDERS)
    raw = {**minimal_config(), "portal": {"slug": "opaque"}}
    config = site.load(raw)
    keystore = config.path(config.gate.keystore)
    plan_stage = pipeline.plan_stage

    def made_meanwhile(*args, **kwargs):  # after the preview looked for a keystore (none)
        if not keystore.exists():
            Keystore.create(keystore).save()
        return plan_stage(*args, **kwargs)

    monkeypatch.setattr(pipeline, "plan_stage", made_meanwhile)
    assert build(config, BuildOptions(encrypt=False)).ok and keystore.exists()
    monkeypatch.setattr(pipeline, "plan_stage", plan_stage)
    again = site.build(raw)
    assert not again.noop  # and now it uses the keystore: opaque folders
    assert opaque_slug(read_keystore(keystore).site_key, "C1") in {p.name for p in site.public.iterdir()}
