"""Notifications after a publish (`portico notify`): new invoices, overdue reminders, shipments,
quotes awaiting a decision, new documents, and the password resets staff made.

What is new is the difference between the events of the published books and the events already
notified (`NotifiedRecord`); the first time a customer is seen, what its account holds is the
baseline and nothing is sent. An e-mail goes only when the page it links to is live: the
publish manifest holds it with the digest of the build that the current export made. Each
e-mail is built from that customer's book alone, and links straight to its one page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from ..config import Config, NotificationSettings
from ..model import CustomerBook, Ledger
from ..render import Renderer
from ..seal import Keystore
from ..seal.gate import Gate
from ..seal.manage import PasswordRow, list_passwords
from ..site import PATHS, Portal
from ..site.planned import portal_of
from .compose import Envelope, compose, sender_of
from .delivery import DeliveryReport, Outgoing, deliver
from .events import KINDS, Event, events_of, reminder_due
from .invitations import credentials
from .record import NotifiedRecord, SentRecord

RESET = "reset"
EVERY_KIND = NotificationSettings(**dict.fromkeys(KINDS, True))
NOT_LIVE = "its page is not published yet: publish, then notify"


@dataclass
class NotifyOptions:
    customers: list[str] = field(default_factory=list)  # empty: every customer
    dry_run: bool = False
    today: date | None = None  # for reminders; default: today
    target: str | None = None  # the publish target whose manifest says what is live (default: the config's)
    endpoint_url: str | None = None


@dataclass
class Notice:
    """One event (or password reset) of one customer, and the contacts still to be told."""

    kind: str  # an event kind, or "reset"
    portal: Portal
    recipients: list[PasswordRow]
    event: Event | None = None  # None: a password reset
    held: str | None = None  # why it does not go now
    link: str | None = None  # the direct link to its page (None: the portal's address only)

    @property
    def label(self) -> str:
        what = self.recipients[0].email if self.event is None else self.event.reference
        if self.kind == "document":
            what = self.event.subject.title
        return f"{self.kind} {what} ({self.portal.customer_id})"


@dataclass
class NotifyPlan:
    notices: list[Notice]
    baselined: list[str]  # customers seen for the first time: their accounts as they are are not news


@dataclass
class Published:
    """What is live: the publish manifest (path -> entry) and the build it should match (path -> SHA-256)."""

    manifest: dict[str, dict]
    built: dict[str, str]

    def is_built(self, path: str) -> bool:
        return path in self.built

    def is_live(self, path: str) -> bool:
        return self.is_built(path) and self.manifest.get(path, {}).get("sha256") == self.built[path]


def plan_notifications(
    config: Config,
    ledger: Ledger,
    keystore: Keystore,
    published: Published,
    record: NotifiedRecord,
    sent: SentRecord,
    options: NotifyOptions,
) -> NotifyPlan:
    today = options.today or date.today()
    gate, rows = Gate(config, keystore), list_passwords(config, ledger, keystore)
    by_customer: dict[str, list[PasswordRow]] = {}
    for row in rows:
        if not options.customers or row.customer_id in options.customers:
            by_customer.setdefault(row.customer_id, []).append(row)
    plan = NotifyPlan([], [])
    for customer_id, contacts in by_customer.items():
        book = ledger.books[customer_id]
        portal = portal_of(config, book, contacts[0].slug)
        planner = CustomerNotices(config, book, portal, gate, published, today)
        if not record.knows(customer_id):
            planner.baseline(record)
            plan.baselined.append(customer_id)
        else:
            plan.notices += planner.events(record, notified_contacts(book, contacts))
    plan.notices += resets(config, ledger, gate, published, sent, by_customer)
    record.save()
    return plan


def notified_contacts(book: CustomerBook, rows: list[PasswordRow]) -> list[PasswordRow]:
    """Contacts with portal access whose export row does not opt them out of event e-mail."""
    opted_out = {c.email.strip().lower() for c in book.customer.contacts if not c.notifications}
    return [row for row in rows if row.email not in opted_out]


@dataclass
class CustomerNotices:
    config: Config
    book: CustomerBook
    portal: Portal
    gate: Gate
    published: Published
    today: date

    @property
    def settings(self) -> NotificationSettings:
        return self.portal.settings.notifications

    def all_events(self) -> list[Event]:
        """Every event, whatever the switches: a kind switched off is still known, so switching it
        on later does not send its history."""
        every_kind = EVERY_KIND.model_copy(update={"overdue_after_days": self.settings.overdue_after_days})
        return events_of(self.book, every_kind)

    def baseline(self, record: NotifiedRecord) -> None:
        events = self.all_events()
        record.baseline(
            self.book.customer.id,
            {e.key for e in events if e.kind != "overdue"},
            {e.key for e in events if e.kind == "overdue"},
            self.today.isoformat(),
        )

    def events(self, record: NotifiedRecord, contacts: list[PasswordRow]) -> list[Notice]:
        customer_id, events = self.book.customer.id, self.all_events()
        record.forget_reminders_except(customer_id, {e.key for e in events if e.kind == "overdue"})
        known, notices = record.known(customer_id), []
        for event in events:
            if event.kind == "overdue":
                last = record.reminded(customer_id, event.key)
                if not reminder_due(last, self.today, self.settings.overdue_every_days):
                    continue
            elif event.key in known:
                continue
            told = record.told(customer_id, event.key)
            recipients = [row for row in contacts if row.email not in told]
            if not getattr(self.settings, event.kind) or not recipients:
                record.done(customer_id, event.key, self.today.isoformat(), event.kind == "overdue")
                continue
            notices.append(self.notice(event, recipients))
        return notices

    def notice(self, event: Event, recipients: list[PasswordRow]) -> Notice:
        notice = Notice(event.kind, self.portal, recipients, event)
        page, entry = self.path(event.page), self.path(PATHS.entry)
        needed = [page] + ([self.path(event.download)] if event.download else [])
        if not self.published.is_built(page):  # the section is switched off: the e-mail links to the portal
            needed = [entry]
        if not all(self.published.is_live(path) for path in needed):
            notice.held = NOT_LIVE
        elif self.published.is_built(page):
            notice.link = self.gate.direct_link(self.portal, event.page, event.download)
        return notice

    def path(self, logical: str) -> str:
        return f"{self.portal.slug}/{self.gate.published_name(self.portal, logical)}"


def resets(
    config: Config,
    ledger: Ledger,
    gate: Gate,
    published: Published,
    sent: SentRecord,
    by_customer: dict[str, list[PasswordRow]],
) -> list[Notice]:
    """Password resets staff made (`portico passwords reset`): each goes once the portal's entry
    page, which carries the new key slot, is live."""
    notices = []
    for customer_id, email in sent.queued(RESET):
        row = next((r for r in by_customer.get(customer_id, []) if r.email == email), None)
        if row is None:
            continue
        portal = portal_of(config, ledger.books[customer_id], row.slug)
        entry = f"{portal.slug}/{PATHS.entry}"
        notices.append(Notice(RESET, portal, [row], held=None if published.is_live(entry) else NOT_LIVE))
    return notices


def send_notifications(
    config: Config,
    renderer: Renderer,
    ledger: Ledger,
    keystore: Keystore,
    notices: list[Notice],
    record: NotifiedRecord,
    sent: SentRecord,
    today: date,
    on_progress=lambda n: None,
) -> DeliveryReport:
    sender, reply_to = sender_of(config)
    outgoing = []
    for notice in notices:
        if notice.held:
            continue
        for row in notice.recipients:
            book = ledger.books[row.customer_id]
            name = contact_name(book, row.email)
            context = message_context(config, keystore, book, notice, row, name)
            message = compose(
                renderer.render_message(notice.kind, notice.portal, context),
                Envelope(sender, row.email, name, reply_to),
            )
            outgoing.append(Outgoing(message, row.email, notice.label, _recorder(notice, row, record, sent)))
    report = deliver(outgoing, config.mail, config.path(config.mail.outbox), on_progress)
    for notice in notices:
        if notice.event and not notice.held:
            customer_id = notice.portal.customer_id
            if {r.email for r in notice.recipients} <= record.told(customer_id, notice.event.key):
                record.done(customer_id, notice.event.key, today.isoformat(), notice.kind == "overdue")
    return report


def contact_name(book: CustomerBook, email: str) -> str:
    return next((c.name for c in book.customer.contacts if c.email.strip().lower() == email), "")


def message_context(
    config: Config, keystore: Keystore, book: CustomerBook, notice: Notice, row: PasswordRow, name: str
) -> dict:
    """What a template may say: this customer's and this contact's, nothing of anyone else."""
    context = {
        "contact_name": name or row.email,
        "customer_name": row.customer_name,
        "email": row.email,
        "portal_url": row.portal_url,
        "direct_link": notice.link,
    }
    if notice.kind == RESET:
        return {**context, **credentials(config, keystore, row)}
    subject = notice.event.subject
    context[{"overdue": "invoice", "shipped": "shipment"}.get(notice.kind, notice.kind)] = subject
    if notice.kind == "shipped":
        context["order"] = next(o for o in book.orders if o.number == subject.order_number)
    return context


def _recorder(notice: Notice, row: PasswordRow, record: NotifiedRecord, sent: SentRecord):
    def recorded(message_id: str) -> None:
        if notice.event is None:
            sent.mark(RESET, row.customer_id, row.email, message_id, None)
        else:
            record.tell(row.customer_id, notice.event.key, row.email)

    return recorded
