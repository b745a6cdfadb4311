"""`portico publish`: make the target hold exactly the build.

    files.py    what to send: the build's files and their headers (Content-Type, Cache-Control)
    plan.py     what to do: the build against the store's manifest (+ new, * changed, - deleted)
    lock.py     one publish at a time: the lock in the store, its lease, the conditional-write probe
    upload.py   doing it: intent manifest, uploads in waves, deletes, final manifest, CDN
    stores/     where to: a registry of stores by URL scheme (a folder, S3 and S3-compatible)
    targets.py  which target: flag > environment > config

Building first when the output is stale is the pipeline's job (`pipeline.publish`); this stage
publishes a complete encrypted build as it is.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from ..config import Config, PublishConfig
from ..output import BuildState, input_fingerprint
from ..progress import Progress
from ..seal import KeystoreError, read_keystore
from .files import MANIFEST_KEY, ManifestConflict, PublishError, local_files
from .lock import PublishLock, check_conditional_writes, probe_cache
from .manifest import ManifestSeal, ManifestUnreadable
from .plan import check_delete_cap, check_foreign_objects, check_same_keystore, plan_publish
from .stores import Store, Target, open_store
from .targets import cloudfront_client, effective_settings, parse_target
from .upload import PublishReport, execute, invalidate, invalidation_paths

__all__ = [
    "ManifestConflict",
    "PublishError",
    "PublishOptions",
    "PublishReport",
    "output_is_stale",
    "publish_build",
    "published_objects",
]


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

    replace_keys: bool = False  # publish portals built with a keystore other than the published ones
    single_writer: bool = False  # the store ignores conditional writes, and only one publish ever runs


def manifest_seal(config: Config) -> ManifestSeal:
    """The key the store's manifest is sealed with: the keystore's (which the build used)."""
    try:
        keystore = read_keystore(config.path(config.gate.keystore))
    except KeystoreError as exc:
        raise PublishError(f"the keystore is needed to read and write the store's manifest: {exc}") from None
    return ManifestSeal(keystore.manifest_key())


def published_objects(config: Config, target: str | None = None, endpoint_url: str | None = None) -> dict[str, dict]:
    """What the target holds by its manifest: published path -> SHA-256 and headers (files a
    publish is still sending are left out). What e-mail may link to: nothing else is live."""
    settings = effective_settings(config, {"target": target, "endpoint_url": endpoint_url})
    store = open_store(parse_target(settings.target, config), settings)
    raw, _ = store.read_meta(MANIFEST_KEY)
    if raw is None:
        return {}
    try:
        manifest = manifest_seal(config).decode(raw)
    except ManifestUnreadable as exc:
        raise PublishError(f"the manifest of {store.description}: {exc}") from None
    objects = manifest.get("objects", {}).items()
    return {path: entry for path, entry in objects if not (entry.get("pending") or entry.get("deleting"))}


def output_is_stale(config: Config, state: BuildState | None) -> bool:
    return (
        state is None
        or not state.mode.publishable
        or state.inputs != input_fingerprint(config)
        or state.rekey_due()  # a direct link has ended: its page must be re-keyed before publishing
    )


def publish_build(
    config: Config,
    options: PublishOptions,
    state: BuildState | None,
    progress: Progress | None = None,
    store_factory: Callable[[Target, object], Store] = open_store,
) -> PublishReport:
    """Publish the build in the output folder, whose state is `state`."""
    progress = progress or Progress()
    started = time.perf_counter()
    if state is not None and not state.mode.publishable:
        raise PublishError(
            f"{config.output_dir} holds a plain preview (--no-encrypt) or a partial build (--customer); "
            "nothing was published. Run a full build (or publish without --no-build)"
        )
    settings = effective_settings(config, {"target": options.target, "endpoint_url": options.endpoint_url})
    target = parse_target(settings.target, config)
    seal = manifest_seal(config)
    where = Destination(target, settings, store_factory(target, settings), seal)
    if options.dry_run:  # changes nothing, so takes no lock
        report = _publish(config, options, state, progress, where, None)
    else:
        single = options.single_writer or settings.single_writer
        check_conditional_writes(where.store, where.identity, probe_cache(), single)
        with PublishLock(where.store, settings.lease_seconds) as lock:
            report = _publish(config, options, state, progress, where, lock)
    report.seconds = time.perf_counter() - started
    return report


@dataclass
class Destination:
    target: Target
    settings: PublishConfig
    store: Store
    seal: ManifestSeal

    @property
    def identity(self) -> str:
        """Which store this is, for remembering what it can do: the endpoint and the place in it."""
        return f"{self.target.scheme}|{self.settings.endpoint_url or ''}|{self.target.location}"


def _publish(
    config: Config,
    options: PublishOptions,
    state: BuildState | None,
    progress: Progress,
    where: Destination,
    lock: PublishLock | None,
) -> PublishReport:
    settings, store = where.settings, where.store
    progress.stage("Comparing with the store")
    keystore = state.mode.keystore if state else None
    plan = plan_publish(
        local_files(config.output_dir, settings, state),
        store,
        where.seal,
        verify=options.verify or settings.verify,
        keystore=keystore,
    )
    check_same_keystore(plan, keystore, options.replace_keys)
    report = PublishReport(store.description, plan.counts(), dry_run=options.dry_run, plan_lines=list(plan.lines()))
    check_foreign_objects(plan, options.allow_all_deletes)
    check_delete_cap(
        plan,
        None
        if options.allow_all_deletes
        else (options.max_deletes if options.max_deletes is not None else settings.max_deletes),
    )
    if not options.dry_run:
        progress.stage("Publishing", len(plan.new) + len(plan.changed) + len(plan.deleted))
        report.uploaded, report.uploaded_bytes = execute(
            plan, store, where.seal, settings.concurrency, progress.advance, lock
        )
        report.deleted = len(plan.deleted)
        paths = invalidation_paths(plan, where.target.prefix, settings.invalidation_limit)
        if paths and settings.cloudfront:
            report.invalidations = invalidate(cloudfront_client(settings), settings.cloudfront, paths)
    return report
