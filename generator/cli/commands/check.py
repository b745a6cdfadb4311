"""`portico check`: read and validate the export, report every problem, build nothing."""

from __future__ import annotations

import argparse

from rich.console import Console

from ...config import load_config
from ...pipeline import check
from ..common import EXIT_FAILED, EXIT_OK
from ..progress import progress_for
from ..report import print_json, print_problems


def add_to(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    checking = commands.add_parser(
        "check",
        parents=[common],
        help="read and validate the export, build nothing",
        description="Read the export, report every problem with file, row and column.",
    )
    checking.set_defaults(run=run)


def run(args: argparse.Namespace, console: Console) -> int:
    config = load_config(args.config)
    with progress_for(args, console) as progress:
        ledger, problems = check(config, progress)
    if args.json:
        print_json(
            {
                "ok": not problems.errors,
                "customers": len(ledger.books) if ledger else 0,
                "errors": len(problems.errors),
                "warnings": len(problems.warnings),
                "skipped": dict(problems.skipped),
                "unopenable": ledger.unopenable() if ledger else [],
                "problems": problems.as_json(),
            }
        )
    print_problems(problems, console, args.verbose, args.quiet)
    if not problems.errors and not args.quiet:
        count = len(ledger.books) if ledger else 0
        console.print(f"[green]✓[/] export is valid: {count} customers, {len(problems.warnings)} warning(s)")
    return EXIT_FAILED if problems.errors else EXIT_OK
