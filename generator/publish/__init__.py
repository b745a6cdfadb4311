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
from ..site.shards import Shard
from .files import MANIFEST_KEY, LocalFile, ManifestConflict, PublishError, local_files, shard_manifest_key
from .lock import LOCK_KEY, PublishLock, check_conditional_writes, probe_cache
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
    shard: Shard | None = None  # publish this shard's build (`build --shard I/N`); 0/N: the final step


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


def output_is_stale(config: Config, state: BuildState | None, shard: Shard | None = None) -> bool:
    wanted = str(shard) if shard is not None else None
    return (
        state is None
        or state.mode.shard != wanted
        or not (state.mode.encrypted and state.mode.only is None)
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
    check_shard(config, options.shard, state)
    if state is not None and not state.mode.publishable and options.shard is None:
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
        shard = options.shard
        key = LOCK_KEY if shard is None or shard.final else f"{shard_manifest_key(shard.index, shard.count)}.lock"
        with PublishLock(where.store, settings.lease_seconds, key=key) as lock:
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


def check_shard(config: Config, shard: Shard | None, state: BuildState | None) -> None:
    built = state.mode.shard if state is not None else None
    if shard is not None and built != str(shard):
        holds = f"shard {built}'s build" if built else "no shard's build"
        raise PublishError(
            f"{config.output_dir} holds {holds}; publish --shard {shard} sends what `portico build --shard {shard}` "
            "made. Nothing was published"
        )
    if shard is None and built is not None:
        raise PublishError(
            f"{config.output_dir} holds shard {built} of a sharded build: publish it with --shard {built}. "
            "Nothing was published"
        )


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
    files = local_files(config.output_dir, settings, state)
    verify = options.verify or settings.verify
    shard = options.shard
    if shard is not None and not shard.final:
        return publish_shard(shard, files, state, options, progress, where, lock)
    plan = plan_publish(files, store, where.seal, verify=verify, keystore=keystore)
    sent_by_shards = combine_shards(shard, plan, store, where.seal, state) if shard is not None else set()
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
            plan, store, where.seal, settings.concurrency, progress.advance, lock, write_unchanged=bool(sent_by_shards)
        )
        report.deleted = len(plan.deleted)
        paths = invalidation_paths(plan, where.target.prefix, settings.invalidation_limit, sent_by_shards)
        if paths and settings.cloudfront:
            report.invalidations = invalidate(cloudfront_client(settings), settings.cloudfront, paths)
    return report


# -- sharded publishes ------------------------------------------------------------------------------


def publish_shard(
    shard: Shard,
    files: dict[str, LocalFile],
    state: BuildState,
    options: PublishOptions,
    progress: Progress,
    where: Destination,
    lock: PublishLock | None,
) -> PublishReport:
    """One shard's portals (and the shared files they link to) go up in link order, as a whole
    publish sends them; the site's own pages wait for the final step. A shard deletes nothing:
    what no shard built any more is deleted by the final step, once every shard is done, so a
    shard that fails leaves the published site as consistent as it found it."""
    store, seal, settings = where.store, where.seal, where.settings
    mine = {path: file for path, file in files.items() if file.role != "site"}
    main = read_manifest(store, seal)
    seed = {path: entry for path, entry in (main or {}).get("objects", {}).items() if path in mine}
    part = shard_manifest_key(shard.index, shard.count)
    plan = plan_publish(mine, store, seal, options.verify or settings.verify, state.mode.keystore, part, seed)
    plan.deleted = []
    plan.remote_keystore = plan.remote_keystore or (main or {}).get("keystore")
    check_same_keystore(plan, state.mode.keystore, options.replace_keys)
    plan.manifest.update(shard=str(shard), inputs=state.inputs)
    current = plan.manifest_version is not None and read_manifest(store, seal, part).get("inputs") == state.inputs
    report = PublishReport(store.description, plan.counts(), dry_run=options.dry_run, plan_lines=list(plan.lines()))
    if not options.dry_run and not (plan.empty and current):
        progress.stage(f"Publishing shard {shard}", len(plan.new) + len(plan.changed))
        report.uploaded, report.uploaded_bytes = execute(
            plan, store, seal, settings.concurrency, progress.advance, lock, part, write_unchanged=True
        )
    return report


def combine_shards(shard: Shard, plan, store: Store, seal: ManifestSeal, state: BuildState) -> set[str]:
    """The final step's plan (the site's own files against the store's manifest) made whole with
    what every shard sent: their objects join the manifest and are not deleted. Refused unless
    each of shards 1 to N finished publishing this very build. Returns the paths the shards
    changed since the last manifest (for the CDN)."""
    missing, combined = [], {}
    for index in range(1, shard.count + 1):
        part = read_manifest(store, seal, shard_manifest_key(index, shard.count))
        objects = (part or {}).get("objects", {})
        unfinished = any(e.get("pending") or e.get("deleting") for e in objects.values())
        if part is None or part.get("inputs") != state.inputs or unfinished:
            missing.append(f"{index}/{shard.count}")
        combined.update(objects)
    if missing:
        raise PublishError(
            f"shard(s) {', '.join(missing)} have not finished publishing this build (run `portico publish "
            "--shard I/N` for each, with the same export, config and keystore); the final step changed nothing"
        )
    own = set(plan.manifest["objects"])
    for path, entry in combined.items():
        if path not in own:
            plan.manifest["objects"][path] = entry
    plan.deleted = sorted(set(plan.deleted) - set(combined))
    signature = ("sha256", "type", "cache", "encoding")

    def changed(path: str, entry: dict) -> bool:
        before = plan.previous.get(path, {})
        return any(before.get(k) != entry.get(k) for k in signature)

    return {path for path, entry in combined.items() if path not in own and changed(path, entry)}


def read_manifest(store: Store, seal: ManifestSeal, key: str = MANIFEST_KEY) -> dict | None:
    raw, _ = store.read_meta(key)
    if raw is None:
        return None
    try:
        return seal.decode(raw)
    except ManifestUnreadable:
        raise PublishError(
            f"{key} in {store.description} does not open with this keystore; nothing was changed"
        ) from None
