"""`portico invite`: e-mail contacts their portal's address, user name and password."""

from __future__ import annotations

import argparse

from rich.console import Console

from ...config import load_config
from ...mail import InviteOptions, MailError
from ...pipeline import BuildFailed, UnknownCustomer, invite
from ...publish import PublishError
from ...seal import KeystoreError
from ..common import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from ..mailing import delivery_json, print_delivery
from ..progress import progress_for
from ..report import print_json


def add_to(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    command = commands.add_parser(
        "invite",
        parents=[common],
        help="e-mail contacts their portal's address and password",
        description="One e-mail per contact with portal access, in the customer's language, for portals "
        "that are published; contacts invited before are left out unless --reinvite.",
    )
    whom = command.add_argument_group("whom (at least one)")
    whom.add_argument("--all", action="store_true", help="every customer's contacts")
    whom.add_argument("--customer", action="append", default=[], metavar="ID", help="this customer's contacts")
    whom.add_argument("--contact", action="append", default=[], metavar="EMAIL", help="this contact")
    again = command.add_mutually_exclusive_group()
    again.add_argument("--not-invited", action="store_true", help="only contacts not invited yet (the default)")
    again.add_argument("--reinvite", action="store_true", help="contacts invited before too: send again")
    command.add_argument("--dry-run", action="store_true", help="list what would be sent, send nothing")
    command.set_defaults(run=run)


def run(args: argparse.Namespace, console: Console) -> int:
    if not (args.all or args.customer or args.contact):
        console.print("[bold red]error:[/] say whom to invite: --all, --customer ID or --contact EMAIL")
        return EXIT_USAGE
    config = load_config(args.config)
    options = InviteOptions(args.customer, args.contact, args.all, args.reinvite, args.dry_run)
    try:
        with progress_for(args, console) as progress:
            result = invite(config, options, progress)
    except UnknownCustomer as exc:
        console.print(f"[bold red]error:[/] {exc}", highlight=False)
        return EXIT_USAGE
    except (BuildFailed, PublishError, KeystoreError, MailError, ValueError) as exc:
        if args.json:
            print_json({"ok": False, "error": str(exc)})
        console.print(f"[bold red]invite failed:[/] {exc}", highlight=False)
        return EXIT_FAILED
    going = [i for i in result.invitations if not i.skipped]
    skipped = [i for i in result.invitations if i.skipped]
    report = result.report
    if args.json:
        print_json(_as_json(going, skipped, report, args.dry_run))
    else:
        _print(console, going, skipped, report, args)
    return EXIT_FAILED if report is not None and report.failed else EXIT_OK


def _as_json(going, skipped, report, dry_run: bool) -> dict:
    def person(i) -> dict:
        return {"customer": i.row.customer_id, "email": i.row.email}

    data = {
        "ok": not (report and report.failed),
        "dry_run": dry_run,
        "planned": [person(i) for i in going],
        "skipped": [{**person(i), "reason": i.skipped} for i in skipped],
    }
    if report is not None:
        data.update(delivery_json(report))
    return data


def _print(console: Console, going, skipped, report, args) -> None:
    if args.dry_run:
        for i in going:
            console.print(f"would invite {i.label}", highlight=False)
    if args.verbose or args.dry_run:
        for i in skipped:
            console.print(f"skipped {i.label}: {i.skipped}", highlight=False)
    if report is None:
        console.print(f"{len(going)} invitation(s) would be sent, {len(skipped)} skipped; nothing was sent")
        return
    print_delivery(console, report, "invitation", len(skipped), "skipped")
