"""Notifications after a publish, against a real SMTP server (aiosmtpd) and in Chromium: exactly the
new events, only once their pages are live, each direct link opening its one page, never twice,
and nothing of any other customer in any message."""

from __future__ import annotations

import csv
import email
import json
import re
import shutil
from datetime import date, timedelta
from decimal import Decimal
from email import policy
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from conftest import REPO, StaticServer, demo_cli, demo_config

from generator.mail import NotifyOptions
from generator.mail.notifications import NOT_LIVE
from generator.pipeline import BuildOptions, NotifyRefused, PublishOptions, build, check, notify, publish
from generator.seal.keystore import read_keystore

EXPORT = REPO / "content" / "export"
CUSTOMER = "C1003"  # Atelier Dufresne SARL, French; its order SO-24012 has not shipped
NEW_INVOICE = "INV-71999"
NEW_DOCUMENT = "Bon de livraison SO-24012"
AS_OF = date(2026, 11, 20)  # the demo's site.as_of


@pytest.fixture
def shop(tmp_path):
    """A copy of the demo export, built encrypted and published to a folder."""
    export = tmp_path / "export"
    shutil.copytree(EXPORT, export)
    assert build(settings(tmp_path), BuildOptions(strict=True, new_keystore=True)).ok
    publish(settings(tmp_path), PublishOptions(build=False))
    return tmp_path


def settings(folder: Path, port: int | None = None, **overrides):
    mail = {"outbox": str(folder / "outbox")}
    if port:
        mail["smtp"] = {"host": "127.0.0.1", "port": port, "security": "none"}
    overrides.setdefault("exports", {"folder": str(folder / "export")})
    return demo_config(folder, publish={"target": str(folder / "www")}, mail=mail, **overrides)


def add_invoice_shipment_and_document(export: Path) -> None:
    with (export / "invoices.csv").open("a", encoding="utf-8") as f:
        f.write(f"{NEW_INVOICE},{CUSTOMER},SO-24012,2026-11-19,2026-12-19,,250.00\n")
    with (export / "shipments.ndjson").open("a", encoding="utf-8") as f:
        shipment = {"order": "SO-24012", "shipped": "2026-11-19", "carrier": "DHL", "tracking": "JJD0001112223"}
        f.write(json.dumps({**shipment, "state": "in transit"}) + "\n")
    with (export / "documents.csv").open("a", encoding="utf-8") as f:
        f.write(f"{CUSTOMER},SO-24012,,{NEW_DOCUMENT},documents/delivery-note-SO-24012.pdf,2026-11-19\n")
    (export / "documents" / "delivery-note-SO-24012.pdf").write_bytes(b"%PDF-1.4\n% delivery note SO-24012\n%%EOF\n")


def others_facts(customer: str) -> set[str]:
    """Every other customer's id, name, invoice and order numbers and invoice amounts, from the raw rows."""
    facts = set()
    with (EXPORT / "customers.csv").open(encoding="utf-8-sig", newline="") as f:
        facts |= {v for row in csv.DictReader(f) if row["CustNo"] != customer for v in (row["CustNo"], row["Name"])}
    with (EXPORT / "invoices.csv").open(encoding="utf-8-sig", newline="") as f:
        for row in csv.DictReader(f):
            if row["CustNo"] != customer:
                amount = Decimal(row["Total"])
                facts |= {row["InvoiceNo"], f"{amount:,.2f}", f"{amount:,.2f}".replace(",", " ").replace(".", ",")}
    with (EXPORT / "orders.csv").open(encoding="utf-8-sig", newline="") as f:
        facts |= {row["OrderNo"] for row in csv.DictReader(f) if row["CustNo"] != customer}
    return {fact for fact in facts if len(fact) >= 5}


def contacts_of(customer: str) -> list[str]:
    with (EXPORT / "contacts.csv").open(encoding="utf-8-sig", newline="") as f:
        return sorted(r["email"] for r in csv.DictReader(f) if r["customer"] == customer and r["portal"] == "yes")


def test_notify_sends_exactly_the_new_events_once_their_pages_are_live(shop, smtp, browser):
    inbox, port = smtp
    first = notify(settings(shop, port), NotifyOptions())
    assert inbox.messages == [] and CUSTOMER in first.plan.baselined  # the accounts as they are: not news

    add_invoice_shipment_and_document(shop / "export")
    with pytest.raises(NotifyRefused, match="build and publish first"):
        notify(settings(shop, port), NotifyOptions())  # the export changed, the build did not
    assert build(settings(shop, port), BuildOptions(strict=True)).ok
    held = notify(settings(shop, port), NotifyOptions())  # built, not published
    assert inbox.messages == [] and len(held.plan.notices) == 3 and all(n.held for n in held.plan.notices)

    publish(settings(shop, port), PublishOptions(build=False))
    dry = notify(settings(shop, port), NotifyOptions(dry_run=True))
    planned = sorted((n.kind, r.email) for n in dry.plan.notices for r in n.recipients)
    assert inbox.messages == []
    result = notify(settings(shop, port), NotifyOptions())
    contacts = contacts_of(CUSTOMER)
    assert sorted((kind, email) for kind in ("document", "invoice", "shipped") for email in contacts) == planned
    assert sorted(result.report.sent) == sorted(contacts * 3) and result.report.failed == []

    messages = inbox.parsed()
    assert sorted(m["To"].addresses[0].addr_spec for m in messages) == sorted(contacts * 3)
    subjects = {m["Subject"] for m in messages}
    assert subjects == {
        f"Nouvelle facture {NEW_INVOICE} de Larkspur Industrial Supply",
        "Votre commande SO-24012 a été expédiée",
        f"Nouveau document : {NEW_DOCUMENT}",
    }
    facts = others_facts(CUSTOMER)
    for message in messages:  # nothing of any other customer, in any part
        text, html = message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()
        assert "Atelier Dufresne SARL" in text and "<script" not in html.lower()
        leaked = {fact for fact in facts if fact in text or fact in html}
        assert not leaked, (message["Subject"], leaked)
    invoice_mail = next(m for m in messages if NEW_INVOICE in m["Subject"])
    assert "250,00" in invoice_mail.get_body(("plain",)).get_content()  # the new invoice's total, in French
    shipped_mail = next(m for m in messages if "SO-24012" in m["Subject"] and "expédiée" in m["Subject"])
    assert (
        "https://www.dhl.com/en/express/tracking.html?AWB=JJD0001112223"
        in shipped_mail.get_body(("plain",)).get_content()
    )

    links = {m["Subject"]: direct_link(m) for m in messages}
    check_links_in_chromium(shop, links, browser)

    again = notify(settings(shop, port), NotifyOptions())
    assert again.report.sent == [] and again.plan.notices == [] and len(inbox.messages) == len(messages)


def direct_link(message) -> str:
    text = message.get_body(("plain",)).get_content()
    return next(line for line in text.splitlines() if "#k=" in line)


def check_links_in_chromium(shop: Path, links: dict[str, str], browser) -> None:
    """Each link opens its page and nothing else: the portal's other pages ask to sign in, and the
    document link downloads that one document."""
    config = settings(shop)
    server = StaticServer(shop / "www")
    try:
        for subject, link in links.items():
            page = browser.new_context(accept_downloads=True).new_page()
            page.goto(link.replace(config.site.base_url.rstrip("/"), server.url))
            heading = "Facture INV-71999" if NEW_INVOICE in subject else "Commande SO-24012"
            page.wait_for_selector(f"h1:has-text('{heading}')")
            assert "#k=" not in page.url
            if "document" in subject.lower():
                with page.expect_download() as download:
                    page.click("a[download]:has-text('Bon de livraison SO-24012')")
                assert Path(download.value.path()).read_bytes().startswith(b"%PDF-1.4\n% delivery note SO-24012")
            page.goto(server.url + "/" + link.split("/")[-2] + "/")  # the rest of the portal stays shut
            page.wait_for_selector("[data-gate-form]:not([hidden])")
            assert page.locator("h1:has-text('Atelier Dufresne')").count() == 0
            page.context.close()
    finally:
        server.close()


def test_overdue_reminders_at_most_once_per_interval_by_settings_and_opt_out(shop):
    contacts = (shop / "export" / "contacts.csv").read_text(encoding="utf-8-sig").splitlines()
    opting_out = next(line for line in contacts if line.startswith("C1009,"))  # wants no event e-mail
    opted_out = opting_out.split(",")[2]
    rows = [contacts[0] + ",notify"] + [line + (",no" if line == opting_out else ",") for line in contacts[1:]]
    (shop / "export" / "contacts.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    contacts_source = {
        "file": "contacts.csv",
        "columns": {"customer": "customer", "name": "name", "email": "email", "portal_access": "portal"},
    }
    contacts_source["columns"]["notifications"] = "notify"
    config = settings(
        shop,
        exports={"folder": str(shop / "export"), "contacts": contacts_source},
        customers={"C1004": {"notifications": {"overdue": False}}},
    )
    assert build(config, BuildOptions(strict=True)).ok
    publish(config, PublishOptions(build=False))

    ledger, _ = check(config)
    overdue = {  # independent of the notifier: open invoices due 7 days or more before as_of, of open portals
        (i.customer_id, i.number)
        for book in ledger.books.values()
        if book.customer.portal_enabled and any(c.portal_access for c in book.customer.contacts)
        for i in book.invoices
        if i.balance > 0 and i.status != "void" and (AS_OF - i.due_date).days >= 7
    }
    assert any(cid == "C1004" for cid, _ in overdue) and any(cid == "C1009" for cid, _ in overdue)
    start = date(2026, 11, 21)
    assert notify(config, NotifyOptions(today=start)).report.sent == []  # the baseline
    assert notify(config, NotifyOptions(today=start + timedelta(days=13))).plan.notices == []  # within 14 days
    due = notify(config, NotifyOptions(today=start + timedelta(days=14)))
    reminded = {(n.portal.customer_id, n.event.reference) for n in due.plan.notices}
    assert {n.kind for n in due.plan.notices} == {"overdue"}
    assert reminded == {(cid, number) for cid, number in overdue if cid != "C1004"}  # C1004 switched them off
    assert all(opted_out not in {r.email for r in n.recipients} for n in due.plan.notices)
    assert any(n.portal.customer_id == "C1009" and n.recipients for n in due.plan.notices)
    assert notify(config, NotifyOptions(today=start + timedelta(days=20))).plan.notices == []  # once per interval
    later = notify(config, NotifyOptions(today=start + timedelta(days=28)))
    assert {(n.portal.customer_id, n.event.reference) for n in later.plan.notices} == reminded
    mails = [email.message_from_bytes(path.read_bytes(), policy=policy.default) for path in (shop / "outbox").iterdir()]
    assert len(mails) == 2 * sum(len(n.recipients) for n in due.plan.notices)  # every reminder, twice
    for mail in mails:
        assert re.search(r"(overdue|überfällig|en retard|vencida|achterstallig)", mail["Subject"]), mail["Subject"]
        assert mail["To"].addresses[0].addr_spec != opted_out


def test_a_password_reset_is_e_mailed_once_the_new_password_is_published(shop, smtp, browser):
    inbox, port = smtp
    portico = demo_cli(shop, port, shop / "export")
    contact = contacts_of(CUSTOMER)[0]
    before = read_keystore(shop / "keystore.json").customers[CUSTOMER].contacts[contact].password
    assert portico("publish").returncode == 0  # built again: config.yaml is new
    assert portico("notify").returncode == 0 and inbox.messages == []  # the baseline

    done = portico("passwords", "reset", contact)
    assert done.returncode == 0, done.stderr
    assert "publish with --notify" in done.stderr
    password = read_keystore(shop / "keystore.json").customers[CUSTOMER].contacts[contact].password
    assert password != before
    done = portico("notify", "--json")  # rebuilt, not yet published: the old password still opens what is live
    assert done.returncode == 0 and inbox.messages == []
    assert [n["held"] for n in json.loads(done.stdout)["notices"]] == [NOT_LIVE]

    done = portico("publish", "--notify", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["notify"]["sent"] == [contact]
    (message,) = inbox.parsed()
    assert message["To"].addresses[0].addr_spec == contact
    assert message["Subject"] == "Votre nouveau mot de passe pour le portail Larkspur Industrial Supply"
    text = message.get_body(("plain",)).get_content()
    assert password in text and before not in text
    assert portico("notify").returncode == 0 and len(inbox.messages) == 1  # not twice

    config = settings(shop)
    server = StaticServer(shop / "www")
    try:
        url = next(line.split(": ", 1)[1] for line in text.splitlines() if line.startswith("Portail"))
        for secret, opens in ((before, False), (password, True)):
            page = browser.new_page()
            page.goto(url.replace(config.site.base_url.rstrip("/"), server.url))
            page.wait_for_selector("[data-gate-form]:not([hidden])")
            page.fill("#gate-email", contact)
            page.fill("#gate-password", secret)
            page.click("button[type=submit]")
            if opens:
                page.wait_for_selector("h1:has-text('Atelier Dufresne')")
            else:
                page.wait_for_selector(".gate-status.error")
            page.close()
    finally:
        server.close()


def test_forgot_your_password_asks_staff_with_the_address_typed(shop, browser):
    config = settings(shop)
    server = StaticServer(shop / "www")
    folder = next(p.name for p in (shop / "www").iterdir() if (p / "index.html").exists())
    try:
        page = browser.new_page(locale="de-DE")
        page.goto(f"{server.url}/{folder}/")
        page.wait_for_selector("[data-gate-form]:not([hidden])")
        page.fill("#gate-email", "anna@example.com")
        page.click("summary:has-text('Passwort vergessen?')")
        page.evaluate("window.addEventListener('click', function (event) { event.preventDefault(); })")
        page.click("[data-forgot-mail]")
        href = page.get_attribute("[data-forgot-mail]", "href")
        address, _, query = href.partition("?")
        assert address == f"mailto:{config.portal.actions.email}"
        fields = parse_qs(query)
        assert fields["subject"] == ["Bitte um ein neues Portal-Passwort"]
        assert "Meine E-Mail-Adresse: anna@example.com" in fields["body"][0]
        assert f"{server.url}/{folder}/" in fields["body"][0]
        page.close()
    finally:
        server.close()


def test_the_events_of_a_book_follow_the_raw_rows_and_the_switches(tmp_path):
    """Quotes awaiting a decision are the export's OPEN ones; a kind switched off yields nothing."""
    import openpyxl

    from generator.config import NotificationSettings
    from generator.mail.events import events_of

    sheet = openpyxl.load_workbook(EXPORT / "quotes.xlsx", read_only=True)["Quotes"]
    header, *rows = list(sheet.iter_rows(values_only=True))
    column = {name: index for index, name in enumerate(header)}
    open_quotes = {  # OPEN and still valid on the demo's as-of date (past it, a quote has expired)
        (r[column["CustNo"]], r[column["QuoteNo"]])
        for r in rows
        if r[column["Status"]] == "OPEN" and r[column["ValidUntil"]].date() >= AS_OF
    }
    assert open_quotes

    ledger, _ = check(demo_config(tmp_path))
    every, none = (
        NotificationSettings(),
        NotificationSettings(invoice=False, overdue=False, shipped=False, quote=False, document=False),
    )
    found = {
        (cid, e.reference) for cid, book in ledger.books.items() for e in events_of(book, every) if e.kind == "quote"
    }
    assert found == open_quotes
    assert all(events_of(book, none) == [] for book in ledger.books.values())
    shipped = {
        e.subject.order_number for book in ledger.books.values() for e in events_of(book, every) if e.kind == "shipped"
    }
    raw = [json.loads(line) for line in (EXPORT / "shipments.ndjson").read_text(encoding="utf-8").splitlines()]
    assert shipped == {r["order"] for r in raw if r.get("state") in ("in transit", "delivered")}
