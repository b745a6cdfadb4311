"""What `invite` and `notify` print about a delivery: the failed, then one line of counts."""

from __future__ import annotations

from rich.console import Console

from ..mail import DeliveryReport


def delivery_json(report: DeliveryReport) -> dict:
    return {
        "sent": report.sent,
        "failed": [{"email": email, "reason": reason} for email, reason in report.failed],
        "left": report.left,
        "outbox": str(report.outbox) if report.outbox else None,
    }


def print_delivery(console: Console, report: DeliveryReport, noun: str, held: int, held_as: str) -> None:
    for email, reason in report.failed:
        console.print(f"[bold red]not sent[/] to {email}: {reason}", highlight=False)
    where = f" into {report.outbox}" if report.outbox else ""
    line = f"{len(report.sent)} {noun}(s) sent{where}, {len(report.failed)} failed, {held} {held_as}"
    if report.left:
        line += f", {report.left} left for the next run (mail.max_per_run)"
    console.print(line, highlight=False)
    if report.failed:
        console.print("run the same command again to send the failed ones: what went is not sent twice")
