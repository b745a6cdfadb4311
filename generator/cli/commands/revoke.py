"""`portico revoke`: rotate a customer's keys after a leaked link or a lost laptop."""

from __future__ import annotations

import argparse

from rich.console import Console

from ...seal import manage
from ..common import EXIT_OK
from .passwords import open_access


def add_to(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    revoke = commands.add_parser(
        "revoke",
        parents=[common],
        help="rotate a customer's keys (a leaked link, a lost laptop)",
        description="Rotate a customer's data key: nothing built afterwards opens with the "
        "old keys or old direct links. Passwords stay. Rebuild and publish next.",
    )
    revoke.add_argument("customer", metavar="CUSTOMER")
    revoke.set_defaults(run=run)


def run(args: argparse.Namespace, console: Console) -> int:
    with open_access(args, console) as (_, _, keystore):
        manage.revoke(keystore, args.customer)
        keystore.save()
    console.print(f"rotated the keys of {args.customer}: rebuild and publish to replace its portal")
    return EXIT_OK
