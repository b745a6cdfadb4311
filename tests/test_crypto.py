"""The encrypted format and key slots, Python side: what must open does, what must not does not."""

from __future__ import annotations

import re

import pytest

from generator.seal import slots
from generator.seal.blobs import CustomerKeys, DecryptError, open_blob, seal

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


def test_padding_hides_sizes_to_the_bucket(keys):
    small = seal(keys, "abc/a.html", "text/html", b"x", pad_bucket=4096)
    large = seal(keys, "abc/b.html", "text/html", bytes(range(256)) * 8, pad_bucket=4096)
    assert len(small) == len(large)
    assert open_blob(small, "abc/a.html", data_key=keys.data_key).content == b"x"


def test_slot_opens_with_the_right_password_only(keys):
    salt = b"s" * 16
    slot = slots.make_slot(keys, salt, "Anna@Example.com ", "right horse battery", 1000)
    assert slot["id"] == slots.email_slot_id(salt, "anna@example.com")
    assert slots.open_slot(slot, keys.key_id, "right horse battery") == keys.data_key
    with pytest.raises(DecryptError):
        slots.open_slot(slot, keys.key_id, "wrong horse battery")
    with pytest.raises(DecryptError):
        slots.open_slot(slot, CustomerKeys.generate().key_id, "right horse battery")


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

    from generator.seal.blobs import b64, unb64

    v = json.loads((REPO / "tests" / "vectors" / "format-v1.json").read_text(encoding="utf-8"))
    keys = CustomerKeys(unb64(v["key_id"]), unb64(v["data_key"]), unb64(v["file_key"]))
    blob = unb64(v["blob"])
    assert seal(keys, v["path"], v["media_type"], v["content"].encode(), v["pad_bucket"]) == blob  # byte-stable
    assert b64(keys.content_key(v["path"])) == v["content_key"]
    assert open_blob(blob, v["path"], data_key=keys.data_key).content.decode() == v["content"]
    assert open_blob(blob, v["path"], content_key=unb64(v["content_key"])).media_type == v["media_type"]
    slot = v["gate"]["slots"][0]
    assert slot["id"] == slots.email_slot_id(unb64(v["gate"]["salt"]), v["email"])
    assert slots.open_slot(slot, keys.key_id, v["password"]) == keys.data_key
