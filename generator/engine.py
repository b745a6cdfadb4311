"""Render, seal and write the planned files: only those whose inputs changed, on every core.

Every planned file gets a *recipe*: a digest of everything it is made from — its portal's data
(the customer's book, keys, visible content pages), its template and every template that one
extends, includes or imports, the parts of the config that rendering reads, the content page
or static file it shows. The recipes of the last build are kept in the output's state file; a
file whose recipe is unchanged is kept in the output as it is (never rewritten), the others
are rendered. A missing or unreadable state simply means a full build.

Rendering runs in worker processes (forked, so they share the plan without copying it), each
taking large chunks of files and writing them straight into the staging folder. The output is
byte-for-byte the same whichever way it is made.
"""
from __future__ import annotations

import copyreg
import hashlib
import io
import json
import multiprocessing
import os
import pickle
from collections.abc import Callable
from dataclasses import dataclass, field

from jinja2 import Environment, TemplateSyntaxError, meta

from .config import Config
from .content import Page, pages_for
from .model import Ledger, Origin
from .plan import COPY, CSV, PAGE, PlannedFile, SitePlan
from .render import RenderedFile, Renderer, RenderError
from .write import StagedOutput, state_key

ENGINE_VERSION = "1"
PARALLEL_THRESHOLD = 400  # fewer files than this render in one process
CHUNK = 250


def digest(*parts: bytes | str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8") if isinstance(part, str) else part)
        h.update(b"\0")
    return h.hexdigest()


class _StablePickler(pickle.Pickler):
    """Pickles data for digests, leaving out where a record was read (row numbers shift)."""

    dispatch_table = copyreg.dispatch_table.copy()
    dispatch_table[Origin] = lambda origin: (Origin, ("", 0))


def data_digest(obj: object) -> str:
    buffer = io.BytesIO()
    _StablePickler(buffer, protocol=5).dump(obj)
    return hashlib.sha256(buffer.getvalue()).hexdigest()


class TemplateDigests:
    """The digest of a template together with every template it pulls in."""

    def __init__(self, env: Environment):
        self.env = env
        self._closures: dict[str, str] = {}

    def _source(self, name: str) -> str:
        return self.env.loader.get_source(self.env, name)[0]

    def _referenced(self, name: str) -> set[str]:
        found = {name}
        todo = [name]
        while todo:
            current = todo.pop()
            try:
                parsed = self.env.parse(self._source(current), current, current)
            except TemplateSyntaxError as exc:
                raise RenderError(f"{exc.filename or current}, line {exc.lineno}: {exc.message}") from exc
            for child in meta.find_referenced_templates(parsed):
                if child is not None and child not in found:
                    found.add(child)
                    todo.append(child)
        return found

    def closure(self, name: str) -> str:
        if name not in self._closures:
            # fragment("...") calls are not Jinja references: count the fragments every page may use
            names = sorted(self._referenced(name) | self._referenced("_gate_messages.html"))
            self._closures[name] = digest(*(f"{n}\0{self._source(n)}" for n in names))
        return self._closures[name]


RENDER_CONFIG_EXCLUDED = {"root", "source_path", "exports", "publish", "carriers", "output", "groups", "customers"}


def render_config_digest(config: Config, encrypted: bool) -> str:
    """The config that rendering reads; export mapping only matters through the data."""
    data = config.model_dump(mode="json", exclude=RENDER_CONFIG_EXCLUDED)
    return digest(ENGINE_VERSION, json.dumps(data, sort_keys=True), "encrypted" if encrypted else "preview")


@dataclass
class Recipes:
    """Computes each planned file's recipe; `keys` gives a portal's key and slot digests."""

    config: Config
    ledger: Ledger
    templates: TemplateDigests
    encrypted: bool
    keys: Callable[[str], tuple[str, str]]  # customer id -> (keys digest, slots digest)
    pages: list[Page]
    assets: dict[str, str]  # static file → fingerprinted path: pages link them by these names
    _portals: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.base = render_config_digest(self.config, self.encrypted)
        self.links = digest(json.dumps(self.assets, sort_keys=True))  # pages link assets by hashed names
        self.mode = digest(ENGINE_VERSION, "encrypted" if self.encrypted else "preview")
        self.sealing = digest(self.config.gate.model_dump_json())
        self.catalogue = data_digest(self.ledger.catalogue)
        self.as_of = self.ledger.as_of.isoformat()

    def portal(self, customer_id: str) -> str:
        if customer_id not in self._portals:
            book = self.ledger.books[customer_id]
            customer = book.customer
            visible = [(p.slug, p.title, p.nav_order, p.language)
                       for p in pages_for(self.pages, customer.id, customer.group, customer.language)]
            settings = self.config.settings_for(customer.id, customer.group).model_dump_json()
            self._portals[customer_id] = digest(data_digest(book), self.keys(customer_id)[0],
                                                json.dumps(visible), self.as_of, settings)
        return self._portals[customer_id]

    def of(self, planned: PlannedFile) -> str:
        parts = [self.mode, planned.kind, planned.output_path]
        if planned.kind in (PAGE, CSV):
            parts.append(self.base)  # the config that templates and tables read
        if planned.portal is not None:
            parts.append(self.portal(planned.portal.customer_id))
            if planned.path == "index.html":
                parts.append(self.keys(planned.portal.customer_id)[1])  # the key slots live here
            if self.encrypted:
                parts.append(self.sealing)
                if planned.kind == PAGE:  # sealed pages are wrapped in the shell page
                    parts += [self.templates.closure("shell.html"), self.base]
        if planned.kind == PAGE:
            parts += [self.templates.closure(planned.template), self.links]
            page = (planned.context or {}).get("page")
            if isinstance(page, Page):
                parts.append(page.html)
            if planned.context and planned.context.get("section") == "catalogue":
                parts.append(self.catalogue)
        elif planned.kind == CSV and planned.table is not None and planned.table.name == "catalogue":
            parts.append(self.catalogue)
        elif planned.kind == COPY:
            data = planned.data if planned.data is not None else planned.source.read_bytes()
            parts.append(hashlib.sha256(data).hexdigest())
        return digest(*parts)


@dataclass
class EngineReport:
    rendered: list[str] = field(default_factory=list)  # logical output paths rendered this time
    reused: int = 0
    workers: int = 1


# -- workers ------------------------------------------------------------------------------------

_JOB: dict = {}  # set in the parent before forking; the workers inherit it


def _make(planned: PlannedFile) -> RenderedFile:
    rendered = _JOB["renderer"].render(planned)
    transform = _JOB["transform"]
    return transform(rendered) if transform is not None else rendered


def _work(indices: list[int]) -> list[tuple[str, str, str, int, str]]:
    """Render, seal and write some files into staging; what was written goes back to the parent."""
    done = []
    for index in indices:
        planned = _JOB["files"][index]
        rendered = _make(planned)
        _JOB["out"].write(rendered.output_path, rendered.data)  # only the file: bookkeeping is the parent's
        done.append((planned.output_path, rendered.output_path, hashlib.sha256(rendered.data).hexdigest(),
                     len(rendered.data), _JOB["recipes"].of(planned)))
    return done


def run(plan: SitePlan, renderer: Renderer, transform: Callable[[RenderedFile], RenderedFile] | None,
        out: StagedOutput, recipes: Recipes, previous: dict | None,
        on_progress: Callable[[int], None] = lambda n: None, workers: int | None = None) -> EngineReport:
    """`workers`: None for one process per core on large builds; a number to use exactly that many."""
    report = EngineReport()
    last = (previous or {}).get("recipes", {})
    files = (previous or {}).get("files", {})
    todo: list[int] = []
    if not last:  # nothing to compare with: render everything; the workers work out the recipes
        todo = list(range(len(plan.files)))
    for index, planned in enumerate(plan.files) if last else ():
        recipe = recipes.of(planned)
        out.recipes[planned.output_path] = recipe
        before = last.get(state_key(planned.output_path))
        if before and before[0] == recipe and out.keep(planned.output_path, before[1], files.get(before[1])):
            report.reused += 1
            on_progress(1)
        else:
            todo.append(index)
    _JOB.update(renderer=renderer, transform=transform, files=plan.files, out=out, recipes=recipes)
    forced = workers is not None
    workers = workers or (os.cpu_count() or 1)
    chunk = CHUNK if not forced else max(1, -(-len(todo) // (workers * 4)))
    chunks = [todo[i:i + chunk] for i in range(0, len(todo), chunk)]
    big_enough = forced or len(todo) >= PARALLEL_THRESHOLD
    if workers > 1 and big_enough and "fork" in multiprocessing.get_all_start_methods():
        report.workers = workers
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            results = pool.imap_unordered(_work, chunks)
            for done in results:
                _record(out, done, on_progress)
    else:
        for chunk in chunks:
            _record(out, _work(chunk), on_progress)
    report.rendered = sorted(plan.files[i].output_path for i in todo)
    _JOB.clear()
    return report


def _record(out: StagedOutput, done: list[tuple[str, str, str, int, str]],
            on_progress: Callable[[int], None]) -> None:
    for logical, written, sha, size, recipe in done:
        out.record(logical, written, sha, size)
        out.recipes[logical] = recipe
    on_progress(len(done))
