"""A rendered message as an e-mail: headers, a plain-text part and its HTML alternative."""

from __future__ import annotations

from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, getaddresses, make_msgid

from ..config import Config
from ..render import RenderedMessage


@dataclass(frozen=True)
class Envelope:
    """Who a message is from and to, and where replies go."""

    sender: str
    recipient: str
    recipient_name: str = ""
    reply_to: str | None = None


def sender_of(config: Config) -> tuple[str, str | None]:
    """From and Reply-To, from `mail:` or else the site's name and support address."""
    mail, site = config.mail, config.site
    sender = mail.from_address or (
        str(Address(site.name, addr_spec=site.support_email)) if site.support_email else None
    )
    if not sender:
        raise ValueError("set mail.from_address (or site.support_email) in config.yaml: e-mail needs a sender")
    return sender, mail.reply_to or site.support_email


def compose(rendered: RenderedMessage, envelope: Envelope) -> EmailMessage:
    message = EmailMessage()
    message["From"] = envelope.sender
    message["To"] = str(Address(envelope.recipient_name, addr_spec=envelope.recipient))
    if envelope.reply_to:
        message["Reply-To"] = envelope.reply_to
    message["Subject"] = rendered.subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=_domain(envelope.sender))
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    return message


def _domain(sender: str) -> str:
    address = getaddresses([sender])[0][1]
    return address.rpartition("@")[2] or "portico.invalid"
