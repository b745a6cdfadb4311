"""`portico` on the command line: argument parsing, progress, summaries, exit codes.

Exit codes: 0 ok; 1 the export or the build failed; 2 the command or config.yaml is wrong.
With `--json`, stdout carries one JSON document and everything for people goes to stderr.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress as RichProgress, TextColumn, TimeElapsedColumn
from rich.table import Table

from . import __version__, staff
from .build import BuildOptions, BuildResult, Progress, build, check
from .config import Config, ConfigError, load_config
from .keystore import KeystoreError, new_master_key, read_keystore
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
    add_password_commands(commands, common)
    add_publish_command(commands, common)
    add_serve_command(commands, common)
    revoke = commands.add_parser("revoke", parents=[common], help="rotate a customer's keys (a leaked link, a lost laptop)",
                                 description="Rotate a customer's data key: nothing built afterwards opens with the "
                                             "old keys or old direct links. Passwords stay. Rebuild and publish next.")
    revoke.add_argument("customer", metavar="CUSTOMER")
    keystore = commands.add_parser("keystore", help="keystore tools")
    keystore_commands = keystore.add_subparsers(dest="keystore_command", required=True, metavar="ACTION")
    keystore_commands.add_parser("new-master-key", help="print a new random PORTICO_MASTER_KEY")
    return top


def add_serve_command(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    serve = commands.add_parser("serve", parents=[common], help="build, serve on localhost, rebuild and reload on change",
                                description="Build, serve the output, watch config, export, themes and content, "
                                            "rebuild incrementally and reload open browser tabs.")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument("--customer", action="append", metavar="ID", help="build only this customer (repeatable)")
    serve.add_argument("--no-encrypt", action="store_true", help="serve a plain preview build")


def add_publish_command(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    publish = commands.add_parser("publish", parents=[common], help="build if stale, then sync to a folder or S3",
                                  description="Upload new and changed files, then delete what is no longer built.")
    publish.add_argument("--target", metavar="TARGET", help="a folder or s3://bucket/prefix (overrides config and env)")
    publish.add_argument("--endpoint-url", metavar="URL", help="an S3-compatible endpoint (MinIO, R2, B2, ...)")
    publish.add_argument("--no-build", action="store_true", help="publish the output as it is, even if stale")
    publish.add_argument("--dry-run", action="store_true", help="print the plan (+ new, * changed, - deleted), change nothing")
    publish.add_argument("--verify", action="store_true",
                         help="also compare with the store's listing (finds objects deleted behind Portico's back)")
    publish.add_argument("--max-deletes", type=int, metavar="N", help="refuse to delete more than N objects (default 256)")
    publish.add_argument("--allow-deletes", choices=["all"], help="no cap on deletes")
    publish.add_argument("--replace-keys", action="store_true",
                         help="publish portals built with a different keystore than the published ones")


def add_password_commands(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    passwords = commands.add_parser("passwords", help="list, set, rotate passwords; make direct links")
    actions = passwords.add_subparsers(dest="password_command", required=True, metavar="ACTION")
    listing = actions.add_parser("list", parents=[common], help="customer, contact e-mail, password, portal URL")
    listing.add_argument("--customer", metavar="ID", help="only this customer")
    setting = actions.add_parser("set", parents=[common], help="set one contact's password")
    setting.add_argument("customer", metavar="CUSTOMER")
    setting.add_argument("--contact", required=True, metavar="EMAIL")
    setting.add_argument("--password", help="the new password (default: asked for, not echoed)")
    setting.add_argument("--force", action="store_true", help="accept a password the strength check refuses")
    rotating = actions.add_parser("rotate", parents=[common], help="new generated passwords for a customer's contacts")
    rotating.add_argument("customer", metavar="CUSTOMER")
    rotating.add_argument("--contact", metavar="EMAIL", help="only this contact (default: all of the customer's)")
    linking = actions.add_parser("link", parents=[common], help="a direct link that opens one document page")
    linking.add_argument("customer", metavar="CUSTOMER")
    linking.add_argument("document", metavar="DOCUMENT", help="an order, invoice or quote number")


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
    build_cmd.add_argument("--no-encrypt", action="store_true",
                           help="plain pages with a PREVIEW banner, for staff only; never publish them")
    build_cmd.add_argument("--full", action="store_true", help="render everything, ignoring the last build's state")
    build_cmd.add_argument("--new-keystore", action="store_true",
                           help="create the keystore on purpose (a missing keystore is otherwise an error)")


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    console = Console(stderr=True, soft_wrap=True)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        return report_config_error(exc, args, console)
    if args.command == "check":
        return run_check(config, args, console)
    if args.command == "build":
        return run_build(config, args, console)
    if args.command == "publish":
        return run_publish(config, args, console)
    if args.command == "serve":
        return run_serve(args, console)
    try:
        return run_staff_command(config, args, console)
    except (staff.StaffError, KeystoreError) as exc:
        console.print(f"[bold red]error:[/] {exc}", highlight=False)
        return EXIT_FAILED


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def run_staff_command(config: Config, args: argparse.Namespace, console: Console) -> int:
    if args.command == "keystore":
        print(new_master_key())
        return EXIT_OK
    keystore = read_keystore(config.path(config.gate.keystore))
    ledger, problems = check(config)
    if ledger is None:
        print_problems(problems, console, args.verbose, args.quiet)
        return EXIT_FAILED
    if args.command == "revoke":
        staff.revoke(keystore, args.customer)
        keystore.save()
        console.print(f"rotated the keys of {args.customer}: rebuild and publish to replace its portal")
        return EXIT_OK
    action = args.password_command
    if action == "list":
        rows = staff.list_passwords(config, ledger, keystore, args.customer)
        if args.json:
            print(json.dumps([{"customer": r.customer_id, "name": r.customer_name, "email": r.email,
                               "password": r.password, "portal_url": r.portal_url} for r in rows], indent=2))
        else:
            table = Table("Customer", "Contact e-mail", "Password", "Portal URL")
            for column in table.columns:
                column.overflow = "fold"  # never cut a password or an address short
            table.columns[2].no_wrap = True
            for r in rows:
                table.add_row(f"{r.customer_name} ({r.customer_id})", r.email, r.password, r.portal_url)
            Console(soft_wrap=True).print(table)
        return EXIT_OK
    if action == "link":
        print(staff.direct_link(config, ledger, keystore, args.customer, args.document))
        return EXIT_OK
    if action == "set":
        password = args.password if args.password is not None else ask_password()
        staff.set_password(ledger, keystore, args.customer, args.contact, password, args.force)
        keystore.save()
        console.print(f"password of {args.contact} at {args.customer} set: rebuild and publish to use it")
        return EXIT_OK
    changed = staff.rotate_passwords(ledger, keystore, args.customer, args.contact)
    keystore.save()
    for email, password in changed:
        print(f"{args.customer}\t{email}\t{password}")
    console.print(f"{len(changed)} password(s) rotated: rebuild and publish to use them")
    return EXIT_OK


def ask_password() -> str:
    import getpass
    if not sys.stdin.isatty():
        raise staff.StaffError("no terminal to ask on: pass --password")
    first = getpass.getpass("New password: ")
    if getpass.getpass("Again: ") != first:
        raise staff.StaffError("the two passwords differ")
    return first


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
    strict = args.strict if args.strict is not None else in_ci()
    options = BuildOptions(strict=strict, only=set(args.customer) if args.customer else None,
                           output_dir=args.output.resolve() if args.output else None,
                           encrypt=not args.no_encrypt, new_keystore=args.new_keystore, in_ci=in_ci(),
                           full=args.full)
    with progress_for(args, console) as progress:
        result = build(config, options, progress)
    if args.json:
        print(json.dumps(build_report(result), indent=2))
    print_problems(result.problems, console, args.verbose, args.quiet)
    for notice in result.notices:
        console.print(f"[bold yellow]note:[/] {notice}", highlight=False)
    if not result.ok:
        console.print(f"[bold red]build failed:[/] {result.failure}", highlight=False)
        return EXIT_FAILED
    if result.noop and not args.quiet:
        console.print(f"[green]✓[/] nothing changed since the last build ({result.output_dir})", highlight=False)
    elif not args.quiet:
        print_summary(result, console, args.verbose)
    return EXIT_OK


def run_serve(args: argparse.Namespace, console: Console) -> int:
    from .serve import DevServer, serve
    options = BuildOptions(strict=False, only=set(args.customer) if args.customer else None,
                           encrypt=not args.no_encrypt, in_ci=in_ci())
    server = DevServer(args.config, options)

    def report(result: BuildResult) -> None:
        print_problems(result.problems, console, verbose=False, quiet=True)
        if not result.ok:
            console.print(f"[bold red]build failed:[/] {result.failure}", highlight=False)
        elif not result.noop:
            rendered = len(result.engine.rendered) if result.engine else 0
            console.print(f"[green]✓[/] built in {result.seconds:.2f} s ({rendered} file(s) rendered)", highlight=False)

    server.on_built = report
    try:
        httpd, watcher = serve(server, args.host, args.port)
    except OSError as exc:
        console.print(f"[bold red]cannot listen on {args.host}:{args.port}:[/] {exc.strerror}", highlight=False)
        return EXIT_USAGE
    console.print(f"serving {server.output_dir} on http://{args.host}:{args.port}/ — watching for changes, "
                  "Ctrl-C stops", highlight=False)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        console.print("stopping")
    finally:
        watcher.stop()
        httpd.shutdown()
        httpd.server_close()
    return EXIT_OK


def run_publish(config: Config, args: argparse.Namespace, console: Console) -> int:
    from .publish import PublishError, PublishOptions, publish_site
    options = PublishOptions(target=args.target, endpoint_url=args.endpoint_url, build=not args.no_build,
                             strict=True, in_ci=in_ci(), dry_run=args.dry_run, verify=args.verify, max_deletes=args.max_deletes,
                             allow_all_deletes=args.allow_deletes == "all", replace_keys=args.replace_keys)
    try:
        with progress_for(args, console) as progress:
            report = publish_site(config, options, progress)
    except (PublishError, KeystoreError) as exc:
        if args.json:
            print(json.dumps({"ok": False, "error": str(exc)}, indent=2))
        console.print(f"[bold red]publish failed:[/] {exc}", highlight=False)
        return EXIT_FAILED
    except Exception as exc:  # botocore's many errors: credentials, network, permissions
        if exc.__class__.__module__.startswith(("botocore", "boto3", "s3transfer")):
            if args.json:
                print(json.dumps({"ok": False, "error": str(exc)}, indent=2))
            console.print(f"[bold red]publish failed:[/] {exc} (nothing was deleted; a re-run continues)",
                          highlight=False)
            return EXIT_FAILED
        raise
    if args.json:
        print(json.dumps({"ok": True, "target": report.target, "dry_run": report.dry_run, **report.counts,
                          "uploaded": report.uploaded, "uploaded_bytes": report.uploaded_bytes,
                          "deleted_objects": report.deleted, "invalidations": report.invalidations,
                          "seconds": round(report.seconds, 3), "plan": report.plan_lines if args.verbose else None},
                         indent=2))
    if args.verbose and not args.json:
        for line in report.plan_lines:
            console.print(line, markup=False, highlight=False)
    if not args.quiet:
        c = report.counts
        console.print(f"{'plan for' if report.dry_run else 'published to'} {report.target}: "
                      f"+{c['new']} new, *{c['changed']} changed, -{c['deleted']} deleted, ={c['unchanged']} unchanged"
                      + ("" if report.dry_run else f"; {report.uploaded} uploaded ({report.uploaded_bytes / 1e6:.1f} MB), "
                         f"{report.deleted} deleted, {len(report.invalidations)} CDN invalidation(s), "
                         f"{report.seconds:.1f} s"), highlight=False)
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
        "encrypted": result.encrypted,
        "noop": result.noop,
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
    return {"new_customers": len(access.new_customers), "new_passwords": len(access.new_passwords),
            "rotated": access.rotated, "slots_made": access.slots_made, "kdf_seconds": round(access.kdf_seconds, 3)}


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
    if result.access is not None:
        summary.add_row("key slots made", f"{result.access.slots_made} ({result.access.kdf_seconds:.1f} s)")
        if result.access.new_passwords:
            summary.add_row("new passwords", f"{len(result.access.new_passwords)} (portico passwords list)")
        for customer_id, why in result.access.rotated.items():
            summary.add_row("keys rotated", f"{customer_id}: {why}")
    if result.engine is not None:
        summary.add_row("rendered / carried over", f"{len(result.engine.rendered)} / {result.engine.reused}"
                        f" ({result.engine.workers} process{'es' if result.engine.workers > 1 else ''})")
    summary.add_row("encrypted", "yes" if result.encrypted else "[bold yellow]NO — preview only[/]")
    summary.add_row("time", f"{result.seconds:.2f} s")
    console.print(summary)
    console.print(f"[green]✓[/] built into {result.output_dir}", highlight=False)


def build_main() -> int:
    """`python build.py [args]`: the same as `portico build [args]`."""
    return main(["build", *sys.argv[1:]])
