"""Write rendered files into a staging folder, then swap it in place of the output folder.

A build that fails halfway leaves the previous output untouched: nothing is written into the
live folder until every file of the new site exists.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path, PurePosixPath

STATE_DIR = ".portico"  # inside the output folder, never published
BUILD_MANIFEST = f"{STATE_DIR}/build.json"


def read_build_manifest(output_dir: Path) -> dict | None:
    """What the last build wrote: every file's SHA-256, and the fingerprint of its inputs."""
    try:
        data = json.loads((output_dir / BUILD_MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("version") == 1 else None


class StagedOutput:
    def __init__(self, output_dir: Path, inputs: str = ""):
        self.output_dir = output_dir
        self.staging = output_dir.with_name(f".{output_dir.name}.staging")
        self.inputs = inputs
        self.digests: dict[str, str] = {}
        self.files = 0
        self.bytes = 0

    def __enter__(self) -> "StagedOutput":
        if self.staging.exists():
            shutil.rmtree(self.staging)  # left by a build that was killed
        self.staging.mkdir(parents=True)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            shutil.rmtree(self.staging, ignore_errors=True)

    def write(self, relative: str, data: bytes) -> None:
        parts = PurePosixPath(relative).parts
        if not parts or relative.startswith("/") or ".." in parts:
            raise ValueError(f"refusing to write outside the output folder: {relative!r}")
        target = self.staging.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        self.digests[relative] = hashlib.sha256(data).hexdigest()
        self.files += 1
        self.bytes += len(data)

    def commit(self) -> None:
        manifest = {"version": 1, "inputs": self.inputs, "files": dict(sorted(self.digests.items()))}
        state = self.staging / STATE_DIR
        state.mkdir(exist_ok=True)
        (state / "build.json").write_text(json.dumps(manifest, indent=0, sort_keys=True), encoding="utf-8")
        previous = self.output_dir.with_name(f".{self.output_dir.name}.previous")
        if previous.exists():
            shutil.rmtree(previous)
        if self.output_dir.exists():
            os.replace(self.output_dir, previous)
        os.replace(self.staging, self.output_dir)
        shutil.rmtree(previous, ignore_errors=True)
