"""An incremental build's switch: only what it changed takes the old files' place.

A full build replaces the whole output in one atomic exchange (`staging.py`). An incremental build
of a site of 300,000 files that re-rendered one portal should not touch the other 299,900, so it
switches *units*: the top-level folders it changed (a portal, `_static`, `_shared`), each staged
whole (the files it kept are hard links) and exchanged with the live one in one step, and the root
files it changed, each replaced in one rename. A journal written before the first unit lists every
unit with the inode of its staged folder; a crash between two units leaves the journal, and the
next build, publish or `serve` finishes the switch (a unit whose live inode is already the staged
one is done) before reading anything. Until then the state reads as untrusted.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..faults import moment
from .state import BUILD_STATE, SWITCHING
from .swap import exchange

JOURNAL = SWITCHING


def unit_of(written: str) -> str:
    """The top-level folder a file is in, or the root file itself."""
    return written.split("/", 1)[0]


def switch(output_dir: Path, staging: Path, units: set[str]) -> None:
    """Switch these units from staging into the output, then the state staged beside them."""
    entries = []
    for unit in sorted(units):
        staged = staging / unit
        entries.append([unit, staged.lstat().st_ino if staged.exists() else None])
    journal = output_dir / JOURNAL
    journal.parent.mkdir(exist_ok=True)
    temporary = journal.with_name(journal.name + ".tmp")
    temporary.write_text(json.dumps({"units": entries}), encoding="utf-8")
    os.replace(temporary, journal)
    finish_switch(output_dir, staging)


def finish_switch(output_dir: Path, staging: Path) -> bool:
    """Do what the journal lists and is not done yet; False if there is no switch to finish."""
    journal = output_dir / JOURNAL
    try:
        entries = json.loads(journal.read_text(encoding="utf-8"))["units"]
        for number, (unit, inode) in enumerate(entries):
            _switch_one(output_dir / unit, staging / unit, inode, staging / f".replaced-{number}")
            moment("switching")
    except FileNotFoundError:
        if not journal.exists():
            return False
        return _give_up(output_dir)  # the staged units are gone: the switch cannot be finished
    except (ValueError, KeyError, TypeError):
        return _give_up(output_dir)  # a damaged journal
    state = staging / BUILD_STATE
    if state.exists():
        os.replace(state, output_dir / BUILD_STATE)
    journal.unlink()
    return True


def _give_up(output_dir: Path) -> bool:
    """Without its journal's help the output is a mix of two builds: the state goes, so the next
    build renders and swaps in everything, and publish refuses until it has."""
    (output_dir / BUILD_STATE).unlink(missing_ok=True)
    (output_dir / JOURNAL).unlink(missing_ok=True)
    return True


def _switch_one(live: Path, staged: Path, inode: int | None, replaced: Path) -> None:
    if inode is None:  # the unit is gone from the site (a removed portal, a root file no longer made)
        if live.exists() or live.is_symlink():
            os.rename(live, replaced)  # into staging, which is deleted afterwards
        return
    if live.exists() and live.lstat().st_ino == inode:
        return  # switched before a crash
    if not staged.exists():
        raise FileNotFoundError(staged)
    if staged.is_file():
        os.replace(staged, live)
        return
    if live.is_dir() and exchange(staged, live):
        return
    if live.exists():
        os.rename(live, replaced)
    os.rename(staged, live)
