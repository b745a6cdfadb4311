"""A session's memory kept beside the output, so the next `portico build` process rebuilds only
the customers whose export rows changed instead of reading the whole export again.

The file is `.portico/memory.bin` inside the output folder (never published, like the build's
state). It holds the export's lines as the last build read them and whose each line is, the
portals' slugs and summaries, the build's problems, and what every portal shares (the
catalogue, price lists): customer data, so the body is sealed with AES-256-GCM under a key the
keystore derives (`Keystore.memory_key`). Only a holder of the keystore can read it, and since
the body is authenticated before it is unpickled, only a holder of the keystore could have made
what is unpickled. What stays in clear is what the build's state already says: a format
version, the state's stamp and the input fingerprint.

Anything wrong with it — missing, damaged, made with another keystore or by another version,
written before another build changed the output — means it is not used: the build takes the
ordinary way and keeps a new one.
"""

from __future__ import annotations

import json
import os
import pickle
import stat
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import jinja2
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .. import pipeline
from ..config import Config
from ..model import Ledger
from ..output import ENGINE_VERSION, read_state, state_stamp
from ..output.state import STATE_DIR
from ..problems import ProblemLog
from ..progress import Progress
from ..read import read_pages
from ..seal import Keystore, KeystoreError, read_keystore
from .export_diff import ExportSnapshot, SnapshotFile
from .memory import Memory

MEMORY_FILE = f"{STATE_DIR}/memory.bin"
MAGIC = b"portico-memory\n"
VERSION = f"3/{ENGINE_VERSION}/jinja {jinja2.__version__}"  # what is kept, the engine, compiled templates
HEADER_AT_MOST = 4096  # bytes of the clear header line
SEALED_AT_ONCE = 1 << 20  # bytes encrypted in one call (the ciphertext of more is a copy held at once)
# a damaged file, another keystore's, one of classes since renamed: each only means the ordinary build
UNUSABLE = (OSError, ValueError, KeyError, TypeError, AttributeError, ImportError, EOFError, InvalidTag, KeystoreError)


@dataclass
class KeptFile:
    """One export file as kept: its lines as the file holds them (one string to pickle, not half a million),
    each line's owner and each owner's lines as the snapshot has them (pickled without a loop in
    Python: the owners are a few thousand strings, each pickled once)."""

    header: bytes
    data: bytes  # the data lines, joined by newlines
    digest: bytes
    owners: list[str]
    index: dict[str, Sequence[int]]

    @classmethod
    def of(cls, snapshot: SnapshotFile) -> KeptFile:
        return cls(snapshot.header, snapshot.text, snapshot.digest, snapshot.owners, snapshot.index)

    def snapshot(self) -> SnapshotFile:
        lines = self.data.count(b"\n") + 1  # (an empty body is one empty line, or none: the owners say)
        if lines != len(self.owners) and (self.owners or self.data):
            raise ValueError("the kept lines and owners do not match")
        return SnapshotFile(self.header, self.data, self.owners, self.digest, self.index)


def path_in(output_dir: Path) -> Path:
    return output_dir / MEMORY_FILE


def save(memory: Memory, output_dir: Path) -> None:
    """Keep the session's memory for the next process; only for an encrypted build, whose
    keystore seals it."""
    workshop = memory.workshop
    if not workshop.options.encrypt or workshop.keystore is None or workshop.state is None:
        forget(output_dir)
        return
    ledger = workshop.ledger
    body = {
        "options": workshop.options,
        "others": memory.others,
        "files": {name: KeptFile.of(f) for name, f in memory.snapshot.files.items()},
        "keys": memory.snapshot.keys,
        "problems": memory.problems,
        "portals": memory.portals,
        "site_pages": memory.site_pages,
        "access": memory.access,
        "unopenable": memory.unopenable,
        "document_files": memory.document_files,
        "slugs": workshop.slugs,
        "templates": workshop.templates.closures,  # the same while the theme is (the quick way checks)
        "compiled": workshop.renderer.compiled_templates(),  # code: safe to run only since the body authenticates
        "sign_in_texts": workshop.sign_in_texts,
        "shared": (ledger.as_of, ledger.catalogue, ledger.has, ledger.price_lists),
    }
    header = {"version": VERSION, "stamp": list(memory.stamp or ()), "inputs": workshop.state.inputs}
    seal(path_in(output_dir), workshop.keystore, header, body)


def seal(path: Path, keystore: Keystore, header: dict, body: dict) -> None:
    """Write `header` in clear, then `body` pickled and sealed under the keystore's memory key
    (the header authenticated with it), by temporary file and rename, readable by its owner only."""
    clear = MAGIC + json.dumps(header, sort_keys=True).encode("ascii") + b"\n"
    with _written(path) as out:
        out.write(clear)
        sealing = _Sealing(out, keystore.memory_key(), clear)
        pickle.dump(body, sealing, protocol=5)  # sealed as pickle writes it: no second copy of the body
        sealing.finish()


def header_of(path: Path) -> tuple[dict, memoryview, memoryview]:
    """What `seal` wrote: the header, and the clear and sealed bytes for `opened` (ValueError,
    OSError if it is no such file)."""
    raw = memoryview(_read_regular(path))
    header, sealed = _split(raw)
    return header, raw[: len(raw) - len(sealed)], sealed


def forget(output_dir: Path) -> None:
    path_in(output_dir).unlink(missing_ok=True)


def load(
    config: Config, options: pipeline.BuildOptions, output_dir: Path, progress: Progress, inputs: str
) -> Memory | None:
    """The memory the last build kept, or None when there is none to trust, or when nothing the
    build reads changed since (the ordinary build then finds nothing to do)."""
    try:
        header, clear, sealed = header_of(path_in(output_dir))
        if not _worth_opening(header, options, output_dir, inputs):
            return None
        stamp, kept_inputs = header["stamp"], header["inputs"]
        progress.stage("Opening what the last build kept")
        keystore = read_keystore(config.path(config.gate.keystore))
        body = opened(clear, sealed, keystore)
        state = read_state(output_dir)
        if state is None or state.inputs != kept_inputs:
            return None
        as_of, catalogue, has, price_lists = body["shared"]
        ledger = Ledger(as_of, {}, catalogue, has, price_lists)  # the books are read again only where they changed
        pages = read_pages(config.path(config.content_dir), ProblemLog())
        slugs, compiled, texts = body["slugs"], body["compiled"], body["sign_in_texts"]
        workshop = pipeline.workshop_for(
            config, body["options"], ledger, slugs, keystore, pages, compiled=compiled, sign_in_texts=texts
        )
        workshop.state = state
        workshop.templates.closures.update(body["templates"])
        snapshot = ExportSnapshot({n: f.snapshot() for n, f in body["files"].items()}, body["keys"])
    except UNUSABLE:
        return None
    return Memory(  # (whether anything but export rows changed since, the quick rebuild checks first)
        workshop,
        body["others"],
        snapshot,
        body["problems"],
        tuple(stamp),
        body["portals"],
        body["site_pages"],
        body["access"],
        body["unopenable"],
        body["document_files"],
    )


def worth_opening(options: pipeline.BuildOptions, output_dir: Path, inputs: str) -> bool:
    """Whether `load` would open the memory, told from its header alone."""
    try:
        header, _ = _split(memoryview(_read_regular(path_in(output_dir), HEADER_AT_MOST)))
        return _worth_opening(header, options, output_dir, inputs)
    except UNUSABLE:
        return False


def _worth_opening(header: dict, options: pipeline.BuildOptions, output_dir: Path, inputs: str) -> bool:
    if header["version"] != VERSION or header["stamp"] != list(state_stamp(output_dir) or ()):
        return False  # another build wrote the output since
    return header["inputs"] != inputs and options.encrypt  # (nothing changed: the ordinary build says so at once)


def _split(raw: memoryview) -> tuple[dict, memoryview]:
    if raw[: len(MAGIC)] != MAGIC:
        raise ValueError("not a kept memory")
    line_end = bytes(raw[:HEADER_AT_MOST]).index(b"\n", len(MAGIC))
    return json.loads(bytes(raw[len(MAGIC) : line_end])), raw[line_end + 1 :]


def opened(header: memoryview, sealed: memoryview, keystore: Keystore) -> dict:
    """The body `seal` wrote, once it authenticates under this keystore (InvalidTag if not)."""
    body = AESGCM(keystore.memory_key()).decrypt(sealed[:12], sealed[12:], header)
    data = pickle.loads(body)  # authenticated above: made by a holder of this keystore
    if not isinstance(data, dict):
        raise ValueError("not a kept memory")
    return data


def _read_regular(path: Path, at_most: int = -1) -> bytes:
    """The file's bytes (`at_most` of them), if it is a plain file (not a link to one elsewhere,
    not a device or a pipe that would never end)."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(descriptor, "rb") as handle:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise ValueError("not a plain file")
        return handle.read(at_most)


class _Sealing:
    """What pickle writes to: AES-256-GCM as the bytes come, so the file is `nonce ‖ ciphertext ‖
    tag`, exactly what AESGCM.decrypt opens (with the header as associated data)."""

    def __init__(self, out: BinaryIO, key: bytes, header: bytes):
        nonce = os.urandom(12)
        self.out = out
        self.encryptor = Cipher(algorithms.AES(key), modes.GCM(nonce)).encryptor()
        self.encryptor.authenticate_additional_data(header)
        out.write(nonce)

    def write(self, data: bytes) -> int:
        view = memoryview(data)  # a megabyte at a time: pickle hands over the export's lines in one piece
        for start in range(0, len(view), SEALED_AT_ONCE):
            self.out.write(self.encryptor.update(view[start : start + SEALED_AT_ONCE]))
        return len(data)

    def finish(self) -> None:
        self.out.write(self.encryptor.finalize())
        self.out.write(self.encryptor.tag)


@contextmanager
def _written(path: Path) -> Iterator[BinaryIO]:
    """A file written by temporary file and rename, readable by its owner only (a process killed
    while writing leaves a temporary file: the next write clears it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for leftover in path.parent.glob(".memory.*"):
        leftover.unlink(missing_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=".memory.", dir=path.parent)
    try:
        os.fchmod(descriptor, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            yield out
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
