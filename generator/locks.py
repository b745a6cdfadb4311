"""Exclusive locks on a build's output and on the keystore, so two Portico processes never
write one of them at the same time.

A lock is `flock` on a small file beside what it guards. The kernel drops it when the process
that holds it dies, however it dies, so a killed build never leaves a lock that blocks the next
one (unlike a lock *file* whose mere presence is the lock). The file says who holds the lock, for
the message the second process gives. Locks are re-entrant within a thread: `publish` builds first, and the
development server rebuilds, under locks they already hold; another thread is refused like
another process.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_THREAD = threading.local()  # .held: lock file -> fd held by this thread
_LOCAL: dict[Path, threading.Lock] = {}  # lock file -> the lock threads of this process take first
_GUARD = threading.Lock()
THREAD_PATIENCE = 30.0  # seconds a thread waits for another thread of its process


class LockHeld(Exception):
    """Another process holds the lock; the message names it and what it guards."""


def lock_file_for(path: Path) -> Path:
    """`public` is guarded by `.public.lock` beside it: outside the folder, which a full build replaces."""
    return path.with_name(f".{path.name}.lock")


@contextmanager
def exclusive(guarded: Path, what: str) -> Iterator[None]:
    """Hold the lock on `guarded` (e.g. "the output folder public") or refuse at once."""
    lock = lock_file_for(guarded).absolute()
    held = _held()
    if lock in held:  # this thread has it already (a publish that builds first)
        yield
        return
    with _between_threads(lock):
        fd = _acquire(lock, what)
        if fd is None:  # a read-only folder: this process cannot write what it guards either
            yield
            return
        held[lock] = fd
        try:
            yield
        finally:
            os.close(held.pop(lock))  # releases the flock


@contextmanager
def _between_threads(lock: Path) -> Iterator[None]:
    """Threads of one process (the development server's rebuilds and page requests) wait for each
    other a little, rather than refusing each other as strangers."""
    with _GUARD:
        local = _LOCAL.setdefault(lock, threading.Lock())
    if not local.acquire(timeout=THREAD_PATIENCE):
        yield  # the flock then refuses, naming this process
        return
    try:
        yield
    finally:
        local.release()


def _acquire(lock: Path, what: str) -> int | None:
    try:
        lock.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            return None
        raise LockHeld(f"cannot lock {what} ({lock}): {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _holder(fd)
        os.close(fd)
        raise LockHeld(
            f"another Portico process ({holder}) is writing {what}; nothing was changed. "
            "Wait for it to finish, then run this again"
        ) from None
    try:  # who holds it, for the message a second process gives (only a courtesy: a full disk skips it)
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(_me()).encode(), 0)
    except OSError:
        pass
    return fd


def _me() -> dict:
    return {"pid": os.getpid(), "since": time.strftime("%Y-%m-%d %H:%M:%S"), "command": " ".join(sys.argv[:3])}


def _holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0) or b"{}")
        return f"pid {info['pid']}, {info['command']!r}, since {info['since']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "pid unknown"


def _held() -> dict[Path, int]:
    if not hasattr(_THREAD, "held"):
        _THREAD.held = {}
    return _THREAD.held
