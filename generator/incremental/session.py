"""What a build remembers, so an export edit rebuilds quickly.

A full incremental build still reads the whole export (seconds, for hundreds of thousands of
rows) to find that one customer's rows changed. A `Session` keeps the last build — the export's
lines and whose each one is (`export_diff.ExportSnapshot`), and what the build made on its way
(the pipeline's `Workshop`: ledger, slugs, renderer, the output's state) — so when nothing but
export rows changed, it reads again only the rows of the customers those edits touched,
re-plans and re-renders only their portals, and moves only their changed files into the output.
`portico serve` keeps its session in memory; `portico build` keeps it beside the output for the
next process (`kept.py`), encrypted with the keystore.

The result is the same tree a full build makes (the tests check it); whenever that could not be
promised (config, theme, content or keystore changed, a new customer needs keys, contacts
changed, the output was built by someone else meanwhile, …) it runs the ordinary build, which
refreshes the memory. The session calls the pipeline's stages; the pipeline knows nothing of
sessions.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, replace
from pathlib import Path

from .. import pipeline
from ..config import Config
from ..garbage import garbage_collection_paused
from ..locks import LockHeld
from ..model import Ledger
from ..output import InputDigests, StagedOutput, recover_output, state_stamp
from ..output.state import state_key
from ..problems import ProblemLog, describe_os_error
from ..progress import Progress
from ..site import slug_for
from . import kept
from .export_diff import ExportEdit, ExportSnapshot, FileRead, ReadAhead
from .memory import Memory, access_of, crosses_customers, document_files, others_fingerprint


@dataclass
class Session:
    memory: Memory | None = None
    quick_builds: int = 0  # how many builds took the quick way (for tests and the curious)
    remembered_once: bool = False  # an ordinary build has run in this session
    keep: bool = False  # keep the memory beside the output for the next process (`portico build`)

    def build(
        self, config: Config, options: pipeline.BuildOptions, progress: Progress | None = None
    ) -> pipeline.BuildResult:
        """What `portico build` does, quickly when only some customers' export rows changed."""
        progress = progress or Progress()
        started = time.perf_counter()
        result = pipeline.BuildResult(ProblemLog(), options.output_dir or config.output_dir, encrypted=options.encrypt)
        try:
            with (
                pipeline.locked_for_build(config, result.output_dir, options.encrypt),
                garbage_collection_paused(),  # half a million lines kept: nothing to collect among them
            ):
                # taken before anything is read: files changed meanwhile make the next build look again
                inputs = InputDigests.take(config)
                quick = self.rebuild_from_memory(config, options, progress, result, inputs)
                if quick and result.ok and self.keep:
                    kept.save(self.memory, result.output_dir)
        except pipeline.BUILD_ERRORS as exc:
            quick, result.failure = True, str(exc)
        except OSError as exc:  # the disk, not the input
            quick, result.failure = True, describe_os_error(exc)
        if quick:
            result.seconds = time.perf_counter() - started
            return result
        # the first build in a process that stays reads the export even if nothing changed, to have
        # something to compare with; a kept memory is still good when nothing changed
        reread = not self.remembered_once and not self.keep
        result = pipeline.build(config, options, progress, remember=True, reread=reread)
        if result.workshop is not None:
            self.remember(result)
            if self.keep:
                self.keep_memory(config, result)
        elif self.keep and result.batches:  # read in batches: a memory kept before is of another export
            self.memory = None
            self.keep_memory(config, result)
        elif not self.keep:  # a process that stays: what a failed build froze (`output.workers`) is garbage
            gc.unfreeze()
            gc.collect()
            gc.freeze()
        return result

    @staticmethod
    def keeps(options: pipeline.BuildOptions) -> bool:
        """Whether a build is worth keeping the memory of for the next process: a whole encrypted
        build (a shard or some customers never take the quick way; a preview has no keystore to seal it)."""
        return options.encrypt and options.shard is None and options.only is None

    def keep_memory(self, config: Config, result: pipeline.BuildResult) -> None:
        """Beside the output, for the next process (none when it cannot be kept safely)."""
        try:
            with pipeline.locked_for_build(config, result.output_dir, result.encrypted):
                if self.memory is None or state_stamp(result.output_dir) != self.memory.stamp:
                    kept.forget(result.output_dir)
                else:
                    kept.save(self.memory, result.output_dir)
        except (OSError, LockHeld) as exc:  # the build stands; the next one reads the export
            result.notices.append(f"could not keep what this build read for the next one: {exc}")

    def remember(self, result: pipeline.BuildResult) -> None:
        """After an ordinary build: keep what a quick rebuild needs (nothing, if the export cannot be
        compared by lines)."""
        self.remembered_once = True
        gc.unfreeze()  # the last memory's objects may be garbage now
        workshop, result.workshop = result.workshop, None
        access = {customer_id: access_of(book) for customer_id, book in workshop.ledger.books.items()}
        files = document_files(workshop.ledger.books.values())
        if self.keep:  # kept for another process, which reads the books again where they changed: let them go
            workshop = replace(workshop, ledger=replace(workshop.ledger, books={}))
        inputs = result.inputs
        snapshot = ExportSnapshot.take(workshop.config, workshop.owners, inputs) if workshop.state is not None else None
        if snapshot is None:
            self.memory = None
            return
        self.memory = Memory(
            replace(workshop, owners=None),
            others_fingerprint(inputs, workshop.config, snapshot),
            snapshot,
            result.problems,
            state_stamp(result.output_dir),
            {p.customer_id: p for p in result.portals},
            result.pages - sum(p.pages for p in result.portals),
            access,
            set(result.unopenable),
            files,
        )
        gc.collect()
        gc.freeze()  # millions of long-lived objects: spare every later collection from walking them

    def rebuild_from_memory(
        self,
        config: Config,
        options: pipeline.BuildOptions,
        progress: Progress,
        result: pipeline.BuildResult,
        inputs: InputDigests,
    ) -> bool:
        """The quick rebuild, from this session's memory or, in a new process, from what the last
        build kept (the export read on another thread while that opens)."""
        if recover_output(result.output_dir):  # another build was cut short here: start afresh
            self.memory = None
        elif self.keep and self.memory is None:
            if _asks_for_ordinary(options) or not kept.worth_opening(options, result.output_dir, inputs.fingerprint()):
                return False
            with closing(ReadAhead(config)) as ahead:
                self.memory = kept.load(config, options, result.output_dir, progress, inputs.fingerprint())
                return self.rebuild_quickly(config, options, progress, result, inputs, ahead)
        return self.rebuild_quickly(config, options, progress, result, inputs)

    def rebuild_quickly(
        self,
        config: Config,
        options: pipeline.BuildOptions,
        progress: Progress,
        result: pipeline.BuildResult,
        inputs: InputDigests,
        read_file: Callable[[Path], FileRead | None] | None = None,
    ) -> bool:
        """Rebuild only the customers whose rows changed; False when an ordinary build is needed."""
        memory = self.memory
        if memory is None or _asks_for_ordinary(options) or result.output_dir != _output(memory):
            return False
        if not _same_kind(options, memory.workshop.options):
            return False
        if state_stamp(result.output_dir) != memory.stamp:
            return False  # another build wrote the output
        if memory.workshop.state.rekey_due():
            return False  # a direct link has ended: re-keying its page is the ordinary build's
        if pipeline.nothing_changed(config, options, memory.workshop.state, inputs.fingerprint()):
            return False  # the ordinary build says so at once
        if others_fingerprint(inputs, config, memory.snapshot) != memory.others:
            return False  # something besides export rows changed
        progress.stage("Comparing the export")
        edit = memory.snapshot.edit(memory.workshop.config, read_file)
        if edit is None:
            return False
        # (no customer touched, as when a compressed export is written again with the same rows:
        # nothing is rendered, and the state records the files as they are now)
        ledger = _ledger_after(memory, edit)
        if ledger is None:
            return False
        slugs = _slugs_after(memory, edit.customers, ledger)
        if slugs is None:
            return False
        workshop = replace(memory.workshop, ledger=ledger, slugs=slugs)
        self._render(memory, edit, workshop, progress, result, inputs.fingerprint())
        self.quick_builds += 1
        return True

    def _render(
        self,
        memory: Memory,
        edit: ExportEdit,
        workshop: pipeline.Workshop,
        progress: Progress,
        result: pipeline.BuildResult,
        inputs: str,
    ) -> None:
        """The touched customers' portals, through the pipeline's own plan and render stages."""
        config, customers, before = workshop.config, edit.customers, memory.workshop
        plan = pipeline.plan_stage(
            config,
            workshop.ledger,
            workshop.pages,
            workshop.assets.files(),
            workshop.slugs,
            workshop.options,
            customers,
        )
        # the site's own files did not change; a file several portals read is new if a touched customer
        # now reads one nobody read before (another language, say)
        known = before.state.recipes
        plan.files = [f for f in plan.files if f.portal is not None or state_key(f.output_path) not in known]
        folders = {before.slugs[c] for c in customers if c in before.slugs}
        folders |= {workshop.slugs[c] for c in customers if c in workshop.slugs}
        out = StagedOutput(result.output_dir, inputs, workshop.mode, before.state)
        if not out.keep_all_but(folders):
            raise RuntimeError("the output's state cannot be kept as it is")  # stamp checked: should not happen
        portals = {c: p for c, p in memory.portals.items() if c not in customers}
        portals.update((p.customer_id, p) for p in pipeline.summaries(plan))
        ordered = sorted(portals.values(), key=lambda p: p.slug)
        out.pages = sum(p.pages for p in ordered) + memory.site_pages
        out.rekey_after = pipeline.rekey_after(workshop.keystore, workshop.options)
        out.portals = [[p.slug, p.pages, p.files] for p in ordered]
        pipeline.render_stage(workshop, plan, out, before.state, progress, result, workers=1)
        result.engine.reused = result.files - len(result.engine.rendered)  # every other portal's too
        result.read_again = len(customers)
        result.problems = _problems_after(memory.problems, edit)
        result.portals, result.pages = ordered, out.pages
        result.assets = workshop.assets.published()
        touched = {c: b for c, b in workshop.ledger.books.items() if c in customers}
        memory.unopenable = (memory.unopenable - customers) | set(replace(workshop.ledger, books=touched).unopenable())
        memory.access.update((c, access_of(book)) for c, book in touched.items())
        memory.document_files = {p: c for p, c in memory.document_files.items() if c not in customers}
        memory.document_files.update(document_files(touched.values()))
        result.unopenable = sorted(memory.unopenable)
        workshop.state = out.written_state
        memory.workshop, memory.snapshot, memory.problems = workshop, edit.snapshot, result.problems
        memory.stamp, memory.portals = state_stamp(result.output_dir), portals


def _same_kind(options: pipeline.BuildOptions, before: pipeline.BuildOptions) -> bool:
    """The same kind of build (how many processes render, say, makes no difference)."""
    return (options.encrypt, options.strict, options.only, options.shard, options.in_ci) == (
        before.encrypt,
        before.strict,
        before.only,
        before.shard,
        before.in_ci,
    )


def _asks_for_ordinary(options: pipeline.BuildOptions) -> bool:
    """Whether the build asked for is never a quick one: everything again, a new keystore, or only
    some customers (a touched customer may not be one this build makes)."""
    return options.full or options.new_keystore or options.only is not None or options.shard is not None


def _output(memory: Memory):
    return memory.workshop.options.output_dir or memory.workshop.config.output_dir


def _ledger_after(memory: Memory, edit: ExportEdit) -> Ledger | None:
    """The ledger with the touched customers' books made again from their rows."""
    ledger = memory.workshop.ledger
    changed = pipeline.model_stage(memory.workshop.config, edit.export, edit.problems)
    if changed.as_of != ledger.as_of or changed.catalogue != ledger.catalogue:
        return None  # every page shows the date; every catalogue page shows the catalogue
    if crosses_customers(
        memory.problems, memory.access.keys(), memory.document_files, edit.customers, edit.export, changed
    ):
        return None
    keystore = memory.workshop.keystore
    for customer_id in edit.customers:
        before, after = memory.access.get(customer_id), changed.books.get(customer_id)
        if memory.workshop.options.encrypt and (
            before is None or after is None or customer_id not in keystore.customers or access_of(after) != before
        ):
            return None  # keys or key slots to make, change or retire: the ordinary build does that (and tells staff)
    books = {c: b for c, b in ledger.books.items() if c not in edit.customers}
    books.update((c, changed.books[c]) for c in edit.customers if c in changed.books)
    return replace(ledger, books=books)


def _slugs_after(memory: Memory, customers: set[str], ledger: Ledger) -> dict[str, str] | None:
    slugs = {c: s for c, s in memory.workshop.slugs.items() if c not in customers}
    taken = set(slugs.values())
    site_key = memory.workshop.keystore.site_key if memory.workshop.keystore else None
    for customer_id in customers:
        book = ledger.books.get(customer_id)
        if book is not None:
            slug = slug_for(memory.workshop.config, book.customer, site_key)
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
