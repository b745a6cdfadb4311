"""The publish lock: one publish at a time per target, even across machines.

The lock is an object in the store (`.portico/publish.lock`) holding a random owner id and the
time its lease ends. A publish creates it with a create-only write before it reads the manifest,
renews the lease while it works, and removes it when it is done; a second publish that finds a
live lease refuses and changes nothing. A publish that crashed stops renewing, so its lease runs
out and the next publish takes the lock over, with a write conditional on the dead lease's
version: of two successors only one wins. Before anything irreversible (the deletes, the final
manifest) the holder checks that its lease still has time left, so a publish that stalled past it
never deletes what its successor published.

All of this rests on the store refusing conditional writes that do not hold. Some
S3-compatible servers ignore the conditions; `check_conditional_writes` probes each target once
(and remembers the answer) and refuses such a server unless the user declares there is only ever
one publisher.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from ..output.state import STATE_DIR
from .files import ManifestConflict, PublishError
from .stores import Store

LOCK_KEY = f"{STATE_DIR}/publish.lock"
LEASE_SECONDS = 120.0
SAFETY_MARGIN = 0.25  # of the lease: never start something irreversible with less time left


class PublishLocked(PublishError):
    """Another publish holds a live lease on the target."""


class LockLost(PublishError):
    """This publish's lease ran out (it stalled) or another publish took the lock over."""


class PublishLock:
    def __init__(
        self,
        store: Store,
        lease: float = LEASE_SECONDS,
        clock: Callable[[], float] = time.time,
        key: str = LOCK_KEY,
    ):
        self.store = store
        self.key = key  # one publish at a time; each shard of a sharded publish has a lock of its own
        self.lease = lease
        self.clock = clock
        self.owner = secrets.token_hex(8)
        self.version: str | None = None
        self.expires = 0.0
        self.lost: str | None = None
        self._guard = threading.Lock()
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    def __enter__(self) -> PublishLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def acquire(self) -> None:
        raw, version = self.store.read_meta(self.key)
        holder = _parse(raw)
        if holder is not None and holder.get("expires", 0) > self.clock():
            raise self._held(holder)
        if holder is not None and holder.get("expires", 0) > 0:
            self._wait_for_silence(holder, version)  # ended by our clock; is its holder really gone?
        try:
            self._write(version)  # None: create; else take over the ended lease, only if nobody else did
        except ManifestConflict:
            raise PublishLocked(
                f"another publish took the lock on {self.store.description} at the same moment; nothing was changed"
            ) from None
        self._renewer = threading.Thread(target=self._renew_until_stopped, daemon=True)
        self._renewer.start()

    def _held(self, holder: dict) -> PublishLocked:
        return PublishLocked(
            f"another publish (owner {holder.get('owner', '?')}) holds the lock on {self.store.description} "
            f"until {_when(holder['expires'])} UTC; nothing was changed. Its lease is renewed while it runs; "
            "if it crashed, the lock is free once the lease ends"
        )

    def _wait_for_silence(self, holder: dict, version: str | None) -> None:
        """A lease that has ended by this machine's clock is taken over only once it has also gone
        unrenewed for half a lease by this machine's own stopwatch: a live holder renews every
        quarter lease, so a clock running ahead never takes a live lock."""
        lease = float(holder.get("lease", self.lease))  # the holder's: it renews every quarter of it
        deadline = time.monotonic() + lease / 2
        while time.monotonic() < deadline:
            time.sleep(min(1.0, lease / 8))
            raw, now = self.store.read_meta(self.key)
            if now != version:
                current = _parse(raw)
                raise self._held(current or holder)

    def _write(self, expected: str | None) -> None:
        expires = self.clock() + self.lease
        body = json.dumps({"owner": self.owner, "expires": expires, "lease": self.lease}).encode()
        self.version = self.store.write_meta(self.key, body, expected)
        self.expires = expires

    def _renew_until_stopped(self) -> None:
        while not self._stop.wait(self.lease / 4):
            with self._guard:
                if self.lost:
                    return
                try:
                    self._write(self.version)
                except ManifestConflict:
                    self.lost = "another publish took the lock over"
                except Exception:
                    continue

    def check(self, before: str) -> None:
        """Raise unless this publish surely still holds the lock for a while: called `before` each
        step (a group of uploads, the deletes, the final manifest)."""
        with self._guard:
            left = self.expires - self.clock()
            if self.lost or left < self.lease * SAFETY_MARGIN:
                raise LockLost(
                    f"this publish lost its lock on {self.store.description} ({self.lost or 'its lease ran out'}) "
                    f"before {before}; run publish again"
                )

    def release(self) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
        with self._guard:
            if self.lost or self.version is None:
                return
            try:  # only if it is still ours
                self.store.delete_meta(self.key, self.version)
            except ManifestConflict:
                pass  # someone else's by now
            except Exception:  # a store without conditional deletes: end the lease instead
                with contextlib.suppress(ManifestConflict):
                    body = json.dumps({"owner": self.owner, "expires": 0, "lease": self.lease}).encode()
                    self.store.write_meta(self.key, body, self.version)
            self.version = None


def _parse(raw: bytes | None) -> dict | None:
    if raw is None:
        return None
    try:
        data = json.loads(raw)
        return data if isinstance(data, dict) and isinstance(data.get("expires"), (int, float)) else None
    except ValueError:
        return None


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S")


# -- does the store honour conditional writes? ---------------------------------------------------


def check_conditional_writes(store: Store, identity: str, cache: Path | None, single_writer: bool) -> None:
    """Probe once per target (the answer is remembered in `cache`): a create-only write over an
    existing object and a write on a wrong version must both be refused."""
    if single_writer:
        return
    remembered = _remembered(cache)
    key = hashlib.sha256(identity.encode()).hexdigest()[:32]
    if remembered.get(key) is True:
        return
    shortcoming = probe(store)
    if shortcoming:
        raise PublishError(
            f"{store.description} does not honour conditional writes ({shortcoming}), so two publishes at "
            "once could each delete the other's files; nothing was changed. Use a store that does (AWS S3, "
            "MinIO, R2, SeaweedFS), or, if only one publish can ever run at a time, pass --single-writer "
            "(publish.single_writer: true)"
        )
    remembered[key] = True
    _remember(cache, remembered)


def probe(store: Store) -> str | None:
    """What the store gets wrong about conditional writes, or None."""
    name = f"{STATE_DIR}/probe-{secrets.token_hex(8)}"
    try:
        version = store.write_meta(name, b"1", None)
        try:
            store.write_meta(name, b"2", None)
            return "it accepted a create-only write (If-None-Match: *) over an existing object"
        except ManifestConflict:
            pass
        try:
            store.write_meta(name, b"3", _wrong(version))
            return "it accepted a write conditional on a version the object did not have (If-Match)"
        except ManifestConflict:
            return None
    finally:
        store.delete_meta(name)


def _wrong(version: str) -> str:
    quoted = version.startswith('"')
    other = hashlib.md5(version.encode()).hexdigest()
    return f'"{other}"' if quoted else other


def _remembered(cache: Path | None) -> dict:
    if cache is None:
        return {}
    try:
        data = json.loads(cache.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _remember(cache: Path | None, data: dict) -> None:
    if cache is None:
        return
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        temporary = cache.with_name(cache.name + f".{os.getpid()}")
        temporary.write_text(json.dumps(data), encoding="utf-8")
        os.replace(temporary, cache)
    except OSError:
        pass  # only a cache: the probe runs again next time


def probe_cache() -> Path:
    """Where the probe's answers are remembered: the user's cache folder."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "portico" / "conditional-writes.json"
