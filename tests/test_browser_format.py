"""The browser's reader of the encrypted format (themes/default/static/portico-format.js), on its
own in Chromium: it opens what Python sealed, refuses what was moved, altered or keyed for
someone else, and unlocks Python-made key slots. The committed vector is opened here and by
Python (test_crypto.py), so both implementations are held to the same bytes."""

from __future__ import annotations

import json

import pytest
from conftest import REPO, StaticServer

from generator.seal import slots
from generator.seal.blobs import CustomerKeys, b64, seal

pytestmark = pytest.mark.browser
VECTOR = json.loads((REPO / "tests" / "vectors" / "format-v2.json").read_text(encoding="utf-8"))

OPEN = """async ([blob, path, dataKey, contentKey]) => {
  const f = window.PorticoFormat;
  const key = dataKey && await crypto.subtle.importKey("raw", f.fromBase64(dataKey), "AES-GCM", false, ["unwrapKey"]);
  try {
    const opened = await f.openBlob(f.fromBase64(blob), path, key, contentKey && f.fromBase64(contentKey));
    return {type: opened.type, content: new TextDecoder().decode(opened.content)};
  } catch (error) {
    return {error: error instanceof f.FormatError ? error.kind : String(error)};
  }
}"""

UNLOCK_AND_OPEN = """async ([gate, email, password, blob, path]) => {
  const f = window.PorticoFormat;
  try {
    const unlocked = await f.unlockSlot(gate, email, password);
    const key = unlocked.dataKey;
    const opened = await f.openBlob(f.fromBase64(blob), path, key, null);
    return {content: new TextDecoder().decode(opened.content), extractable: key.extractable, usages: key.usages,
            ring: unlocked.ring};
  } catch (error) {
    return {error: error instanceof f.FormatError ? error.kind : String(error)};
  }
}"""


@pytest.fixture(scope="module")
def format_page(tmp_path_factory):
    folder = tmp_path_factory.mktemp("format")
    script = (REPO / "themes" / "default" / "static" / "portico-format.js").read_text(encoding="utf-8")
    (folder / "portico-format.js").write_text(script, encoding="utf-8")
    (folder / "index.html").write_text('<!doctype html><script src="portico-format.js"></script>', encoding="utf-8")
    server = StaticServer(folder)
    yield server.url + "/index.html"
    server.close()


@pytest.fixture
def reader(page, format_page):
    page.goto(format_page)
    return page


def opened(page, blob: bytes, path: str, data_key: bytes | None = None, content_key: bytes | None = None) -> dict:
    return page.evaluate(OPEN, [b64(blob), path, data_key and b64(data_key), content_key and b64(content_key)])


def test_the_committed_vector_opens_in_the_browser(reader):
    v = VECTOR
    expected = {"type": v["media_type"], "content": v["content"]}
    assert reader.evaluate(OPEN, [v["blob"], v["path"], v["data_key"], None]) == expected
    assert reader.evaluate(OPEN, [v["blob"], v["path"], None, v["content_key"]]) == expected
    found = reader.evaluate(UNLOCK_AND_OPEN, [v["gate"], v["email"].upper(), v["password"], v["blob"], v["path"]])
    assert found["content"] == v["content"]


def test_a_python_made_blob_opens_with_the_data_key_and_with_its_content_key(reader):
    keys = CustomerKeys.generate()
    path = "portal/page.html"
    content = "<p>Äpfel & Birnen · 1 234,50 €</p>" * 200
    blob = seal(keys, path, "text/html; charset=utf-8", content.encode(), size_classes=4096)
    assert opened(reader, blob, path, data_key=keys.data_key) == {
        "type": "text/html; charset=utf-8",
        "content": content,
    }
    assert opened(reader, blob, path, content_key=keys.content_key(path))["content"] == content


def test_moved_altered_or_foreign_blobs_are_damaged(reader):
    keys, other = CustomerKeys.generate(), CustomerKeys.generate()
    path = "portal/page.html"
    blob = seal(keys, path, "text/html; charset=utf-8", b"<p>secret</p>")
    flipped = bytearray(blob)
    flipped[-5] ^= 1
    attempts = {
        "moved to another path": opened(reader, blob, "portal/other.html", data_key=keys.data_key),
        "moved to another portal": opened(reader, blob, "elsewhere/page.html", data_key=keys.data_key),
        "altered body": opened(reader, bytes(flipped), path, data_key=keys.data_key),
        "another customer's key": opened(reader, blob, path, data_key=other.data_key),
        "another file's content key": opened(reader, blob, path, content_key=keys.content_key("portal/x.html")),
        "truncated": opened(reader, blob[:100], path, data_key=keys.data_key),
        "not a blob": opened(reader, b"<html>" * 40, path, data_key=keys.data_key),
    }
    assert attempts == {what: {"error": "damaged"} for what in attempts}


def test_a_python_made_key_slot_unlocks_a_non_extractable_key(reader):
    keys = CustomerKeys.generate()
    salt = bytes(range(16))
    real = [
        slots.make_slot(keys, salt, "ann@example.com", "pa55 word", 1000),
        slots.make_slot(keys, salt, "bob@example.com", "other one", 1000),
    ]
    gate = {
        "kid": b64(keys.key_id),
        "salt": b64(salt),
        "kdf": slots.KDF_NAME,
        "iter": 1000,
        "slots": slots.padded_slots(real, keys.file_key, salt),
    }
    path = "portal/index.html"
    blob = b64(seal(keys, path, "text/html; charset=utf-8", b"<p>welcome</p>"))
    found = reader.evaluate(UNLOCK_AND_OPEN, [gate, " Ann@Example.COM ", "pa55 word", blob, path])
    assert found == {"content": "<p>welcome</p>", "extractable": False, "usages": ["unwrapKey"], "ring": []}
    for email, password in (
        ("ann@example.com", "pa55 wordx"),
        ("bob@example.com", "pa55 word"),
        ("nobody@example.com", "pa55 word"),
    ):
        assert reader.evaluate(UNLOCK_AND_OPEN, [gate, email, password, blob, path]) == {"error": "wrong"}
