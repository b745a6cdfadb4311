"""Doing a publish: the intent manifest, the uploads in order, the deletes, the final manifest,
and the CDN invalidation of what changed."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from .files import ORDER, LocalFile, body_of, is_fingerprinted
from .manifest import ManifestSeal
from .plan import PublishPlan
from .stores import Store


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
) -> tuple[int, int]:
    """Intent manifest, uploads in order (each group in parallel), deletes, final manifest.

    Both manifest writes are conditional: the intent on the version the plan was made from (so
    of two racing publishes the second stops before changing anything), the final one on the
    intent. A publish that dies part-way leaves the intent: its pending entries are sent again
    and its leftovers deleted by the next run.
    """
    if plan.empty and plan.manifest_version is not None:
        return 0, 0
    version = store.write_manifest(seal.encode(plan.intent()), plan.manifest_version)
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
    store.write_manifest(seal.encode(plan.manifest), version)
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
        client.create_invalidation(
            DistributionId=distribution,
            InvalidationBatch={
                "Paths": {"Quantity": len(paths), "Items": paths},
                "CallerReference": f"portico-{time.time_ns()}-{distribution}",
            },
        )
        done[distribution] = paths
    return done
