"""What a publish sends: the build's files with their headers, and the errors it can end with."""

from __future__ import annotations

import fnmatch
import gzip
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..config import PublishConfig
from ..output import BuildState, read_state
from ..output.state import BUILD_STATE, STATE_DIR
from ..site import PATHS, media_type

MANIFEST_KEY = f"{STATE_DIR}/manifest.json"


def shard_manifest_key(index: int, count: int) -> str:
    """What one shard of a sharded publish sent (the final step combines them into the manifest)."""
    return f"{STATE_DIR}/manifest.shard-{index}-of-{count}.json"


FINGERPRINTED = re.compile(r"\.[0-9a-f]{8,}\.[A-Za-z0-9]+$")
COMPRESSIBLE = ("text/", "application/json", "image/svg+xml")
ORDER = ("asset", "page", "entry", "site")

DEFAULT_CACHE_RULES = (
    ("_static/*", "public, max-age=31536000, immutable", True),  # fingerprinted assets only
    ("_static/*", "public, max-age=3600, must-revalidate", False),
    ("*", "no-cache", False),  # entry pages, encrypted pages and blobs, root pages: always revalidate
)


class PublishError(Exception):
    """The publish could not be done as asked; the message says what was and was not written."""


class ManifestConflict(PublishError):
    """Another publish wrote the store's manifest after this one read it."""


# -- what should be published -------------------------------------------------------------------


@dataclass(frozen=True)
class Headers:
    content_type: str
    cache_control: str
    content_encoding: str | None


@dataclass(frozen=True)
class LocalFile:
    path: str
    sha256: str
    source: Path
    headers: Headers
    links: tuple[str, ...] = ()  # the build's files this one links to (pages and shared files only)

    @property
    def role(self) -> str:
        return role_of(self.path)

    def signature(self) -> dict:
        return {
            "sha256": self.sha256,
            "type": self.headers.content_type,
            "cache": self.headers.cache_control,
            "encoding": self.headers.content_encoding,
        }


def role_of(path: str) -> str:
    parts = PurePosixPath(path).parts
    if parts[0] == "_static":
        return "asset"
    if len(parts) == 1:
        return "site"
    return "entry" if parts[-1] == PATHS.entry else "page"


def is_fingerprinted(path: str) -> bool:
    return bool(FINGERPRINTED.search(path))


def headers_for(path: str, settings: PublishConfig) -> Headers:
    cache = next((rule.value for rule in settings.cache_control if fnmatch.fnmatchcase(path, rule.pattern)), None)
    if cache is None:
        cache = next(
            value
            for pattern, value, fingerprint in DEFAULT_CACHE_RULES
            if fnmatch.fnmatchcase(path, pattern) and (not fingerprint or is_fingerprinted(path))
        )
    kind = media_type(path)
    encoding = "gzip" if settings.gzip and kind.startswith(COMPRESSIBLE) else None
    return Headers(kind, cache, encoding)


def local_files(output_dir: Path, settings: PublishConfig, state: BuildState | None = None) -> dict[str, LocalFile]:
    state = state if state is not None else read_state(output_dir)
    if state is None:
        raise PublishError(f"{output_dir} holds no complete build (no {BUILD_STATE}); run portico build")
    files = {}
    for path, digest in state.files.items():
        source = output_dir.joinpath(*PurePosixPath(path).parts)
        if not source.is_file():
            raise PublishError(f"{source} is in the build manifest but missing; rebuild before publishing")
        files[path] = LocalFile(path, digest, source, headers_for(path, settings), tuple(state.links.get(path, ())))
    return files


def body_of(file: LocalFile) -> bytes:
    data = file.source.read_bytes()
    if hashlib.sha256(data).hexdigest() != file.sha256:
        raise PublishError(f"{file.source} changed since the build; rebuild before publishing")
    return gzip.compress(data, mtime=0) if file.headers.content_encoding == "gzip" else data
