"""`portico notify`: e-mail contacts what is new in their published portals."""

from __future__ import annotations

import argparse
from datetime import date

from rich.console import Console

from ...config import Config, load_config
from ...mail import MailError, NotifyOptions
from ...pipeline import BuildFailed, NotifyResult, UnknownCustomer, notify
from ...publish import PublishError
from ...seal import KeystoreError
from ..common import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from ..mailing import delivery_json, print_delivery
from ..progress import progress_for
from ..report import print_json


def add_to(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    command = commands.add_parser(
        "notify",
        parents=[common],
        help="e-mail contacts new invoices, overdue reminders, shipments, quotes and documents",
        description="Compares each customer's published portal with what its contacts were already told and "
        "e-mails the difference, each message linking straight to its page. The first run for a customer "
        "only records what is there. Needs a build of the current export that is published.",
    )
    command.add_argument("--customer", action="append", default=[], metavar="ID", help="only this customer")
    command.add_argument("--dry-run", action="store_true", help="list what would be sent, send nothing")
    command.add_argument("--target", metavar="TARGET", help="the publish target to check (default: config)")
    command.add_argument("--endpoint-url", metavar="URL", help="its S3-compatible endpoint")
    command.add_argument("--today", type=date.fromisoformat, metavar="YYYY-MM-DD", help=argparse.SUPPRESS)
    command.set_defaults(run=run)


def run(args: argparse.Namespace, console: Console) -> int:
    config = load_config(args.config)
    options = NotifyOptions(args.customer, args.dry_run, args.today, args.target, args.endpoint_url)
    code, data = notify_and_report(config, options, args, console)
    if data is not None:
        print_json(data)
    return code


def notify_and_report(
    config: Config, options: NotifyOptions, args: argparse.Namespace, console: Console
) -> tuple[int, dict | None]:
    """Notify, print what happened, and return the exit code and, with --json, the data to print
    (`publish --notify` puts it into its own)."""
    try:
        with progress_for(args, console) as progress:
            result = notify(config, options, progress)
    except UnknownCustomer as exc:
        console.print(f"[bold red]error:[/] {exc}", highlight=False)
        return EXIT_USAGE, None
    except (BuildFailed, PublishError, KeystoreError, MailError, ValueError) as exc:
        console.print(f"[bold red]notify failed:[/] {exc}", highlight=False)
        return EXIT_FAILED, {"ok": False, "error": str(exc)} if args.json else None
    if not args.json:
        show(console, result, options.dry_run, args.verbose)
    code = EXIT_FAILED if result.report is not None and result.report.failed else EXIT_OK
    return code, as_json(result, options.dry_run) if args.json else None


def as_json(result: NotifyResult, dry_run: bool) -> dict:
    def notice(n) -> dict:
        event = n.event
        return {
            "customer": n.portal.customer_id,
            "kind": n.kind,
            "about": event.reference if event else None,
            "to": [r.email for r in n.recipients],
            "held": n.held,
        }

    report = result.report
    data = {
        "ok": not (report and report.failed),
        "dry_run": dry_run,
        "baselined": result.plan.baselined,
        "notices": [notice(n) for n in result.plan.notices],
    }
    return {**data, **(delivery_json(report) if report else {})}


def show(console: Console, result: NotifyResult, dry_run: bool, verbose: bool) -> None:
    plan, report = result.plan, result.report
    if plan.baselined:
        console.print(
            f"{len(plan.baselined)} customer(s) seen for the first time: what their portals hold now is recorded, "
            "not sent; from now on, what is new is",
            highlight=False,
        )
    held = [n for n in plan.notices if n.held]
    for n in plan.notices:
        if n.held and (verbose or dry_run):
            console.print(f"held {n.label}: {n.held}", highlight=False)
        elif dry_run and not n.held:
            console.print(f"would send {n.label} to {', '.join(r.email for r in n.recipients)}", highlight=False)
    if report is None:
        going = sum(len(n.recipients) for n in plan.notices if not n.held)
        console.print(f"{going} message(s) would be sent, {len(held)} event(s) held; nothing was sent")
        return
    print_delivery(console, report, "message", len(held), "event(s) held until published")
