"""Document files (PDFs, scans) that export rows attach to a customer: found, checked and read safely.

An export row names a file to publish in a customer's portal, so the row decides what leaves the
building. A row may name only a plain file inside the configured documents folder, a folder
that holds no export table (a row cannot publish `contacts.csv`); no symbolic link is followed
anywhere below that folder, and a file with more than one hard link is refused (a hard link can
point at any file of the machine). The file is checked when the export is modelled, and again,
by the same open with no link followed, when its bytes are read: a file swapped in between is
refused, not published.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..config import Config


class DocumentRefused(Exception):
    """A row's document that may not be published; the message says why (the caller adds the row)."""


@dataclass(frozen=True)
class DocumentFile:
    """A document file as checked: where it is, and what it was when checked."""

    folder: Path  # the documents folder, resolved
    parts: tuple[str, ...]  # the path inside it
    size: int
    identity: tuple[int, int, int]  # device, inode, modification time (ns)
    where: str = ""  # the export row that names it, for messages

    @property
    def name(self) -> str:
        return self.parts[-1]


def documents_folder(config: Config) -> Path:
    source = config.exports.documents
    return (config.export_dir / (source.folder if source else "documents")).resolve()


def unpublishable_inside(config: Config, folder: Path) -> list[str]:
    """What must never be published that is inside `folder`: the export's own files (tables, line
    files, added contacts), the config, the keystore and its backup, the output folder."""
    sources = config.exports.sources().values()
    files = [config.export_dir / f for s in sources for f in (s.file, s.lines and s.lines.file) if f]
    if config.exports.added_contacts:
        files.append(config.path(config.exports.added_contacts.file))
    keystore = config.path(config.gate.keystore)
    files += [config.source_path, keystore, keystore.with_name(keystore.name + ".bak"), config.output_dir]
    return sorted(str(f) for f in files if f.resolve().is_relative_to(folder) or folder.is_relative_to(f.resolve()))


def locate(folder: Path, written: str, where: str = "") -> DocumentFile:
    """The document a row names: `written` is a path inside the documents folder; a leading
    `<folder name>/` (a path relative to the export folder) is accepted too."""
    parts = PurePosixPath(written.replace("\\", "/")).parts
    if parts and parts[0] == folder.name and len(parts) > 1:
        parts = parts[1:]
    if (
        not parts
        or any(p in ("", ".", "..") or p.startswith("/") for p in parts)
        or PurePosixPath(written).is_absolute()
    ):
        raise DocumentRefused(f"{written!r} is not a path inside the documents folder {folder}")
    with _opened(folder, parts, written) as (_, info):
        return DocumentFile(folder, parts, info.st_size, (info.st_dev, info.st_ino, info.st_mtime_ns), where)


def read_document(document: DocumentFile) -> bytes:
    """The document's bytes, read through one open with no link followed, if it is still the file checked."""
    try:
        return _read_checked(document)
    except DocumentRefused as exc:
        raise DocumentRefused(f"{document.where}: {exc}" if document.where else str(exc)) from None


def _read_checked(document: DocumentFile) -> bytes:
    written = "/".join(document.parts)
    with _opened(document.folder, document.parts, written) as (descriptor, info):
        if (info.st_dev, info.st_ino, info.st_mtime_ns) != document.identity or info.st_size != document.size:
            raise DocumentRefused(f"{written!r} was replaced or changed while the build ran; build again")
        chunks = []
        while chunk := os.read(descriptor, 1 << 20):
            chunks.append(chunk)
        data = b"".join(chunks)
    if len(data) != document.size:
        raise DocumentRefused(f"{written!r} changed while it was read; build again")
    return data


class _opened:
    """Opens folder/parts one component at a time, following no symbolic link; a plain file with one link."""

    def __init__(self, folder: Path, parts: tuple[str, ...], written: str):
        self.folder, self.parts, self.written = folder, parts, written
        self.descriptors: list[int] = []

    def __enter__(self) -> tuple[int, os.stat_result]:
        try:
            current = self._open(str(self.folder), os.O_DIRECTORY)
            for part in self.parts[:-1]:
                current = self._open(part, os.O_DIRECTORY | os.O_NOFOLLOW, current)
            current = self._open(self.parts[-1], os.O_NOFOLLOW | os.O_NONBLOCK, current)
            info = os.fstat(current)
        except OSError as exc:
            why = self._why(exc)
            self.__exit__()
            raise DocumentRefused(why) from None
        if not stat.S_ISREG(info.st_mode):
            self.__exit__()
            raise DocumentRefused(f"{self.written!r} is not a plain file")
        if info.st_nlink > 1:
            self.__exit__()
            raise DocumentRefused(
                f"{self.written!r} has {info.st_nlink} hard links; a hard link can reach any file of the machine, "
                "so documents must be plain copies"
            )
        return current, info

    def _open(self, name: str, flags: int, directory: int | None = None) -> int:
        descriptor = os.open(name, os.O_RDONLY | os.O_CLOEXEC | flags, dir_fd=directory)
        self.descriptors.append(descriptor)
        return descriptor

    def _why(self, exc: OSError) -> str:
        import errno

        if exc.errno in (errno.ELOOP, errno.ENOTDIR) and self.descriptors:
            return f"{self.written!r} is, or is inside, a symbolic link; documents must be plain files in {self.folder}"
        if exc.errno == errno.ENOENT:
            return f"{self.written!r} not found in the documents folder {self.folder}"
        return f"{self.written!r} cannot be opened ({exc.strerror})"

    def __exit__(self, *exc_info: object) -> None:
        for descriptor in reversed(self.descriptors):
            os.close(descriptor)
        self.descriptors.clear()
