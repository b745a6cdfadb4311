"""The places a build can be published to, registered by the scheme of their target URL.

Every store answers the same few questions: what is there (how big, with which digest), put,
delete, and read and write Portico's own objects (manifest, lock) only if nobody else wrote them
since they were read. A target such as
`s3://bucket/prefix` picks its store by scheme; a plain path (or `file://`) is a folder. A new
kind of store is one class registered with `@store("scheme")`.
"""

from __future__ import annotations

from . import folder, s3  # the built-in stores; each registers itself for its scheme
from .registry import STORES, Store, Target, open_store, store

__all__ = ["STORES", "Store", "Target", "folder", "open_store", "s3", "store"]
