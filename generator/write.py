"""Write the site into a staging folder, then swap it in place of the output folder.

A build that fails halfway leaves the previous output untouched: nothing is written into the
live folder until every file of the new site exists. Files an incremental build did not need
to remake are hard-linked from the previous output, so their bytes are never rewritten.

The build's state (every file's SHA-256 for publishing, every file's recipe for the next
incremental build, the fingerprint of the inputs) is kept in `.portico/build.json` inside the
output, swapped in with it, never published, and free of customer data.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path, PurePosixPath

STATE_DIR = ".portico"  # inside the output folder, never published
BUILD_MANIFEST = f"{STATE_DIR}/build.json"
STATE_VERSION = 2


def read_build_manifest(output_dir: Path) -> dict | None:
    """The last build's state, or None when there is none or it cannot be trusted."""
    try:
        data = json.loads((output_dir / BUILD_MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
        return None
    if not isinstance(data.get("files"), dict) or not isinstance(data.get("recipes"), dict):
        return None
    return data


def state_key(logical: str) -> str:
    """Recipes are looked up by a hash of the logical path, which may hold document numbers."""
    return hashlib.sha256(logical.encode("utf-8")).hexdigest()[:24]


def _target(root: Path, relative: str) -> Path:
    parts = PurePosixPath(relative).parts
    if not parts or relative.startswith("/") or ".." in parts:
        raise ValueError(f"refusing to write outside the output folder: {relative!r}")
    return root.joinpath(*parts)


class StagedOutput:
    def __init__(self, output_dir: Path, inputs: str = "", mode: dict | None = None):
        self.output_dir = output_dir
        self.staging = output_dir.with_name(f".{output_dir.name}.staging")
        self.inputs = inputs
        self.mode = mode or {}
        self.digests: dict[str, str] = {}  # written path -> sha256
        self.recipes: dict[str, str] = {}  # logical path -> recipe
        self.written: dict[str, str] = {}  # logical path -> written path
        self.files = 0
        self.bytes = 0
        self._folders: set[Path] = set()  # made already (by this process): a portal has many files

    def __enter__(self) -> "StagedOutput":
        if self.staging.exists():
            shutil.rmtree(self.staging)  # left by a build that was killed
        for leftover in self.output_dir.parent.glob(f".{self.output_dir.name}.previous*"):
            shutil.rmtree(leftover, ignore_errors=True)  # an old output whose removal was cut short
        self.staging.mkdir(parents=True)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            shutil.rmtree(self.staging, ignore_errors=True)

    def write(self, relative: str, data: bytes) -> None:
        """Write one file into staging (safe to call from worker processes)."""
        target = _target(self.staging, relative)
        self._make_folder(target.parent)
        target.write_bytes(data)

    def _make_folder(self, folder: Path) -> None:
        if folder not in self._folders:
            folder.mkdir(parents=True, exist_ok=True)
            self._folders.add(folder)

    def record(self, logical: str, written: str, sha256: str, size: int) -> None:
        self.written[logical] = written
        self.digests[written] = sha256
        self.files += 1
        self.bytes += size

    def carry_over(self, previous_dir: Path, logical: str, written: str, sha256: str | None) -> bool:
        """Reuse the previous build's file for `logical`, unchanged; False if it is not there."""
        source = _target(previous_dir, written)
        if sha256 is None or not source.is_file():
            return False
        target = _target(self.staging, written)
        self._make_folder(target.parent)
        try:
            os.link(source, target)
        except OSError:
            shutil.copy2(source, target)
        self.record(logical, written, sha256, source.stat().st_size)
        return True

    def commit(self) -> None:
        state = {
            "version": STATE_VERSION,
            "inputs": self.inputs,
            "mode": self.mode,
            "files": dict(sorted(self.digests.items())),
            "recipes": {state_key(logical): [recipe, self.written[logical]]
                        for logical, recipe in sorted(self.recipes.items()) if logical in self.written},
        }
        folder = self.staging / STATE_DIR
        folder.mkdir(exist_ok=True)
        (folder / "build.json").write_text(json.dumps(state, indent=0, sort_keys=True), encoding="utf-8")
        previous = self.output_dir.with_name(f".{self.output_dir.name}.previous-{os.getpid()}")
        if self.output_dir.exists():
            os.replace(self.output_dir, previous)
        os.replace(self.staging, self.output_dir)
        remove_in_background(previous)


def remove_in_background(folder: Path) -> None:
    """Delete an old output tree in a detached process, so neither this build nor the process
    that ran it waits for tens of thousands of unlinks; the next build sweeps up any leftover."""
    try:
        subprocess.Popen([sys.executable, "-c", "import shutil, sys; shutil.rmtree(sys.argv[1], ignore_errors=True)",
                          str(folder)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    except OSError:
        shutil.rmtree(folder, ignore_errors=True)
