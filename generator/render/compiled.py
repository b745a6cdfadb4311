"""Templates compiled once, kept for the next process.

Jinja compiles a template to Python code the first time it is used; a process that renders one
customer spends more time compiling than rendering. `CompiledTemplates` is Jinja's bytecode cache
held in memory, so what one build compiled can be handed to the next (the incremental package
keeps it, sealed, beside the output). Jinja checks each entry against the template's source and
the Python version itself; an entry that does not match is compiled again.
"""

from __future__ import annotations

from jinja2 import BytecodeCache
from jinja2.bccache import Bucket


class CompiledTemplates(BytecodeCache):
    def __init__(self, entries: dict[str, bytes] | None = None):
        self.entries = dict(entries or {})  # Jinja's key (template name and file) -> compiled code

    def load_bytecode(self, bucket: Bucket) -> None:
        data = self.entries.get(bucket.key)
        if data is not None:
            bucket.bytecode_from_string(data)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.entries[bucket.key] = bucket.bytecode_to_string()
