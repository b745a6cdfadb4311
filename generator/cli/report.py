"""What the command line prints: problems grouped by kind, build summaries, JSON reports."""

from __future__ import annotations

import argparse
import json
import sys

import orjson
from rich.console import Console
from rich.table import Table

from ..config import ConfigError
from ..pipeline import BuildResult
from ..problems import ERROR, ProblemLog
from .common import EXIT_USAGE


def print_json(data: object) -> None:
    """A command's `--json` report on stdout, in UTF-8 as JSON is (orjson: a build's report of
    thousands of portals in a millisecond, not the twentieth of a second `json` takes to indent it)."""
    try:
        text = orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS) + b"\n"
    except orjson.JSONEncodeError:  # a path of bytes that are not UTF-8 (Python holds them as surrogates)
        text = json.dumps(data, indent=2).encode("ascii") + b"\n"
    sys.stdout.flush()
    if hasattr(sys.stdout, "buffer"):
        sys.stdout.buffer.write(text)
        sys.stdout.buffer.flush()
    else:  # a stream of text only (a test capturing stdout)
        sys.stdout.write(text.decode("utf-8"))


def report_config_error(exc: ConfigError, args: argparse.Namespace, console: Console) -> int:
    if getattr(args, "json", False):
        print_json({"ok": False, "config_errors": [f"{exc.path}: {p}" for p in exc.problems]})
    console.print(f"[bold red]config error[/] in {exc.path}:")
    for problem in exc.problems:
        console.print(f"  {problem}", markup=False, highlight=False)
    return EXIT_USAGE


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
        "unopenable": result.unopenable,
        "portals": [
            {
                "customer": p.customer_id or None,  # a no-op build reports from the state, which names no one
                "name": p.name or None,
                "path": f"{p.slug}/",
                "pages": p.pages,
                "files": p.files,
            }
            for p in result.portals
        ],
        "problems": result.problems.as_json(),
        "encrypted": result.encrypted,
        "noop": result.noop,
        "read_again": result.read_again,
        "batches": result.batches,
        "rendered": len(result.engine.rendered) if result.engine else 0,
        "reused": result.engine.reused if result.engine else 0,
        "workers": result.engine.workers if result.engine else 0,
        "keystore_created": result.keystore_created,
        "access": access_report(result),
        "notices": result.notices,
    }


def access_report(result: BuildResult) -> dict | None:
    access = result.access
    if access is None:
        return None
    return {
        "new_customers": len(access.new_customers),
        "new_passwords": len(access.new_passwords),
        "rotated": access.rotated,
        "expired_links": [{"customer": c, "page": p} for c, p in access.expired_links],
        "slots_made": access.slots_made,
        "kdf_seconds": round(access.kdf_seconds, 3),
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
            where = ", ".join(
                p
                for p in (
                    f"row {problem.row}" if problem.row else "",
                    f"column {problem.column!r}" if problem.column else "",
                )
                if p
            )
            console.print(f"    {where}: {problem.message}", markup=False, highlight=False)
        if len(group) > len(shown):
            console.print(f"    … and {len(group) - len(shown)} more (-v lists all)", highlight=False)
    for reason, count in problems.skipped.items() if not quiet else ():
        where, _, what = reason.rpartition(": ")  # "shipments (orders.csv): rows with no date"
        console.print(f"{where}: {count:,} {what} [dim]skipped[/]", highlight=False)


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
    if result.unopenable:
        summary.add_row("[bold yellow]portals nobody can open[/]", f"{len(result.unopenable)} (no contact with access)")
    if errors:
        summary.add_row("records skipped for errors", str(errors))
    if result.access is not None:
        summary.add_row("key slots made", f"{result.access.slots_made} ({result.access.kdf_seconds:.1f} s)")
        if result.access.new_passwords:
            summary.add_row("new passwords", f"{len(result.access.new_passwords)} (portico passwords list)")
        for customer_id, why in result.access.rotated.items():
            summary.add_row("keys rotated", f"{customer_id}: {why}")
        for customer_id, page in result.access.expired_links:
            summary.add_row("direct links ended", f"{customer_id}: {page} re-keyed")
    if result.read_again is not None:
        summary.add_row("read again (quick rebuild)", f"{result.read_again} customer(s)")
    if result.batches:
        summary.add_row("read in batches", f"{result.batches} (exports.batch_mb)")
    if result.engine is not None:
        summary.add_row(
            "rendered / carried over",
            f"{len(result.engine.rendered)} / {result.engine.reused}"
            f" ({result.engine.workers} process{'es' if result.engine.workers > 1 else ''})",
        )
    summary.add_row("encrypted", "yes" if result.encrypted else "[bold yellow]NO — preview only[/]")
    summary.add_row("time", f"{result.seconds:.2f} s")
    console.print(summary)
    console.print(f"[green]✓[/] built into {result.output_dir}", highlight=False)
