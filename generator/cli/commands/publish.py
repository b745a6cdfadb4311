"""`portico publish`: build if stale, then make a folder or S3 hold exactly the build."""

from __future__ import annotations

import argparse

from rich.console import Console

from ...config import load_config
from ...incremental import row_index
from ...mail import NotifyOptions
from ...pipeline import publish
from ...publish import PublishError, PublishOptions
from ...seal import KeystoreError
from ..common import EXIT_FAILED, EXIT_OK, in_ci
from ..progress import progress_for
from ..report import print_json
from .build import shard_argument
from .notify import notify_and_report


def add_to(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    publish = commands.add_parser(
        "publish",
        parents=[common],
        help="build if stale, then sync to a folder or S3",
        description="Upload new and changed files, then delete what is no longer built.",
    )
    publish.add_argument("--target", metavar="TARGET", help="a folder or s3://bucket/prefix (overrides config and env)")
    publish.add_argument("--endpoint-url", metavar="URL", help="an S3-compatible endpoint (MinIO, R2, B2, ...)")
    publish.add_argument("--no-build", action="store_true", help="publish the output as it is, even if stale")
    publish.add_argument(
        "--dry-run", action="store_true", help="print the plan (+ new, * changed, - deleted), change nothing"
    )
    publish.add_argument(
        "--verify",
        action="store_true",
        help="also compare with the store's listing (finds objects deleted behind Portico's back)",
    )
    publish.add_argument(
        "--max-deletes", type=int, metavar="N", help="refuse to delete more than N objects (default 256)"
    )
    publish.add_argument("--allow-deletes", choices=["all"], help="no cap on deletes")
    publish.add_argument(
        "--shard",
        type=shard_argument,
        metavar="I/N",
        help="publish the I-th of N shards (built with `build --shard I/N`); after all N, "
        "0/N publishes the site's own files and the combined manifest, deletes what no shard built, "
        "and invalidates the CDN",
    )
    publish.add_argument(
        "--replace-keys",
        action="store_true",
        help="publish portals built with a different keystore than the published ones",
    )
    publish.add_argument(
        "--single-writer",
        action="store_true",
        help="publish to a store that ignores conditional writes; only safe if no two publishes ever overlap",
    )
    publish.add_argument(
        "--notify",
        action="store_true",
        help="then e-mail contacts what is new in their portals (portico notify), e.g. in the nightly job",
    )
    publish.set_defaults(run=run)


def run(args: argparse.Namespace, console: Console) -> int:
    config = load_config(args.config)
    options = PublishOptions(
        target=args.target,
        endpoint_url=args.endpoint_url,
        build=not args.no_build,
        strict=True,
        in_ci=in_ci(),
        dry_run=args.dry_run,
        verify=args.verify,
        max_deletes=args.max_deletes,
        allow_all_deletes=args.allow_deletes == "all",
        replace_keys=args.replace_keys,
        single_writer=args.single_writer,
        shard=args.shard,
    )
    try:
        with progress_for(args, console) as progress:
            report = publish(config, options, progress, prepare=row_index.prepare)
    except (PublishError, KeystoreError) as exc:
        if args.json:
            print_json({"ok": False, "error": str(exc)})
        console.print(f"[bold red]publish failed:[/] {exc}", highlight=False)
        return EXIT_FAILED
    except Exception as exc:  # botocore's many errors: credentials, network, permissions
        if exc.__class__.__module__.startswith(("botocore", "boto3", "s3transfer")):
            if args.json:
                print_json({"ok": False, "error": str(exc)})
            console.print(
                f"[bold red]publish failed:[/] {exc} (a re-run continues where this one stopped)", highlight=False
            )
            return EXIT_FAILED
        raise
    if not args.json:
        print_summary(console, report, args)
    code, notified = EXIT_OK, None
    if args.notify and not report.dry_run:
        notifying = NotifyOptions(target=args.target, endpoint_url=args.endpoint_url)
        code, notified = notify_and_report(config, notifying, args, console)
    if args.json:
        print_json(
            {
                "ok": code == EXIT_OK,
                "target": report.target,
                "dry_run": report.dry_run,
                **report.counts,
                "uploaded": report.uploaded,
                "uploaded_bytes": report.uploaded_bytes,
                "deleted_objects": report.deleted,
                "invalidations": report.invalidations,
                "seconds": round(report.seconds, 3),
                "plan": report.plan_lines if args.verbose else None,
                "notify": notified,
            }
        )
    return code


def print_summary(console: Console, report, args: argparse.Namespace) -> None:
    if args.verbose:
        for line in report.plan_lines:
            console.print(line, markup=False, highlight=False)
    if not args.quiet:
        c = report.counts
        console.print(
            f"{'plan for' if report.dry_run else 'published to'} {report.target}: "
            f"+{c['new']} new, *{c['changed']} changed, -{c['deleted']} deleted, ={c['unchanged']} unchanged"
            + (
                ""
                if report.dry_run
                else f"; {report.uploaded} uploaded ({report.uploaded_bytes / 1e6:.1f} MB), "
                f"{report.deleted} deleted, {len(report.invalidations)} CDN invalidation(s), "
                f"{report.seconds:.1f} s"
            ),
            highlight=False,
        )
