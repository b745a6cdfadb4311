"""`portico keys`: make the keys, passwords and key slots the export calls for, and nothing else.

The step before sharded builds (`portico build --shard I/N` on N machines): they read the
keystore this writes and never write it themselves. Beside the keystore it keeps whose each
export row is (`keystore.json.rows`, sealed with the keystore), so that each shard reads only
its own customers' rows (`incremental/row_index.py`).
"""

from __future__ import annotations

import argparse
from functools import partial

from rich.console import Console

from ...config import load_config
from ...incremental import row_index
from ...pipeline import BuildOptions, describe_access, prepare_keys
from ..common import EXIT_FAILED, EXIT_OK, add_new_keystore_option, in_ci
from ..progress import progress_for
from ..report import print_json, print_problems


def add_to(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    keys = commands.add_parser(
        "keys",
        parents=[common],
        help="bring the keystore in line with the export, render nothing",
        description="Make the keys, passwords and key slots the export calls for (and revoke what it no "
        "longer does), render nothing. Run it once before sharded builds, which never write the keystore.",
    )
    add_new_keystore_option(keys)
    keys.set_defaults(run=run)


def run(args: argparse.Namespace, console: Console) -> int:
    config = load_config(args.config)
    options = BuildOptions(strict=in_ci(), new_keystore=args.new_keystore, in_ci=in_ci())
    with progress_for(args, console) as progress:
        result = prepare_keys(config, options, progress, keep=partial(row_index.keep, config))
    access = result.access
    if args.json:
        report = {"ok": result.ok, "failure": result.failure, "notices": result.notices}
        if access is not None:
            report |= {"slots_made": access.slots_made, "new_passwords": len(access.new_passwords)}
            report |= {"rotated": sorted(access.rotated), "new_customers": len(access.new_customers)}
        print_json(report)
    print_problems(result.problems, console, args.verbose, args.quiet)
    for notice in result.notices:
        console.print(f"[bold yellow]note:[/] {notice}", highlight=False)
    if not result.ok:
        console.print(f"[bold red]keys failed:[/] {result.failure}", highlight=False)
        return EXIT_FAILED
    if not args.quiet:
        summary = (describe_access(access) if access else "") or "the keystore was already in line"
        console.print(f"[green]✓[/] keys ready ({summary}) in {result.seconds:.1f} s", highlight=False)
    return EXIT_OK
