"""What every store is, and the registry of stores by URL scheme."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ...config import PublishConfig
from ..files import LocalFile


@dataclass(frozen=True)
class Target:
    scheme: str  # "file" for a folder, "s3", ...
    location: str  # the folder's absolute path, or the bucket
    prefix: str = ""  # keys under a bucket's prefix ("" or ending in "/")


class Store(Protocol):
    description: str

    def list_sizes(self) -> dict[str, int]: ...
    def describe(self, paths: list[str]) -> dict[str, dict]:
        """What the store holds under these paths: `sha256` (of the bytes as built) and `size`, and
        the headers where the store keeps them; paths it does not hold are left out."""

    def put(self, file: LocalFile, body: bytes) -> None: ...
    def delete(self, paths: list[str]) -> None: ...
    def read_meta(self, name: str) -> tuple[bytes | None, str | None]:
        """One of Portico's own objects (`.portico/...`: manifest, lock) and its version; (None, None) if absent."""

    def write_meta(self, name: str, body: bytes, expected: str | None) -> str:
        """Writes it only if its version is still `expected` (None: only if absent), else raises
        ManifestConflict; returns the new version."""

    def delete_meta(self, name: str, expected: str | None = None) -> None:
        """Deletes it (only if its version is still `expected`, when given, else ManifestConflict)."""


StoreFactory = Callable[[Target, PublishConfig], Store]
STORES: dict[str, StoreFactory] = {}


def store(scheme: str) -> Callable[[StoreFactory], StoreFactory]:
    """Registers the store for targets with this URL scheme."""

    def register(factory: StoreFactory) -> StoreFactory:
        STORES[scheme] = factory
        return factory

    return register


def open_store(target: Target, settings: PublishConfig) -> Store:
    return STORES[target.scheme](target, settings)
