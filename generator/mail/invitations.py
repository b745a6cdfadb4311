"""Invitations: who gets one, and the message itself.

Each contact with portal access gets one e-mail in their customer's language, with the portal's
URL, their user name (their e-mail address) and their password. Only for portals the publish
manifest lists (never before the portal is live), only once per contact unless asked again
(`reinvite`), and in a run capped at `mail.max_per_run`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..config import Config
from ..model import Ledger
from ..render import Renderer
from ..seal import Keystore
from ..seal.manage import PasswordRow, list_passwords, sign_in_link
from ..site import PATHS
from ..site.planned import portal_of
from .compose import Envelope, compose, sender_of
from .delivery import DeliveryReport, Outgoing, deliver
from .record import SentRecord

KIND = "invite"


@dataclass
class InviteOptions:
    customers: list[str] = field(default_factory=list)
    contacts: list[str] = field(default_factory=list)
    everyone: bool = False  # every customer (else only those named)
    reinvite: bool = False  # also contacts invited before
    dry_run: bool = False


@dataclass
class Invitation:
    row: PasswordRow
    contact_name: str
    version: str | None  # the published entry page's SHA-256
    invited: str | None = None  # when, if before
    skipped: str | None = None  # why it does not go now

    @property
    def label(self) -> str:
        return f"{self.row.email} ({self.row.customer_id})"


def plan_invitations(
    config: Config,
    ledger: Ledger,
    keystore: Keystore,
    published: dict[str, dict],
    record: SentRecord,
    options: InviteOptions,
) -> list[Invitation]:
    """Every contact the options name, each with why it is skipped (if it is): everyone, or the
    named customers' contacts, or the named contacts (at the named customers, when both are given)."""
    wanted_customers, wanted_contacts = set(options.customers), {c.strip().lower() for c in options.contacts}
    invitations = []
    for row in list_passwords(config, ledger, keystore):
        at_customer = options.everyone or not wanted_customers or row.customer_id in wanted_customers
        if not at_customer or (wanted_contacts and row.email not in wanted_contacts):
            continue
        names = {c.email.strip().lower(): c.name for c in ledger.books[row.customer_id].customer.contacts}
        entry = published.get(f"{row.slug}/{PATHS.entry}")
        before = record.last(KIND, row.customer_id, row.email)
        invitation = Invitation(row, names.get(row.email, ""), entry and entry.get("sha256"), before and before["at"])
        if entry is None:
            invitation.skipped = "portal not published yet: publish first"
        elif before and not options.reinvite:
            invitation.skipped = f"invited {before['at']} (--reinvite to send again)"
        invitations.append(invitation)
    if unknown := wanted_contacts - {i.row.email for i in invitations}:
        raise ValueError(f"no contact with portal access: {', '.join(sorted(unknown))} (see portico passwords list)")
    return invitations


def send_invitations(
    config: Config,
    renderer: Renderer,
    ledger: Ledger,
    keystore: Keystore,
    invitations: list[Invitation],
    record: SentRecord,
    on_progress=lambda n: None,
) -> DeliveryReport:
    sender, reply_to = sender_of(config)
    outgoing = []
    for invitation in invitations:
        if invitation.skipped:
            continue
        row = invitation.row
        portal = portal_of(config, ledger.books[row.customer_id], row.slug)
        context = {
            "contact_name": invitation.contact_name or row.email,
            "customer_name": row.customer_name,
            "email": row.email,
            "portal_url": row.portal_url,
            **credentials(config, keystore, row),
        }
        message = compose(
            renderer.render_message(KIND, portal, context),
            Envelope(sender, row.email, invitation.contact_name, reply_to),
        )
        outgoing.append(Outgoing(message, row.email, invitation.label, _recorder(record, invitation)))
    return deliver(outgoing, config.mail, config.path(config.mail.outbox), on_progress)


def credentials(config: Config, keystore: Keystore, row: PasswordRow) -> dict:
    """What signs the contact in, as `mail.invite_credential` says: the password or a personal link."""
    by_link = config.mail.invite_credential == "link"
    return {
        "password": None if by_link else row.password,
        "sign_in_link": sign_in_link(keystore, row) if by_link else None,
    }


def _recorder(record: SentRecord, invitation: Invitation):
    def sent(message_id: str) -> None:
        record.mark(KIND, invitation.row.customer_id, invitation.row.email, message_id, invitation.version)

    return sent
