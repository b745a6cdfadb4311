"""What `portico build` keeps beside the output for the next process (`incremental/kept.py`): a
one-customer change in a new process reads only that customer's rows; the kept file gives
nothing away without the keystore, is never published, and anything wrong with it only means
the ordinary build. (The quick rebuilds themselves, in both kinds of session, are in
test_quick_rebuild.py.)"""

from __future__ import annotations

import json
import os
import pickle
import stat
import threading
from array import array

import pytest
from conftest import count_compiled
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from test_incremental import CONTACTS, CUSTOMERS, ORDERS, QUOTES, project, tree  # noqa: F401 (fixture)

from generator.cli import main
from generator.incremental import export_diff, kept
from generator.incremental.session import Session
from generator.read import SHARED

CHANGED = ORDERS.replace("B-2,C2,2026-06-02,Z,3,2", "B-2,C2,2026-06-02,Z,4,2")


def portico_build(project, capsys, *extra) -> dict:  # noqa: F811
    """`portico build --json` as staff run it (a new session, as in a new process)."""
    capsys.readouterr()
    code = main(["build", "--json", "-q", "--config", str(project.config(project.raw)), *extra])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["ok"], report
    return report


def matches_a_full_build(project) -> bool:  # noqa: F811
    fresh = project.root / f"fresh-{len(list(project.root.glob('fresh-*')))}"
    full = project.build(project.raw, encrypt=True, full=True, output_dir=fresh)
    return full.ok and tree(project.public) == tree(fresh)


def test_a_new_build_process_reads_again_only_the_customer_whose_rows_changed(project, capsys):  # noqa: F811
    first = portico_build(project, capsys, "--full")
    assert first["read_again"] is None and kept.path_in(project.public).exists()
    project.file("orders.csv", CHANGED)
    quick = portico_build(project, capsys)
    assert quick["read_again"] == 1
    assert quick["rendered"] and quick["reused"] == quick["files"] - quick["rendered"]
    totals = ("files", "pages", "unopenable")
    assert [quick[k] for k in totals] == [first[k] for k in totals]
    assert matches_a_full_build(project)
    assert portico_build(project, capsys)["noop"]  # nothing changed since: nothing to do


def test_a_new_process_reads_each_export_file_once_on_another_thread_and_only_when_something_changed(
    project,  # noqa: F811
    capsys,
    monkeypatch,
):
    portico_build(project, capsys, "--full")
    reads, read = [], export_diff.read_lines

    def read_lines(path):
        reads.append((path.name, threading.current_thread().name))
        return read(path)

    monkeypatch.setattr(export_diff, "read_lines", read_lines)
    assert portico_build(project, capsys)["noop"]
    assert reads == []  # nothing changed: the kept memory is not opened, nothing is read ahead
    project.file("orders.csv", CHANGED)
    assert portico_build(project, capsys)["read_again"] == 1
    names = [name for name, _ in reads]
    assert sorted(names) == sorted(set(names)) and "orders.csv" in names  # each file once, the edit's own
    assert all(thread.startswith("portico-read-ahead") for _, thread in reads)
    assert not [t for t in threading.enumerate() if t.name.startswith("portico-read-ahead")]  # done, not left running
    assert matches_a_full_build(project)


def test_the_kept_memory_gives_nothing_away_and_is_never_published(project, capsys, tmp_path):  # noqa: F811
    portico_build(project, capsys, "--full")
    path = kept.path_in(project.public)
    data = path.read_bytes()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    export_text = [CUSTOMERS, CONTACTS, ORDERS, QUOTES]
    rows = [line for text in export_text for line in text.splitlines()[1:]]
    cells = {cell for line in rows for cell in line.split(",") if len(cell) > 3}
    assert cells and not [cell for cell in cells if cell.encode() in data]  # names, e-mails, numbers, dates
    assert not [line for line in rows if line.encode() in data]
    store = tmp_path / "published"
    assert main(["publish", "-q", "--target", str(store), "--config", str(project.config(project.raw))]) == 0
    published = {p.relative_to(store).as_posix() for p in store.rglob("*") if p.is_file()}
    assert published and kept.MEMORY_FILE not in published
    assert not [p for p in store.rglob("*") if p.is_file() and data[-4096:] in p.read_bytes()]


def _reseal(path, key: bytes) -> None:
    """The kept file with the same clear header, its body sealed under another key."""
    raw = path.read_bytes()
    header_end = raw.index(b"\n", len(kept.MAGIC)) + 1
    header, nonce = raw[:header_end], os.urandom(12)
    path.write_bytes(header + nonce + AESGCM(key).encrypt(nonce, b"\x80\x05N.", header))  # a pickled None


def test_a_damaged_or_foreign_kept_memory_means_the_ordinary_build(project, capsys):  # noqa: F811
    portico_build(project, capsys, "--full")
    path = kept.path_in(project.public)
    damages = [
        lambda: path.write_bytes(path.read_bytes()[:-100] + bytes(100)),  # cut short, zeros
        lambda: _reseal(path, os.urandom(32)),  # sealed with another keystore's key
        lambda: path.write_bytes(path.read_bytes().replace(b'"version": "', b'"version": "0', 1)),  # another version
        lambda: path.write_bytes(b"not a kept memory at all"),
    ]
    for number, damage in enumerate(damages):
        damage()
        damaged = path.read_bytes()
        project.file("orders.csv", CHANGED if number % 2 == 0 else ORDERS)
        session = Session(keep=True)
        result = project.build(project.raw, encrypt=True, session=session)
        assert result.ok and session.quick_builds == 0 and result.read_again is None, number
        assert matches_a_full_build(project)
        assert path.read_bytes() != damaged  # a good one kept in its place
    project.file("orders.csv", ORDERS.replace("A-2,C1,2026-05-02,Y,1,4", "A-2,C1,2026-05-02,Y,2,4"))
    session = Session(keep=True)
    assert project.build(project.raw, encrypt=True, session=session).ok and session.quick_builds == 1


def test_a_build_by_another_command_makes_the_kept_memory_stale(project, capsys):  # noqa: F811
    """`portico publish` rebuilds a stale output with the pipeline's own build, which keeps nothing."""
    portico_build(project, capsys, "--full")
    project.file("orders.csv", CHANGED)
    assert project.build(project.raw, encrypt=True).ok  # the output changed, the kept memory did not
    project.file("orders.csv", ORDERS)
    report = portico_build(project, capsys)
    assert report["read_again"] is None and matches_a_full_build(project)


@pytest.mark.parametrize("kind", ["a link to a device", "a named pipe"])
def test_a_kept_memory_that_is_a_link_or_a_device_is_not_read(project, capsys, kind):  # noqa: F811
    portico_build(project, capsys, "--full")
    path = kept.path_in(project.public)
    path.unlink()
    if kind == "a named pipe":
        os.mkfifo(path)  # opened for reading, it would wait for a writer for ever
    else:
        path.symlink_to("/dev/zero")  # read as a file, it would never end
    project.file("orders.csv", CHANGED)
    session, built = Session(keep=True), []
    builder = threading.Thread(
        target=lambda: built.append(project.build(project.raw, encrypt=True, session=session)), daemon=True
    )
    builder.start()
    builder.join(timeout=120)
    assert built, "the build hung on the kept memory"
    assert built[0].ok and session.quick_builds == 0 and path.is_file() and not path.is_symlink()  # a good one
    assert matches_a_full_build(project)


def test_the_kept_line_index_is_machine_integers_and_follows_a_line_to_its_new_owner():
    """The index a new process unpickles is arrays of line numbers (not an int object a line), and
    stays right when an edit moves a line to another customer and the memory is kept again."""
    owners = ["a", "b", "a", SHARED, "b"]
    lines = [b"line %d" % i for i in range(5)]
    snapshot = export_diff.SnapshotFile(b"header", b"\n".join(lines), owners, b"digest")
    assert {owner: list(rows) for owner, rows in snapshot.index.items()} == {"a": [0, 2], "b": [1, 4], SHARED: [3]}
    assert all(isinstance(rows, array) and rows.itemsize >= 4 for rows in snapshot.index.values())

    lines[2] = b"line 2, now b's"
    now = export_diff.FileRead(b"new digest", b"header", lines)
    moved = export_diff.LineChange(now, [2], [2], None).applied(snapshot, lambda row: "b")
    kept_again = pickle.loads(pickle.dumps(kept.KeptFile.of(moved), protocol=5)).snapshot()
    assert {owner: list(rows) for owner, rows in kept_again.index.items()} == {"a": [0], "b": [1, 2, 4], SHARED: [3]}
    assert kept_again.rows({"b"}).lines == [(3, b"line 1"), (4, b"line 2, now b's"), (5, b"line 3"), (6, b"line 4")]
    assert kept_again.rows({"a"}).lines == [(2, b"line 0"), (5, b"line 3")]


def test_a_build_on_every_core_compiles_each_template_once_and_keeps_them(project, monkeypatch):  # noqa: F811
    """The build's process compiles the theme before its workers fork: no worker compiles a
    template again, nor does the build compile them all again after, to keep them."""
    compiled = count_compiled(monkeypatch, project.root / "compiled.log")  # (workers are forked processes)
    session = Session(keep=True)
    result = project.build(project.raw, encrypt=True, full=True, workers=2, session=session)
    assert result.ok and result.engine.workers == 2, result.failure
    keys = compiled()
    assert len(keys) > 10 and len(keys) == len(set(keys))
    assert set(session.memory.workshop.renderer.compiled_templates()) == set(keys)  # all of them kept
