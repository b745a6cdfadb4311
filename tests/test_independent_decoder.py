"""A build opened by a decoder written from the spec alone (tests/independent_decoder.py), checked
against the export read independently: every contact signs in at their customer's portal, every
linked page and file opens, and what opens is that customer's and nobody else's."""

from __future__ import annotations

import csv
import json

import independent_decoder as spec
import pytest
from conftest import REPO

EXPORT = REPO / "content" / "export"


def test_an_independent_decoder_opens_every_portal_of_a_v2_build(encrypted_demo):
    keystore = json.loads((encrypted_demo.parent / "keystore.json").read_text(encoding="utf-8"))
    assert keystore["version"] == 2
    site_key = spec.unbase64(keystore["site_key"])
    with (EXPORT / "customers.csv").open(encoding="utf-8-sig", newline="") as f:
        names = {row["CustNo"]: row["Name"] for row in csv.DictReader(f)}
    opened_folders = set()
    shared = 0
    for customer_id, secret in keystore["customers"].items():
        folder = spec.portal_folder(site_key, customer_id)
        for email, contact in secret["contacts"].items():
            portal = spec.read_portal(encrypted_demo, folder, email, contact["password"])
            dashboard = portal.opened[f"{folder}/index.bin"][1].decode("utf-8")
            assert names[customer_id] in dashboard
            assert not [n for c, n in names.items() if c != customer_id and n in dashboard]
            assert len(portal.opened) >= 5 and {p.split("/")[0] for p in portal.opened} == {folder}
            shared += len(portal.shared)
            opened_folders.add(folder)
            with pytest.raises(spec.CannotOpen):  # a wrong password opens nothing
                spec.read_portal(encrypted_demo, folder, email, contact["password"] + "x")
    assert opened_folders == {entry.parent.name for entry in encrypted_demo.glob("*/index.html")}
    assert shared > 0  # the catalogue's shared file, opened with the key a page carried
