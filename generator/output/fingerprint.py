"""A fingerprint of everything a build reads, by content: a build whose inputs have the same
fingerprint as the last one's has nothing to do, and `publish` knows whether the output is stale.

A build takes the digests once, before it reads anything, and records those: a file changed while
the build reads it then differs from what was recorded, and the next build looks again. The one
input a build writes, the keystore (new keys, key slots), is hashed again once it is saved."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..config import Config
from ..read.documents import documents_folder
from ..render import branding_files


def input_files(config: Config) -> list[Path]:
    """Config, every file in the export folder, contacts added outside it, the documents folder
    (wherever it is), the themes and the site's template overrides, content pages, keystore, and
    the files branding settings name."""
    roots = [
        config.export_dir,
        config.path(config.themes_dir),
        config.path(config.content_dir),
        config.root / "templates",  # the site's own template overrides
    ]
    if config.exports.documents is not None:
        roots.append(documents_folder(config))
    files = {config.source_path, config.path(config.gate.keystore)}
    if config.site.logo:
        files.add(config.path(config.site.logo))
    if config.exports.added_contacts is not None:
        files.add(config.path(config.exports.added_contacts.file))
    files.update(
        config.path(path) for settings in config.all_settings() for _, path in branding_files(settings.branding)
    )
    output = config.output_dir
    for root in roots:
        if root.is_dir():
            files.update(p for p in root.rglob("*") if p.is_file() and not p.is_relative_to(output))
    return sorted(f for f in files if f.is_file())


@dataclass(frozen=True)
class InputDigests:
    """Each input file's digest, as it was when taken."""

    files: dict[Path, bytes]

    @classmethod
    def take(cls, config: Config) -> InputDigests:
        """Every input as it is now, but config.yaml as it was when the settings were read from it."""
        files = {path: file_digest(path) for path in input_files(config)}
        if config.source_digest is not None and config.source_path in files:
            files[config.source_path] = config.source_digest
        return cls(files)

    def fingerprint(self, leave_out: Iterable[Path] = ()) -> str:
        """One digest of them all (`leave_out`: files another check covers, the export's rows say)."""
        left_out = frozenset(leave_out)
        digest = hashlib.sha256()
        for path in sorted(self.files):
            if path not in left_out:
                digest.update(str(path).encode("utf-8") + b"\0")
                digest.update(self.files[path])
        return digest.hexdigest()

    def saved(self, path: Path) -> InputDigests:
        """With a file this build wrote (the keystore) as it left it."""
        files = {p: d for p, d in self.files.items() if p != path}
        if path.is_file():
            files[path] = file_digest(path)
        return InputDigests(files)


def file_digest(path: Path) -> bytes:
    with path.open("rb") as file:  # in pieces: an export of hundreds of megabytes is not held to hash it
        return hashlib.file_digest(file, "sha256").digest()


def input_fingerprint(config: Config, leave_out: Iterable[Path] = ()) -> str:
    return InputDigests.take(config).fingerprint(leave_out)
