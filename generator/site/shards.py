"""Shards: a site's portals split into N parts that N machines build and publish side by side.

Which shard holds a portal follows from its folder name alone (a hash of it), so every machine,
the publish that later meets the folder in the store, and next night's run agree without
sharing anything but the keystore. Shard `0/N` holds no portal: it is the final step, which
publishes the site's own files and the combined manifest once shards 1 to N are done.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

SHARD = re.compile(r"(\d+)/(\d+)")


@dataclass(frozen=True)
class Shard:
    index: int  # 1 … count; 0: the final step (the site's own files, the combined manifest)
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        found = SHARD.fullmatch(text.strip())
        if not found:
            raise ValueError(f"a shard is I/N, e.g. 2/4 (the second of four), not {text!r}")
        index, count = int(found[1]), int(found[2])
        if count < 1 or index > count:
            raise ValueError(f"shard {text}: N must be at least 1 and I at most N (0/N is the final step)")
        return cls(index, count)

    @property
    def final(self) -> bool:
        return self.index == 0

    def holds(self, folder: str) -> bool:
        """Whether this shard builds and publishes the portal in `folder`."""
        digest = hashlib.sha256(f"portico shard\0{folder}".encode()).digest()
        return not self.final and int.from_bytes(digest[:8], "big") % self.count == self.index - 1

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"
