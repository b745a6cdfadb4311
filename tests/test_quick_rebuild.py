"""Quick rebuilds: when only export rows changed, only the customers owning those rows are read
again and re-rendered, and the output is still exactly what a full build makes. Anything the
quick way cannot promise falls back to the ordinary build, which the session reports by not
counting a quick build.

Every test runs twice: in a long-running process (`portico serve` keeps its session in memory)
and as separate `portico build` processes (each a new session, from what the last build kept
beside the output)."""

from __future__ import annotations

import gzip
import hashlib
import threading
from types import SimpleNamespace

import pytest
from conftest import SavedAt, direct_link_parts
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_incremental import CONTACTS, CUSTOMERS, ORDERS, portal_of, project, tree  # noqa: F401 (fixture)

from generator.incremental import export_diff, kept
from generator.incremental.session import Session
from generator.pipeline import BuildOptions
from generator.read import SKIPPED


@pytest.fixture(params=["serve", "build"])
def served(project, request):  # noqa: F811  (the fixture imported above)
    """The project after a first build, as `portico serve` starts (one session for every build)
    or as `portico build` leaves it (a new session, kept beside the output, for every build)."""
    project.separate_processes = request.param == "build"
    session = project_session(project, Session())
    result = project.build(project.raw, encrypt=True, session=session, full=project.separate_processes)
    assert result.ok and session.memory is not None
    assert kept.path_in(project.public).exists() == project.separate_processes
    return project


def project_session(project, session=None):  # noqa: F811
    """The session the next build runs in."""
    if project.separate_processes:
        project.session = Session(keep=True)
    elif session is not None:
        project.session = session
    return project.session


def rebuild(project, quick: bool):  # noqa: F811
    """Rebuild in the session; check whether it went the quick way and that the tree equals a fresh full build."""
    session = project_session(project)
    before = session.quick_builds
    result = project.build(project.raw, encrypt=True, session=session)
    assert result.ok, result.failure
    assert session.quick_builds == before + quick
    fresh = project.root / f"fresh-{len(list(project.root.glob('fresh-*')))}"
    full = project.build(project.raw, encrypt=True, full=True, output_dir=fresh)
    assert full.ok and tree(project.public) == tree(fresh)
    assert result.files == full.files and result.pages == full.pages and result.bytes == full.bytes
    assert result.unopenable == full.unopenable
    assert [(p.customer_id, p.pages, p.files) for p in result.portals] == [
        (p.customer_id, p.pages, p.files) for p in full.portals
    ]
    return result


def only_in(project, customer_ids, rendered):  # noqa: F811
    portals = tuple(portal_of(project, c) for c in customer_ids)
    return rendered and all(path.startswith(portals) for path in rendered)


@pytest.mark.parametrize("full", [True, False], ids=["ordinary", "quick"])
def test_an_export_saved_while_a_build_reads_it_is_read_by_the_next(served, full):
    read = ORDERS.replace("B-2,C2,2026-06-02,Z,3,2", "B-2,C2,2026-06-02,Z,4,2")
    saved = read.replace("A-1,C1,2026-05-01,X,2,1.50", "A-1,C1,2026-05-01,X,7,1.50")
    served.file("orders.csv", read)
    session = project_session(served)
    midway = SavedAt(served, "Rendering portals", "orders.csv", saved)
    result = session.build(served.load(served.raw), BuildOptions(encrypt=True, full=full), midway)
    assert result.ok and midway.saved
    assert portal_of(served, "C1") + "order-A-1.html" not in result.engine.rendered or full
    # the build recorded what it read, not what was there when it finished: the next one is no
    # no-op, and shows the saved rows (the ordinary build kept no lines to compare: they were
    # not the lines it read)
    after = rebuild(served, quick=not full)
    assert not after.noop and portal_of(served, "C1") + "order-A-1.html" in after.engine.rendered


def test_a_changed_row_rebuilds_its_customer_only(served):
    served.file("orders.csv", ORDERS.replace("B-2,C2,2026-06-02,Z,3,2", "B-2,C2,2026-06-02,Z,4,2"))
    result = rebuild(served, quick=True)
    assert only_in(served, ["C2"], result.engine.rendered)
    served.file("orders.csv", ORDERS)  # and back again
    assert only_in(served, ["C2"], rebuild(served, quick=True).engine.rendered)


def test_rows_added_at_the_end_and_removed(served):
    served.file("orders.csv", ORDERS + "G-2,C3,2026-06-04,Y,2,4\nG-2,C3,2026-06-04,Z,1,2\n")
    result = rebuild(served, quick=True)
    assert only_in(served, ["C3"], result.engine.rendered)
    assert portal_of(served, "C3") + "order-G-2.html" in result.engine.rendered
    served.file("orders.csv", ORDERS.replace("A-2,C1,2026-05-02,Y,1,4\n", ""))
    assert only_in(served, ["C1", "C3"], rebuild(served, quick=True).engine.rendered)


def test_a_row_moving_to_another_customer_rebuilds_both(served):
    served.file("orders.csv", ORDERS.replace("G-1,C3,", "G-1,C1,"))
    result = rebuild(served, quick=True)
    assert only_in(served, ["C1", "C3"], result.engine.rendered)
    assert any(p.startswith(portal_of(served, "C1")) for p in result.engine.rendered)
    assert any(p.startswith(portal_of(served, "C3")) for p in result.engine.rendered)


def test_a_bad_value_is_reported_with_its_row_and_gone_once_fixed(served):
    served.file("orders.csv", ORDERS.replace("B-1,C2,2026-06-01,Y,1,9.99", "B-1,C2,2026-13-45,Y,1,9.99"))
    result = rebuild(served, quick=True)
    bad = [p for p in result.problems.problems if p.file == "orders.csv"]
    assert [(p.row, p.column) for p in bad] == [(4, "date")], bad
    served.file("orders.csv", ORDERS)
    result = rebuild(served, quick=True)
    assert not [p for p in result.problems.problems if p.file == "orders.csv"]


def test_what_the_quick_way_cannot_promise_goes_the_ordinary_way(served):
    # a new customer needs keys and key slots
    served.file("customers.csv", CUSTOMERS + "C4,Delta Ltd,trade,yes\n")
    served.file("contacts.csv", CONTACTS + "C4,Ed,ed@delta.example\n")
    rebuild(served, quick=False)
    # a contact's e-mail changes the key slots
    served.file("contacts.csv", CONTACTS.replace("cy@beta", "cyrus@beta") + "C4,Ed,ed@delta.example\n")
    rebuild(served, quick=False)
    # config changed
    served.raw["site"]["name"] = "Renamed Ltd"
    rebuild(served, quick=False)
    # and after all that, a row edit is quick again
    served.file("orders.csv", ORDERS.replace("A-1,C1,2026-05-01,X,2,1.50", "A-1,C1,2026-05-01,X,3,1.50"))
    assert only_in(served, ["C1"], rebuild(served, quick=True).engine.rendered)


def test_another_build_writing_the_output_meanwhile_is_noticed(served):
    served.file("orders.csv", ORDERS.replace("B-2,C2,2026-06-02,Z,3,2", "B-2,C2,2026-06-02,Z,5,2"))
    assert served.build(served.raw, encrypt=True).ok  # e.g. `portico build` in another terminal
    served.file("orders.csv", ORDERS)
    rebuild(served, quick=False)


def test_a_record_spanning_lines_means_the_ordinary_way(served):
    served.file("orders.csv", ORDERS.replace("G-1,C3,2026-06-03,X,1,1", 'G-1,C3,2026-06-03,"X\nX",1,1'))
    rebuild(served, quick=False)
    assert served.session.memory is None  # such an export cannot be compared by lines
    assert not kept.path_in(served.public).exists()
    served.file("orders.csv", ORDERS)
    rebuild(served, quick=False)
    assert served.session.memory is not None
    assert kept.path_in(served.public).exists() == served.separate_processes


def test_a_rebuild_with_nothing_changed_stays_a_no_op(served):
    """(`portico serve` tells open pages to reload after any build that was not a no-op.)"""
    session = project_session(served)
    result = served.build(served.raw, encrypt=True, session=session)
    assert result.ok and result.noop and session.quick_builds == 0


def test_a_quick_rebuild_keeps_a_direct_links_end_and_leaves_its_re_keying_to_the_ordinary_build(served, monkeypatch):
    from datetime import date, timedelta

    import generator.output.state as state_module
    import generator.seal.access as access_module
    from generator.pipeline import check
    from generator.seal import blobs
    from generator.seal import manage as staff
    from generator.seal.keystore import read_keystore

    config = served.load(served.raw)
    keystore = read_keystore(config.path(config.gate.keystore))
    link = staff.direct_link(config, check(config)[0], keystore, "C1", "A-1", valid_days=1)
    keystore.save()
    rebuild(served, quick=False)  # the keystore changed
    served.file("orders.csv", ORDERS.replace("B-2,C2,2026-06-02,Z,3,2", "B-2,C2,2026-06-02,Z,4,2"))
    rebuild(served, quick=True)
    assert state_module.read_state(served.public).rekey_after == keystore.first_link_expiry() is not None

    class Later(date):  # the link's day passes
        @classmethod
        def today(cls):
            return date.today() + timedelta(days=2)

    monkeypatch.setattr(state_module, "date", Later)
    monkeypatch.setattr(access_module, "date", Later)
    served.file("orders.csv", ORDERS)
    rebuild(served, quick=False)  # only the ordinary build re-keys
    slug, name, key = direct_link_parts(link)
    with pytest.raises(blobs.DecryptError):  # the link opens nothing any more
        blobs.open_blob((served.public / slug / name).read_bytes(), f"{slug}/{name}", content_key=blobs.unb64(key))


def test_a_compressed_export_written_again_with_the_same_rows_renders_nothing_and_is_quick(served):
    """Compressed again, the same rows make other bytes (gzip records the time): the lines compare
    equal, so nothing is read again or rendered; the state records the file as it is now."""
    import gzip

    served.raw["exports"]["orders"]["file"] = "orders.csv.gz"
    served.file("orders.csv.gz", gzip.compress(ORDERS.encode(), mtime=1))
    rebuild(served, quick=False)  # the config changed
    served.file("orders.csv.gz", gzip.compress(ORDERS.encode(), mtime=2))
    result = rebuild(served, quick=True)
    assert result.read_again == 0 and result.engine.rendered == [] and not result.noop
    assert served.build(served.raw, encrypt=True, session=project_session(served)).noop  # and now nothing to do


def test_a_compressed_export_in_two_members_is_compared_whole(served):
    """A gzip file may hold several members end to end (an exporter appending, `cat a.gz b.gz`):
    the lines of the second one count too, as the reader reads them."""
    import gzip

    served.raw["exports"]["orders"]["file"] = "orders.csv.gz"
    head, tail = ORDERS.split("B-2,")
    served.file("orders.csv.gz", gzip.compress(head.encode()) + gzip.compress(("B-2," + tail).encode()))
    rebuild(served, quick=False)  # the config changed
    tail = tail.replace("C2,2026-06-02,Z,3,2", "C2,2026-06-02,Z,5,2")
    served.file("orders.csv.gz", gzip.compress(head.encode()) + gzip.compress(("B-2," + tail).encode()))
    assert only_in(served, ["C2"], rebuild(served, quick=True).engine.rendered)


def test_a_group_named_like_another_customers_id_goes_the_ordinary_way(served):
    """Whether a group is also a customer's id takes every customer's rows to tell (a customer in
    group "C1" must not see what is meant for customer C1 only): the ordinary build decides."""
    served.file("customers.csv", CUSTOMERS.replace("C2,Beta Foods,trade,yes", "C2,Beta Foods,C1,yes"))
    result = rebuild(served, quick=False)
    assert [p.row for p in result.problems.problems if p.kind == "ambiguous-group"] == [3]
    served.file("customers.csv", CUSTOMERS)  # and back: what the last build found needs the whole export again
    rebuild(served, quick=False)


def test_a_document_file_another_customers_row_names_goes_the_ordinary_way(served):
    served.file("documents.csv", "customer,title,file\nC1,Alpha contract,contract.pdf\n")
    served.file("docs/contract.pdf", b"%PDF-1.4 alpha")
    columns = {"customer": "customer", "title": "title", "file": "file"}
    served.raw["exports"]["documents"] = {"file": "documents.csv", "folder": "docs", "columns": columns}
    rebuild(served, quick=False)  # (the config changed)
    served.file("documents.csv", "customer,title,file\nC1,Alpha contract,contract.pdf\nC3,Mine,contract.pdf\n")
    result = rebuild(served, quick=False)
    assert sorted(p.row for p in result.problems.problems if p.kind == "shared-file") == [2, 3]
    served.file("documents.csv", "customer,title,file\nC1,Alpha contract,contract.pdf\n")
    rebuild(served, quick=False)  # C1's contract is C1's again: only the whole export tells


def test_a_number_two_customers_used_then_fixed_goes_the_ordinary_way(served):
    """Both records of a number two customers used are left out; once one row goes, the other is
    shown again, which only a build reading the other customer's rows can tell."""
    served.file("invoices.csv", "invoice,customer,date,total\nINV-1,C1,2026-06-02,5\nINV-1,C2,2026-06-02,7\n")
    columns = {"number": "invoice", "customer": "customer", "date": "date", "total": "total"}
    served.raw["exports"]["invoices"] = {"file": "invoices.csv", "columns": columns}
    rebuild(served, quick=False)  # (the config changed)
    served.file("invoices.csv", "invoice,customer,date,total\nINV-1,C1,2026-06-02,5\n")
    rebuild(served, quick=False)


def test_a_document_naming_another_customers_order_is_shown_alike_either_way(served):
    served.file("documents.csv", "customer,title,file,order\nC1,Alpha,a.pdf,A-1\nC2,Beta,b.pdf,A-1\n")
    served.file("docs/a.pdf", b"%PDF-1.4 a")
    served.file("docs/b.pdf", b"%PDF-1.4 b")
    columns = {"customer": "customer", "title": "title", "file": "file", "order": "order"}
    served.raw["exports"]["documents"] = {"file": "documents.csv", "folder": "docs", "columns": columns}
    rebuild(served, quick=False)  # (the config changed)
    served.file("documents.csv", "customer,title,file,order\nC1,Alpha,a.pdf,A-1\nC2,Beta again,b.pdf,A-1\n")
    result = rebuild(served, quick=True)
    assert only_in(served, ["C2"], result.engine.rendered)


def test_an_export_with_a_catalogue_still_rebuilds_one_customer_quickly(served):
    """Every portal reads the catalogue: its rows are read again with the touched customers' own,
    and a change to one of them goes the ordinary way (a customer's own prices are theirs)."""
    served.raw["exports"]["catalogue"] = {
        "file": "products.csv",
        "columns": {"sku": "sku", "name": "name", "list_price": "price"},
    }
    served.raw["exports"]["prices"] = {
        "file": "prices.csv",
        "columns": {"sku": "sku", "customer": "customer", "price": "price"},
    }
    served.file("products.csv", "sku,name,price\nX,Widget,1.50\nY,Yoke,4\nZ,Zap,2.00\n")
    served.file("prices.csv", "sku,customer,price\nX,C1,1.20\nZ,C2,1.80\n")
    rebuild(served, quick=False)  # the settings changed
    served.file("orders.csv", ORDERS.replace("B-2,C2,2026-06-02,Z,3,2", "B-2,C2,2026-06-02,Z,4,2"))
    assert only_in(served, ["C2"], rebuild(served, quick=True).engine.rendered)
    served.file("prices.csv", "sku,customer,price\nX,C1,1.25\nZ,C2,1.80\n")  # C1's own price
    assert only_in(served, ["C1"], rebuild(served, quick=True).engine.rendered)
    served.file("products.csv", "sku,name,price\nX,Widget Pro,1.50\nY,Yoke,4\nZ,Zap,2.00\n")
    rebuild(served, quick=False)  # every portal's catalogue


SLUGGED = (
    "id,name,group,portal,slug\n"
    "C1,Alpha Works,key,yes,alpha\nC2,Beta Foods,trade,yes,beta\nC3,Gamma Tools,trade,yes,gamma\n"
)


def test_two_customers_that_swap_folders_get_files_named_with_their_own_keys(project):  # noqa: F811
    """Portal folders from a column (`portal.slug: field`): two customers swap theirs in one edit.
    Each portal's files are named from its own customer's keys, as a fresh build names them (the
    gate once remembered names by folder, and gave one customer the other's)."""
    project.file("customers.csv", SLUGGED)
    project.raw["portal"] = {"slug": "field"}
    project.raw["exports"]["customers"]["columns"]["slug"] = "slug"
    project.separate_processes = False
    session = project_session(project, Session())
    assert project.build(project.raw, encrypt=True, session=session, full=True).ok
    assert project.build(project.raw, encrypt=True, session=session).ok  # the session remembers now
    project.file("customers.csv", SLUGGED.replace("alpha", "TMP").replace("beta", "alpha").replace("TMP", "beta"))
    rebuild(project, quick=True)  # (the tree equals a fresh full build's)


# --- reading the export's lines: a compressed file is inflated on another thread while its pieces are split


def lines_as_gzip_says(raw: bytes) -> list[bytes] | None:
    """The reference: the whole file inflated by the standard library, then split (None: a bare CR)."""
    data = gzip.decompress(raw)
    return None if data.count(b"\r") != data.count(b"\r\n") else data.split(b"\n")


def only_for_damaged_files(raw: bytes):
    raise AssertionError("a sound file inflated by the standard library, not piece by piece")


def read_back(tmp_path, raw: bytes, name: str = "rows.csv.gz"):
    path = tmp_path / name
    path.write_bytes(raw)
    return export_diff.read_lines(path)


line_text = st.lists(st.sampled_from([b"a", b",", b'"', b"\r", b"\r\n", b"\n", b"\xc3\xa9", b"12.5"]), max_size=60)


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(members=st.lists(line_text.map(b"".join), min_size=1, max_size=4), piece=st.integers(1, 40))
def test_a_compressed_files_lines_are_what_inflating_it_whole_gives(tmp_path, monkeypatch, members, piece):
    """Whatever the inflated pieces cut (a line, a CR LF pair, a gzip member's end), the lines are
    those of the whole file split at once, and a bare carriage return anywhere still means None."""
    monkeypatch.setattr(export_diff, "INFLATED_AT_ONCE", piece)  # pieces of a few compressed bytes
    monkeypatch.setattr(export_diff, "gzip", SimpleNamespace(decompress=only_for_damaged_files))
    raw = b"".join(gzip.compress(b"id,name\n" * (i == 0) + member, mtime=0) for i, member in enumerate(members))
    expected = lines_as_gzip_says(raw)
    read = read_back(tmp_path, raw)
    assert (None if read is None else [read.header, *read.lines]) == expected
    if read is not None:
        assert read.body == gzip.decompress(raw)[len(read.header) + 1 :]
        assert read.digest == hashlib.sha256(raw).digest()


def test_a_bare_carriage_return_split_across_pieces_is_still_found(tmp_path, monkeypatch):
    monkeypatch.setattr(export_diff, "INFLATED_AT_ONCE", 1)
    body = b"id,name\r\n" + b"A-1,x\r\n" * 500
    assert read_back(tmp_path, gzip.compress(body)).lines[-2] == b"A-1,x\r"
    assert read_back(tmp_path, gzip.compress(body + b"A-2,y\rz\r\n")) is None  # (where CR LF is the rule)
    assert read_back(tmp_path, gzip.compress(b"id\n" + b"1\n" * 900 + b"\r" + b"2\n")) is None


DAMAGE = [
    lambda raw: raw[: len(raw) // 2],  # cut short inside the member (an export still being written)
    lambda raw: raw[:10] + bytes(b ^ 0x55 for b in raw[10:40]) + raw[40:],  # the deflate stream garbled
    lambda raw: raw[:3] + bytes([raw[3] | 0x02]) + raw[4:],  # a header CRC flag set (gzip: a zlib error)
    lambda raw: raw + b"not gzip at all",  # something after the last member
    lambda raw: raw + b"\x1f",
    lambda raw: b"plain text, no gzip",
]


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_compressed_file_is_no_lines_and_leaves_no_thread_waiting(tmp_path, damage):
    """What the standard library refuses is refused as it refuses it, and no lines (the ordinary
    build reads the file and says what is wrong); the inflating thread has ended either way."""
    raw = damage(gzip.compress(b"id,name\n" + b"A-1,x\n" * 100_000))
    with pytest.raises(Exception) as expected:
        gzip.decompress(raw)
    with pytest.raises(type(expected.value)):
        export_diff._inflated_lines(raw)
    assert read_back(tmp_path, raw) is None
    assert not [t for t in threading.enumerate() if t.name == "portico-inflate"]


def test_lines_without_a_line_feed_for_many_pieces_are_joined_once(tmp_path, monkeypatch):
    """A file whose lines end with a bare carriage return (an old Mac export) is one line of many
    pieces: None, as it always was; and a very long line is whole."""
    monkeypatch.setattr(export_diff, "INFLATED_AT_ONCE", 64)
    rows = b"".join(b"A-%d,x\r" % i for i in range(20_000))
    assert read_back(tmp_path, gzip.compress(b"id,name\r" + rows)) is None
    long_line = b"A-1," + b"x" * 200_000
    assert read_back(tmp_path, gzip.compress(b"id,name\n" + long_line + b"\nA-2,y")).lines == [long_line, b"A-2,y"]


def test_an_export_cut_short_while_being_written_goes_the_ordinary_way(served):
    """Saved half-way (an exporter still writing it): not compared; the ordinary build says what
    is wrong with the file, and the next save of the whole file is read as ever."""
    served.raw["exports"]["orders"]["file"] = "orders.csv.gz"
    whole = gzip.compress(ORDERS.encode())
    served.file("orders.csv.gz", whole)
    rebuild(served, quick=False)  # the config changed
    served.file("orders.csv.gz", whole[: len(whole) // 2])
    session = project_session(served)
    result = served.build(served.raw, encrypt=True, session=session)
    assert not result.ok and "orders.csv.gz" in result.failure
    served.file("orders.csv.gz", gzip.compress(ORDERS.replace("C2,2026-06-02,Z,3,2", "C2,2026-06-02,Z,5,2").encode()))
    assert only_in(served, ["C2"], rebuild(served, quick=True).engine.rendered)  # (compared with the last whole read)


def test_a_snapshot_made_from_split_lines_keeps_them_as_one_string_when_asked():
    """A quick rebuild keeps lines as split; what is kept for a new process is the one string."""
    lines = [b"A-1,x", b"A-2,y", b""]
    snapshot = export_diff.SnapshotFile(b"id,name", None, ["a", "b", SKIPPED], b"digest", split=lines)
    assert snapshot.text == b"A-1,x\nA-2,y\n" and kept.KeptFile.of(snapshot).snapshot().lines == lines
    with pytest.raises(ValueError):
        export_diff.SnapshotFile(b"id,name", None, [], b"digest")
