"""The encrypted format and key slots, Python side: what must open does, what must not does not."""

from __future__ import annotations

import os
import re

import pytest

from generator.seal import slots
from generator.seal.blobs import CustomerKeys, DecryptError, b64, open_blob, seal, unb64

PAGE = b"<!doctype html><title>Invoice 42</title><p>Total 1,234.56</p>"


@pytest.fixture
def keys():
    return CustomerKeys.generate()


def test_round_trip_with_the_data_key_and_with_the_content_key(keys):
    blob = seal(keys, "abc/page.html", "text/html; charset=utf-8", PAGE)
    opened = open_blob(blob, "abc/page.html", data_key=keys.data_key)
    assert (opened.media_type, opened.content) == ("text/html; charset=utf-8", PAGE)
    by_link = open_blob(blob, "abc/page.html", content_key=keys.content_key("abc/page.html"))
    assert by_link.content == PAGE
    assert b"Invoice" not in blob and b"1,234.56" not in blob


def test_another_customers_key_does_not_open(keys):
    blob = seal(keys, "abc/page.html", "text/html", PAGE)
    with pytest.raises(DecryptError):
        open_blob(blob, "abc/page.html", data_key=CustomerKeys.generate().data_key)


def test_a_blob_moved_to_another_path_does_not_open(keys):
    blob = seal(keys, "abc/invoice.html", "text/html", PAGE)
    for moved in ("abc/other.html", "xyz/invoice.html"):
        with pytest.raises(DecryptError):
            open_blob(blob, moved, data_key=keys.data_key)


def test_a_blob_moved_under_another_customers_key_id_does_not_open(keys):
    """Swapping the key id in the header (to pose as another customer's blob) breaks the AAD."""
    blob = bytearray(seal(keys, "abc/page.html", "text/html", PAGE))
    blob[4:20] = CustomerKeys.generate().key_id
    with pytest.raises(DecryptError):
        open_blob(bytes(blob), "abc/page.html", data_key=keys.data_key)


def test_a_direct_link_key_opens_its_page_only(keys):
    first = seal(keys, "abc/one.html", "text/html", PAGE)
    second = seal(keys, "abc/two.html", "text/html", PAGE)
    link_key = keys.content_key("abc/one.html")
    assert open_blob(first, "abc/one.html", content_key=link_key).content == PAGE
    with pytest.raises(DecryptError):
        open_blob(second, "abc/two.html", content_key=link_key)


@pytest.mark.parametrize("offset", [0, 5, 21, 40, 85, 100, -1])
def test_any_tampered_byte_is_detected(keys, offset):
    blob = bytearray(seal(keys, "abc/page.html", "text/html", PAGE * 3))
    blob[offset] ^= 0x01
    with pytest.raises(DecryptError):
        open_blob(bytes(blob), "abc/page.html", data_key=keys.data_key)


def test_sealing_is_deterministic_and_content_sensitive(keys):
    a = seal(keys, "abc/page.html", "text/html", PAGE)
    assert seal(keys, "abc/page.html", "text/html", PAGE) == a
    b = seal(keys, "abc/page.html", "text/html", PAGE + b" ")
    assert b[80:92] != a[80:92]  # a different plaintext never reuses the body nonce


def test_size_classes_hide_sizes(keys):
    small = seal(keys, "abc/a.html", "text/html", b"x", size_classes=4096)
    large = seal(keys, "abc/b.html", "text/html", bytes(range(256)) * 8, size_classes=4096)
    larger = seal(keys, "abc/c.html", "text/html", os.urandom(5000), size_classes=4096)
    assert len(small) == len(large) == 4096 + 92 + 16  # header and tag around one size class
    assert len(larger) == 8192 + 92 + 16  # the next class is twice as large
    assert open_blob(small, "abc/a.html", data_key=keys.data_key).content == b"x"


def gate_table(keys, salt, real):
    return {
        "kid": b64(keys.key_id),
        "salt": b64(salt),
        "kdf": slots.KDF_NAME,
        "iter": 1000,
        "slots": slots.padded_slots(real, keys.file_key, salt),
    }


def test_a_slot_opens_with_the_right_address_and_password_only(keys):
    salt = b"s" * 16
    real = [
        slots.make_slot(keys, salt, "Anna@Example.com ", "right horse battery", 1000),
        slots.make_slot(keys, salt, "bob@example.com", "another one", 1000),
    ]
    gate = gate_table(keys, salt, real)
    assert slots.open_slots(gate, " anna@example.COM", "right horse battery").data_key == keys.data_key
    assert slots.open_slots(gate, "bob@example.com", "another one").data_key == keys.data_key
    for email, password in (
        ("anna@example.com", "wrong horse battery"),
        ("bob@example.com", "right horse battery"),  # another contact's password
        ("nobody@example.com", "right horse battery"),
    ):
        with pytest.raises(DecryptError):
            slots.open_slots(gate, email, password)
    with pytest.raises(DecryptError):  # a slot table moved under another customer's key id
        slots.open_slots(
            {**gate, "kid": b64(CustomerKeys.generate().key_id)}, "anna@example.com", "right horse battery"
        )


def test_slots_are_padded_with_decoys_that_look_like_real_ones(keys):
    salt = os.urandom(16)
    for contacts, published in ((0, 8), (1, 8), (8, 8), (9, 16), (17, 32)):
        real = [slots.make_slot(keys, salt, f"c{i}@example.com", "pw", 1000) for i in range(contacts)]
        table = slots.padded_slots(real, keys.file_key, salt)
        assert len(table) == published
        assert {(len(unb64(s["iv"])), len(unb64(s["key"]))) for s in table} == {(12, 64 + 16)}
        assert all(s in table for s in real) and table == sorted(table, key=lambda s: s["iv"])
    again = slots.padded_slots([], keys.file_key, salt)
    assert again == slots.padded_slots([], keys.file_key, salt)  # decoys are stable: no needless re-upload
    assert again != slots.padded_slots([], keys.file_key, os.urandom(16))  # and new with a new salt


def test_real_kdf_cost_is_at_least_owasp(monkeypatch):
    monkeypatch.delenv(slots.UNSAFE_TEST_ITERATIONS_ENV)
    assert slots.kdf_iterations() >= 600_000 == slots.MIN_ITERATIONS


def test_opaque_names_are_stable_and_say_nothing(keys):
    name = keys.file_name("invoice-INV-71008.html", ".html")
    assert name == keys.file_name("invoice-INV-71008.html", ".html")
    assert re.fullmatch(r"[a-z2-7]{16}\.html", name)  # 80 bits of HMAC, base32: no trace of the path
    assert name != keys.file_name("invoice-INV-71009.html", ".html")
    assert name != CustomerKeys.generate().file_name("invoice-INV-71008.html", ".html")


def test_the_committed_vector_is_what_python_seals_and_opens():
    """The same vector the browser opens (test_browser_format.py): both implementations agree."""
    import json

    from conftest import REPO

    v = json.loads((REPO / "tests" / "vectors" / "format-v2.json").read_text(encoding="utf-8"))
    keys = CustomerKeys(unb64(v["key_id"]), unb64(v["data_key"]), unb64(v["file_key"]))
    blob = unb64(v["blob"])
    assert seal(keys, v["path"], v["media_type"], v["content"].encode(), v["size_classes"]) == blob  # byte-stable
    assert b64(keys.content_key(v["path"])) == v["content_key"]
    assert open_blob(blob, v["path"], data_key=keys.data_key).content.decode() == v["content"]
    assert open_blob(blob, v["path"], content_key=unb64(v["content_key"])).media_type == v["media_type"]
    assert slots.open_slots(v["gate"], v["email"], v["password"]).data_key == keys.data_key
    real = [s for s in v["gate"]["slots"] if s not in slots.padded_slots([], keys.file_key, unb64(v["gate"]["salt"]))]
    assert slots.padded_slots(real, keys.file_key, unb64(v["gate"]["salt"])) == v["gate"]["slots"]


def test_keys_kept_from_version_1_never_repeat_a_version_1_key_or_nonce(keys):
    """A migrated keystore keeps its file key: version 2 derives everything under its own label, so
    no file gets the key and nonce version 1 gave it (which, with a new AAD, would leak GHASH's key)."""
    import hashlib
    import hmac
    import struct
    import zlib

    path = "abc/page.html"
    blob = seal(keys, path, "text/html", PAGE)
    v1_cek = hmac.new(keys.file_key, b"cek\0" + path.encode(), hashlib.sha256).digest()
    packed = zlib.compressobj(6, zlib.DEFLATED, -15)
    plain = packed.compress(b"text/html\n" + PAGE) + packed.flush()
    framed = struct.pack(">I", len(plain)) + plain
    v1_body_nonce = hmac.new(
        keys.file_key, b"nonce\0" + path.encode() + b"\0" + hashlib.sha256(framed).digest(), hashlib.sha256
    ).digest()[:12]
    assert keys.content_key(path) != v1_cek
    assert blob[80:92] != v1_body_nonce
    assert keys.file_name("page.html", ".html") != (
        __import__("base64")
        .b32encode(hmac.new(keys.file_key, b"name\0page.html", hashlib.sha256).digest()[:10])
        .decode()
        .lower()
        + ".html"
    )
