"""A large export is built a batch of customers at a time (`read/spill.py`, `pipeline._build_in_batches`),
so that memory follows the batch, not the export. What it makes must be exactly what reading the
whole export makes: every published file, the problems, the portals and their counts; and any
export a batch cannot be read alone from is read whole."""

from __future__ import annotations

import copy
import os
import time

import pytest
from conftest import count_compiled
from test_incremental import CONTACTS, CUSTOMERS, ORDERS, QUOTES, project, tree  # noqa: F401 (fixture)

from generator import pipeline
from generator.cli.report import build_report
from generator.pipeline import BuildOptions, build
from generator.progress import Progress
from generator.read import spill
from generator.read.lines import whole_record
from generator.read.spill import batches_for

MORE_CUSTOMERS = "".join(f"D{i},Delta {i},trade,yes\n" for i in range(40))
MORE_CONTACTS = "".join(f"D{i},Dee {i},dee{i}@delta.example\n" for i in range(40))
MORE_ORDERS = "".join(f"D-{i}-{n},D{i},2026-0{1 + n}-1{i % 9},X,{n + 1},{i}.25\n" for i in range(40) for n in range(3))
BAD_ORDERS = (
    "D-0-0,D0,2026-13-01,X,1,1\n"  # the same number again, same customer, a bad date
    "E-1,,2026-01-01,X,1,1\n"  # no customer: skipped
    "E-2,NOBODY,2026-01-01,X,1,1\n"  # an unknown customer
)


class Stages(Progress):
    def __init__(self):
        self.names = []

    def stage(self, name, total=None):
        self.names.append(name)


def batched(raw: dict, batch_mb: float = 0.0005) -> dict:
    raw = copy.deepcopy(raw)
    raw["exports"].update(batch_above_mb=0.0001, batch_mb=batch_mb)
    return raw


def whole(raw: dict) -> dict:
    raw = copy.deepcopy(raw)
    raw["exports"]["batch_above_mb"] = 0
    return raw


def larger(project, orders: str = MORE_ORDERS):  # noqa: F811
    project.file("customers.csv", CUSTOMERS + MORE_CUSTOMERS)
    project.file("contacts.csv", CONTACTS + MORE_CONTACTS)
    project.file("orders.csv", ORDERS + orders)
    project.file("quotes.csv", QUOTES)
    project.raw["exports"]["orders"]["skip_when_blank"] = ["customer"]
    return project


def both_ways(project, **options):  # noqa: F811
    stages = Stages()
    config = project.load(batched(project.raw))
    in_batches = build(config, BuildOptions(encrypt=True, full=True, **options), stages)
    fresh = project.root / "whole"
    at_once = project.build(whole(project.raw), encrypt=True, full=True, output_dir=fresh, **options)
    assert in_batches.ok, in_batches.failure
    assert at_once.ok, at_once.failure
    return in_batches, at_once, stages.names


def assert_same(in_batches, at_once, project):  # noqa: F811
    assert tree(project.public) == tree(project.root / "whole")
    assert sorted(in_batches.problems.problems, key=repr) == sorted(at_once.problems.problems, key=repr)
    assert in_batches.problems.skipped == at_once.problems.skipped
    assert (in_batches.files, in_batches.pages, in_batches.bytes) == (at_once.files, at_once.pages, at_once.bytes)
    assert [(p.customer_id, p.slug, p.pages, p.files) for p in in_batches.portals] == [
        (p.customer_id, p.slug, p.pages, p.files) for p in at_once.portals
    ]
    assert in_batches.unopenable == at_once.unopenable
    assert sorted(in_batches.engine.rendered) == sorted(at_once.engine.rendered)


@pytest.mark.parametrize("chunk", [7, 50_000])
def test_an_export_built_in_batches_is_byte_for_byte_the_export_built_whole(project, chunk, monkeypatch):  # noqa: F811
    monkeypatch.setattr(spill, "CHUNK_LINES", chunk)  # groups of rows split between the chunks read to file them
    larger(project)
    assert batches_for(project.load(batched(project.raw))) >= 3
    in_batches, at_once, stages = both_ways(project)
    assert any(name.startswith("Reading the export in") for name in stages), stages
    assert any(name.startswith("Rendering portals (batch 3 of") for name in stages), stages
    assert_same(in_batches, at_once, project)
    assert len(in_batches.portals) == 43
    assert build_report(in_batches)["batches"] == in_batches.batches >= 3 and build_report(at_once)["batches"] == 0


def test_each_batch_is_read_once_its_rendering_loads_the_books_its_reading_modelled(project, monkeypatch):  # noqa: F811
    """Reading and modelling a batch is most of what a batch costs besides rendering: the books
    the first reading modelled wait in the private batch folder for the batch's rendering."""
    larger(project)
    reads = project.root / "reads.log"  # (batches are read in forked processes: counted in a file)
    read = spill.Spill.read

    def counted(self, config, batch, *args, **kwargs):
        with open(reads, "a") as log:
            log.write(f"{batch}\n")
        return read(self, config, batch, *args, **kwargs)

    monkeypatch.setattr(spill.Spill, "read", counted)
    in_batches, at_once, _ = both_ways(project)
    assert sorted(int(line) for line in reads.read_text().split()) == list(range(in_batches.batches))
    assert_same(in_batches, at_once, project)


def test_the_themes_templates_are_compiled_once_not_in_every_batch(project, monkeypatch):  # noqa: F811
    """Every batch renders in a process forked from the build's: the templates it loaded before
    the first batch are every batch's (compiling them is most of what a small batch renders)."""
    larger(project)
    compiled = count_compiled(monkeypatch, project.root / "compiled.log")  # (batches render in forked processes)
    in_batches = build(project.load(batched(project.raw)), BuildOptions(encrypt=True, full=True), Progress())
    assert in_batches.ok and in_batches.batches >= 3, in_batches.failure
    keys = compiled()
    assert len(keys) > 10 and len(keys) == len(set(keys))


def test_bad_rows_are_reported_once_each_as_a_whole_read_reports_them(project):  # noqa: F811
    larger(project, MORE_ORDERS + BAD_ORDERS)
    in_batches, at_once, stages = both_ways(project)
    assert any(name.startswith("Reading the export in") for name in stages), stages
    assert_same(in_batches, at_once, project)
    kinds = {p.kind for p in in_batches.problems.problems}
    assert {"unknown-customer", "bad-date"} <= kinds, kinds
    assert sum(in_batches.problems.skipped.values()) == 1


def test_a_record_going_on_past_its_line_means_reading_the_export_whole(project):  # noqa: F811
    larger(project, MORE_ORDERS + 'E-3,D1,2026-01-01,"X\nY",1,1\n')
    in_batches, at_once, stages = both_ways(project)
    assert any(name.startswith("Reading the export whole (orders.csv row") for name in stages), stages
    assert not any(name.startswith("Reading the export in") for name in stages)
    assert_same(in_batches, at_once, project)


@pytest.mark.parametrize("chunk", [7, 50_000])
def test_a_number_two_customers_use_is_judged_as_the_whole_export_judges_it(project, chunk, monkeypatch):  # noqa: F811
    """Read in one chunk, the second customer's row is the first's record's (left out, for both),
    so it is read in the first's batch; split across chunks, whose the number is takes the whole export."""
    monkeypatch.setattr(spill, "CHUNK_LINES", chunk)
    larger(project, MORE_ORDERS + "D-1-0,D2,2026-01-01,X,1,1\n")
    in_batches, at_once, stages = both_ways(project)
    assert any(name.startswith("Reading the export whole") for name in stages) == (chunk == 7), stages
    assert_same(in_batches, at_once, project)
    assert any(p.kind == "header-conflict" for p in in_batches.problems.problems)


def test_a_group_named_like_another_customers_id_means_reading_the_export_whole(project):  # noqa: F811
    larger(project)
    project.file("customers.csv", CUSTOMERS + MORE_CUSTOMERS.replace("D7,Delta 7,trade", "D7,Delta 7,D31"))
    in_batches, at_once, stages = both_ways(project)
    assert any(name.startswith("Reading the export whole") for name in stages), stages
    assert_same(in_batches, at_once, project)


def test_an_incremental_build_in_batches_renders_only_what_changed(project):  # noqa: F811
    larger(project)
    config = batched(project.raw)
    first = project.build(config, encrypt=True, full=True)
    assert first.ok, first.failure
    project.file("orders.csv", ORDERS + MORE_ORDERS.replace("D5,2026-01-15,X,1,5.25", "D5,2026-01-15,X,1,6.25"))
    again = project.build(config, encrypt=True)
    assert again.ok, again.failure
    changed = {path.split("/")[0] for path in again.engine.rendered}
    slug_of_d5 = next(p.slug for p in again.portals if p.customer_id == "D5")
    assert changed == {slug_of_d5}, changed
    fresh = project.build(whole(project.raw), encrypt=True, full=True, output_dir=project.root / "whole")
    assert fresh.ok and tree(project.public) == tree(project.root / "whole")


@pytest.mark.parametrize("setting", [0, 10_000])
def test_a_small_export_or_batches_turned_off_read_whole(project, setting):  # noqa: F811
    raw = copy.deepcopy(project.raw)
    raw["exports"]["batch_above_mb"] = setting
    assert batches_for(project.load(raw)) == 0


def test_an_export_not_of_delimited_text_is_read_whole(project):  # noqa: F811
    raw = batched(project.raw)
    project.file("quotes.json", '[{"quote": "Q-1", "customer": "C1", "date": "2026-06-01"}]')
    raw["exports"]["quotes"]["file"] = "quotes.json"
    assert batches_for(project.load(raw)) == 0


@pytest.mark.parametrize("how", ["error", "killed"])
def test_a_batch_that_fails_or_dies_fails_the_build_and_leaves_the_last_site(project, how, monkeypatch):  # noqa: F811
    """A batch is rendered in a process of its own: an error there, or that process killed, fails
    the build with a message, and the output keeps the last complete site."""
    import os

    larger(project)
    raw = batched(project.raw)
    before = tree(project.public)
    rendered = pipeline._render_batch

    def second_fails(workshop, spill, batch, *args):
        if batch == 1:
            if how == "killed":
                os._exit(9)
            raise pipeline.BuildFailed("the second batch went wrong")
        return rendered(workshop, spill, batch, *args)

    monkeypatch.setattr(pipeline, "_render_batch", second_fails)
    result = project.build(raw, encrypt=True, full=True)
    assert not result.ok
    expected = "the second batch went wrong" if how == "error" else "ended unexpectedly (exit code 9)"
    assert expected in result.failure
    assert tree(project.public) == before
    assert not list(project.public.parent.glob(".public.staging*"))


def test_a_batched_build_forgets_the_memory_a_whole_build_kept(project):  # noqa: F811
    """`portico build` keeps what a whole read made for a quick rebuild; read in batches, the
    export changed enough that the kept memory is of another export: it goes."""
    from generator.incremental import kept
    from generator.incremental.session import Session

    larger(project)
    first = Session(keep=True).build(project.load(whole(project.raw)), BuildOptions(encrypt=True, full=True))
    assert first.ok and first.batches == 0 and kept.path_in(project.public).exists()
    project.file("orders.csv", ORDERS + MORE_ORDERS + "D-9-9,D9,2026-03-03,X,1,1\n")
    again = Session(keep=True).build(project.load(batched(project.raw)), BuildOptions(encrypt=True))
    assert again.ok, again.failure
    assert again.batches >= 3 and not kept.path_in(project.public).exists()


def test_the_lines_filed_by_batch_stay_private_and_go_even_after_a_killed_build(project, monkeypatch):  # noqa: F811
    """The batch files hold export rows in clear: beside the output, for this user only, removed
    when the build ends, and one a killed build left is removed by the next build."""
    import stat

    from generator.read import spill as spill_module

    larger(project)
    left = project.public.parent / ".public.batches-killed"
    left.mkdir()
    (left / "0-0.lines").write_text("2\tC1,Alpha Works\n")
    modes = []
    filed = spill_module.spill_export

    def watched(config, folder, batches):
        modes.append(stat.S_IMODE(folder.stat().st_mode))
        assert folder.parent == project.public.parent
        return filed(config, folder, batches)

    monkeypatch.setattr(pipeline, "spill_export", watched)
    result = project.build(batched(project.raw), encrypt=True, full=True)
    assert result.ok and result.batches, result.failure
    assert modes == [0o700]
    assert not list(project.public.parent.glob(".public.batches-*"))


def test_rows_naming_no_customer_that_point_at_a_customers_order_mean_reading_whole(project):  # noqa: F811
    """Order history and shipments mapped without a customer are every batch's rows; a batch
    would call another batch's orders unknown. Only the whole export can judge them."""
    larger(project)
    project.file(
        "history.csv", "order,status,date\n" + "".join(f"D-{i}-0,shipped,2026-01-2{i % 9}\n" for i in range(40))
    )
    project.file("ship.csv", "order,date,carrier\n" + "".join(f"D-{i}-1,2026-02-2{i % 9},UPS\n" for i in range(40)))
    project.raw["exports"]["order_history"] = {
        "file": "history.csv",
        "columns": {"order": "order", "status": "status", "date": "date"},
    }
    project.raw["exports"]["shipments"] = {"file": "ship.csv", "columns": {"order": "order", "date": "date"}}
    in_batches, at_once, stages = both_ways(project, strict=True)
    assert any(name.startswith("Reading the export whole (a number a batch") for name in stages), stages
    assert_same(in_batches, at_once, project)


def test_contacts_staff_added_join_their_customers_batch(project):  # noqa: F811
    larger(project)
    project.file(
        "added.csv", "customer,name,email\nD3,Extra,x3@e.example\nD17,Extra,x17@e.example\nZZ,Nobody,z@e.example\n"
    )
    (project.root / "added.csv").write_text((project.root / "export" / "added.csv").read_text())
    project.raw["exports"]["added_contacts"] = {
        "file": "added.csv",
        "columns": {"customer": "customer", "name": "name", "email": "email"},
    }
    in_batches, at_once, stages = both_ways(project)
    assert in_batches.batches >= 3, stages
    assert_same(in_batches, at_once, project)
    assert [p.message for p in in_batches.problems.problems if p.kind == "unknown-customer"] == [
        "unknown customer 'ZZ'"
    ]


@pytest.mark.parametrize(
    "orders, quotechar",
    [
        ('E-1,D1,2026-01-01,5" pipe,"2\n1",7" x\n', '"'),  # an inch mark, then a quoted field over two lines
        ("E-1,D1,2026-01-01,'X\nY',1,1\n", "'"),  # the configured quote character
    ],
)
def test_a_record_over_two_lines_is_found_however_its_quotes_fall(project, orders, quotechar):  # noqa: F811
    larger(project, MORE_ORDERS + orders)
    project.raw["exports"]["quotechar"] = quotechar
    in_batches, at_once, stages = both_ways(project)
    assert any("a record goes on past its line" in name for name in stages), stages
    assert_same(in_batches, at_once, project)


@pytest.mark.parametrize("chunk", [3, 50_000])
def test_an_export_a_whole_read_refuses_fails_with_the_whole_reads_message(project, chunk, monkeypatch):  # noqa: F811
    """Found in a chunk while the pool's thread waits to hand out more: the pool still ends."""
    monkeypatch.setattr(spill, "CHUNK_LINES", chunk)
    larger(project)
    (project.root / "export" / "orders.csv").write_bytes(
        (ORDERS + MORE_ORDERS).encode() + b"E-1,D1,2026-01-01,X\xff,1,1\n"
    )
    stages = Stages()
    in_batches = build(project.load(batched(project.raw)), BuildOptions(encrypt=True, full=True), stages)
    at_once = project.build(whole(project.raw), encrypt=True, full=True)
    assert not in_batches.ok and in_batches.failure == at_once.failure
    assert "orders.csv: cannot be decoded" in in_batches.failure
    assert any(name.startswith("Reading the export whole (orders.csv") for name in stages.names), stages.names


def test_the_chunks_read_ahead_are_few_however_slow_the_workers(project, monkeypatch):  # noqa: F811
    """The pool pulls chunks as fast as the file gives them: only a few may wait at a time."""
    monkeypatch.setattr(spill, "CHUNK_LINES", 3)
    larger(project)
    room_kept, filed_chunks = spill._room_kept, spill._filed_chunks
    handed, filed, most = [0], [0], [0]

    def counted_out(room, stop, chunks):
        for chunk in room_kept(room, stop, chunks):
            handed[0] += 1
            most[0] = max(most[0], handed[0] - filed[0])
            yield chunk

    def counted_in(path):
        for chunk in filed_chunks(path):
            filed[0] += 1
            yield chunk

    monkeypatch.setattr(spill, "_owners_of", slowly_owned)
    monkeypatch.setattr(spill, "_room_kept", counted_out)
    monkeypatch.setattr(spill, "_filed_chunks", counted_in)
    result = project.build(batched(project.raw), encrypt=True, full=True)
    assert result.ok and result.batches, result.failure
    assert filed[0] == handed[0] > 2 * (os.cpu_count() or 1)
    assert 1 <= most[0] <= 2 * (os.cpu_count() or 1) < len(MORE_ORDERS.splitlines()) // 3


OWNED = spill._owners_of


def slowly_owned(chunk):  # (a pool's worker is handed its function by name)
    time.sleep(0.02)
    return OWNED(chunk)


def test_a_file_is_cut_into_chunks_of_whole_lines_numbered_as_rows(tmp_path, monkeypatch):
    """The reading process only cuts the file; each worker numbers its chunk's lines: row 2 is the
    first line after the header, a last line without a line break is a line, a line ending in a
    carriage return keeps it (as the whole read sees it), one with a return inside cannot be filed."""
    monkeypatch.setattr(spill, "CHUNK_LINES", 2)
    path = tmp_path / "rows.csv"
    path.write_bytes(b"a,b\n1,x\n2,y\r\n3,z\n4,w")
    chunks = list(spill._chunks(path))
    assert chunks == [(2, b"1,x\n2,y\r\n"), (4, b"3,z\n4,w")]
    monkeypatch.setitem(spill._CHUNK_JOB, "whole", whole_record(",", '"'))
    monkeypatch.setitem(spill._CHUNK_JOB, "name", "rows.csv")
    assert [spill._numbered(*chunk) for chunk in chunks] == [
        [(2, b"1,x"), (3, b"2,y\r")],
        [(4, b"3,z"), (5, b"4,w")],
    ]
    with pytest.raises(spill.NotBatchable, match=r"rows.csv row 7: a record goes on past its line"):
        spill._numbered(6, b"5,v\n6\r,u\n")  # a bare carriage return ends a record
    with pytest.raises(spill.NotBatchable, match=r"rows.csv row 9: a record goes on past its line"):
        spill._numbered(8, b'7,t\r\n8,"s\r\n9",r\r\n')  # a quoted field over two lines
    assert spill._numbered(8, b'7,"t, and ""u"""\r\n8,5" pipe') == [(8, b'7,"t, and ""u"""\r'), (9, b'8,5" pipe')]


def test_the_books_a_batch_keeps_load_back_equal_and_pickled_by_position():
    """A batch's books are pickled field by field in order (not through `dataclasses`' state
    functions, which look the fields up for every object); pickles written the old way still load."""
    import copyreg
    import dataclasses
    import io
    import pickle
    from datetime import date
    from decimal import Decimal

    from generator.model import canonical
    from generator.read.records import Origin

    line = canonical.Line("X", "Bolt", Decimal("2"), "pc", Decimal("1.50"), Decimal("0"), Decimal("0"), Decimal("3.00"))
    invoice = canonical.Invoice(
        "A-1", "C1", "", date(2026, 5, 1), date(2026, 6, 1), "invoice", "open", [line, line], Decimal("0"),
        Decimal("3.00"), Decimal("0"), Decimal("3.00"), 0, "", Origin("orders.csv", 2), label="due",
    )  # fmt: skip
    customer = canonical.Customer(
        "C1", "Alpha", "a@alpha.example", "", canonical.Address(city="Oslo"), canonical.Address(), "en", "EUR",
        True, "", canonical.SalesRep("Rae", "rae@x.example", ""), "30 days", 30, "", "", Origin("customers.csv", 2),
    )  # fmt: skip
    book = canonical.CustomerBook(customer, invoices=[invoice])
    assert pickle.loads(pickle.dumps(book, protocol=5)) == book
    for obj in (line, invoice, invoice.origin, book):
        made, values = obj.__reduce__()
        assert made is type(obj) and values == tuple(getattr(obj, f.name) for f in dataclasses.fields(obj))
    classes = [
        c for c in vars(canonical).values() if dataclasses.is_dataclass(c) and c.__module__ == canonical.__name__
    ]
    by_position = [c for c in classes if "__reduce__" in vars(c)]
    assert set(classes) - set(by_position) == {canonical.Ledger}  # (not slotted: pickled as a dict)

    class OldWay(pickle.Pickler):  # as before: the object made empty, then its state set
        def reducer_override(self, obj):
            if dataclasses.is_dataclass(obj) and not isinstance(obj, type) and hasattr(obj, "__slots__"):
                return copyreg.__newobj__, (type(obj),), obj.__getstate__()
            return NotImplemented

    old = io.BytesIO()
    OldWay(old, protocol=5).dump(book)
    assert old.getvalue() != pickle.dumps(book, protocol=5) and pickle.loads(old.getvalue()) == book
