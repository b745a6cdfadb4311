"""A local folder as the target: a web server's document root, a mounted share."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path, PurePosixPath

from ...config import PublishConfig
from ...output.state import STATE_DIR
from ..files import MANIFEST_KEY, LocalFile, ManifestConflict
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

    def read_manifest(self) -> tuple[bytes | None, str | None]:
        try:
            raw = self._file(MANIFEST_KEY).read_bytes()
        except FileNotFoundError:
            return None, None
        return raw, hashlib.sha256(raw).hexdigest()

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
            for parent in target.parents:
                if parent == self.root or any(parent.iterdir()):
                    break
                parent.rmdir()

    def write_manifest(self, body: bytes, expected: str | None) -> str:
        target = self._file(MANIFEST_KEY)
        target.parent.mkdir(parents=True, exist_ok=True)
        lock = target.with_name("manifest.lock")
        try:
            handle = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            raise ManifestConflict(f"another publish to {self.root} is writing its manifest") from None
        try:
            current = self.read_manifest()[1]
            if current != expected:
                raise ManifestConflict(
                    f"another publish to {self.root} wrote the manifest after this one read it; "
                    "nothing was deleted; run publish again"
                )
            temp = target.with_name("manifest.json.partial")
            temp.write_bytes(body)
            os.replace(temp, target)
            return hashlib.sha256(body).hexdigest()
        finally:
            os.close(handle)
            lock.unlink()
