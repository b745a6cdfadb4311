"""`portico publish`: build if stale, then make the target hold exactly the build.

    sync.py     what to send: headers, the plan against the store's manifest, the ordered upload
    stores.py   where to: a folder, or S3 / S3-compatible storage
    targets.py  which target: flag > environment > config; boto3 sessions and retries
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from ..build import BuildOptions, Progress, build
from ..config import Config
from ..inputs import input_fingerprint
from ..write import read_build_manifest
from .sync import (
    PublishError, PublishReport, check_delete_cap, check_foreign_objects, check_same_keystore, execute, invalidate, invalidation_paths, local_files, plan_publish,
)
from .stores import Store
from .targets import cloudfront_client, effective_settings, open_store, parse_target

__all__ = ["PublishError", "PublishOptions", "PublishReport", "publish_site", "output_is_stale"]


@dataclass
class PublishOptions:
    target: str | None = None
    endpoint_url: str | None = None
    build: bool = True  # build first when the output is stale
    strict: bool = True
    in_ci: bool = False
    dry_run: bool = False
    verify: bool = False  # also compare with the store's listing
    max_deletes: int | None = None  # None: the config's cap
    allow_all_deletes: bool = False
    replace_keys: bool = False  # publish portals built with a keystore other than the published ones'


def publishable(manifest: dict | None) -> bool:
    """Only a complete, encrypted build may be published: never a plain preview, never a partial one."""
    mode = (manifest or {}).get("mode", {})
    return mode.get("encrypted") is True and mode.get("only") is None


def output_is_stale(config: Config, manifest: dict | None) -> bool:
    return manifest is None or not publishable(manifest) or manifest.get("inputs") != input_fingerprint(config)


def publish_site(config: Config, options: PublishOptions, progress: Progress | None = None,
                 store_factory: Callable[..., Store] = open_store) -> PublishReport:
    progress = progress or Progress()
    started = time.perf_counter()
    manifest = read_build_manifest(config.output_dir)
    if options.build and output_is_stale(config, manifest):
        result = build(config, BuildOptions(strict=options.strict, in_ci=options.in_ci), progress)
        if not result.ok:
            raise PublishError(f"the build failed, nothing was published: {result.failure}")
        manifest = read_build_manifest(config.output_dir)
    if manifest is not None and not publishable(manifest):
        raise PublishError(f"{config.output_dir} holds a plain preview (--no-encrypt) or a partial build (--customer); "
                           "nothing was published. Run a full build (or publish without --no-build)")
    settings = effective_settings(config, {"target": options.target, "endpoint_url": options.endpoint_url})
    target = parse_target(settings.target, config)
    store = store_factory(target, settings)
    progress.stage("Comparing with the store")
    keystore = (manifest or {}).get("mode", {}).get("keystore")
    plan = plan_publish(local_files(config.output_dir, settings, manifest), store,
                        verify=options.verify or settings.verify, keystore=keystore)
    check_same_keystore(plan, keystore, options.replace_keys)
    report = PublishReport(store.description, plan.counts(), dry_run=options.dry_run, plan_lines=list(plan.lines()))
    check_foreign_objects(plan, options.allow_all_deletes)
    check_delete_cap(plan, None if options.allow_all_deletes else
                     (options.max_deletes if options.max_deletes is not None else settings.max_deletes))
    if not options.dry_run:
        progress.stage("Publishing", len(plan.new) + len(plan.changed) + len(plan.deleted))
        report.uploaded, report.uploaded_bytes = execute(plan, store, settings.concurrency, progress.advance)
        report.deleted = len(plan.deleted)
        paths = invalidation_paths(plan, target.prefix, settings.invalidation_limit)
        if paths and settings.cloudfront:
            report.invalidations = invalidate(cloudfront_client(settings), settings.cloudfront, paths)
    report.seconds = time.perf_counter() - started
    return report
