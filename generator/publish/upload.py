"""Doing a publish: the intent manifest, the uploads in order, the deletes, the final manifest,
and the CDN invalidation of what changed."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ..faults import moment
from .files import MANIFEST_KEY, LocalFile, ManifestConflict, body_of, is_fingerprinted
from .lock import PublishLock
from .manifest import ManifestSeal
from .plan import PublishPlan
from .stores import Store

DELETE_BATCH = 1000  # objects deleted between two checks of the lease (one S3 DeleteObjects request)


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


def execute(
    plan: PublishPlan,
    store: Store,
    seal: ManifestSeal,
    concurrency: int,
    on_progress: Callable[[int], None] = lambda n: None,
    lock: PublishLock | None = None,
    manifest_key: str = MANIFEST_KEY,
    write_unchanged: bool = False,
) -> tuple[int, int]:
    """Intent manifest, uploads in waves (each in parallel), deletes, final manifest; under the
    publish lock, whose lease is checked before each step.

    Both manifest writes are conditional: the intent on the version the plan was made from, the
    final one on the intent. Nothing is deleted unless the store's manifest is still this
    publish's intent (no newer intent lists anything). A publish that dies part-way leaves the
    intent: the next run skips what it had sent, sends the rest and deletes the leftovers.
    """
    if plan.empty and plan.manifest_version is not None and not write_unchanged:
        return 0, 0
    check = lock.check if lock is not None else (lambda before: None)
    check("writing its intent")
    try:
        version = store.write_meta(manifest_key, seal.encode(plan.intent()), plan.manifest_version)
    except ManifestConflict:
        raise ManifestConflict(
            f"another publish wrote the manifest of {store.description} after this one read it; "
            "nothing was changed. Run publish again"
        ) from None
    moment("intent-written")
    uploaded = uploaded_bytes = 0

    def send(file: LocalFile) -> int:
        check(f"uploading {file.path}")  # each one: a wave is queued at once, a lease may end meanwhile
        body = body_of(file)
        store.put(file, body)
        moment("uploading")
        on_progress(1)
        return len(body)

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for wave in plan.upload_waves():
            check(f"uploading {len(wave)} more file(s) after {uploaded}")
            sizes = list(pool.map(send, wave))  # a failure raises here, before the next wave starts
            for file, size in zip(wave, sizes, strict=True):
                plan.manifest["objects"][file.path]["size"] = size
            uploaded += len(wave)
            uploaded_bytes += sum(sizes)
    done = f"after uploading {uploaded} file(s)"
    if plan.deleted:
        check(f"deleting, {done}; nothing was deleted")
        if store.read_meta(manifest_key)[1] != version:
            raise ManifestConflict(
                f"another publish wrote the manifest of {store.description} {done}; this one deleted nothing. "
                "Run publish again"
            )
        for start in range(0, len(plan.deleted), DELETE_BATCH):
            if start:
                check(f"deleting more, {done} and deleting {start}")
            batch = plan.deleted[start : start + DELETE_BATCH]
            store.delete(batch)
            on_progress(len(batch))
        moment("deleted")
        done += f" and deleting {len(plan.deleted)}"
    check(f"writing the final manifest, {done}")
    try:
        store.write_meta(manifest_key, seal.encode(plan.manifest), version)
    except ManifestConflict:
        raise ManifestConflict(
            f"another publish wrote the manifest of {store.description} {done}; run publish again"
        ) from None
    return uploaded, uploaded_bytes


def invalidation_paths(plan: PublishPlan, prefix: str, limit: int, also: set[str] = frozenset()) -> list[str]:
    """The CDN paths to refresh: changed or deleted (and `also`: what shards changed), not
    fingerprinted, collapsed when many."""
    touched = sorted({f.path for f in plan.changed} | set(plan.deleted) | set(also))
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
        client.create_invalidation(
            DistributionId=distribution,
            InvalidationBatch={
                "Paths": {"Quantity": len(paths), "Items": paths},
                "CallerReference": f"portico-{time.time_ns()}-{distribution}",
            },
        )
        done[distribution] = paths
    return done
