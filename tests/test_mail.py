"""Invitations against a real SMTP server (aiosmtpd on 127.0.0.1), and into an outbox: who gets one,
what it says, that its password opens the portal in Chromium, and that nothing goes twice."""

from __future__ import annotations

import csv
import email
import json
from email import policy
from pathlib import Path

import independent_decoder as spec
import pytest
import yaml
from conftest import REPO, StaticServer, demo_cli, demo_config

from generator.mail import InviteOptions
from generator.pipeline import BuildOptions, PublishOptions, build, invite, publish
from generator.seal.keystore import read_keystore

EXPORT = REPO / "content" / "export"


@pytest.fixture
def published_demo(tmp_path):
    """The demo, built encrypted and published to a folder; not yet anyone invited."""
    folder = tmp_path / "demo"
    folder.mkdir()
    config = demo_config(folder, publish={"target": str(folder / "www")})
    assert build(config, BuildOptions(strict=True, new_keystore=True)).ok
    return folder


def configured(folder: Path, port: int | None, **mail):
    settings = {"smtp": {"host": "127.0.0.1", "port": port, "security": "none"}} if port else {}
    settings.update(mail)
    return demo_config(
        folder, publish={"target": str(folder / "www")}, mail={"outbox": str(folder / "outbox"), **settings}
    )


def contacts_with_access(folder: Path) -> dict[str, str]:
    """e-mail -> customer id, from the keystore (every contact with access has a slot)."""
    keystore = read_keystore(folder / "keystore.json")
    return {email: cid for cid, secret in keystore.customers.items() if secret.enabled for email in secret.contacts}


def customer_names() -> dict[str, str]:
    with (EXPORT / "customers.csv").open(encoding="utf-8-sig", newline="") as f:
        return {row["CustNo"]: row["Name"] for row in csv.DictReader(f)}


def test_nothing_goes_out_for_a_portal_not_yet_published(published_demo, smtp):
    inbox, port = smtp
    result = invite(configured(published_demo, port), InviteOptions(everyone=True))
    assert inbox.messages == [] and result.report.sent == []
    assert {i.skipped for i in result.invitations} == {"portal not published yet: publish first"}


def test_invite_all_sends_one_message_per_contact_in_their_language(published_demo, smtp, browser):
    inbox, port = smtp
    config = configured(published_demo, port)
    publish(config, PublishOptions(build=False))
    expected = contacts_with_access(published_demo)
    dry = invite(config, InviteOptions(everyone=True, dry_run=True))
    planned = sorted(i.row.email for i in dry.invitations if not i.skipped)
    assert inbox.messages == [] and planned == sorted(expected)

    result = invite(config, InviteOptions(everyone=True))
    assert sorted(result.report.sent) == planned and result.report.failed == []  # the dry run said exactly this
    assert sorted(to for tos, _ in inbox.messages for to in tos) == planned  # one each
    names, keystore = customer_names(), read_keystore(published_demo / "keystore.json")
    message_ids = set()
    for message in inbox.parsed():
        to = message["To"].addresses[0].addr_spec
        customer = expected[to]
        assert message["From"].addresses[0].addr_spec == "portal@larkspur-supply.example"
        assert message["Date"] and message["Message-ID"] not in message_ids
        message_ids.add(message["Message-ID"])
        assert message.get_content_type() == "multipart/alternative"
        text, html = message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()
        password = keystore.customers[customer].contacts[to].password
        assert password in text and password in html and to in text
        assert "<script" not in html.lower()
        for other, name in names.items():  # nothing of any other customer
            if other != customer:
                assert name not in text and name not in html and other not in text
        assert names[customer] in text
    german = next(m for m in inbox.parsed() if m["To"].addresses[0].addr_spec.endswith("kranich-brauerei.example"))
    assert german["Subject"] == "Ihr Kundenportal bei Larkspur Industrial Supply"
    assert "Passwort" in german.get_body(("plain",)).get_content()

    # the credential works: the e-mailed URL and password open the portal in Chromium
    text = german.get_body(("plain",)).get_content()
    url = next(line.split(": ", 1)[1] for line in text.splitlines() if line.startswith("Portal: "))
    secret = next(line.split(": ", 1)[1] for line in text.splitlines() if line.startswith("Passwort: "))
    server = StaticServer(published_demo / "www")
    try:
        page = browser.new_page()
        page.goto(url.replace(config.site.base_url.rstrip("/"), server.url))
        page.wait_for_selector("[data-gate-form]:not([hidden])")
        page.fill("#gate-email", german["To"].addresses[0].addr_spec)
        page.fill("#gate-password", secret)
        page.click("button[type=submit]")
        page.wait_for_selector("h1:has-text('Brauerei Kranich')")
        page.close()
    finally:
        server.close()

    again = invite(config, InviteOptions(everyone=True))
    assert again.report.sent == [] and len(inbox.messages) == len(planned)  # a second run sends nothing
    reinvited = invite(config, InviteOptions(customers=["C1003"], reinvite=True))
    assert sorted(reinvited.report.sent) == sorted(e for e, c in expected.items() if c == "C1003")


def test_a_server_failing_mid_batch_names_the_failed_and_the_rerun_sends_only_those(published_demo, smtp):
    inbox, port = smtp
    config = configured(published_demo, port, attempts=2)
    publish(config, PublishOptions(build=False))
    expected = contacts_with_access(published_demo)
    inbox.busy = set(sorted(expected)[3:5])
    result = invite(config, InviteOptions(everyone=True))
    assert sorted(email for email, _ in result.report.failed) == sorted(inbox.busy)
    assert all("451" in reason for _, reason in result.report.failed)
    assert len(result.report.sent) == len(expected) - 2
    inbox.busy = set()
    before = len(inbox.messages)
    rerun = invite(config, InviteOptions(everyone=True))
    assert sorted(rerun.report.sent) == sorted(email for email, _ in result.report.failed)
    assert len(inbox.messages) == before + 2


def test_the_command_exits_non_zero_naming_the_failed_recipients(published_demo, smtp):
    inbox, port = smtp
    portico = demo_cli(published_demo, port)

    assert portico("invite").returncode == 2  # say whom
    assert portico("publish").returncode == 0
    victim = sorted(contacts_with_access(published_demo))[0]
    inbox.busy = {victim}
    done = portico("invite", "--all")
    assert done.returncode == 1 and f"not sent to {victim}: 451" in done.stderr
    inbox.busy = set()
    done = portico("invite", "--all", "--json")
    assert done.returncode == 0 and yaml.safe_load(done.stdout)["sent"] == [victim]
    listed = yaml.safe_load(portico("passwords", "list", "--json").stdout)
    assert all(row["invited"] for row in listed)


def test_without_smtp_an_outbox_of_eml_files_that_parse_back_identically(published_demo):
    config = configured(published_demo, None)
    publish(config, PublishOptions(build=False))
    result = invite(config, InviteOptions(customers=["C1001"]))
    files = sorted((published_demo / "outbox").glob("*.eml"))
    assert len(files) == len(result.report.sent) > 0
    for path in files:
        raw = path.read_bytes()
        message = email.message_from_bytes(raw, policy=policy.SMTP)
        assert message.as_bytes(policy=policy.SMTP) == raw
        assert message["To"] and message["Subject"] and message.get_body(("html",)) is not None
    assert invite(config, InviteOptions(customers=["C1001"])).report.sent == []  # recorded: not twice


def test_a_personal_sign_in_link_signs_in_until_the_customer_is_re_keyed(published_demo, smtp, browser):
    from generator.pipeline import check
    from generator.seal import manage

    inbox, port = smtp
    config = configured(published_demo, port, invite_credential="link")
    publish(config, PublishOptions(build=False))
    names = customer_names()
    customer = next(cid for cid, name in names.items() if "Kranich" in name)
    invite(config, InviteOptions(customers=[customer]))
    keystore = read_keystore(published_demo / "keystore.json")
    server = StaticServer(published_demo / "www")
    try:
        links = []
        for message in inbox.parsed():
            text = message.get_body(("plain",)).get_content()
            address = message["To"].addresses[0].addr_spec
            assert keystore.customers[customer].contacts[address].password not in text  # no password in it
            links.append(next(line for line in text.splitlines() if "#s=" in line))
        assert links and len(set(links)) == len(links)  # personal: one each
        entry = (published_demo / "www" / links[0].split("/")[-2] / "index.html").read_text(encoding="utf-8")
        gate = json.loads(spec.GATE.search(entry).group(1))
        data_key, _ = spec.sign_in_with_key(gate, spec.unbase64(links[0].rpartition("#s=")[2]))  # as specified
        assert data_key == keystore.customers[customer].keys.data_key
        local = links[0].replace(config.site.base_url.rstrip("/"), server.url)
        page = browser.new_page()
        page.goto(local)
        page.wait_for_selector("h1:has-text('Brauerei Kranich')")  # signed in, no password typed
        assert "#s=" not in page.url  # the key left the address bar
        page.close()

        ledger, _ = check(config)
        manage.rotate_passwords(ledger, keystore, customer, None, False)  # re-keyed: old links end
        keystore.save()
        assert build(config, BuildOptions(strict=True)).ok
        publish(config, PublishOptions(build=False))
        page = browser.new_page()
        page.goto(local)
        page.wait_for_selector("[data-gate-form]:not([hidden])")  # asked to sign in instead
        assert page.locator("h1:has-text('Brauerei Kranich')").count() == 0
        page.close()
    finally:
        server.close()


def test_whom_a_run_invites(published_demo):
    config = configured(published_demo, None)
    publish(config, PublishOptions(build=False))
    everyone = contacts_with_access(published_demo)
    one = sorted(everyone)[0]

    def planned(**options):
        result = invite(config, InviteOptions(dry_run=True, **options))
        return sorted(i.row.email for i in result.invitations)

    assert planned(everyone=True) == sorted(everyone)
    assert planned(customers=["C1003"]) == sorted(e for e, c in everyone.items() if c == "C1003")
    assert planned(contacts=[one.upper()]) == [one]
    assert planned(customers=[everyone[one]], contacts=[one]) == [one]
    other = next(c for c in {*everyone.values()} if c != everyone[one])
    with pytest.raises(ValueError, match="no contact with portal access"):
        planned(customers=[other], contacts=[one])  # not a contact there
    with pytest.raises(ValueError, match=r"nobody@example\.com"):
        planned(contacts=["nobody@example.com"])
