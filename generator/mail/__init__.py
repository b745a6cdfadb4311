"""E-mail to contacts: invitations to their portal (`portico invite`).

    compose.py     a rendered message → an RFC 5322 e-mail (multipart text + HTML, headers)
    delivery.py    sending: SMTP (bounded concurrency, retries with back-off, a per-run cap) or an outbox of .eml files
    record.py      what was sent, beside the keystore (never published): nothing goes twice unless asked
    invitations.py who gets an invitation, and the invitation itself

A message links only to what is published: the publish manifest says which portals are live.
"""

from __future__ import annotations

from .compose import Envelope, compose
from .delivery import DeliveryReport, MailError, deliver
from .invitations import Invitation, InviteOptions, plan_invitations, send_invitations
from .record import SentRecord, record_path

__all__ = [
    "DeliveryReport",
    "Envelope",
    "Invitation",
    "InviteOptions",
    "MailError",
    "SentRecord",
    "compose",
    "deliver",
    "plan_invitations",
    "record_path",
    "send_invitations",
]
