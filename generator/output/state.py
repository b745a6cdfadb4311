"""The build's state: what the last build wrote, read and written here only.

Kept in `.portico/build.json` inside the output folder, never published, and free of customer
data: every written file's SHA-256 (what `publish` sends), every file's recipe (what the next
incremental build compares), the links between files (what a publish uploads first), the
fingerprint of the inputs and the build's mode. A state is trusted only if the folder holds
exactly the files it lists.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import accumulate
from pathlib import Path

import orjson

from ..garbage import garbage_collection_paused
from .columns import FileDigests, LinkTable, Paths, RecipeTable, only, pack, pack_rows, unpack, unpack_rows

STATE_DIR = ".portico"  # inside the output folder, never published
BUILD_STATE = f"{STATE_DIR}/build.json"
SWITCHING = f"{STATE_DIR}/switch.json"  # an incremental build's switch journal (`switch.py`)
APPLYING = f"{STATE_DIR}/applying"  # left by an incremental build of an earlier version, cut short
FOLDER_STAMPS = f"{STATE_DIR}/folders.json"  # each folder's inode and time (`remember_folders`)
STATE_VERSION = 5  # 4: column by column, each path once; 5: digests and recipes packed, maps read from the columns


@dataclass(frozen=True)
class BuildMode:
    """How a build was made; a build in another mode is not the same build."""

    engine: str  # the recipe engine's version
    encrypted: bool  # False: a plain preview
    strict: bool
    only: tuple[str, ...] | None = None  # a partial build of these customers
    keystore: str | None = None  # the public id of the keystore an encrypted build used
    shard: str | None = None  # "I/N": one shard of a site built on N machines (`publish --shard I/N` sends it)

    @property
    def publishable(self) -> bool:
        """Only a complete, encrypted build may be published: never a preview, never a partial one
        (a shard is published as a shard)."""
        return self.encrypted and self.only is None and self.shard is None

    def same_as(self, other: BuildMode) -> bool:
        """The same kind of build, whichever keystore (the input fingerprint covers its bytes)."""
        return (self.engine, self.encrypted, self.strict, self.only, self.shard) == (
            other.engine,
            other.encrypted,
            other.strict,
            other.only,
            other.shard,
        )

    def to_json(self) -> dict:
        data = {
            "engine": self.engine,
            "encrypted": self.encrypted,
            "strict": self.strict,
            "only": list(self.only) if self.only is not None else None,
        }
        if self.keystore is not None:
            data["keystore"] = self.keystore
        if self.shard is not None:
            data["shard"] = self.shard
        return data

    @classmethod
    def from_json(cls, data: dict) -> BuildMode:
        only = data.get("only")
        return cls(
            str(data["engine"]),
            bool(data["encrypted"]),
            bool(data["strict"]),
            tuple(only) if only is not None else None,
            data.get("keystore"),
            data.get("shard"),
        )


@dataclass
class BuildState:
    inputs: str  # fingerprint of everything the build read
    mode: BuildMode
    bytes: int  # total size of the files
    files: Mapping[str, str] = field(default_factory=dict)  # written path -> SHA-256
    recipes: Mapping[str, Sequence[str]] = field(default_factory=dict)  # state key -> (recipe, written path)
    pages: int = 0  # pages the build made
    portals: list[list] = field(default_factory=list)  # [folder, pages, files] per portal: no customer ids or names
    rekey_after: str | None = None  # ISO date: from the day after it, a direct link has ended (a build is due)
    links: Mapping[str, Sequence[str]] = field(default_factory=dict)  # written path -> the written paths it links to

    def rekey_due(self, today: date | None = None) -> bool:
        """Whether a direct link has ended since this build: the next build must re-key its page,
        even though nothing it reads changed."""
        return self.rekey_after is not None and (today or date.today()).isoformat() > self.rekey_after

    def to_json(self) -> dict:
        """Column by column, each written path once: a state of 250,000 files is then a few dozen
        large arrays rather than a million small objects, which is what loading it costs; the
        digests and recipes, all of one width, are each one long string (`columns.py`)."""
        paths = list(self.files)
        try:
            return self._columns(paths)
        except KeyError:  # a recipe or a link names a path that is no file (none does, as built): list it too
            return self._columns([*paths, *sorted(_unlisted(self.files, self.recipes.values(), self.links))])

    def _columns(self, paths: list[str]) -> dict:
        index = dict(zip(paths, range(len(paths)), strict=True))
        link_sets: dict[tuple[str, ...], int] = {}  # the pages of a portal link the same few files
        link_set_of = {path: link_sets.setdefault(tuple(links), len(link_sets)) for path, links in self.links.items()}
        return {
            "version": STATE_VERSION,
            "inputs": self.inputs,
            "mode": self.mode.to_json(),
            "bytes": self.bytes,
            "pages": self.pages,
            "portals": self.portals,
            "rekey_after": self.rekey_after,
            "paths": paths,
            "digests": pack(list(self.files.values())),  # of the first len(files) paths
            "recipe_keys": list(self.recipes),
            "recipes": pack([recipe for recipe, _ in self.recipes.values()]),
            "recipe_paths": pack_rows(index[path] for _, path in self.recipes.values()),
            "link_rows": pack_rows(index[link] for links in link_sets for link in links),  # the sets, end to end
            "link_ends": pack_rows(accumulate(map(len, link_sets))),  # where each set ends
            "links": pack_rows(link_set_of.get(path, -1) + 1 for path in paths),  # 0: links nothing
        }

    @classmethod
    def from_json(cls, data: object) -> BuildState | None:
        """The state, its maps answering from the columns as read (`columns.py`); None if the
        columns do not fit together (a damaged file is no state: the next build is a full one)."""
        if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
            return None
        try:
            paths, keys, mode = data["paths"], data["recipe_keys"], data["mode"]
            if not (isinstance(mode, dict) and isinstance(paths, list) and isinstance(keys, list)):
                return None
            if not (only(str, paths) and only(str, keys)):
                return None
            digests, recipes = unpack(data["digests"]), unpack(data["recipes"])
            recipe_paths = unpack_rows(data["recipe_paths"], len(paths))
            link_rows = unpack_rows(data["link_rows"], len(paths))
            link_ends = unpack_rows(data["link_ends"], len(link_rows) + 1)
            links = unpack_rows(data["links"], len(link_ends) + 1)
            if not len(digests) <= len(paths) == len(links) or not len(keys) == len(recipes) == len(recipe_paths):
                return None
            table = Paths(paths)
            return cls(
                str(data.get("inputs", "")),
                BuildMode.from_json(mode),
                int(data.get("bytes", 0)),
                FileDigests(table, digests),
                RecipeTable(keys, recipes, recipe_paths, table),
                int(data.get("pages", 0)),
                [[str(slug), int(pages), int(files)] for slug, pages, files in data.get("portals", [])],
                str(data["rekey_after"]) if data.get("rekey_after") else None,
                LinkTable(table, link_rows, link_ends, links),
            )
        except (KeyError, IndexError, TypeError, ValueError):
            return None


def _unlisted(
    files: Mapping[str, str], recipes: Iterable[Sequence[str]], links: Mapping[str, Sequence[str]]
) -> set[str]:
    """Paths a recipe or a link names that are no file of the build (none, in a build as made)."""
    unlisted = {path for _, path in recipes if path not in files} | (links.keys() - files.keys())
    return unlisted | {link for targets in links.values() for link in targets if link not in files}


def read_state(output_dir: Path) -> BuildState | None:
    """The last build's state, or None when there is none or it cannot be trusted: an incremental
    build was cut short while moving files in, or the folder does not hold exactly the files the
    state lists (something else wrote there)."""
    if (output_dir / APPLYING).exists() or (output_dir / SWITCHING).exists():
        return None  # (a switch a crash cut short: finished by `recover_output` before anything reads)
    try:
        stamp = _stamp(os.stat(output_dir / BUILD_STATE))
        with garbage_collection_paused():  # a million objects, no cycles among them
            state = BuildState.from_json(orjson.loads((output_dir / BUILD_STATE).read_bytes()))
    except (OSError, ValueError):  # (orjson.JSONDecodeError is a ValueError)
        return None
    if state is None:
        return None
    return state if folders_unchanged(output_dir, stamp) or holds_exactly(output_dir, state.files) else None


def holds_exactly(root: Path, files: Iterable[str]) -> bool:
    """Whether the folder holds these files and nothing else (its state's own folder aside): one
    listing per folder, compared by name (250,000 files in 17,000 folders: about 0.7 s)."""
    expected = _folders(files)
    try:
        return all(set(os.listdir(root / folder if folder else root)) == names for folder, names in expected.items())
    except OSError:  # a folder it lists is missing, or is a file
        return False


def _folders(files: Iterable[str]) -> dict[str, set[str]]:
    """Every folder that holds these files (the root is ""), with the names it must hold."""
    expected: dict[str, set[str]] = {}
    for path in files:
        folder, _, name = path.rpartition("/")
        expected.setdefault(folder, set()).add(name)
        while folder:  # every folder is an entry of its parent
            parent, _, child = folder.rpartition("/")
            siblings = expected.setdefault(parent, set())
            if child in siblings:
                break
            siblings.add(child)
            folder = parent
    expected.setdefault("", set()).add(STATE_DIR)
    return expected


def _folder_paths(files: Iterable[str]) -> set[str]:
    """Every folder that holds these files, and every folder above those (the root is "")."""
    found: set[str] = set()
    for folder in {path.rpartition("/")[0] for path in files}:
        while folder not in found:
            found.add(folder)
            folder = folder.rpartition("/")[0]
    found.add("")
    return found


def remember_folders(root: Path, state: BuildState) -> None:
    """Note each folder's inode and modification time, right after the build has put the last
    file in place: a folder's time changes whenever a name in it is added, removed or renamed,
    so while every time is the same, the folder still holds exactly what the state lists, and
    the next build trusts it without listing 17,000 folders. Bound to the state file it vouches
    for; missing, stale or damaged, it is ignored and the folders are listed (`holds_exactly`)."""
    try:
        folders = sorted(_folder_paths(state.files))
        stamps = {"state": _stamp(os.stat(root / BUILD_STATE)), "folders": folders, "times": _times(root, folders)}
        temporary = root / f"{FOLDER_STAMPS}.tmp"
        temporary.write_bytes(orjson.dumps(stamps))
        os.replace(temporary, root / FOLDER_STAMPS)
    except OSError:  # only a speed-up: without it the next build lists the folders
        (root / FOLDER_STAMPS).unlink(missing_ok=True)


def folders_unchanged(root: Path, state_stamp: list[int]) -> bool:
    """Whether the folder stamps vouch for this state file, and every folder still has its time."""
    try:
        stamps = orjson.loads((root / FOLDER_STAMPS).read_bytes())
        if not isinstance(stamps, dict) or stamps.get("state") != state_stamp:
            return False
        return stamps["times"] == _times(root, stamps["folders"])
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _times(root: Path, folders: list[str]) -> str:
    """One digest of every folder's inode, modification time and size, in this order."""
    times = hashlib.sha256()
    for folder in folders:
        times.update(b"%d %d %d\n" % tuple(_stamp(os.stat(f"{root}/{folder}"))))
    return times.hexdigest()


def _stamp(info: os.stat_result) -> list[int]:
    return [info.st_ino, info.st_mtime_ns, info.st_size]


def write_state(root: Path, state: BuildState) -> None:
    folder = root / STATE_DIR
    folder.mkdir(exist_ok=True)
    temporary = folder / "build.json.tmp"
    with garbage_collection_paused():  # a million objects, no cycles among them
        temporary.write_bytes(orjson.dumps(state.to_json()))
    os.replace(temporary, folder / "build.json")


def state_key(logical: str) -> str:
    """Recipes are looked up by a hash of the logical path, which may hold document numbers."""
    return hashlib.sha256(logical.encode("utf-8")).hexdigest()[:24]


def state_stamp(output_dir: Path) -> tuple[int, int] | None:
    """When and how big the state file was written: a process that remembers the state it
    wrote can tell whether another build has been here since."""
    try:
        info = (output_dir / BUILD_STATE).stat()
    except OSError:
        return None
    return info.st_mtime_ns, info.st_size
