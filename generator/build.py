"""The build pipeline, stage by stage: read → model → plan → render → write.

Each stage takes plain data and returns plain data; this module only runs them in order,
reports progress, and decides whether input problems stop the build.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from . import engine
from .assets import AssetError, collect_assets
from .access import AccessChanges, sync_access
from .config import Config
from .content import read_pages
from .crypto import MIN_ITERATIONS, kdf_iterations
from .gate import Gate, encrypted_portals_exist
from .inputs import input_fingerprint
from .keystore import Keystore, KeystoreError, master_key, open_keystore, read_keystore
from .ledger import build_ledger, newest_export_date
from .load import LoadError, RowOwners, read_export
from .model import Ledger
from .plan import PAGE, SitePlan, plan_site
from .problems import ProblemLog
from .render import Renderer, RenderError
from .settings import check_settings
from .slugs import portal_slugs
from .theme import ThemeError, load_theme
from .engine import ENGINE_VERSION, EngineReport, Recipes, TemplateDigests, digest

if TYPE_CHECKING:
    from .session import Session
from .write import StagedOutput, read_build_manifest


class Progress:
    """What the build tells its caller about long work; the CLI shows it as progress bars."""

    def stage(self, name: str, total: int | None = None) -> None:
        pass

    def advance(self, amount: int = 1) -> None:
        pass


@dataclass
class BuildOptions:
    strict: bool = False
    only: set[str] | None = None  # customer ids; None for all
    output_dir: Path | None = None  # default: from config
    encrypt: bool = True  # False: a plain preview for staff, with a PREVIEW banner
    new_keystore: bool = False  # create the keystore on purpose
    in_ci: bool = False  # never create a keystore implicitly in CI
    full: bool = False  # ignore the previous build's state: render everything
    workers: int | None = None  # processes that render; default: one per core


@dataclass
class PortalSummary:
    customer_id: str
    name: str
    slug: str
    pages: int
    files: int


@dataclass
class BuildResult:
    problems: ProblemLog
    output_dir: Path | None = None
    portals: list[PortalSummary] = field(default_factory=list)
    files: int = 0
    pages: int = 0
    bytes: int = 0
    seconds: float = 0.0
    failure: str | None = None  # why nothing was written, if it was not
    encrypted: bool = False
    keystore_created: bool = False
    access: AccessChanges | None = None
    notices: list[str] = field(default_factory=list)  # things staff must know (new keys, unsafe settings)
    noop: bool = False  # nothing the build reads changed since the last build
    engine: EngineReport | None = None  # what was rendered and what carried over
    assets: dict[str, str] = field(default_factory=dict)  # static file → its fingerprinted path

    @property
    def ok(self) -> bool:
        return self.failure is None


class BuildFailed(Exception):
    pass


def read_input(config: Config, problems: ProblemLog, progress: Progress, owners: RowOwners | None = None) -> Ledger:
    """Read and model the export, reporting every problem; `check` stops here."""
    progress.stage("Reading the export")
    export = read_export(config, problems, on_rows=progress.advance, owners=owners)
    progress.stage("Joining records")
    as_of = config.site.as_of or newest_export_date(config)
    return build_ledger(config, export, problems, as_of)


def check(config: Config, progress: Progress | None = None) -> tuple[Ledger | None, ProblemLog]:
    problems = ProblemLog()
    try:
        ledger = read_input(config, problems, progress or Progress())
    except LoadError as exc:
        problems.error(str(exc).split(":")[0], None, None, str(exc), "unreadable-file")
        return None, problems
    portal_slugs(config, ledger, None, problems)
    read_pages(config.path(config.content_dir), problems)
    check_settings(config, ledger, problems)
    return ledger, problems


def build(config: Config, options: BuildOptions | None = None, progress: Progress | None = None,
          session: "Session | None" = None) -> BuildResult:
    """`session`: what a long-running process remembers between its builds (see session.py)."""
    options = options or BuildOptions()
    progress = progress or Progress()
    started = time.perf_counter()
    result = BuildResult(ProblemLog(), options.output_dir or config.output_dir, encrypted=options.encrypt)
    try:
        if session is None or not session.rebuild_quickly(config, options, progress, result):
            _run(config, options, progress, result, session)
    except (LoadError, ThemeError, AssetError, RenderError, KeystoreError, BuildFailed) as exc:
        result.failure = str(exc)
    result.seconds = time.perf_counter() - started
    return result


def keystore_for(config: Config, options: BuildOptions, result: BuildResult) -> Keystore | None:
    """The keystore an encrypted build needs; a preview reads one if it exists (for the slugs)."""
    path = config.path(config.gate.keystore)
    if not options.encrypt:
        return read_keystore(path) if path.exists() else None
    if path.is_relative_to(result.output_dir):
        raise BuildFailed(f"gate.keystore {path} is inside the output folder; it would be published")
    keystore, created = open_keystore(path, create=options.new_keystore, in_ci=options.in_ci,
                                      portals_exist=encrypted_portals_exist(result.output_dir))
    if created:
        result.keystore_created = True
        result.notices.append(f"created a new keystore at {path}: back it up; without it no portal can be rebuilt "
                              "with the same keys")
    if master_key() is None:
        result.notices.append("the keystore is not encrypted at rest (set PORTICO_MASTER_KEY); written with mode 0600")
    return keystore


def build_mode(options: BuildOptions, keystore: Keystore | None = None) -> dict:
    mode = {"engine": ENGINE_VERSION, "encrypted": options.encrypt, "strict": options.strict,
            "only": sorted(options.only) if options.only else None}
    if keystore is not None:
        mode["keystore"] = keystore_id(keystore)
    return mode


def keystore_id(keystore: Keystore) -> str:
    """A public name for a keystore, so a store can tell which keystore its portals were built with."""
    return digest("keystore", keystore.site_key)[:16]


def keys_digests(keystore: Keystore | None) -> Callable[[str], tuple[str, str]]:
    """Per customer: a digest of the keys (every file depends on them) and of the key slots (the entry page)."""
    def of(customer_id: str) -> tuple[str, str]:
        secret = keystore.customers.get(customer_id) if keystore else None
        if secret is None:
            return "", ""
        keys = secret.keys
        slots = sorted(json.dumps(c.slot, sort_keys=True) for c in secret.contacts.values() if c.slot)
        return digest(keys.key_id, keys.data_key, keys.file_key, secret.email_salt), digest(*slots)
    return of


def _run(config: Config, options: BuildOptions, progress: Progress, result: BuildResult,
         session: "Session | None" = None) -> None:
    problems = result.problems
    fingerprint = input_fingerprint(config)
    previous = None if options.full else read_build_manifest(result.output_dir)
    previous_mode = dict((previous or {}).get("mode", {}))
    previous_mode.pop("keystore", None)  # covered by the fingerprint, which includes the keystore's bytes
    if previous and previous.get("inputs") == fingerprint and previous_mode == build_mode(options) and \
            (session is None or not session.wants_full_read):
        result.noop = True
        result.files = len(previous["files"])
        return
    owners = RowOwners() if session is not None else None
    ledger = read_input(config, problems, progress, owners)
    check_settings(config, ledger, problems)
    pages = read_pages(config.path(config.content_dir), problems)
    keystore = keystore_for(config, options, result)
    slugs = portal_slugs(config, ledger, keystore.site_key if keystore else None, problems)
    if options.strict and problems.errors:
        raise BuildFailed(f"{len(problems.errors)} error(s) in the input (strict mode); nothing was written")
    if options.encrypt:
        iterations = kdf_iterations()
        if iterations < MIN_ITERATIONS:
            result.notices.append(f"UNSAFE: key slots use {iterations} PBKDF2 iterations (a test-only setting); "
                                  f"never publish this build")
        progress.stage("Key slots")
        result.access = sync_access(keystore, ledger, iterations, on_slot=progress.advance)
        keystore.save()
    theme = load_theme(config)
    assets = collect_assets(config, theme.assets())
    result.assets = assets.published()
    plan = plan_site(config, ledger, pages, assets, slugs, options.only)
    renderer = Renderer(config, theme, assets, preview=not options.encrypt)
    transform = None
    if options.encrypt:
        gate = Gate(config, keystore, renderer.render_shell)
        renderer.href = gate.href
        transform = gate.seal
    recipes = Recipes(config, ledger, TemplateDigests(renderer.env), options.encrypt,
                      keys_digests(keystore if options.encrypt else None), pages, result.assets)
    progress.stage("Rendering portals", len(plan.files))
    if options.encrypt:
        fingerprint = input_fingerprint(config)  # as the inputs are now this build wrote the keystore
    mode = build_mode(options, keystore if options.encrypt else None)
    with StagedOutput(result.output_dir, inputs=fingerprint, mode=mode, previous=previous) as out:
        result.engine = engine.run(plan, renderer, transform, out, recipes, previous,
                                   progress.advance, options.workers)
    result.files, result.bytes = out.files, out.bytes
    result.portals = _summaries(plan)
    result.pages = sum(1 for f in plan.files if f.kind == PAGE)
    if session is not None:
        session.remember(config, options, result, owners, ledger, slugs, keystore, pages, assets, renderer, transform,
                         recipes.templates, mode, out.written_state)


def _summaries(plan: SitePlan) -> list[PortalSummary]:
    pages = plan.pages_per_portal()
    files: dict[str, int] = {}
    for f in plan.files:
        if f.portal is not None:
            files[f.portal.slug] = files.get(f.portal.slug, 0) + 1
    return [PortalSummary(p.customer_id, p.name, p.slug, pages[p.slug], files.get(p.slug, 0)) for p in plan.portals]
