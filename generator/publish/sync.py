"""What to send, and in which order, to make a store hold exactly the build.

Change detection compares each built file's SHA-256 and headers with the store's manifest (one
object recording what was published, and with what headers); it never looks at modification
times, ETags or object contents. With `verify` (and always for a store without a manifest) the
store's listing is compared too.

A publish first writes an intent manifest, conditional on the version it read: the old objects
plus the ones about to change, marked pending. That write is the lock: of two racing publishes
the second fails before touching anything. Then uploads go in an order that never leaves a
published page pointing at something missing: shared assets, customers' pages and files, their
entry pages (which carry the key slots), the site's root pages. Then objects no longer built
are deleted (capped against mass deletion), and the final manifest is written. A publish that
dies part-way leaves the intent, so the next run re-sends what was pending and still knows
every leftover to delete: it converges.
"""
from __future__ import annotations

import fnmatch
import gzip
import hashlib
import json
import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from ..config import PublishConfig
from ..render import media_type
from ..write import STATE_DIR, read_build_manifest

if TYPE_CHECKING:
    from .stores import Store

MANIFEST_KEY = f"{STATE_DIR}/manifest.json"
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

    @property
    def role(self) -> str:
        return role_of(self.path)

    def signature(self) -> dict:
        return {"sha256": self.sha256, "type": self.headers.content_type, "cache": self.headers.cache_control,
                "encoding": self.headers.content_encoding}


def role_of(path: str) -> str:
    parts = PurePosixPath(path).parts
    if parts[0] == "_static":
        return "asset"
    if len(parts) == 1:
        return "site"
    return "entry" if parts[-1] == "index.html" else "page"


def is_fingerprinted(path: str) -> bool:
    return bool(FINGERPRINTED.search(path))


def headers_for(path: str, settings: PublishConfig) -> Headers:
    cache = next((rule.value for rule in settings.cache_control if fnmatch.fnmatchcase(path, rule.pattern)), None)
    if cache is None:
        cache = next(value for pattern, value, fingerprint in DEFAULT_CACHE_RULES
                     if fnmatch.fnmatchcase(path, pattern) and (not fingerprint or is_fingerprinted(path)))
    kind = media_type(path)
    encoding = "gzip" if settings.gzip and kind.startswith(COMPRESSIBLE) else None
    return Headers(kind, cache, encoding)


def local_files(output_dir: Path, settings: PublishConfig, manifest: dict | None = None) -> dict[str, LocalFile]:
    manifest = manifest if manifest is not None else read_build_manifest(output_dir)
    if manifest is None:
        raise PublishError(f"{output_dir} holds no complete build (no {STATE_DIR}/build.json); run portico build")
    files = {}
    for path, digest in manifest["files"].items():
        source = output_dir.joinpath(*PurePosixPath(path).parts)
        if not source.is_file():
            raise PublishError(f"{source} is in the build manifest but missing; rebuild before publishing")
        files[path] = LocalFile(path, digest, source, headers_for(path, settings))
    return files


def body_of(file: LocalFile) -> bytes:
    data = file.source.read_bytes()
    if hashlib.sha256(data).hexdigest() != file.sha256:
        raise PublishError(f"{file.source} changed since the build; rebuild before publishing")
    return gzip.compress(data, mtime=0) if file.headers.content_encoding == "gzip" else data


# -- the plan -----------------------------------------------------------------------------------

@dataclass
class PublishPlan:
    new: list[LocalFile] = field(default_factory=list)
    changed: list[LocalFile] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: int = 0
    manifest: dict = field(default_factory=dict)  # what the store holds once this plan is done
    manifest_version: str | None = None  # the version of the store's manifest this plan was made from
    previous: dict = field(default_factory=dict)  # the objects that manifest listed
    remote_keystore: str | None = None  # which keystore the published portals were built with

    def intent(self) -> dict:
        """The manifest written before anything changes: old objects, plus the ones about to, pending."""
        pending = {f.path: {**f.signature(), "size": None, "pending": True} for f in self.new + self.changed}
        return {"version": 1, "keystore": self.remote_keystore, "objects": {**self.previous, **pending}}

    @property
    def empty(self) -> bool:
        return not (self.new or self.changed or self.deleted)

    def uploads(self) -> list[LocalFile]:
        """In the safe order: assets, pages, entry pages, the site's root pages."""
        return sorted(self.new + self.changed, key=lambda f: (ORDER.index(f.role), f.path))

    def lines(self) -> Iterator[str]:
        for f in sorted(self.new, key=lambda f: f.path):
            yield f"+ {f.path}"
        for f in sorted(self.changed, key=lambda f: f.path):
            yield f"* {f.path}"
        for path in sorted(self.deleted):
            yield f"- {path}"

    def counts(self) -> dict[str, int]:
        return {"new": len(self.new), "changed": len(self.changed), "deleted": len(self.deleted),
                "unchanged": self.unchanged}


def plan_publish(files: dict[str, LocalFile], store: Store, verify: bool = False,
                 keystore: str | None = None) -> PublishPlan:
    """Compare the build with the store's manifest; with `verify` (or no manifest yet) with its listing too."""
    remote, version = store.read_manifest()
    published: dict[str, dict] = (remote or {}).get("objects", {})
    listed = store.list_sizes() if verify or remote is None else None
    plan = PublishPlan(manifest_version=version, previous=published, remote_keystore=(remote or {}).get("keystore"))
    for path, file in files.items():
        previous = published.get(path)
        present = path in listed if listed is not None else previous is not None
        if not present:
            plan.new.append(file)
        elif previous is None or previous.get("pending") or not _same(previous, file) or \
                (listed is not None and listed[path] != previous.get("size")):
            plan.changed.append(file)
        else:
            plan.unchanged += 1
    plan.deleted = sorted((set(published) | set(listed or ())) - set(files))
    plan.manifest = {"version": 1, "keystore": keystore,
                     "objects": {path: {**file.signature(), "size": published.get(path, {}).get("size")}
                                 for path, file in files.items()}}
    return plan


def _same(previous: dict, file: LocalFile) -> bool:
    return {k: previous.get(k) for k in file.signature()} == file.signature()


# -- doing it -----------------------------------------------------------------------------------

@dataclass
class PublishReport:
    target: str
    counts: dict[str, int]
    uploaded: int = 0
    uploaded_bytes: int = 0
    deleted: int = 0
    invalidations: dict[str, list[str]] = field(default_factory=dict)
    seconds: float = 0.0
    dry_run: bool = False
    plan_lines: list[str] = field(default_factory=list)


def check_same_keystore(plan: PublishPlan, keystore: str | None, allow_new: bool) -> None:
    """Portals built with another keystore would lock every customer out of the published ones."""
    if plan.remote_keystore and keystore and plan.remote_keystore != keystore and not allow_new:
        raise PublishError("the target's portals were built with another keystore; publishing this build would "
                           "replace every customer's keys and passwords. Restore the keystore they were built with, "
                           "or pass --replace-keys if that is really intended; nothing was changed")


def check_foreign_objects(plan: PublishPlan, allow_all: bool) -> None:
    """A target with no Portico manifest holds nothing known to be ours: never delete from it unasked."""
    if plan.manifest_version is None and plan.deleted and not allow_all:
        raise PublishError(f"the target already holds {len(plan.deleted)} file(s) that Portico did not publish "
                           f"(e.g. {plan.deleted[0]}) and no Portico manifest; nothing was changed. Publish to an "
                           "empty folder or prefix, or pass --allow-deletes all to replace what is there")


def check_delete_cap(plan: PublishPlan, max_deletes: int | None) -> None:
    if max_deletes is not None and len(plan.deleted) > max_deletes:
        raise PublishError(f"{len(plan.deleted)} objects would be deleted, more than --max-deletes {max_deletes}; "
                           "nothing was changed. Check the build (a missing export file?), then raise the cap "
                           "or pass --allow-deletes all")


def encode_manifest(manifest: dict) -> bytes:
    return json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def execute(plan: PublishPlan, store: Store, concurrency: int,
            on_progress: Callable[[int], None] = lambda n: None) -> tuple[int, int]:
    """Intent manifest, uploads in order (each group in parallel), deletes, final manifest.

    Both manifest writes are conditional: the intent on the version the plan was made from (so
    of two racing publishes the second stops before changing anything), the final one on the
    intent. A publish that dies part-way leaves the intent: its pending entries are sent again
    and its leftovers deleted by the next run.
    """
    if plan.empty and plan.manifest_version is not None:
        return 0, 0
    version = store.write_manifest(encode_manifest(plan.intent()), plan.manifest_version)
    uploaded = uploaded_bytes = 0
    uploads = plan.uploads()

    def send(file: LocalFile) -> int:
        body = body_of(file)
        store.put(file, body)
        on_progress(1)
        return len(body)

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for role in ORDER:
            group = [f for f in uploads if f.role == role]
            sizes = list(pool.map(send, group))  # a failure raises here, before the next group starts
            for file, size in zip(group, sizes, strict=True):
                plan.manifest["objects"][file.path]["size"] = size
            uploaded += len(group)
            uploaded_bytes += sum(sizes)
    if plan.deleted:
        store.delete(plan.deleted)
        on_progress(len(plan.deleted))
    store.write_manifest(encode_manifest(plan.manifest), version)
    return uploaded, uploaded_bytes


def invalidation_paths(plan: PublishPlan, prefix: str, limit: int) -> list[str]:
    """The CDN paths to refresh: changed or deleted, not fingerprinted, collapsed when many."""
    touched = sorted({f.path for f in plan.changed} | set(plan.deleted))
    touched = [p for p in touched if not is_fingerprinted(p)]
    if not touched:
        return []
    paths = [f"/{prefix}{p}" for p in touched]
    if len(paths) <= limit:
        return paths
    folders = sorted({f"/{prefix}{p.split('/')[0]}/*" if "/" in p else f"/{prefix}{p}" for p in touched})
    return folders if len(folders) <= limit else [f"/{prefix}*"]


def invalidate(client, distributions: list[str], paths: list[str]) -> dict[str, list[str]]:
    done = {}
    for distribution in distributions:
        client.create_invalidation(DistributionId=distribution, InvalidationBatch={
            "Paths": {"Quantity": len(paths), "Items": paths},
            "CallerReference": f"portico-{time.time_ns()}-{distribution}",
        })
        done[distribution] = paths
    return done

