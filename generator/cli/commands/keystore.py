"""`portico keystore`: tools for the keystore that need no config (a new master key)."""

from __future__ import annotations

import argparse

from rich.console import Console

from ...seal import new_master_key
from ..common import EXIT_OK


def add_to(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    keystore = commands.add_parser("keystore", help="keystore tools")
    actions = keystore.add_subparsers(dest="keystore_command", required=True, metavar="ACTION")
    new_key = actions.add_parser(
        "new-master-key",
        help="print a new random PORTICO_MASTER_KEY",
        description="Print 32 random bytes in base64, to set as PORTICO_MASTER_KEY "
        "(keep it in your secret manager or CI secrets).",
    )
    new_key.set_defaults(run=run_new_master_key)


def run_new_master_key(args: argparse.Namespace, console: Console) -> int:
    print(new_master_key())
    return EXIT_OK
