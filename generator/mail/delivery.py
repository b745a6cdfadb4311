"""Sending: over SMTP, or into an outbox folder of .eml files for staff to review and send.

SMTP runs a few connections at once (`mail.concurrency`), each message tried up to
`mail.attempts` times with back-off when the failure may pass (a 4xx reply, a dropped connection)
and reported at once when it will not (a 5xx reply: the address is refused). One message failing
never stops the others. At most `mail.max_per_run` messages go per run; the rest wait for the next.
"""

from __future__ import annotations

import contextlib
import os
import smtplib
import ssl
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from pathlib import Path

from ..config import MailConfig, SmtpConfig

BACK_OFF = 0.5  # seconds before the second try, doubling after


class MailError(Exception):
    """E-mail could not be sent at all (no server, a refused login); the message says why."""


@dataclass
class Outgoing:
    message: EmailMessage
    recipient: str
    name: str  # what the report calls it: "invite to anna@example.com (C1001)"
    on_sent: Callable[[str], None] = lambda message_id: None  # records it


@dataclass
class DeliveryReport:
    sent: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (recipient, reason)
    left: int = 0  # over this run's cap
    outbox: Path | None = None


def deliver(
    outgoing: list[Outgoing], settings: MailConfig, outbox: Path, on_progress: Callable[[int], None] = lambda n: None
) -> DeliveryReport:
    batch, report = outgoing[: settings.max_per_run], DeliveryReport(left=max(0, len(outgoing) - settings.max_per_run))
    if settings.smtp is None:
        report.outbox = outbox
        for item in batch:
            _write_eml(outbox, item)
            item.on_sent(item.message["Message-ID"])
            report.sent.append(item.recipient)
            on_progress(1)
        return report
    sender = SmtpSender(settings.smtp, settings.attempts)
    try:
        with ThreadPoolExecutor(max_workers=settings.concurrency) as pool:
            for item, failure in zip(batch, pool.map(sender.send, batch), strict=True):
                if failure is None:
                    item.on_sent(item.message["Message-ID"])
                    report.sent.append(item.recipient)
                else:
                    report.failed.append((item.recipient, failure))
                on_progress(1)
    finally:
        sender.close()
    return report


def _write_eml(outbox: Path, item: Outgoing) -> None:
    outbox.mkdir(parents=True, exist_ok=True)
    stem = item.message["Message-ID"].strip("<>").partition("@")[0]
    path = outbox / f"{time.strftime('%Y%m%d-%H%M%S')}-{stem}.eml"
    temporary = path.with_name(path.name + ".partial")
    temporary.write_bytes(item.message.as_bytes(policy=policy.SMTP))
    os.replace(temporary, path)


class SmtpSender:
    """One connection per thread, opened when first needed, opened again after a failure."""

    def __init__(self, smtp: SmtpConfig, attempts: int):
        self.smtp, self.attempts = smtp, attempts
        self._local = threading.local()
        self._open: list[smtplib.SMTP] = []
        self._guard = threading.Lock()

    def send(self, item: Outgoing) -> str | None:
        """None when sent, else why not."""
        reason = "not tried"
        for attempt in range(self.attempts):
            if attempt:
                time.sleep(BACK_OFF * 2 ** (attempt - 1))
            try:
                self._connection().send_message(item.message, to_addrs=[item.recipient])
                return None
            except smtplib.SMTPRecipientsRefused as exc:
                code, text = next(iter(exc.recipients.values()))
                reason = _reason(code, text)
                if code >= 500:
                    return reason
            except smtplib.SMTPResponseException as exc:
                reason = _reason(exc.smtp_code, exc.smtp_error)
                if exc.smtp_code >= 500 and exc.smtp_code not in (535, 530):
                    return reason
                if exc.smtp_code in (535, 530):
                    raise MailError(
                        f"{self.smtp.host} refused the login ({reason}); "
                        f"check {self.smtp.username_env} and {self.smtp.password_env}"
                    ) from None
                self._drop()
            except (smtplib.SMTPException, OSError) as exc:
                reason = f"{exc.__class__.__name__}: {exc}" if str(exc) else exc.__class__.__name__
                self._drop()
        return reason

    def _connection(self) -> smtplib.SMTP:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._connect()
            self._local.connection = connection
            with self._guard:
                self._open.append(connection)
        return connection

    def _connect(self) -> smtplib.SMTP:
        smtp = self.smtp
        if smtp.security == "tls":
            connection = smtplib.SMTP_SSL(
                smtp.host, smtp.port, timeout=smtp.timeout, context=ssl.create_default_context()
            )
        else:
            connection = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout)
            if smtp.security == "starttls":
                connection.starttls(context=ssl.create_default_context())
        user = os.environ.get(smtp.username_env)
        if user:
            connection.login(user, os.environ.get(smtp.password_env, ""))
        return connection

    def _drop(self) -> None:
        connection = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is not None:
            with contextlib.suppress(OSError):
                connection.close()

    def close(self) -> None:
        for connection in self._open:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                connection.quit()


def _reason(code: int, text: bytes | str) -> str:
    return f"{code} {text.decode('utf-8', 'replace') if isinstance(text, bytes) else text}".strip()
