"""`portico build`: build every customer's portal into the output folder."""

from __future__ import annotations

import argparse
from functools import partial
from pathlib import Path

from rich.console import Console

from ...config import load_config
from ...incremental import row_index
from ...incremental.session import Session
from ...pipeline import BuildOptions, build
from ...site.shards import Shard
from ..common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, add_new_keystore_option, in_ci
from ..progress import progress_for
from ..report import build_report, print_json, print_problems, print_summary


def add_to(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    build_cmd = commands.add_parser(
        "build",
        parents=[common],
        help="build every customer's portal",
        description="Build every customer's portal into the output folder.",
    )
    strictness = build_cmd.add_mutually_exclusive_group()
    strictness.add_argument(
        "--strict",
        dest="strict",
        action="store_true",
        default=None,
        help="fail on any input error (default when CI=true)",
    )
    strictness.add_argument(
        "--no-strict",
        dest="strict",
        action="store_false",
        help="skip bad records and build the rest (default outside CI)",
    )
    scope = build_cmd.add_mutually_exclusive_group()
    scope.add_argument("--customer", action="append", metavar="ID", help="build only this customer (repeatable)")
    scope.add_argument(
        "--shard",
        type=shard_argument,
        metavar="I/N",
        help="build only the I-th of N shards of the portals (one machine of N; run `portico keys` first); "
        "0/N: the site's own files, for the final `publish --shard 0/N`",
    )
    build_cmd.add_argument("--output", type=Path, metavar="DIR", help="output folder (default: config `output`)")
    build_cmd.add_argument(
        "--no-encrypt",
        action="store_true",
        help="plain pages with a PREVIEW banner, for staff only; never publish them",
    )
    build_cmd.add_argument("--full", action="store_true", help="render everything, ignoring the last build's state")
    add_new_keystore_option(build_cmd)
    build_cmd.set_defaults(run=run)


def shard_argument(text: str) -> Shard:
    try:
        return Shard.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def run(args: argparse.Namespace, console: Console) -> int:
    config = load_config(args.config)
    strict = args.strict if args.strict is not None else in_ci()
    options = BuildOptions(
        strict=strict,
        only=set(args.customer) if args.customer else None,
        output_dir=args.output.resolve() if args.output else None,
        encrypt=not args.no_encrypt,
        new_keystore=args.new_keystore,
        in_ci=in_ci(),
        full=args.full,
        shard=args.shard,
    )
    with progress_for(args, console) as progress:
        if Session.keeps(options):  # quick when the last build kept what it read
            result = Session(keep=True).build(config, options, progress)
        else:  # a shard reads only its customers' rows when `portico keys` kept whose each row is
            result = build(config, options, progress, prepare=partial(row_index.prepare, config, options, progress))
    if args.json:
        print_json(build_report(result))
    print_problems(result.problems, console, args.verbose, args.quiet)
    for notice in result.notices:
        console.print(f"[bold yellow]note:[/] {notice}", highlight=False)
    if not result.ok:
        console.print(f"[bold red]build failed:[/] {result.failure}", highlight=False)
        return EXIT_USAGE if result.usage_error else EXIT_FAILED
    if result.noop and not args.quiet:
        console.print(f"[green]✓[/] nothing changed since the last build ({result.output_dir})", highlight=False)
    elif not args.quiet:
        print_summary(result, console, args.verbose)
    return EXIT_OK
