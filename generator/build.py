"""The build pipeline, stage by stage: read → model → plan → render → write.

Each stage takes plain data and returns plain data; this module only runs them in order,
reports progress, and decides whether input problems stop the build.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .config import Config
from .content import read_pages
from .ledger import build_ledger, newest_export_date
from .load import LoadError, read_export
from .model import Ledger
from .plan import PAGE, SitePlan, plan_site
from .problems import ProblemLog
from .render import RenderedFile, Renderer, RenderError
from .theme import ThemeError, load_theme
from .write import StagedOutput


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
    preview: bool = False


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

    @property
    def ok(self) -> bool:
        return self.failure is None


class BuildFailed(Exception):
    pass


def read_input(config: Config, problems: ProblemLog, progress: Progress) -> Ledger:
    """Read and model the export, reporting every problem; `check` stops here."""
    progress.stage("Reading the export")
    export = read_export(config, problems, on_rows=progress.advance)
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
    read_pages(config.path(config.content_dir), problems)
    return ledger, problems


def build(config: Config, options: BuildOptions | None = None, progress: Progress | None = None,
          transform: Callable[[RenderedFile], RenderedFile] | None = None) -> BuildResult:
    options = options or BuildOptions()
    progress = progress or Progress()
    started = time.perf_counter()
    result = BuildResult(ProblemLog(), options.output_dir or config.output_dir)
    try:
        _run(config, options, progress, result, transform)
    except (LoadError, ThemeError, RenderError, BuildFailed) as exc:
        result.failure = str(exc)
    result.seconds = time.perf_counter() - started
    return result


def _run(config: Config, options: BuildOptions, progress: Progress, result: BuildResult,
         transform: Callable[[RenderedFile], RenderedFile] | None) -> None:
    problems = result.problems
    ledger = read_input(config, problems, progress)
    pages = read_pages(config.path(config.content_dir), problems)
    if options.strict and problems.errors:
        raise BuildFailed(f"{len(problems.errors)} error(s) in the input (strict mode); nothing was written")
    theme = load_theme(config)
    plan = plan_site(config, ledger, pages, theme.assets(), options.only)
    renderer = Renderer(config, theme, preview=options.preview)
    progress.stage("Rendering portals", len(plan.files))
    with StagedOutput(result.output_dir) as out:
        for planned in plan.files:
            rendered = renderer.render(planned)
            if transform is not None:
                rendered = transform(rendered)
            out.write(rendered.output_path, rendered.data)
            progress.advance()
    result.files, result.bytes = out.files, out.bytes
    result.portals = _summaries(plan)
    result.pages = sum(1 for f in plan.files if f.kind == PAGE)


def _summaries(plan: SitePlan) -> list[PortalSummary]:
    pages = plan.pages_per_portal()
    files: dict[str, int] = {}
    for f in plan.files:
        if f.portal is not None:
            files[f.portal.slug] = files.get(f.portal.slug, 0) + 1
    return [PortalSummary(p.customer_id, p.name, p.slug, pages[p.slug], files.get(p.slug, 0)) for p in plan.portals]
