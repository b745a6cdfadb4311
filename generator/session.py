"""What a long-running process remembers between builds, so an export edit rebuilds quickly.

`portico serve` rebuilds whenever the export changes. A full incremental build still reads the
whole export (seconds, for hundreds of thousands of rows) to find that one customer's rows
changed. A `Session` keeps the last build in memory — the export's lines and whose each one is
(`rowchanges.ExportSnapshot`), the ledger, slugs, renderer and the output's state — so when
nothing but export rows changed, it reads again only the rows of the customers those edits
touched, re-plans and re-renders only their portals, and moves only their changed files into
the output. The result is the same tree a full build makes (the tests check it); whenever that
could not be promised (config, theme, content or keystore changed, a new customer needs keys,
contacts changed, the output was built by someone else meanwhile, …) it says no, and the caller
runs the ordinary build, which refreshes the memory.
"""
from __future__ import annotations

import gc
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

from . import engine
from .assets import AssetManifest
from .build import BuildOptions, BuildResult, PortalSummary, Progress, keys_digests
from .config import Config
from .content import Page
from .engine import Recipes, TemplateDigests
from .keystore import Keystore
from .ledger import build_ledger, newest_export_date
from .load import RowOwners
from .model import CustomerBook, Ledger
from .plan import Planner
from .problems import ProblemLog
from .render import Renderer
from .rowchanges import ExportEdit, ExportSnapshot
from .slugs import slug_for
from .inputs import input_fingerprint
from .write import StagedOutput, state_stamp


@dataclass
class Memory:
    config: Config
    options: BuildOptions
    mode: dict
    others: str  # fingerprint of every input but the export's row files
    snapshot: ExportSnapshot
    ledger: Ledger
    problems: ProblemLog
    slugs: dict[str, str]
    keystore: Keystore | None
    pages: list[Page]
    assets: AssetManifest
    renderer: Renderer
    transform: Callable | None
    templates: TemplateDigests
    state: dict
    stamp: tuple[int, int] | None
    portals: dict[str, PortalSummary]  # by customer id
    site_pages: int  # pages of the site itself (index, 404, robots.txt)


@dataclass
class Session:
    memory: Memory | None = None
    quick_builds: int = 0  # how many builds took the quick way (for tests and the curious)
    remembered_once: bool = False  # an ordinary build has run in this session

    @property
    def wants_full_read(self) -> bool:
        """The first build reads the export even if nothing changed, to have something to compare with."""
        return not self.remembered_once

    def remember(self, config: Config, options: BuildOptions, result: BuildResult, owners: RowOwners | None,
                 ledger: Ledger, slugs: dict[str, str], keystore: Keystore | None, pages: list[Page],
                 assets: AssetManifest, renderer: Renderer, transform: Callable | None, templates: TemplateDigests,
                 mode: dict, state: dict | None) -> None:
        """After an ordinary build: keep what a quick rebuild needs (nothing, if the export cannot be compared by lines)."""
        self.remembered_once = True
        gc.unfreeze()  # the last memory's objects may be garbage now
        snapshot = ExportSnapshot.take(config, owners) if owners is not None and state is not None else None
        if snapshot is None:
            self.memory = None
            return
        self.memory = Memory(config, options, mode, _others(config, snapshot), snapshot, ledger, result.problems, slugs,
                             keystore, pages, assets, renderer, transform, templates, state,
                             state_stamp(result.output_dir), {p.customer_id: p for p in result.portals},
                             result.pages - sum(p.pages for p in result.portals))
        gc.collect()
        gc.freeze()  # millions of long-lived objects: spare every later collection from walking them

    def rebuild_quickly(self, config: Config, options: BuildOptions, progress: Progress, result: BuildResult) -> bool:
        """Rebuild only the customers whose rows changed; False when an ordinary build is needed."""
        memory = self.memory
        if memory is None or options != memory.options or result.output_dir != _output(memory):
            return False
        if state_stamp(result.output_dir) != memory.stamp or _others(config, memory.snapshot) != memory.others:
            return False  # something besides export rows changed, or another build wrote the output
        progress.stage("Comparing the export")
        edit = memory.snapshot.edit(memory.config)
        if edit is None or not edit.customers:
            return False  # (no customer touched: the ordinary build finds there is nothing to do, or reads it all)
        ledger = _ledger_after(memory, edit)
        if ledger is None:
            return False
        slugs = _slugs_after(memory, edit.customers, ledger)
        if slugs is None:
            return False
        self._render(memory, edit, ledger, slugs, progress, result)
        self.quick_builds += 1
        return True

    def _render(self, memory: Memory, edit: ExportEdit, ledger: Ledger, slugs: dict[str, str], progress: Progress,
                result: BuildResult) -> None:
        config, customers = memory.config, edit.customers
        plan = Planner(config, ledger, memory.pages, memory.assets, slugs).plan(customers)
        plan.files = [f for f in plan.files if f.portal is not None]  # the site's own files did not change
        recipes = Recipes(config, ledger, memory.templates, memory.options.encrypt,
                          keys_digests(memory.keystore if memory.options.encrypt else None), memory.pages,
                          memory.assets.published())
        folders = {memory.slugs[c] for c in customers if c in memory.slugs} | {slugs[c] for c in customers if c in slugs}
        progress.stage("Rendering portals", len(plan.files))
        out = StagedOutput(result.output_dir, inputs=input_fingerprint(config), mode=memory.mode, previous=memory.state)
        with out:
            if not out.keep_all_but(folders):
                raise RuntimeError("the output's state cannot be kept as it is")  # stamp checked: should not happen
            result.engine = engine.run(plan, memory.renderer, memory.transform, out, recipes, memory.state,
                                       progress.advance, workers=1)
        portals = {c: p for c, p in memory.portals.items() if c not in customers}
        pages = plan.pages_per_portal()
        files: dict[str, int] = {}
        for f in plan.files:
            files[f.portal.slug] = files.get(f.portal.slug, 0) + 1
        portals.update((p.customer_id, PortalSummary(p.customer_id, p.name, p.slug, pages[p.slug], files[p.slug]))
                       for p in plan.portals)
        result.problems = _problems_after(memory.problems, edit)
        result.files, result.bytes = out.files, out.bytes
        result.portals = sorted(portals.values(), key=lambda p: p.slug)
        result.pages = sum(p.pages for p in result.portals) + memory.site_pages
        result.assets = memory.assets.published()
        result.encrypted = memory.options.encrypt
        memory.snapshot, memory.ledger, memory.problems, memory.slugs = edit.snapshot, ledger, result.problems, slugs
        memory.state, memory.stamp, memory.portals = out.written_state, state_stamp(result.output_dir), portals


def _output(memory: Memory) -> Path:
    return memory.options.output_dir or memory.config.output_dir


def _others(config: Config, snapshot: ExportSnapshot) -> str:
    return input_fingerprint(config, leave_out=frozenset(config.export_dir / name for name in snapshot.files))


def _ledger_after(memory: Memory, edit: ExportEdit) -> Ledger | None:
    """The ledger with the touched customers' books made again from their rows."""
    config = memory.config
    as_of = config.site.as_of or newest_export_date(config)
    if as_of != memory.ledger.as_of:
        return None  # every page shows the date
    changed = build_ledger(config, edit.export, edit.problems, as_of)
    if changed.catalogue != memory.ledger.catalogue:
        return None
    for customer_id in edit.customers:
        before, after = memory.ledger.books.get(customer_id), changed.books.get(customer_id)
        if memory.options.encrypt and not _same_keys(memory.keystore, before, after):
            return None  # keys or key slots to make, change or retire: the ordinary build does that (and tells staff)
    books = {c: b for c, b in memory.ledger.books.items() if c not in edit.customers}
    books.update((c, changed.books[c]) for c in edit.customers if c in changed.books)
    return replace(memory.ledger, books=books)


def _same_keys(keystore: Keystore, before: CustomerBook | None, after: CustomerBook | None) -> bool:
    if before is None or after is None or after.customer.id not in keystore.customers:
        return False
    def access(book: CustomerBook) -> list[Any]:
        return sorted((c.email, c.portal_access) for c in book.customer.contacts)
    return access(before) == access(after) and before.customer.portal_enabled == after.customer.portal_enabled


def _slugs_after(memory: Memory, customers: set[str], ledger: Ledger) -> dict[str, str] | None:
    slugs = {c: s for c, s in memory.slugs.items() if c not in customers}
    taken = set(slugs.values())
    site_key = memory.keystore.site_key if memory.keystore else None
    for customer_id in customers:
        book = ledger.books.get(customer_id)
        if book is not None:
            slug = slug_for(memory.config, book.customer, site_key)
            if slug in taken:
                return None  # the ordinary build reports the clash
            slugs[customer_id] = slug
    return slugs


def _problems_after(before: ProblemLog, edit: ExportEdit) -> ProblemLog:
    """The last build's problems, those of the touched customers' rows replaced by what reading them said now."""
    kept = [p for p in before.problems if not edit.touched(p.file, p.row, edit.before)]
    kept += [p for p in edit.problems.problems if edit.touched(p.file, p.row, edit.snapshot)]
    skipped = before.skipped.copy()
    skipped.update(edit.skipped)
    return ProblemLog(kept, +skipped)
