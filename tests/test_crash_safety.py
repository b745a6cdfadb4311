"""Crash and race safety of the build: two builds at once, a build killed at any moment, a full
disk, a read-only keystore folder, a master key set late or wrong. Builds run as real processes
(`python -m generator`), killed with SIGKILL at named moments (`generator/faults.py`)."""

from __future__ import annotations

import errno
import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import minimal_config

from generator.faults import BUILD_MOMENTS, KILL_AT_ENV
from generator.incremental import kept
from generator.pipeline import recover_site
from generator.seal.keystore import ENCRYPTED_MAGIC, MASTER_KEY_ENV, new_master_key

CUSTOMERS = "id,name,portal\n" + "".join(f"C{i},Customer {i},yes\n" for i in range(1, 8))
CONTACTS = "customer,name,email\n" + "".join(f"C{i},Person {i},p{i}@c{i}.example\n" for i in range(1, 8))
ORDERS = "order,customer,date,sku,qty,price\n" + "".join(
    f"O-{i}-{n},C{i},2026-05-{n + 1:02d},X,{n + 1},{i}.50\n" for i in range(1, 8) for n in range(3)
)
CHANGED_ORDERS = ORDERS + "O-1-9,C1,2026-06-20,Y,5,2\n"


NO_EXCHANGE = (  # a system without an atomic exchange of two folders: the swap takes two renames
    "import sys, generator.output.staging as staging\n"
    "staging.exchange = lambda first, second: False\n"
    "from generator.cli import main\n"
    "raise SystemExit(main(sys.argv[1:]))"
)


def run(site, *args: str, env: dict | None = None, wait: bool = True, program: str | None = None):
    """`portico ARGS` as a process of its own group (so its workers can be found afterwards)."""
    command = [sys.executable, *(["-c", program] if program else ["-m", "generator"]), *args]
    environment = {**os.environ, "CI": "", **(env or {})}
    process = subprocess.Popen(
        command,
        cwd=site.root,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    if not wait:
        return process
    out, err = process.communicate(timeout=180)
    assert "Traceback" not in err, err
    return process.returncode, out, err, process.pid


def tree(folder: Path) -> dict[str, str]:
    """Every published file and its digest (the state beside them is the build's own)."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and ".portico" not in p.relative_to(folder).parts
    }


def group_alive(group: int) -> list[int]:
    """Processes (not zombies) still in this process group."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            alive.append(int(stat.parent.name))
    return alive


@pytest.fixture
def shop(site):
    site.file("customers.csv", CUSTOMERS)
    site.file("contacts.csv", CONTACTS)
    site.file("orders.csv", ORDERS)
    raw = minimal_config(
        contacts={"file": "contacts.csv", "columns": {"customer": "customer", "name": "name", "email": "email"}}
    )
    raw["exports"]["customers"]["columns"]["portal_enabled"] = "portal"
    site.config(raw)
    code, _, err, _ = run(site, "build", "--new-keystore")
    assert code == 0, err
    return site


# -- two builds -----------------------------------------------------------------------------------


def test_a_build_refuses_while_another_process_writes_the_output(shop):
    before = tree(shop.public)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from generator.locks import exclusive\n"
            "with exclusive(Path(sys.argv[1]), 'the output'):\n    print('held', flush=True); time.sleep(60)",
            str(shop.public),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        shop.file("orders.csv", CHANGED_ORDERS)
        code, _, err, _ = run(shop, "build")
        assert code == 1
        assert "another Portico process (pid" in err and "is writing the output folder" in err
        assert tree(shop.public) == before
    finally:
        holder.kill()
        holder.wait()
    code, _, err, _ = run(shop, "build")  # the lock died with its holder: nothing to delete by hand
    assert code == 0, err


def test_two_builds_at_once_never_mix_the_tree(shop, tmp_path):
    shop.file("orders.csv", CHANGED_ORDERS)
    for _ in range(4):
        first = run(shop, "build", "--full", wait=False)
        second = run(shop, "build", "--full", wait=False)
        for process in (first, second):
            _, err = process.communicate(timeout=180)
            assert "Traceback" not in err, err
            assert process.returncode == 0 or "another Portico process" in err, err
        assert first.returncode == 0 or second.returncode == 0
    code, out, err, _ = run(shop, "build", "--json")
    assert code == 0 and '"noop": true' in out, (out, err)  # the state was trusted: it matched the tree
    code, _, err, _ = run(shop, "build", "--full", "--output", str(tmp_path / "clean"))
    assert code == 0, err
    assert tree(shop.public) == tree(tmp_path / "clean")


# -- a build killed at any moment ------------------------------------------------------------------


KILLS = [  # every moment of each kind of build (the swap is a full build's, the switch an incremental's)
    *((kind, moment) for kind in ("full", "incremental") for moment in ("keystore-saved", "rendering", "staged")),
    ("full", "swapping"),
    ("full", "swapped-aside"),
    ("incremental", "switching"),
    # the quick way (from what the last `portico build` kept) writes no keystore: it has no such moment
    *(("quick", moment) for moment in ("rendering", "staged", "switching")),
]
assert {moment for _, moment in KILLS} == set(BUILD_MOMENTS)


@pytest.mark.parametrize(("kind", "moment"), KILLS)
def test_a_build_killed_at_any_moment_leaves_the_old_or_the_new_site(shop, tmp_path, moment, kind):
    old = tree(shop.public)
    keystore = (shop.root / "keystore" / "keystore.json").read_bytes()
    if kind == "incremental":  # the ordinary incremental build, which reads the whole export
        kept.path_in(shop.public).unlink()
    shop.file("orders.csv", CHANGED_ORDERS)
    args = ["build", "--full"] if kind == "full" else ["build"]
    program = NO_EXCHANGE if moment == "swapped-aside" else None  # the moment only exists there
    code, _, err, group = run(shop, *args, env={KILL_AT_ENV: moment}, program=program)
    assert code == -9, err
    time.sleep(0.5)
    assert group_alive(group) == []  # the workers died with the build
    if moment == "swapped-aside":
        assert not shop.public.exists()  # the instant between the two renames ...
        aside = list(shop.root.glob(".public.previous-*"))
        assert len(aside) == 1 and tree(aside[0]) == old
    elif moment == "switching":  # the first changed portal is switched, the journal lists the rest ...
        assert (shop.public / ".portico" / "switch.json").exists()
        assert recover_site(shop.public)  # ... which a build, publish or serve finishes first
        code, _, err, _ = run(shop, "build", "--full", "--output", str(tmp_path / "reference"))
        assert code == 0, err
        assert tree(shop.public) == tree(tmp_path / "reference") != old
    else:
        assert tree(shop.public) == old  # the new site replaces the old one only once it is complete
    assert (shop.root / "keystore" / "keystore.json").read_bytes() == keystore  # nothing about keys changed
    code, _, err, _ = run(shop, "build")  # ... which the next build undoes, and it converges
    assert code == 0, err
    after = tree(shop.public)
    code, _, err, _ = run(shop, "build", "--full", "--output", str(tmp_path / "clean"))
    assert code == 0, err
    assert after == tree(tmp_path / "clean") != old
    assert not list(shop.root.glob(".public.staging*"))


def test_serve_and_publish_find_the_site_a_crash_left_aside(shop, tmp_path):
    from generator.dev.server import site_folder

    before = tree(shop.public)
    aside = shop.root / ".public.previous-4242"
    shop.public.rename(aside)  # what a kill between the two renames of a swap leaves
    assert site_folder(shop.public, patience=1.0) == shop.public.resolve()
    assert tree(shop.public) == before and not aside.exists()
    assert recover_site(shop.public) is False  # nothing left to recover
    shop.public.rename(aside)
    code, _, err, _ = run(shop, "publish", "--target", str(tmp_path / "www"), "--json")
    assert code == 0, err
    assert tree(shop.public) == before and tree(tmp_path / "www") == before


# -- messages, not tracebacks ----------------------------------------------------------------------


def test_a_full_disk_names_the_folder_and_keeps_the_last_site(shop, monkeypatch):
    from generator.config import load_config
    from generator.output.staging import StagedOutput
    from generator.pipeline import BuildOptions, build

    before = tree(shop.public)
    shop.file("orders.csv", CHANGED_ORDERS)
    written = []

    def full(self, relative, data):
        if len(written) >= 3:
            raise OSError(errno.ENOSPC, "No space left on device", str(self.staging / relative))
        written.append(relative)
        return real(self, relative, data)

    real = StagedOutput.write
    monkeypatch.setattr(StagedOutput, "write", full)
    result = build(load_config(shop.root / "config.yaml"), BuildOptions(full=True, workers=2))
    assert not result.ok
    assert f"the disk holding {shop.public} is full" in result.failure and "MB are needed" in result.failure
    assert f"{shop.public} still holds the last build" in result.failure
    assert tree(shop.public) == before and not list(shop.root.glob(".public.staging*"))


def _mount_tmpfs(folder: Path, *options: str) -> bool:
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join(options), "tmpfs", str(folder)], capture_output=True)
    return done.returncode == 0


def test_a_really_full_disk_is_one_line(shop, tmp_path):
    disk = tmp_path / "small-disk"
    if not _mount_tmpfs(disk, "size=64k"):
        pytest.skip("cannot mount a small file system here (needs root); the simulated full disk is tested above")
    try:
        code, _, err, _ = run(shop, "build", "--full", "--output", str(disk / "public"))
        assert code == 1
        assert "is full" in err and "free some room" in err
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def test_a_read_only_keystore_folder_is_a_message(shop, tmp_path):
    folder = tmp_path / "read-only"
    if not _mount_tmpfs(folder, "size=1m"):
        pytest.skip("cannot mount a file system here (needs root)")
    try:
        (folder / "keystore.json").write_bytes((shop.root / "keystore" / "keystore.json").read_bytes())
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
        raw = (shop.root / "config.yaml").read_text().replace("keystore/keystore.json", str(folder / "keystore.json"))
        (shop.root / "config.yaml").write_text(raw)
        code, _, err, _ = run(shop, "build")  # nothing to write to the keystore: fine
        assert code == 0, err
        shop.file("contacts.csv", CONTACTS + "C1,New Person,new@c1.example\n")  # a new contact: a new slot
        code, _, err, _ = run(shop, "build")
        assert code == 1 and "cannot write" in err and "read-only" in err, err
    finally:
        subprocess.run(["umount", str(folder)], check=False)


# -- the master key ---------------------------------------------------------------------------------


def test_a_master_key_set_later_encrypts_the_keystore_and_its_backup_even_on_a_no_op_build(shop):
    path = shop.root / "keystore" / "keystore.json"
    shop.file("orders.csv", CHANGED_ORDERS)
    assert run(shop, "build")[0] == 0  # leaves a .bak, in clear like the keystore
    assert not path.read_bytes().startswith(ENCRYPTED_MAGIC)
    master = {MASTER_KEY_ENV: new_master_key()}
    code, _, err, _ = run(shop, "build", env=master)  # nothing changed: a no-op build
    assert code == 0 and "encrypted the keystore" in err, err
    assert path.read_bytes().startswith(ENCRYPTED_MAGIC)
    assert path.with_name("keystore.json.bak").read_bytes().startswith(ENCRYPTED_MAGIC)
    assert run(shop, "build", env=master)[0] == 0

    wrong = {MASTER_KEY_ENV: new_master_key()}
    encrypted = path.read_bytes()
    code, _, err, _ = run(shop, "build", env=wrong)  # a no-op build still opens the keystore
    assert code == 1 and "does not open this keystore" in err, err
    shop.file("orders.csv", ORDERS)
    code, _, err, _ = run(shop, "build", env=wrong)
    assert code == 1 and "does not open this keystore" in err, err
    assert path.read_bytes() == encrypted  # never re-encrypted with the wrong key
    code, _, err, _ = run(shop, "build")  # no key at all
    assert code == 1 and "is encrypted" in err


def test_a_damaged_switch_journal_means_a_full_build_not_a_traceback(shop):
    journal = shop.public / ".portico" / "switch.json"
    journal.write_text('{"units": [["C1", ')  # cut short
    code, out, err, _ = run(shop, "build", "--json")
    assert code == 0, err
    assert '"noop": false' in out and not journal.exists()
