"""Encrypted builds: keystore safety, determinism, revocation, staff commands, and a plaintext scan."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
from pathlib import Path

import pytest
from conftest import REPO, direct_link_parts, minimal_config

from generator.cli import main
from generator.seal import blobs, slots
from generator.seal import manage as staff
from generator.seal.keystore import MASTER_KEY_ENV, new_master_key, read_keystore

CUSTOMERS = "id,name,email\nC1,Alpha Works,info@alpha.example\nC2,Beta Foods,info@beta.example\n"
CONTACTS = (
    "customer,name,email,access\n"
    "C1,Ann,ann@alpha.example,yes\nC1,Bob,bob@alpha.example,yes\nC2,Cy,cy@beta.example,yes\n"
)
ORDERS = "order,customer,date,sku,qty,price\nA-1,C1,2026-05-01,X,2,1.50\nB-1,C2,2026-06-01,Y,1,9.99\n"


def gate_config():
    raw = minimal_config(
        contacts={
            "file": "contacts.csv",
            "columns": {"customer": "customer", "name": "name", "email": "email", "portal_access": "access"},
        }
    )
    raw["portal"] = {"slug": "opaque"}
    return raw


@pytest.fixture
def gated(site):
    site.file("customers.csv", CUSTOMERS)
    site.file("contacts.csv", CONTACTS)
    site.file("orders.csv", ORDERS)
    return site


def tree(folder: Path) -> dict[str, str]:
    """The published tree (the build's own state folder left out)."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and ".portico" not in p.parts
    }


def keystore_of(site):
    return read_keystore(site.root / "keystore" / "keystore.json")


def entry_blob(site, customer_id: str) -> tuple[str, bytes]:
    ks = keystore_of(site)
    from generator.site.slugs import opaque_slug

    slug = opaque_slug(ks.site_key, customer_id)
    return slug, (site.public / slug / "index.bin").read_bytes()


def test_encrypted_build_opens_with_a_contacts_password(gated):
    result = gated.build(gate_config(), encrypt=True, new_keystore=True)
    assert result.ok, result.failure
    assert result.access.slots_made == 3 and len(result.access.new_passwords) == 3
    ks = keystore_of(gated)
    slug, blob = entry_blob(gated, "C1")
    shell = (gated.public / slug / "index.html").read_text()
    gate = json.loads(re.search(r'id="portico-gate">([^<]+)<', shell).group(1))
    ann = ks.customers["C1"].contacts["ann@alpha.example"]
    data_key = slots.open_slots(gate, "ANN@alpha.example", ann.password).data_key
    opened = blobs.open_blob(blob, f"{slug}/index.bin", data_key=data_key)
    assert opened.media_type.startswith("text/html") and b"Alpha Works" in opened.content
    with pytest.raises(blobs.DecryptError):
        slots.open_slots(gate, "ann@alpha.example", ann.password + "x")


def test_real_build_uses_600k_iterations(gated, monkeypatch):
    monkeypatch.delenv(slots.UNSAFE_TEST_ITERATIONS_ENV)
    result = gated.build(gate_config(), encrypt=True, new_keystore=True)
    assert result.ok and not any("UNSAFE" in n for n in result.notices)
    slug, _ = entry_blob(gated, "C1")
    shell = (gated.public / slug / "index.html").read_text()
    gate = json.loads(re.search(r'id="portico-gate">([^<]+)<', shell).group(1))
    assert gate["iter"] >= 600_000 and gate["kdf"] == "PBKDF2-SHA256" and len(gate["slots"]) == 8


def test_same_inputs_and_keystore_give_identical_output_and_no_kdf(gated):
    assert gated.build(gate_config(), encrypt=True, new_keystore=True).ok
    first = tree(gated.public)
    again = gated.build(gate_config(), encrypt=True)
    assert again.ok and again.noop  # nothing the build reads changed
    full = gated.build(gate_config(), encrypt=True, full=True)
    assert full.ok and full.access.slots_made == 0  # cached slots: no KDF on a rebuild
    assert len(full.engine.rendered) == full.files  # everything rendered again...
    assert tree(gated.public) == first  # ...to the same bytes


def test_a_password_changed_with_keep_key_changes_only_the_entry_page(gated):
    assert gated.build(gate_config(), encrypt=True, new_keystore=True).ok
    before = tree(gated.public)
    ks = keystore_of(gated)
    staff.rotate_passwords(ledger_of(gated), ks, "C1", "bob@alpha.example", keep_key=True)
    ks.save()
    result = gated.build(gate_config(), encrypt=True)
    assert result.access.slots_made == 1
    changed = {path for path in tree(gated.public) if tree(gated.public)[path] != before.get(path)}
    slug, _ = entry_blob(gated, "C1")
    assert changed == {f"{slug}/index.html"}


def published_blobs(site, slug: str) -> dict[str, bytes]:
    """Every blob of a portal as published (pages and downloads alike), by its path."""
    return {f"{slug}/{p.name}": p.read_bytes() for p in sorted((site.public / slug).glob("*.bin"))}


def opened_with(data_key: bytes, found: dict[str, bytes]) -> int:
    opened = 0
    for path, blob in found.items():
        try:
            blobs.open_blob(blob, path, data_key=data_key)
            opened += 1
        except blobs.DecryptError:
            pass
    return opened


def data_key_from_saved_entry_page(site, slug: str, saved_shell: str, email: str, password: str) -> bytes:
    """What someone holding a leaked password and a saved copy of the entry page can unlock."""
    gate = json.loads(re.search(r'id="portico-gate">([^<]+)<', saved_shell).group(1))
    return slots.open_slots(gate, email, password).data_key


@pytest.mark.parametrize("change", ["rotate", "set"])
def test_a_leaked_password_and_a_saved_entry_page_open_nothing_after_a_password_change(gated, change):
    assert gated.build(gate_config(), encrypt=True, new_keystore=True).ok
    slug, _ = entry_blob(gated, "C1")
    saved_shell = (gated.public / slug / "index.html").read_text()
    leaked = keystore_of(gated).customers["C1"].contacts["bob@alpha.example"].password
    before = published_blobs(gated, slug)
    stolen_key = data_key_from_saved_entry_page(gated, slug, saved_shell, "bob@alpha.example", leaked)
    assert opened_with(stolen_key, before) == len(before)  # the attack works before the change...
    ks = keystore_of(gated)
    if change == "rotate":
        staff.rotate_passwords(ledger_of(gated), ks, "C1", "bob@alpha.example")
    else:
        config = gated.load(gate_config())
        staff.set_password(config, ledger_of(gated), ks, "C1", "bob@alpha.example", "tundra-Quill-orbit-58-ferry")
    ks.save()
    result = gated.build(gate_config(), encrypt=True)
    assert result.ok and result.access.slots_made == 2  # both contacts' slots made for the new key
    after = published_blobs(gated, slug)
    assert set(after).isdisjoint(set(before) - {f"{slug}/index.bin"})  # new file names
    assert opened_with(stolen_key, after) == 0  # ...and opens none of the files built afterwards
    ann = keystore_of(gated).customers["C1"].contacts["ann@alpha.example"].password
    new_shell = (gated.public / slug / "index.html").read_text()
    assert opened_with(data_key_from_saved_entry_page(gated, slug, new_shell, "ann@alpha.example", ann), after) == len(
        after
    )  # the other contact's unchanged password opens everything new


def test_keep_key_only_rewraps_so_a_saved_entry_page_still_opens(gated):
    assert gated.build(gate_config(), encrypt=True, new_keystore=True).ok
    slug, _ = entry_blob(gated, "C1")
    saved_shell = (gated.public / slug / "index.html").read_text()
    leaked = keystore_of(gated).customers["C1"].contacts["bob@alpha.example"].password
    ks = keystore_of(gated)
    staff.rotate_passwords(ledger_of(gated), ks, "C1", "bob@alpha.example", keep_key=True)
    ks.save()
    assert gated.build(gate_config(), encrypt=True).ok
    after = published_blobs(gated, slug)
    stolen_key = data_key_from_saved_entry_page(gated, slug, saved_shell, "bob@alpha.example", leaked)
    assert opened_with(stolen_key, after) == len(after)  # what the README warns of: --keep-key is for forgetting


def ledger_of(site):
    from generator.pipeline import check

    ledger, _ = check(site.load(gate_config()))
    return ledger


def test_corrupt_keystore_is_a_clear_error_and_nothing_is_overwritten(gated):
    assert gated.build(gate_config(), encrypt=True, new_keystore=True).ok
    before = tree(gated.public)
    path = gated.root / "keystore" / "keystore.json"
    damaged = path.read_bytes()[:-40]
    path.write_bytes(damaged)
    result = gated.build(gate_config(), encrypt=True)
    assert not result.ok and "damaged keystore" in result.failure and str(path) in result.failure
    assert path.read_bytes() == damaged
    assert tree(gated.public) == before


def test_missing_keystore_is_never_replaced_silently(gated):
    assert gated.build(gate_config(), encrypt=True, new_keystore=True).ok
    before = tree(gated.public)
    (gated.root / "keystore" / "keystore.json").unlink()
    result = gated.build(gate_config(), encrypt=True)
    assert not result.ok and "missing" in result.failure and "--new-keystore" in result.failure
    assert tree(gated.public) == before
    assert gated.build(gate_config(), encrypt=True, new_keystore=True).ok  # on purpose it works


def test_no_keystore_in_ci_is_an_error(gated):
    result = gated.build(gate_config(), encrypt=True, in_ci=True)
    assert not result.ok and "In CI" in result.failure


def test_keystore_encrypted_at_rest_with_the_master_key(gated, monkeypatch):
    monkeypatch.setenv(MASTER_KEY_ENV, new_master_key())
    assert gated.build(gate_config(), encrypt=True, new_keystore=True).ok
    path = gated.root / "keystore" / "keystore.json"
    raw = path.read_bytes()
    password = keystore_of(gated).customers["C1"].contacts["ann@alpha.example"].password
    assert password.encode() not in raw and b"ann@alpha.example" not in raw
    assert gated.build(gate_config(), encrypt=True).ok
    assert path.read_bytes() == raw  # nothing changed: not rewritten
    ks = keystore_of(gated)
    staff.rotate_passwords(ledger_of(gated), ks, "C2")
    ks.save()
    assert Path(str(path) + ".bak").read_bytes() == raw and os.stat(path).st_mode & 0o777 == 0o600
    monkeypatch.setenv(MASTER_KEY_ENV, new_master_key())
    result = gated.build(gate_config(), encrypt=True)
    assert not result.ok and "does not open this keystore" in result.failure
    monkeypatch.delenv(MASTER_KEY_ENV)
    result = gated.build(gate_config(), encrypt=True)
    assert not result.ok and "is encrypted" in result.failure


def test_setting_a_master_key_protects_the_backup_too(gated, monkeypatch):
    assert gated.build(gate_config(), encrypt=True, new_keystore=True).ok  # in clear: no master key yet
    path = gated.root / "keystore" / "keystore.json"
    backup = Path(str(path) + ".bak")
    os.chmod(path, 0o644)  # as an older version, or a copy by hand, might have left it
    password = keystore_of(gated).customers["C1"].contacts["ann@alpha.example"].password
    monkeypatch.setenv(MASTER_KEY_ENV, new_master_key())
    ks = keystore_of(gated)
    staff.rotate_passwords(ledger_of(gated), ks, "C2", keep_key=True)
    ks.save()
    for written in (path, backup):
        raw = written.read_bytes()
        assert raw.startswith(b"PORTICO-KEYSTORE-1\n") and password.encode() not in raw, written
        assert os.stat(written).st_mode & 0o777 == 0o600, written
    backup.replace(path)  # the backup is the keystore as it was, and opens with the master key
    restored = keystore_of(gated)
    assert restored.customers["C1"].contacts["ann@alpha.example"].password == password


@pytest.mark.parametrize(
    ("where", "value"),
    [("site_key", "c2hvcnQ="), ("data_key", "AAAA"), ("key_id", "AAECAw"), ("salt", "AAECAwQF")],
)
def test_a_keystore_with_a_key_of_the_wrong_length_is_refused(gated, where, value):
    assert gated.build(gate_config(), encrypt=True, new_keystore=True).ok
    path = gated.root / "keystore" / "keystore.json"
    data = json.loads(path.read_text())
    if where == "site_key":
        data[where] = value
    else:
        data["customers"]["C1"][where] = value
    path.write_text(json.dumps(data))
    result = gated.build(gate_config(), encrypt=True)
    assert not result.ok and "damaged keystore" in result.failure and str(path) in result.failure
    assert "bytes" in result.failure


def test_revocation_when_a_contact_loses_access(gated):
    assert gated.build(gate_config(), encrypt=True, new_keystore=True).ok
    old = keystore_of(gated).customers["C1"].keys
    old_salt = keystore_of(gated).customers["C1"].salt
    c2_before = tree(gated.public)
    gated.file("contacts.csv", CONTACTS.replace("bob@alpha.example,yes", "bob@alpha.example,no"))
    result = gated.build(gate_config(), encrypt=True)
    assert result.access.rotated == {"C1": "1 contact(s) lost portal access"}
    new = keystore_of(gated).customers["C1"].keys
    assert new.key_id != old.key_id and "bob@alpha.example" not in keystore_of(gated).customers["C1"].contacts
    assert keystore_of(gated).customers["C1"].salt != old_salt  # no slot can be linked to an earlier one
    slug, blob = entry_blob(gated, "C1")
    with pytest.raises(blobs.DecryptError):
        blobs.open_blob(blob, f"{slug}/index.bin", data_key=old.data_key)
    assert blobs.open_blob(blob, f"{slug}/index.bin", data_key=new.data_key).content
    c2_slug, _ = entry_blob(gated, "C2")
    assert {p: h for p, h in tree(gated.public).items() if p.startswith(c2_slug)} == {
        p: h for p, h in c2_before.items() if p.startswith(c2_slug)
    }  # other customers untouched


def test_disabled_customer_has_no_portal_and_new_keys(gated):
    assert gated.build(gate_config(), encrypt=True, new_keystore=True).ok
    c2_slug, _ = entry_blob(gated, "C2")
    old = keystore_of(gated).customers["C2"].keys.key_id
    gated.file(
        "customers.csv",
        CUSTOMERS.replace("name,email", "name,email,portal")
        .replace("info@alpha.example", "info@alpha.example,yes")
        .replace("info@beta.example", "info@beta.example,no"),
    )
    raw = gate_config()
    raw["exports"]["customers"]["columns"]["portal_enabled"] = "portal"
    result = gated.build(raw, encrypt=True)
    assert result.access.rotated == {"C2": "portal disabled"}
    assert not (gated.public / c2_slug).exists()
    assert keystore_of(gated).customers["C2"].keys.key_id != old


def test_revoke_command_and_password_commands(gated, capsys):
    config = gated.config(gate_config())
    assert gated.build(gate_config(), encrypt=True, new_keystore=True).ok
    old = keystore_of(gated).customers["C1"].keys.key_id
    assert main(["revoke", "C1", "--config", str(config)]) == 0
    assert keystore_of(gated).customers["C1"].keys.key_id != old
    capsys.readouterr()
    assert main(["passwords", "list", "--json", "--config", str(config)]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {(r["customer"], r["email"]) for r in listed} == {
        ("C1", "ann@alpha.example"),
        ("C1", "bob@alpha.example"),
        ("C2", "cy@beta.example"),
    }
    assert all(r["portal_url"].endswith("/") and "C1" not in r["portal_url"] for r in listed)
    assert (
        main(
            [
                "passwords",
                "set",
                "C1",
                "--contact",
                "ann@alpha.example",
                "--password",
                "Alpha2026!",
                "--config",
                str(config),
            ]
        )
        == 1
    )
    assert "password refused" in capsys.readouterr().err
    assert (
        main(
            [
                "passwords",
                "set",
                "C1",
                "--contact",
                "ann@alpha.example",
                "--password",
                "quiet-Harbour-lantern-93",
                "--config",
                str(config),
            ]
        )
        == 0
    )
    assert keystore_of(gated).customers["C1"].contacts["ann@alpha.example"].password == "quiet-Harbour-lantern-93"
    assert (
        main(
            [
                "passwords",
                "set",
                "C1",
                "--contact",
                "nobody@alpha.example",
                "--password",
                "x" * 20,
                "--config",
                str(config),
            ]
        )
        == 1
    )
    assert main(["passwords", "rotate", "C2", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("C2\tcy@beta.example\t") and len(out.split("\t")[2].strip()) == 23


def test_direct_link_opens_its_page_only(gated, capsys):
    config = gated.config(gate_config())
    assert gated.build(gate_config(), encrypt=True, new_keystore=True).ok
    capsys.readouterr()
    assert main(["passwords", "link", "C1", "A-1", "--config", str(config)]) == 0
    url = capsys.readouterr().out.strip()
    slug, name, key = direct_link_parts(url)
    blob = (gated.public / slug / name).read_bytes()
    assert b"Order A-1" in blobs.open_blob(blob, f"{slug}/{name}", content_key=blobs.unb64(key)).content
    _, entry = entry_blob(gated, "C1")
    with pytest.raises(blobs.DecryptError):
        blobs.open_blob(entry, f"{slug}/index.bin", content_key=blobs.unb64(key))
    assert main(["passwords", "link", "C1", "NOPE", "--config", str(config)]) == 1


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("P@ssw0rd2024!", "similar to a commonly used password"),
        ("Larkspur2026!", "contains 'Larkspur'"),
        ("Zxcvbnm12345", "similar to a commonly used password"),
        ("Alpha-Works-2026!", "contains 'Alpha'"),
        ("ann.alpha.example", "contains 'alpha'"),
        ("Welcome12345!", "needs 10^12"),
        ("qwertyuiop123", "very common password"),
    ],
)
def test_weak_chosen_passwords_are_refused_with_the_reason(gated, password, why):
    config = gated.load({**gate_config(), "site": {**gate_config()["site"], "name": "Larkspur Industrial Supply"}})
    assert gated.build(gate_config(), encrypt=True, new_keystore=True).ok
    ks = keystore_of(gated)
    with pytest.raises(staff.StaffError, match=re.compile(re.escape(why), re.IGNORECASE)) as refused:
        staff.set_password(config, ledger_of(gated), ks, "C1", "ann@alpha.example", password)
    assert "--force" in str(refused.value)
    staff.set_password(config, ledger_of(gated), ks, "C1", "ann@alpha.example", password, force=True)
    assert ks.customers["C1"].contacts["ann@alpha.example"].password == password


def test_strong_chosen_and_generated_passwords_pass_the_check():
    from generator.seal.passwords import generate_password, weaknesses

    personal = ["Larkspur Industrial Supply", "C1002", "Brauerei Kranich GmbH", "anna@kranich.example"]
    for password in (
        "quiet-Harbour-lantern-93",
        "tundra-Quill-orbit-58-ferry",
        *(generate_password() for _ in range(20)),
    ):
        assert weaknesses(password, personal) == [], password


def test_generated_passwords_are_strong_and_readable():
    from generator.seal.passwords import ALPHABET, generate_password, generated_bits

    assert generated_bits() >= 80
    samples = {generate_password() for _ in range(200)}
    assert len(samples) == 200
    assert not set("0o1li5s2z8buv") & set(ALPHABET)
    assert all(re.fullmatch(r"([a-z0-9]{5}-){3}[a-z0-9]{5}", p) for p in samples)


def test_preview_build_is_plain_with_a_banner(gated):
    result = gated.build(gate_config(), encrypt=False)
    assert result.ok and not result.encrypted
    page = (gated.public / "C1" / "index.html").read_text()  # no keystore yet: ids name the portals
    assert "PREVIEW" in page and "Alpha Works" in page and "data-portico-sealed" not in page


# -- the plaintext scan ----------------------------------------------------------------------

SUBRESOURCE_DIGESTS = re.compile(r'integrity="sha(256|384|512)-[A-Za-z0-9+/=]+"')
CIPHERTEXT_BLOCKS = re.compile(r'(<script type="application/json" id="portico-gate">)[^<]*(</script>)')


def customer_secrets() -> set[str]:
    """Names, e-mails, ids, document numbers and amounts from the demo export, read independently."""
    export = REPO / "content" / "export"

    def rows(name, **kw):
        with (export / name).open(encoding=kw.pop("encoding", "utf-8"), newline="") as f:
            yield from csv.DictReader(f, **kw)

    found = set()
    for r in rows("customers.csv", encoding="utf-8-sig"):
        found |= {r["CustNo"], r["Name"], r["Email"], r["Phone"], r["Street"], r["Rep"], r["RepEmail"]}
    for r in rows("contacts.csv"):
        found |= {r["name"], r["email"]}
    for r in rows("orders.csv"):
        found |= {r["OrderNo"], r["CustomerPO"], r["Price"], r["ItemText"]}
    for r in rows("invoices.csv"):
        found |= {r["InvoiceNo"], r["Total"], r["Total"].replace(".", ",")}
    for r in rows("documents.csv"):
        found |= {r["title"], Path(r["file"]).name}
    payments = json.loads((export / "payments.json").read_text())["payments"]
    found |= {p["reference"] for p in payments} | {p["amount"] for p in payments}
    return {s for s in found if s and len(s) >= 4 and not re.fullmatch(r"\d{1,2}\.\d\d", s)}


def texts_of(data) -> list[str]:
    """Every string in a build's own JSON file, which must hold no number but whole ones."""
    if isinstance(data, dict):
        return [*data, *(text for value in data.values() for text in texts_of(value))]
    if isinstance(data, list):
        return [text for value in data for text in texts_of(value)]
    assert data is None or isinstance(data, (str, int)), data  # no amounts
    return [data] if isinstance(data, str) else []


def test_no_customer_data_outside_ciphertext(encrypted_demo):
    secrets = customer_secrets()
    assert len(secrets) > 500
    public = encrypted_demo
    leaks = []
    for path in public.rglob("*"):
        relative = path.relative_to(public).as_posix()
        leaks += [(relative, "in the file name", s) for s in secrets if s in relative]
        if not path.is_file():
            continue
        if path.suffix == ".bin":
            text = path.read_bytes().decode("latin-1")  # raw ciphertext: any hit would be a leak
        elif relative.startswith(".portico/") and path.suffix == ".json":
            text = "\n".join(texts_of(json.loads(path.read_text())))  # its numbers are counts, stamps, row numbers
        else:
            text = CIPHERTEXT_BLOCKS.sub(r"\1\2", path.read_text(encoding="utf-8"))
        leaks += [(relative, "in the content", s) for s in secrets if s in text]
    assert leaks == []
    shells = list(public.glob("*/*.html"))
    assert len(shells) == len(list(public.glob("*/index.bin"))) > 10  # one public page per portal: its entry shell
    portal_files = [p for p in public.glob("*/*") if not p.parent.name.startswith(("_", "."))]
    assert all(p.name == "index.html" or p.suffix == ".bin" for p in portal_files)  # everything else is a blob
    titles = {re.search(r"<title>(.*?)</title>", p.read_text()).group(1) for p in shells}
    assert titles == {"Larkspur Industrial Supply"}  # generic titles only
    assert all('name="robots" content="noindex' in p.read_text() for p in shells)
    assert all('http-equiv="Content-Security-Policy"' in p.read_text() for p in shells)
    assert not any(
        "<script>" in p.read_text() or "https://" in re.sub(r'id="portico-\w+">[^<]*', "", p.read_text())
        for p in shells
    )  # no inline or external scripts


def email_derivations(salt: bytes, email: str) -> set[str]:
    """What someone with a list of addresses could compute from an entry page and look for in it."""
    import hmac

    folded = email.strip().lower().encode()
    digests = {
        hmac.new(salt, folded, hashlib.sha256).digest()[:16],  # version 1's slot id
        hmac.new(salt, folded, hashlib.sha256).digest(),
        hashlib.sha256(folded).digest(),
        hashlib.sha256(salt + folded).digest(),
        slots.login_salt(salt, email),
    }
    return {encode(d) for d in digests for encode in (blobs.b64, blobs.b64url, bytes.hex)}


def test_a_list_of_email_addresses_confirms_no_contact(encrypted_demo):
    export = REPO / "content" / "export"
    with (export / "contacts.csv").open(encoding="utf-8", newline="") as f:
        contacts = {row["email"] for row in csv.DictReader(f) if row["email"]}
    with (export / "customers.csv").open(encoding="utf-8-sig", newline="") as f:
        contacts |= {row["Email"] for row in csv.DictReader(f) if row["Email"]}
    strangers = {f"{os.urandom(4).hex()}@{address.split('@')[1]}" for address in contacts}
    entry_pages = sorted(encrypted_demo.glob("*/index.html"))
    assert len(contacts) >= 20 and len(entry_pages) >= 10
    shapes = set()
    for entry in entry_pages:
        shell = entry.read_text(encoding="utf-8")
        gate = json.loads(re.search(r'id="portico-gate">([^<]+)<', shell).group(1))
        salt = blobs.unb64(gate["salt"])
        for email in sorted(contacts | strangers):
            assert not {d for d in email_derivations(salt, email) if d in shell}, (entry, email)
        shapes.add((len(gate["slots"]), frozenset((len(s["iv"]), len(s["key"])) for s in gate["slots"])))
        assert all(set(s) == {"iv", "key"} for s in gate["slots"])  # no id, nothing per contact
    assert shapes == {(8, frozenset({(16, 108)}))}  # 1 to 3 contacts per portal: the same 8 slots everywhere


def test_sign_in_page_is_branded_and_says_nothing_of_the_customer(gated):
    (gated.root / "brand.png").write_bytes(b"\x89PNG\r\n\x1a\nfake")
    raw = gate_config()
    raw["site"].update(
        name="Test Supply", logo="brand.png", support_email="help@test.example", support_phone="+44 20 7946 0999"
    )
    raw.setdefault("portal", {})["branding"] = {"welcome": "Welcome to the Test Supply customer portal."}
    assert gated.build(raw, encrypt=True, new_keystore=True).ok
    slug, _ = entry_blob(gated, "C1")
    shell = (gated.public / slug / "index.html").read_text()
    logo = re.search(r'<img class="logo" src="\.\./(_static/brand\.[0-9a-f]{10}\.png)" alt="">', shell)
    assert logo, shell
    assert "Welcome to the Test Supply customer portal." in shell and "help@test.example" in shell
    assert "Or call +44 20 7946 0999." in shell  # a contact who cannot sign in needs it most
    assert (gated.public / logo[1]).read_bytes().startswith(b"\x89PNG")
    visible = SUBRESOURCE_DIGESTS.sub("", CIPHERTEXT_BLOCKS.sub("", shell))  # base64 may spell anything
    for private in ("Alpha", "ann@", "A-1", "C1"):
        assert private not in visible


# -- what the public files tell -----------------------------------------------------------------


def portal_sizes(public: Path, folder: str) -> tuple[int, int]:
    """A portal's files and all their bytes, as the store lists them: its entry shell and its
    blobs (pages and other files, padded apart to their classes, under names alike)."""
    files = [p for p in (public / folder).iterdir() if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def size_class(total: int) -> int:
    return total.bit_length()  # powers of two


def portals_with(gated, orders_c1: int, orders_c2: int, padding: dict | None = None) -> tuple[str, str]:
    orders = "order,customer,date,sku,qty,price\n"
    orders += "".join(f"A-{i},C1,2026-05-{1 + i % 28:02d},X,{i},1.50\n" for i in range(orders_c1))
    orders += "".join(f"B-{i},C2,2026-05-{1 + i % 28:02d},Y,{i},9.99\n" for i in range(orders_c2))
    gated.file("orders.csv", orders)
    raw = gate_config()
    if padding is not None:
        raw["gate"] = {**raw["gate"], "padding": padding}
    assert gated.build(raw, encrypt=True, new_keystore=True).ok
    return entry_blob(gated, "C1")[0], entry_blob(gated, "C2")[0]


def test_portals_with_3_and_5_orders_have_the_same_file_count_and_size_class(gated):
    small, large = portals_with(gated, 3, 5)
    small_files, small_bytes = portal_sizes(gated.public, small)
    large_files, large_bytes = portal_sizes(gated.public, large)
    assert small_files == large_files == 1 + 8 + 1  # the entry shell, 8 pages (then 16, 32, …), 1 other file
    assert size_class(small_bytes) == size_class(large_bytes)
    blobs_ = {p.stat().st_size for folder in (small, large) for p in (gated.public / folder).glob("*.bin")}
    assert len(blobs_) <= 3  # pages, downloads and decoys alike in a few size classes


def test_a_coarser_count_class_hides_3_against_30_orders(gated):
    small, large = portals_with(gated, 3, 30, {"files": 64, "growth": 4})
    small_files, small_bytes = portal_sizes(gated.public, small)
    large_files, large_bytes = portal_sizes(gated.public, large)
    assert small_files == large_files == 1 + 64 + 8
    assert size_class(small_bytes) == size_class(large_bytes)


def test_a_portal_that_outgrows_its_class_moves_to_the_next(gated):
    orders = "order,customer,date,sku,qty,price\n" + "".join(f"A-{i},C1,2026-05-01,X,1,1.50\n" for i in range(70))
    gated.file("orders.csv", orders + "B-1,C2,2026-06-01,Y,1,9.99\n")
    assert gated.build(gate_config(), encrypt=True, new_keystore=True).ok
    big, _ = entry_blob(gated, "C1")
    assert portal_sizes(gated.public, big)[0] == 1 + 128 + 1


def test_padding_can_be_switched_off(gated):
    raw = gate_config()
    raw["gate"] = {**raw["gate"], "padding": {"files": 0, "sizes": 0}}
    assert gated.build(raw, encrypt=True, new_keystore=True).ok
    slug, _ = entry_blob(gated, "C1")
    files, _ = portal_sizes(gated.public, slug)
    assert files < 1 + 8 + 1  # fewer than the smallest padded class: no decoys
    assert not any(p.name.startswith("decoy") for p in gated.public.rglob("*"))


def test_decoys_are_stable_and_a_new_order_replaces_one(gated):
    assert gated.build(gate_config(), encrypt=True, new_keystore=True).ok
    before = tree(gated.public)
    gated.file("orders.csv", ORDERS + "A-2,C1,2026-05-03,X,1,1.50\n")
    assert gated.build(gate_config(), encrypt=True).ok
    after = tree(gated.public)
    slug, _ = entry_blob(gated, "C1")
    gone, new = set(before) - set(after), set(after) - set(before)
    assert len(gone) == 1 and len(new) == 1 and all(p.startswith(slug) for p in gone | new)


def test_a_direct_link_with_valid_days_ends_at_the_first_build_after_its_day(gated, capsys):
    from datetime import date, timedelta

    config = gated.config(gate_config())
    assert gated.build(gate_config(), encrypt=True, new_keystore=True).ok
    capsys.readouterr()
    assert main(["passwords", "link", "C1", "A-1", "--valid-days", "3", "--config", str(config)]) == 0
    url = capsys.readouterr().out.strip()
    slug, name, key = direct_link_parts(url)
    secret = keystore_of(gated).customers["C1"]
    assert secret.link_expiries == {"order-A-1.html": (date.today() + timedelta(days=3)).isoformat()}

    def link_opens() -> bool:
        blob = (gated.public / slug / name).read_bytes()
        try:
            return b"Order A-1" in blobs.open_blob(blob, f"{slug}/{name}", content_key=blobs.unb64(key)).content
        except blobs.DecryptError:
            return False

    assert gated.build(gate_config(), encrypt=True, full=True).ok and link_opens()  # before its day: still open
    ks = keystore_of(gated)
    ks.customers["C1"].link_expiries["order-A-1.html"] = (date.today() - timedelta(days=1)).isoformat()  # time passes
    ks.save()
    before = tree(gated.public)
    result = gated.build(gate_config(), encrypt=True)
    assert result.access.expired_links == [("C1", "order-A-1.html")], result
    assert not link_opens()  # the link's key opens nothing built afterwards
    session_key = keystore_of(gated).customers["C1"].keys.data_key
    blob = (gated.public / slug / name).read_bytes()
    assert b"Order A-1" in blobs.open_blob(blob, f"{slug}/{name}", data_key=session_key).content  # sessions go on
    changed = {p for p in tree(gated.public) if tree(gated.public)[p] != before.get(p)}
    assert changed == {f"{slug}/{name}"}  # only that page was re-keyed
    assert main(["passwords", "link", "C1", "A-1", "--config", str(config)]) == 0
    fresh = capsys.readouterr().out.strip()
    key = re.search(r"#k=([A-Za-z0-9_-]{43})$", fresh).group(1)
    assert link_opens()  # a link made now opens the page again
    assert main(["passwords", "link", "C1", "A-1", "--valid-days", "0", "--config", str(config)]) == 1


# -- one person, several customers: the key ring --------------------------------------------------

RING_CONTACTS = CONTACTS + "C2,Ann,ann@alpha.example,yes\n"  # Ann keeps the books of both


def gate_table(site, customer_id: str) -> dict:
    slug, _ = entry_blob(site, customer_id)
    shell = (site.public / slug / "index.html").read_text()
    return json.loads(re.search(r'id="portico-gate">([^<]+)<', shell).group(1))


def ring_of(site, customer_id: str, email: str) -> list[dict]:
    password = keystore_of(site).customers[customer_id].contacts[email].password
    ring = slots.open_slots(gate_table(site, customer_id), email, password).ring
    return json.loads(ring) if ring else []


def test_a_contact_of_two_customers_gets_one_password_and_a_key_ring_in_each_slot(gated):
    gated.file("contacts.csv", RING_CONTACTS)
    assert gated.build(gate_config(), encrypt=True, new_keystore=True).ok
    ks = keystore_of(gated)
    assert (
        ks.customers["C1"].contacts["ann@alpha.example"].password
        == ks.customers["C2"].contacts["ann@alpha.example"].password
    )
    for customer_id in ("C1", "C2"):
        ring = ring_of(gated, customer_id, "ann@alpha.example")
        assert [(e["name"], e["portal"]) for e in ring] == [
            ("Alpha Works", entry_blob(gated, "C1")[0]),
            ("Beta Foods", entry_blob(gated, "C2")[0]),
        ]
        for entry, other in zip(ring, ("C1", "C2"), strict=True):
            assert blobs.unb64(entry["key"]) == ks.customers[other].keys.data_key
            assert blobs.unb64(entry["kid"]) == ks.customers[other].keys.key_id
    assert ring_of(gated, "C1", "bob@alpha.example") == []  # Bob opens only his own
    lengths = {len(s["key"]) for c in ("C1", "C2") for s in gate_table(gated, c)["slots"]}
    assert len(lengths) == 1  # a slot with a ring looks like any other, in every portal


def test_revoking_one_customer_or_the_persons_access_there_updates_every_ring(gated):
    gated.file("contacts.csv", RING_CONTACTS)
    config = gated.config(gate_config())
    assert gated.build(gate_config(), encrypt=True, new_keystore=True).ok
    assert main(["revoke", "C2", "--config", str(config)]) == 0
    assert gated.build(gate_config(), encrypt=True).ok
    new_key = keystore_of(gated).customers["C2"].keys.data_key
    assert blobs.unb64(ring_of(gated, "C1", "ann@alpha.example")[1]["key"]) == new_key  # the ring follows
    gated.file("contacts.csv", CONTACTS + "C2,Ann,ann@alpha.example,no\n")  # Ann no longer keeps C2's books
    result = gated.build(gate_config(), encrypt=True)
    assert "C2" in result.access.rotated
    assert ring_of(gated, "C1", "ann@alpha.example") == []  # C2 left her ring
    assert "ann@alpha.example" not in keystore_of(gated).customers["C2"].contacts


def test_a_ring_contacts_new_password_is_theirs_everywhere_and_rekeys_each_portal(gated):
    gated.file("contacts.csv", RING_CONTACTS)
    assert gated.build(gate_config(), encrypt=True, new_keystore=True).ok
    before = {c: keystore_of(gated).customers[c].keys.key_id for c in ("C1", "C2")}
    ks = keystore_of(gated)
    staff.set_password(
        gated.load(gate_config()), ledger_of(gated), ks, "C1", "ann@alpha.example", "harbour-Quill-7-orbit"
    )
    ks.save()
    after = keystore_of(gated)
    assert {c: after.customers[c].contacts["ann@alpha.example"].password for c in ("C1", "C2")} == {
        "C1": "harbour-Quill-7-orbit",
        "C2": "harbour-Quill-7-orbit",
    }
    assert all(after.customers[c].keys.key_id != before[c] for c in ("C1", "C2"))  # both could have leaked
    assert gated.build(gate_config(), encrypt=True).ok
    assert len(ring_of(gated, "C2", "ann@alpha.example")) == 2


def test_an_old_password_does_not_come_back_with_a_customer_that_was_disabled(gated):
    gated.file("contacts.csv", RING_CONTACTS)
    customers_with_switch = CUSTOMERS.replace("name,email", "name,email,portal")
    on = customers_with_switch.replace("example\n", "example,yes\n")
    raw = gate_config()
    raw["exports"]["customers"]["columns"]["portal_enabled"] = "portal"
    gated.file("customers.csv", on)
    assert gated.build(raw, encrypt=True, new_keystore=True).ok
    old = keystore_of(gated).customers["C1"].contacts["ann@alpha.example"].password
    gated.file("customers.csv", on.replace("info@beta.example,yes", "info@beta.example,no"))  # C2 off for a while
    assert gated.build(raw, encrypt=True).ok
    ks = keystore_of(gated)
    staff.rotate_passwords(ledger_of(gated), ks, "C1", "ann@alpha.example")  # Ann's password leaked meanwhile
    ks.save()
    gated.file("customers.csv", on)  # C2 back
    assert gated.build(raw, encrypt=True).ok
    for customer_id in ("C1", "C2"):
        with pytest.raises(blobs.DecryptError):
            slots.open_slots(gate_table(gated, customer_id), "ann@alpha.example", old)
    assert len(ring_of(gated, "C2", "ann@alpha.example")) == 2  # her new password opens both


def test_different_passwords_at_two_customers_make_no_ring(gated):
    gated.file("contacts.csv", RING_CONTACTS)
    assert gated.build(gate_config(), encrypt=True, new_keystore=True).ok
    ks = keystore_of(gated)
    ks.customers["C2"].contacts["ann@alpha.example"].password = "another-Lantern-91-quay"  # as version 1 allowed
    ks.customers["C2"].contacts["ann@alpha.example"].slot = None
    ks.save()
    assert gated.build(gate_config(), encrypt=True).ok
    assert ring_of(gated, "C1", "ann@alpha.example") == [] and ring_of(gated, "C2", "ann@alpha.example") == []


def test_an_ended_link_is_rekeyed_even_when_nothing_else_changed(gated, monkeypatch):
    from datetime import date, timedelta

    import generator.output.state as state_module
    import generator.seal.access as access_module
    from generator.publish import output_is_stale

    assert gated.build(gate_config(), encrypt=True, new_keystore=True).ok
    ks = keystore_of(gated)
    link = staff.direct_link(gated.load(gate_config()), ledger_of(gated), ks, "C1", "A-1", valid_days=1)
    ks.save()
    assert gated.build(gate_config(), encrypt=True).ok  # the keystore changed: a build, the link still open
    again = gated.build(gate_config(), encrypt=True)
    assert again.noop  # nothing changed, and the link's day has not passed

    class Later(date):
        @classmethod
        def today(cls):
            return date.today() + timedelta(days=2)

    monkeypatch.setattr(state_module, "date", Later)
    monkeypatch.setattr(access_module, "date", Later)
    assert output_is_stale(gated.load(gate_config()), state_module.read_state(gated.public))  # publish builds first
    result = gated.build(gate_config(), encrypt=True)
    assert not result.noop and result.access.expired_links == [("C1", "order-A-1.html")]
    slug, name, key = direct_link_parts(link)
    blob = (gated.public / slug / name).read_bytes()
    with pytest.raises(blobs.DecryptError):
        blobs.open_blob(blob, f"{slug}/{name}", content_key=blobs.unb64(key))
    assert gated.build(gate_config(), encrypt=True).noop  # and then nothing is due any more


def test_a_changed_slot_table_changes_every_slot_so_nothing_tells_which_are_real(gated):
    gated.file("contacts.csv", RING_CONTACTS)
    config = gated.config(gate_config())
    assert gated.build(gate_config(), encrypt=True, new_keystore=True).ok
    before = {s["iv"] for s in gate_table(gated, "C1")["slots"]}
    assert gated.build(gate_config(), encrypt=True, full=True).access.slots_made == 0
    assert {s["iv"] for s in gate_table(gated, "C1")["slots"]} == before  # unchanged: byte for byte
    assert main(["revoke", "C2", "--config", str(config)]) == 0  # only Ann's ring in C1 must change
    result = gated.build(gate_config(), encrypt=True)
    assert result.access.slots_made == 2  # C2's two contacts: a new salt; C1's slots re-sealed without a KDF
    after = gate_table(gated, "C1")["slots"]
    assert len(after) == 8 and not {s["iv"] for s in after} & before  # all eight new, not just Ann's


def test_paid_and_unpaid_invoices_look_alike_from_outside(encrypted_demo):
    """Payment instructions and a QR code show on open invoices only and make them longer: they
    must not lift exactly the unpaid invoices into a size class of their own. Every invoice page
    and statement of a portal that shows payment instructions is padded one class up, paid or
    not, and their count is brought up to a class (1, 2, 4, …) with decoys of that size."""
    from generator.seal.keystore import read_keystore
    from generator.site.slugs import opaque_slug

    keystore = read_keystore(encrypted_demo.parent / "keystore.json")
    invoice_sizes: dict[str, set[int]] = {"open": set(), "paid": set()}
    for customer_id, secret in keystore.customers.items():
        folder = encrypted_demo / opaque_slug(keystore.site_key, customer_id)
        if not folder.is_dir():
            continue
        by_size: dict[int, int] = {}
        payment_sizes = set()
        for blob in folder.glob("*.bin"):
            size = blob.stat().st_size
            by_size[size] = by_size.get(size, 0) + 1
            opened = blobs.open_blob(blob.read_bytes(), f"{folder.name}/{blob.name}", data_key=secret.keys.data_key)
            title = re.search(rb"<title>(.*?) \xc2\xb7", opened.content)
            if title and re.match(rb"(Invoice|Rechnung|Facture|Factuur|Factura) INV-", title.group(1)):
                state = "open" if b"payment-instructions" in opened.content else "paid"
                invoice_sizes[state].add(size)
                payment_sizes.add(size)
        for size in payment_sizes:
            assert by_size[size] & (by_size[size] - 1) == 0, (customer_id, size, by_size)  # 1, 2, 4, 8, …
    assert invoice_sizes["open"] and invoice_sizes["paid"]
    assert invoice_sizes["open"] == invoice_sizes["paid"]  # one class for both


def test_when_the_data_date_moves_every_page_blob_changes_decoys_too(tmp_path):
    """Every page shows the date the data is as of; if decoys stayed when it moved, two publishes
    compared would single them out as the only page blobs that never change."""
    from conftest import demo_config

    from generator.pipeline import BuildOptions, build
    from generator.seal.padding import page_size_class, payment_size_class

    def blobs_of(as_of: str) -> dict[str, bytes]:
        config = demo_config(tmp_path, site={"as_of": as_of})
        first = not (tmp_path / "keystore.json").exists()
        assert build(config, BuildOptions(strict=True, new_keystore=first, full=True)).ok  # (the config is not on disk)
        public = tmp_path / "public"
        return {p.relative_to(public).as_posix(): p.read_bytes() for p in public.glob("*/*.bin")}

    before, after = blobs_of("2026-11-20"), blobs_of("2026-11-21")
    assert before.keys() == after.keys()  # the same files: names do not depend on the date
    padding = demo_config(tmp_path).gate.padding
    overhead = blobs.HEADER.size + 16  # the header and GCM's tag
    page_sizes = {size + overhead for size in (page_size_class(padding), payment_size_class(padding))}
    page_blobs = [name for name, data in before.items() if len(data) in page_sizes]
    unchanged = [name for name in page_blobs if before[name] == after[name]]
    assert len(page_blobs) > 300 and unchanged == []
