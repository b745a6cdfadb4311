"""A local folder as the target: a web server's document root, a mounted share."""

from __future__ import annotations

import fcntl
import gzip
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from ...config import PublishConfig
from ...output.state import STATE_DIR
from ..files import LocalFile, ManifestConflict
from .registry import Target, store


@store("file")
class FolderStore:
    """A local folder as the target (a web server's document root, a mounted share)."""

    def __init__(self, target: Target | Path, settings: PublishConfig | None = None):
        self.root = Path(target.location) if isinstance(target, Target) else target
        self.description = str(self.root)

    def _file(self, path: str) -> Path:
        return self.root.joinpath(*PurePosixPath(path).parts)

    def list_sizes(self) -> dict[str, int]:
        if not self.root.is_dir():
            return {}
        return {
            p.relative_to(self.root).as_posix(): p.stat().st_size
            for p in self.root.rglob("*")
            if p.is_file() and STATE_DIR not in p.relative_to(self.root).parts
        }

    def read_meta(self, name: str) -> tuple[bytes | None, str | None]:
        try:
            raw = self._file(name).read_bytes()
        except FileNotFoundError:
            return None, None
        return raw, hashlib.sha256(raw).hexdigest()

    def describe(self, paths: list[str]) -> dict[str, dict]:
        """What the folder holds under these paths (the SHA-256 of the bytes as built, and the size)."""
        held = {}
        for path in paths:
            try:
                body = self._file(path).read_bytes()
            except OSError:
                continue
            plain = _gunzipped(body)
            held[path] = {"sha256": hashlib.sha256(plain).hexdigest(), "size": len(body)}
        return held

    def put(self, file: LocalFile, body: bytes) -> None:
        target = self._file(file.path)
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.with_name(f".{target.name}.partial")
        temp.write_bytes(body)
        os.replace(temp, target)

    def delete(self, paths: list[str]) -> None:
        for path in paths:
            target = self._file(path)
            target.unlink(missing_ok=True)
            for parent in target.parents:  # its folder too, once empty (a re-run finds it gone already)
                if parent == self.root or not parent.is_dir() or any(parent.iterdir()):
                    break
                parent.rmdir()

    def write_meta(self, name: str, body: bytes, expected: str | None) -> str:
        """Compare-and-swap under `flock` (which the kernel drops if this process is killed, so a
        dead publish never leaves the folder locked)."""
        target = self._file(name)
        with self._meta_lock(name):
            if self.read_meta(name)[1] != expected:
                raise ManifestConflict(f"{name} in {self.root} was written by another publish after this one read it")
            temp = target.with_name(f"{target.name}.partial")
            temp.write_bytes(body)
            os.replace(temp, target)
            return hashlib.sha256(body).hexdigest()

    @contextmanager
    def _meta_lock(self, name: str) -> Iterator[None]:
        target = self._file(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        handle = os.open(target.with_name("manifest.lock"), os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield
        finally:
            os.close(handle)

    def delete_meta(self, name: str, expected: str | None = None) -> None:
        with self._meta_lock(name):
            if expected is not None and self.read_meta(name)[1] != expected:
                raise ManifestConflict(f"{name} in {self.root} was changed by another publish")
            self._file(name).unlink(missing_ok=True)


def _gunzipped(body: bytes) -> bytes:
    if body[:2] != b"\x1f\x8b":
        return body
    try:
        return gzip.decompress(body)
    except (OSError, EOFError):
        return body
