"""E-mail to contacts: invitations to their portal (`portico invite`).

    compose.py     a rendered message → an RFC 5322 e-mail (multipart text + HTML, headers)
    delivery.py    sending: SMTP (bounded concurrency, retries with back-off, a per-run cap) or an outbox of .eml files
    record.py      what was sent, beside the keystore (never published): nothing goes twice unless asked
    invitations.py who gets an invitation, and the invitation itself
    events.py      what happened in a customer's account that is worth an e-mail
    notifications.py  what is new since the last notify, held until its page is live, and sent

A message links only to what is published: the publish manifest says which portals are live.
"""

from __future__ import annotations

from .compose import Envelope, compose
from .delivery import DeliveryReport, MailError, deliver
from .invitations import Invitation, InviteOptions, plan_invitations, send_invitations
from .notifications import Notice, NotifyOptions, NotifyPlan, Published, plan_notifications, send_notifications
from .record import NotifiedRecord, SentRecord, notified_path, record_path

__all__ = [
    "DeliveryReport",
    "Envelope",
    "Invitation",
    "InviteOptions",
    "MailError",
    "Notice",
    "NotifiedRecord",
    "NotifyOptions",
    "NotifyPlan",
    "Published",
    "SentRecord",
    "compose",
    "deliver",
    "notified_path",
    "plan_invitations",
    "plan_notifications",
    "record_path",
    "send_invitations",
    "send_notifications",
]
