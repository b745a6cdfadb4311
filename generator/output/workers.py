"""Render, seal and write the planned files that need it, on every core.

Rendering runs in worker processes (forked, so they share the plan without copying it), each
taking large chunks of files, rendering and sealing them and writing them straight into the
staging folder; the parent only coordinates and keeps the books. The output is byte-for-byte
the same whichever way it is made.
"""

from __future__ import annotations

import ctypes
import gc
import hashlib
import multiprocessing
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from ..faults import moment
from ..render import Renderer
from ..site import SitePlan
from .recipes import Recipes
from .staging import StagedOutput
from .state import BuildState, state_key

T = TypeVar("T")

PARALLEL_THRESHOLD = 400  # fewer files than this render in one process
CHUNK = 250
PR_SET_PDEATHSIG = 1  # prctl(2)


class ProcessLost(Exception):
    """A process the build ran a part of its work in ended without a word (killed)."""


@dataclass
class EngineReport:
    rendered: list[str] = field(default_factory=list)  # logical output paths rendered this time
    reused: int = 0
    workers: int = 1


# -- workers ------------------------------------------------------------------------------------

_JOB: dict = {}  # set in the parent before forking; the workers inherit it


Made = tuple[str, str, str, int, str, tuple[str, ...]]  # logical, written, sha256, size, recipe, links


def _work(indices: list[int]) -> list[Made]:
    """Render, seal and write some files into staging; what was written goes back to the parent."""
    done = []
    for index in indices:
        planned = _JOB["files"][index]
        rendered = _JOB["renderer"].make(planned)
        _JOB["out"].write(rendered.output_path, rendered.data)  # only the file: bookkeeping is the parent's
        done.append(
            (
                planned.output_path,
                rendered.output_path,
                hashlib.sha256(rendered.data).hexdigest(),
                len(rendered.data),
                _JOB["recipes"].of(planned),
                rendered.links,
            )
        )
    return done


def die_with(parent: int) -> None:
    """A worker ends when the build's process does, however it ends (kill -9 included): left
    running, it would keep writing into a staging folder the next build wants to clear."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the parent's pool still terminates its workers
        pass
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(1)


def run_apart(out: StagedOutput, job: Callable[[Callable[[int], None]], T], on_progress: Callable[[int], None]) -> T:
    """`job(on_progress)` in a forked process of its own, whose memory all goes back to the system
    when it ends (a batch of a large build: its books, plan and pages); what it staged joins `out`
    here. Where processes cannot fork, here."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return job(on_progress)
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_apart, args=(sender, out, job, os.getpid()), name="portico-batch")
    process.start()
    sender.close()
    try:
        while True:
            try:
                kind, value = receiver.recv()
            except EOFError:
                process.join()
                raise ProcessLost(f"a batch's process ended unexpectedly (exit code {process.exitcode})") from None
            if kind == "progress":
                on_progress(value)
            elif kind == "failed":
                raise value
            else:
                result, records = value
                out.add(records)
                return result
    finally:
        receiver.close()
        process.join()


def _apart(sender, out: StagedOutput, job: Callable, parent: int) -> None:
    die_with(parent)
    out.start_records()
    try:
        result = job(lambda amount: sender.send(("progress", amount)))
        sender.send(("done", (result, out.records())))
    except BaseException as exc:
        try:
            sender.send(("failed", exc))
        except Exception:
            sender.send(("failed", OSError(f"{type(exc).__name__}: {exc}")))
    finally:
        sender.close()


def run(
    plan: SitePlan,
    renderer: Renderer,
    out: StagedOutput,
    recipes: Recipes,
    previous: BuildState | None,
    on_progress: Callable[[int], None] = lambda n: None,
    workers: int | None = None,
) -> EngineReport:
    """`workers`: None for one process per core on large builds; a number to use exactly that many."""
    report = EngineReport()
    last = previous.recipes if previous else {}
    files = previous.files if previous else {}
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
    _JOB.update(renderer=renderer, files=plan.files, out=out, recipes=recipes)
    try:
        report.workers = _render_all(todo, out, on_progress, workers)
    finally:
        _JOB.clear()  # (a build that failed leaves nothing of its plan behind)
    report.rendered = sorted(plan.files[i].output_path for i in todo)
    return report


def _render_all(todo: list[int], out: StagedOutput, on_progress: Callable[[int], None], workers: int | None) -> int:
    """Render the files `_JOB` plans at these indices; how many processes did."""
    forced = workers is not None
    workers = workers or (os.cpu_count() or 1)
    chunk = CHUNK if not forced else max(1, -(-len(todo) // (workers * 4)))
    chunks = [todo[i : i + chunk] for i in range(0, len(todo), chunk)]
    big_enough = forced or len(todo) >= PARALLEL_THRESHOLD
    if workers > 1 and big_enough and "fork" in multiprocessing.get_all_start_methods():
        # compiled here, once: every worker starts with the templates (else each compiled those it
        # uses, and the build compiled them all again after, to keep them for the next process)
        _JOB["renderer"].load_templates()
        # the build's millions of objects live as long as it: from now on no collection, here or in a
        # worker, walks them (a worker would copy every page it walks). Not unfrozen after: a
        # collection of them all would follow at once (a session unfreezes before it remembers).
        gc.freeze()
        with multiprocessing.get_context("fork").Pool(workers, die_with, (os.getpid(),)) as pool:
            for done in pool.imap_unordered(_work, chunks):
                _record(out, done, on_progress)
        return workers
    for chunk in chunks:
        _record(out, _work(chunk), on_progress)
    return 1


def _record(out: StagedOutput, done: list[Made], on_progress: Callable[[int], None]) -> None:
    for logical, written, sha, size, recipe, links in done:
        out.record(logical, written, sha, size, links)
        out.recipes[logical] = recipe
    on_progress(len(done))
    moment("rendering")
