"""`portico` on the command line: argument parsing, progress, summaries, exit codes.

Exit codes: 0 ok; 1 the export or the build failed; 2 the command or config.yaml is wrong.
With `--json`, stdout carries one JSON document and everything for people goes to stderr.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress as RichProgress, TextColumn, TimeElapsedColumn
from rich.table import Table

from . import __version__
from .build import BuildOptions, BuildResult, Progress, build, check
from .config import Config, ConfigError, load_config
from .problems import ERROR, ProblemLog

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class BarProgress(Progress):
    """Rich progress bars on stderr, one task per stage."""

    def __init__(self, console: Console):
        self.bars = RichProgress(TextColumn("{task.description:<20}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=console, transient=True)
        self.task = None

    def __enter__(self) -> "BarProgress":
        self.bars.start()
        return self

    def __exit__(self, *exc) -> None:
        self.bars.stop()

    def stage(self, name: str, total: int | None = None) -> None:
        if self.task is not None:
            self.bars.update(self.task, total=self.bars.tasks[self.task].completed)
        self.task = self.bars.add_task(name, total=total)

    def advance(self, amount: int = 1) -> None:
        if self.task is not None and amount:
            self.bars.advance(self.task, amount)


class QuietProgress(Progress):
    def __enter__(self) -> "QuietProgress":
        return self

    def __exit__(self, *exc) -> None:
        pass


def common_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, default=Path("config.yaml"), metavar="PATH",
                        help="the site's config file (default: ./config.yaml)")
    loudness = common.add_mutually_exclusive_group()
    loudness.add_argument("-v", "--verbose", action="store_true", help="list every problem and every portal")
    loudness.add_argument("-q", "--quiet", action="store_true", help="print errors only")
    common.add_argument("--json", action="store_true", help="print a machine-readable report on stdout")
    return common


def parser() -> argparse.ArgumentParser:
    common = common_options()
    top = argparse.ArgumentParser(prog="portico", description="Private static customer portals from an ERP export.")
    top.add_argument("--version", action="version", version=f"portico {__version__}")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_build_command(commands, common)
    commands.add_parser("check", parents=[common], help="read and validate the export, build nothing",
                        description="Read the export, report every problem with file, row and column.")
    return top


def add_build_command(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    build_cmd = commands.add_parser("build", parents=[common], help="build every customer's portal",
                                    description="Build every customer's portal into the output folder.")
    strictness = build_cmd.add_mutually_exclusive_group()
    strictness.add_argument("--strict", dest="strict", action="store_true", default=None,
                            help="fail on any input error (default when CI=true)")
    strictness.add_argument("--no-strict", dest="strict", action="store_false",
                            help="skip bad records and build the rest (default outside CI)")
    build_cmd.add_argument("--customer", action="append", metavar="ID", help="build only this customer (repeatable)")
    build_cmd.add_argument("--output", type=Path, metavar="DIR", help="output folder (default: config `output`)")


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    console = Console(stderr=True, soft_wrap=True)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        return report_config_error(exc, args, console)
    if args.command == "check":
        return run_check(config, args, console)
    return run_build(config, args, console)


def report_config_error(exc: ConfigError, args: argparse.Namespace, console: Console) -> int:
    if args.json:
        print(json.dumps({"ok": False, "config_errors": [f"{exc.path}: {p}" for p in exc.problems]}, indent=2))
    console.print(f"[bold red]config error[/] in {exc.path}:")
    for problem in exc.problems:
        console.print(f"  {problem}", markup=False, highlight=False)
    return EXIT_USAGE


def progress_for(args: argparse.Namespace, console: Console) -> BarProgress | QuietProgress:
    if console.is_terminal and not args.quiet and not args.json:
        return BarProgress(console)
    return QuietProgress()


def run_check(config: Config, args: argparse.Namespace, console: Console) -> int:
    with progress_for(args, console) as progress:
        ledger, problems = check(config, progress)
    if args.json:
        print(json.dumps({
            "ok": not problems.errors,
            "customers": len(ledger.books) if ledger else 0,
            "errors": len(problems.errors), "warnings": len(problems.warnings),
            "skipped": dict(problems.skipped), "problems": problems.as_json(),
        }, indent=2))
    print_problems(problems, console, args.verbose, args.quiet)
    if not problems.errors and not args.quiet:
        count = len(ledger.books) if ledger else 0
        console.print(f"[green]✓[/] export is valid: {count} customers, {len(problems.warnings)} warning(s)")
    return EXIT_FAILED if problems.errors else EXIT_OK


def run_build(config: Config, args: argparse.Namespace, console: Console) -> int:
    strict = args.strict if args.strict is not None else os.environ.get("CI", "").lower() == "true"
    options = BuildOptions(strict=strict, only=set(args.customer) if args.customer else None,
                           output_dir=args.output.resolve() if args.output else None)
    with progress_for(args, console) as progress:
        result = build(config, options, progress)
    if args.json:
        print(json.dumps(build_report(result), indent=2))
    print_problems(result.problems, console, args.verbose, args.quiet)
    if not result.ok:
        console.print(f"[bold red]build failed:[/] {result.failure}", highlight=False)
        return EXIT_FAILED
    if not args.quiet:
        print_summary(result, console, args.verbose)
    return EXIT_OK


def build_report(result: BuildResult) -> dict:
    return {
        "ok": result.ok,
        "failure": result.failure,
        "output": str(result.output_dir),
        "customers": len(result.portals),
        "pages": result.pages,
        "files": result.files,
        "bytes": result.bytes,
        "seconds": round(result.seconds, 3),
        "errors": len(result.problems.errors),
        "warnings": len(result.problems.warnings),
        "skipped": dict(result.problems.skipped),
        "portals": [{"customer": p.customer_id, "name": p.name, "path": f"{p.slug}/", "pages": p.pages,
                     "files": p.files} for p in result.portals],
        "problems": result.problems.as_json(),
    }


SHOWN_PER_GROUP = 5


def print_problems(problems: ProblemLog, console: Console, verbose: bool, quiet: bool = False) -> None:
    for (severity, file, kind), group in problems.grouped():
        if quiet and severity != ERROR:
            continue
        colour = "red" if severity == ERROR else "yellow"
        console.print(f"[bold {colour}]{severity}[/] {file}: {kind} ({len(group)})", highlight=False)
        shown = group if verbose else group[:SHOWN_PER_GROUP]
        for problem in shown:
            where = ", ".join(p for p in (f"row {problem.row}" if problem.row else "",
                                          f"column {problem.column!r}" if problem.column else "") if p)
            console.print(f"    {where}: {problem.message}", markup=False, highlight=False)
        if len(group) > len(shown):
            console.print(f"    … and {len(group) - len(shown)} more (-v lists all)", highlight=False)
    for reason, count in problems.skipped.items() if not quiet else ():
        console.print(f"[dim]skipped[/] {reason}: {count}", highlight=False)


def print_summary(result: BuildResult, console: Console, verbose: bool) -> None:
    if verbose or len(result.portals) <= 50:
        table = Table(title="Portals", title_justify="left")
        table.add_column("Customer")
        table.add_column("Portal path")
        table.add_column("Pages", justify="right")
        for portal in result.portals:
            table.add_row(f"{portal.name} ({portal.customer_id})", f"{portal.slug}/", str(portal.pages))
        console.print(table)
    errors = len(result.problems.errors)
    summary = Table(show_header=False, box=None)
    summary.add_column(style="bold")
    summary.add_column(justify="right")
    summary.add_row("customers", str(len(result.portals)))
    summary.add_row("pages", str(result.pages))
    summary.add_row("files", f"{result.files} ({result.bytes / 1e6:.1f} MB)")
    summary.add_row("warnings", str(len(result.problems.warnings)))
    if errors:
        summary.add_row("records skipped for errors", str(errors))
    summary.add_row("time", f"{result.seconds:.2f} s")
    console.print(summary)
    console.print(f"[green]✓[/] built into {result.output_dir}", highlight=False)


def build_main() -> int:
    """`python build.py [args]`: the same as `portico build [args]`."""
    return main(["build", *sys.argv[1:]])
