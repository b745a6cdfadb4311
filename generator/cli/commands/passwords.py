"""`portico passwords`: list, set and rotate contacts' passwords; make direct links."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.table import Table

from ...config import Config, load_config
from ...locks import exclusive
from ...mail import SentRecord, record_path
from ...mail.notifications import RESET
from ...model import Ledger
from ...pipeline import BuildOptions, build, check
from ...seal import Keystore, manage, read_keystore
from ..common import EXIT_FAILED, EXIT_OK, UsageError, in_ci
from ..report import print_json, print_problems


def add_to(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    passwords = commands.add_parser("passwords", help="list, set, rotate passwords; make direct links")
    actions = passwords.add_subparsers(dest="password_command", required=True, metavar="ACTION")
    listing = actions.add_parser("list", parents=[common], help="customer, contact e-mail, password, portal URL")
    listing.add_argument("--customer", metavar="ID", help="only this customer")
    listing.set_defaults(run=run_list)
    setting = actions.add_parser("set", parents=[common], help="set one contact's password")
    setting.add_argument("customer", metavar="CUSTOMER")
    setting.add_argument("--contact", required=True, metavar="EMAIL")
    setting.add_argument("--password", help="the new password (default: asked for, not echoed)")
    setting.add_argument("--force", action="store_true", help="accept a password the strength check refuses")
    add_keep_key(setting)
    setting.set_defaults(run=run_set)
    rotating = actions.add_parser("rotate", parents=[common], help="new generated passwords for a customer's contacts")
    rotating.add_argument("customer", metavar="CUSTOMER")
    rotating.add_argument("--contact", metavar="EMAIL", help="only this contact (default: all of the customer's)")
    add_keep_key(rotating)
    rotating.set_defaults(run=run_rotate)
    resetting = actions.add_parser(
        "reset",
        parents=[common],
        help="a contact forgot their password: a new one, rebuilt, e-mailed to them after the next publish",
    )
    resetting.add_argument("email", metavar="EMAIL")
    resetting.add_argument(
        "--customer", metavar="ID", help="the portal the e-mail names (default: the first the address opens)"
    )
    add_keep_key(resetting)
    resetting.set_defaults(run=run_reset)
    linking = actions.add_parser("link", parents=[common], help="a direct link that opens one document page")
    linking.add_argument("customer", metavar="CUSTOMER")
    linking.add_argument("document", metavar="DOCUMENT", help="an order, invoice or quote number")
    linking.add_argument(
        "--valid-days",
        type=int,
        metavar="N",
        help="the first build after N days re-keys the page, ending the link (and older links to it)",
    )
    linking.set_defaults(run=run_link)


def add_keep_key(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--keep-key",
        action="store_true",
        help="only re-wrap the customer's key for the new password (a forgotten password); by default the "
        "customer is re-keyed, so the old password, saved pages and open sessions open nothing built afterwards",
    )


@contextmanager
def open_access(args: argparse.Namespace, console: Console) -> Iterator[tuple[Config, Ledger, Keystore]]:
    """The config, the export's customers and contacts, and the keystore (the export's problems
    printed, and the command failed, when it cannot be read); no build or other command changes
    the keystore meanwhile."""
    config = load_config(args.config)
    path = config.path(config.gate.keystore)
    with exclusive(path, f"the keystore {path}"):
        yield _read_access(args, console, config, path)


def _read_access(
    args: argparse.Namespace, console: Console, config: Config, path: Path
) -> tuple[Config, Ledger, Keystore]:
    keystore = read_keystore(path)
    ledger, problems = check(config)
    if ledger is None:
        print_problems(problems, console, args.verbose, args.quiet)
        raise manage.StaffError("the export could not be read; nothing was changed")
    if getattr(args, "customer", None) and (unknown := ledger.unknown([args.customer])):
        raise UsageError(unknown)
    return config, ledger, keystore


def run_list(args: argparse.Namespace, console: Console) -> int:
    with open_access(args, console) as opened:
        rows = manage.list_passwords(*opened, args.customer)
        config = opened[0]
    record = SentRecord(record_path(config.path(config.gate.keystore)))

    def invited(row) -> str | None:
        sent = record.last("invite", row.customer_id, row.email)
        return sent["at"] if sent else None

    if args.json:
        print_json(
            [
                {
                    "customer": r.customer_id,
                    "name": r.customer_name,
                    "email": r.email,
                    "password": r.password,
                    "portal_url": r.portal_url,
                    "invited": invited(r),
                }
                for r in rows
            ]
        )
        return EXIT_OK
    table = Table("Customer", "Contact e-mail", "Password", "Portal URL", "Invited")
    for column in table.columns:
        column.overflow = "fold"  # never cut a password or an address short
    table.columns[2].no_wrap = True
    for r in rows:
        table.add_row(
            f"{r.customer_name} ({r.customer_id})", r.email, r.password, r.portal_url, invited(r) or "not yet"
        )
    Console(soft_wrap=True).print(table)
    return EXIT_OK


def run_set(args: argparse.Namespace, console: Console) -> int:
    with open_access(args, console) as (config, ledger, keystore):
        password = args.password if args.password is not None else ask_password()
        manage.set_password(config, ledger, keystore, args.customer, args.contact, password, args.force, args.keep_key)
        keystore.save()
    console.print(f"password of {args.contact} at {args.customer} set{rekeyed(args)}: rebuild and publish to use it")
    return EXIT_OK


def run_rotate(args: argparse.Namespace, console: Console) -> int:
    with open_access(args, console) as (_, ledger, keystore):
        changed = manage.rotate_passwords(ledger, keystore, args.customer, args.contact, args.keep_key)
        keystore.save()
    for email, password in changed:
        print(f"{args.customer}\t{email}\t{password}")
    console.print(f"{len(changed)} password(s) rotated{rekeyed(args)}: rebuild and publish to use them")
    return EXIT_OK


def rekeyed(args: argparse.Namespace) -> str:
    if args.keep_key:
        return (
            " (same key: the old password no longer signs in, but with a saved entry page it still opens this "
            "portal, and every portal of the contact's key ring)"
        )
    return f" and {args.customer} re-keyed (old sessions, saved pages and direct links open nothing new)"
    return EXIT_OK


def run_reset(args: argparse.Namespace, console: Console) -> int:
    """A new generated password (at every customer the address opens: one person, one password),
    the customers re-keyed unless --keep-key, a rebuild, and the reset e-mail queued: `notify`
    (or `publish --notify`) sends it once the portal with the new key slot is live."""
    with open_access(args, console) as (config, ledger, keystore):
        customer = manage.reset_password(ledger, keystore, args.email, args.customer, args.keep_key)
        keystore.save()
        SentRecord(record_path(config.path(config.gate.keystore))).queue(RESET, customer, args.email.strip().lower())
        args.customer = customer
    console.print(f"password of {args.email} reset{rekeyed(args)}; rebuilding", highlight=False)
    result = build(config, BuildOptions(strict=True, in_ci=in_ci()))
    if not result.ok:
        console.print(f"[bold red]the build failed:[/] {result.failure}", highlight=False)
        console.print("fix it and build; the reset e-mail still waits for the next publish and notify")
        return EXIT_FAILED
    console.print("publish with --notify (or publish, then portico notify) to send the new password")
    return EXIT_OK


def run_link(args: argparse.Namespace, console: Console) -> int:
    with open_access(args, console) as (config, ledger, keystore):
        print(manage.direct_link(config, ledger, keystore, args.customer, args.document, args.valid_days))
        if args.valid_days is not None:
            keystore.save()
        console.print(f"the link ends at the first build after {args.valid_days} day(s)")
    return EXIT_OK


def ask_password() -> str:
    if not sys.stdin.isatty():
        raise manage.StaffError("no terminal to ask on: pass --password")
    first = getpass.getpass("New password: ")
    if getpass.getpass("Again: ") != first:
        raise manage.StaffError("the two passwords differ")
    return first
