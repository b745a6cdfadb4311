"""Write the site: new files into a staging folder, which then takes the output's place in one step.

Nothing is written into the live folder: a build that fails or is killed at any moment leaves the
previous site as it was. A full build (the first, or `--full`) stages the whole site; an
incremental build stages only the files it re-rendered and hard-links every file it kept beside
them. Either way the staged tree then replaces the output with one atomic exchange of the two
folders (Linux `renameat2`), or, where the system has none, two renames that a later build,
publish or `serve` undo if a crash falls between them. The old tree is deleted in the background.

The staged tree carries the build's state (`state.py`): a state is always the state of the tree
it lies in.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..faults import moment
from .state import STATE_DIR, BuildMode, BuildState, remember_folders, state_key, write_state
from .swap import exchange
from .switch import finish_switch, switch, unit_of


def _inside_path(relative: str) -> str:
    """`relative` without empty or `.` parts, once it is sure to stay inside the folder it is
    joined to (string work: a build writes tens of thousands of files)."""
    parts = [part for part in relative.split("/") if part not in ("", ".")]
    if not parts or relative.startswith("/") or ".." in parts:
        raise ValueError(f"refusing to write outside the output folder: {relative!r}")
    return "/".join(parts)


def _target(root: Path, relative: str) -> Path:
    return root / _inside_path(relative)


@dataclass
class StagedRecords:
    written: dict[str, str]
    digests: dict[str, str]
    links: dict[str, Sequence[str]]
    recipes: dict[str, str]
    staged: list[str]
    files: int
    bytes: int


class StagedOutput:
    """`previous`: the state of the output's last build, when this build only updates it."""

    def __init__(self, output_dir: Path, inputs: str, mode: BuildMode, previous: BuildState | None = None):
        self.output_dir = output_dir
        self.staging = staging_for(output_dir)
        self.inputs = inputs
        self.mode = mode
        self.in_place = previous is not None and output_dir.is_dir()
        self.previous = previous if self.in_place else None
        self.previous_files: Mapping[str, str] = previous.files if self.in_place else {}
        self.kept_recipes: dict[str, Sequence[str]] = {}  # state key -> (recipe, written) of files kept wholesale
        self.digests: dict[str, str] = {}  # written path -> sha256
        self.links: dict[str, Sequence[str]] = {}  # written path -> the written paths it links to
        self.recipes: dict[str, str] = {}  # logical path -> recipe
        self.written: dict[str, str] = {}  # logical path -> written path
        self.staged: list[str] = []  # written paths of the files this build made
        self.files = 0
        self.bytes = 0
        self._folders: dict[str, str] = {}  # output folder -> its staging folder, made (`_made_folder`)
        self._real_output = os.path.realpath(output_dir)
        self._inside: dict[str, bool] = {}  # output folder -> not reached through a link (`_really_inside`)
        self.written_state: BuildState | None = None  # the state, once committed
        self.pages = 0  # what the plan made, kept in the state for a no-op build to report
        self.portals: list[list] = []  # [folder, pages, files] per portal
        self.rekey_after: str | None = None  # the earliest day a direct link ends (kept in the state)

    def __enter__(self) -> StagedOutput:
        recover_output(self.output_dir)
        if self.staging.exists():  # left by a build that was killed: moved aside first, since its
            discard(self.staging)  # last workers may still be writing into it
        name = self.output_dir.name
        for leftover in self.output_dir.parent.glob(f".{name}.previous-*"):
            discard(leftover)  # an old site set aside: the output is whole again, so it is not needed
        for leftover in self.output_dir.parent.glob(f".trash-{name}.*"):
            remove_in_background(leftover)  # a removal cut short
        self.staging.mkdir(parents=True)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            shutil.rmtree(self.staging, ignore_errors=True)

    def write(self, relative: str, data: bytes) -> None:
        """Write one file into staging (safe to call from worker processes). A file the output
        already holds byte for byte is linked instead: a new file costs the file system ten times
        what a link does, and a full build over an unchanged site makes every file again."""
        folder, _, name = _inside_path(relative).rpartition("/")
        target, existing = os.path.join(self._made_folder(folder), name), os.path.join(self.output_dir, folder, name)
        if not (self._really_inside(folder) and _linked_if_same(existing, target, data)):
            _written_anew(Path(target), data)

    def _really_inside(self, folder: str) -> bool:
        """Whether a folder of the output is in it, not reached through a link to a folder
        elsewhere (asked once a folder: resolving a path is a tenth of what linking a file costs)."""
        inside = self._inside.get(folder)
        if inside is None:
            real = os.path.realpath(os.path.join(self.output_dir, folder))
            inside = self._inside[folder] = Path(real).is_relative_to(self._real_output)
        return inside

    def _made_folder(self, folder: str) -> str:
        """The staging folder of an output folder, made (once by this process: a portal has many files)."""
        made = self._folders.get(folder)
        if made is None:
            made = self._folders[folder] = os.path.join(self.staging, folder)
            os.makedirs(made, exist_ok=True)
        return made

    def record(self, logical: str, written: str, sha256: str, size: int, links: tuple[str, ...] = ()) -> None:
        """A file this build made (it is in staging)."""
        self.written[logical] = written
        self.digests[written] = sha256
        if links:
            self.links[written] = tuple(links)
        self.staged.append(written)
        self.files += 1
        self.bytes += size

    def records(self) -> StagedRecords:
        """What this process staged and kept, for the build's process when this is another one (`workers.run_apart`)."""
        return StagedRecords(self.written, self.digests, self.links, self.recipes, self.staged, self.files, self.bytes)

    def start_records(self) -> None:
        """Record from nothing (in a process of its own, whose records then join the build's)."""
        self.written, self.digests, self.links, self.recipes, self.staged = {}, {}, {}, {}, []
        self.files = self.bytes = 0

    def add(self, records: StagedRecords) -> None:
        self.written.update(records.written)
        self.digests.update(records.digests)
        self.links.update(records.links)
        self.recipes.update(records.recipes)
        self.staged += records.staged
        self.files += records.files
        self.bytes += records.bytes

    def keep(self, logical: str, written: str, sha256: str | None) -> bool:
        """Keep the output's file for `logical` as it is; False if it is not there to keep."""
        if not self.in_place or sha256 is None or self.previous_files.get(written) != sha256:
            return False
        try:
            size = _target(self.output_dir, written).stat().st_size
        except OSError:
            return False
        self.written[logical] = written
        self.digests[written] = sha256
        links = self.previous.links.get(written)
        if links is not None:
            self.links[written] = links
        self.files += 1
        self.bytes += size
        return True

    def keep_all_but(self, folders: set[str]) -> bool:
        """Keep every file of the previous build outside these portal folders as it is, without
        looking at them (a quick rebuild of a few portals); False when the state cannot say how big they are."""
        if not self.in_place:
            return False
        inside = tuple(f"{folder}/" for folder in folders)
        self.bytes += self.previous.bytes
        for written, sha in self.previous_files.items():
            if written.startswith(inside):
                try:
                    self.bytes -= _target(self.output_dir, written).stat().st_size
                except OSError:
                    return False
            else:
                self.digests[written] = sha
                self.files += 1
        self.links.update((path, links) for path, links in self.previous.links.items() if not path.startswith(inside))
        self.kept_recipes = {
            key: entry for key, entry in self.previous.recipes.items() if not entry[1].startswith(inside)
        }
        return True

    def state(self) -> BuildState:
        recipes = {
            **self.kept_recipes,
            **{
                state_key(logical): [recipe, self.written[logical]]
                for logical, recipe in self.recipes.items()
                if logical in self.written
            },
        }
        return BuildState(
            self.inputs,
            self.mode,
            self.bytes,
            self.digests,
            recipes,
            self.pages,
            self.portals,
            self.rekey_after,
            self.links,
        )

    def commit(self) -> None:
        """The new site is complete: it takes the output's place, all at once (a full build) or
        unit by unit (an incremental one, see `switch.py`)."""
        moment("staged")
        self.written_state = self.state()
        if not self.in_place:
            write_state(self.staging, self.written_state)
            self._swap_in()
        else:
            units = self._complete_changed_units()
            write_state(self.staging, self.written_state)
            switch(self.output_dir, self.staging, units)
            discard(self.staging)
        remember_folders(self.output_dir, self.written_state)  # every file is in place: stamp the folders

    def _complete_changed_units(self) -> set[str]:
        """The units (top-level folders, root files) this build changed, each made whole in staging:
        the files it kept there join the re-rendered ones as hard links to the output's."""
        staged = set(self.staged)
        units = {unit_of(p) for p in staged} | {unit_of(p) for p in self.previous_files.keys() - self.digests.keys()}
        made: set[Path] = set()
        for written in self.digests.keys() - staged:
            if "/" not in written or unit_of(written) not in units:
                continue
            target = _target(self.staging, written)
            if target.parent not in made:
                target.parent.mkdir(parents=True, exist_ok=True)
                made.add(target.parent)
            source = _target(self.output_dir, written)
            try:
                os.link(source, target)
            except OSError:  # a file system without hard links
                shutil.copy2(source, target)
        return units

    def _swap_in(self) -> None:
        """Staging becomes the output: exchanged in one atomic rename where the system can (so the
        output is never missing, not even for an instant), else by two renames, which a build,
        publish or `serve` after a crash between them undoes (`recover_output`)."""
        moment("swapping")
        if self.output_dir.exists() and exchange(self.staging, self.output_dir):
            discard(self.staging)  # now the old site: renamed away before the next build needs the name
            return
        previous = self.output_dir.with_name(f".{self.output_dir.name}.previous-{time.time_ns()}")
        if self.output_dir.exists():
            os.replace(self.output_dir, previous)
        moment("swapped-aside")
        os.replace(self.staging, self.output_dir)
        discard(previous)  # renamed out of the `.previous-N` names first: only complete sites have those


def _written_anew(target: Path, data: bytes) -> None:
    """A new file, never written through a name it already has (which may be a link the live
    output shares): a file planned twice, as one document two records name, is replaced."""
    try:
        with open(target, "xb") as new:
            new.write(data)
    except FileExistsError:
        temporary = target.with_name(f".{target.name}.{os.getpid()}")
        temporary.write_bytes(data)
        os.replace(temporary, target)


def _linked_if_same(existing: str, target: str, data: bytes) -> bool:
    """Link `existing` as `target` if it is this build's own plain file holding exactly `data`
    (compared, not assumed: the output may have been altered since it was built). Only a file no
    one else can change afterwards: ours, written by no one else, linked from nowhere else (the
    caller checks that its folder is the output's own)."""
    try:
        descriptor = os.open(existing, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        try:  # read directly: a buffered file object costs more than the read (a short read: not the same)
            info = os.fstat(descriptor)
            if not _only_ours(info, len(data)) or os.read(descriptor, len(data) + 1) != data:
                return False
        finally:
            os.close(descriptor)
        os.link(existing, target, follow_symlinks=False)
        if os.stat(target, follow_symlinks=False).st_ino != info.st_ino:  # replaced since it was compared
            os.unlink(target)
            return False
        return True
    except OSError:
        return False


def _only_ours(info: os.stat_result, size: int) -> bool:
    return (
        stat.S_ISREG(info.st_mode)
        and info.st_size == size
        and info.st_nlink == 1
        and info.st_uid == os.geteuid()
        and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    )


def staging_for(output_dir: Path) -> Path:
    return output_dir.with_name(f".{output_dir.name}.staging")


def recover_output(output_dir: Path) -> bool:
    """Undo what a build killed while switching left: finish an incremental switch the journal
    lists, or put the last complete site back when a full build died between the two renames of
    its swap. Called by anything that reads the output: a build, a publish, the development
    server (each holding the output's lock). True if it recovered something."""
    if output_dir.exists():
        if not finish_switch(output_dir, staging_for(output_dir)):
            return False
        discard(staging_for(output_dir))  # what the switch replaced
        return True
    pattern = re.compile(re.escape(f".{output_dir.name}.previous-") + r"(\d+)")
    named = [(pattern.fullmatch(p.name), p) for p in output_dir.parent.glob(f".{output_dir.name}.previous-*")]
    aside = [p for _, p in sorted(((int(m.group(1)), p) for m, p in named if m), reverse=True)]
    for candidate in aside:  # the newest complete site set aside
        if (candidate / STATE_DIR).is_dir():
            try:
                os.rename(candidate, output_dir)
            except OSError:
                return output_dir.exists()  # another process recovered it first
            return True
    return False


def discard(folder: Path) -> None:
    """Remove a folder that another (dying) process may still write into: renamed away first, so
    the name is free at once, then deleted in the background."""
    trash = folder.with_name(f".trash-{folder.name.lstrip('.')}-{os.getpid()}-{time.monotonic_ns()}")
    try:
        os.rename(folder, trash)
    except OSError:
        return
    remove_in_background(trash)


def remove_in_background(folder: Path) -> None:
    """Delete an old output tree in a detached process, so neither this build nor the process
    that ran it waits for tens of thousands of unlinks; the next build sweeps up any leftover."""
    try:
        subprocess.Popen(
            [sys.executable, "-c", "import shutil, sys; shutil.rmtree(sys.argv[1], ignore_errors=True)", str(folder)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError:
        shutil.rmtree(folder, ignore_errors=True)
