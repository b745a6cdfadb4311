"""Pausing Python's cycle collector while a stage makes many long-lived objects."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def garbage_collection_paused() -> Iterator[None]:
    """Reading and modelling the export, or loading the build's state, make millions of objects
    that live as long as the build, and no reference cycles: collecting while they are made only
    walks them again and again (measured on Online Retail: a third of the modelling time)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
