"""A fingerprint of everything a build reads, by content: a build whose inputs have the same
fingerprint as the last one's has nothing to do, and `publish` knows whether the output is stale."""

from __future__ import annotations

import hashlib
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


def input_fingerprint(config: Config, leave_out: frozenset[Path] = frozenset()) -> str:
    digest = hashlib.sha256()
    for path in input_files(config):
        if path in leave_out:
            continue
        digest.update(str(path).encode("utf-8") + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()
