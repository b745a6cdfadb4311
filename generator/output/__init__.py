"""Write the site: what changed is rendered (on every core), sealed and staged, then swapped in.

fingerprint.py  a digest of everything a build reads: nothing changed, nothing to do
recipes.py      a digest of what each file is made from: only changed files are rendered
workers.py      render, seal and write in forked worker processes
staging.py      the staging folder, and the swap that puts a full build in the output's place
switch.py       an incremental build's switch: only the changed portals (and root files), journalled
swap.py         two folders exchanged in one step (Linux renameat2)
state.py        the build's state, `.portico/build.json`: files, digests, recipes, mode
"""

from __future__ import annotations

from .fingerprint import InputDigests, input_fingerprint
from .recipes import ENGINE_VERSION, Recipes, TemplateDigests, keys_digests, shared_keys_digest
from .staging import StagedOutput, recover_output
from .state import BuildMode, BuildState, read_state, state_stamp
from .workers import EngineReport, ProcessLost, run, run_apart

__all__ = [
    "ENGINE_VERSION",
    "BuildMode",
    "BuildState",
    "EngineReport",
    "InputDigests",
    "ProcessLost",
    "Recipes",
    "StagedOutput",
    "TemplateDigests",
    "input_fingerprint",
    "keys_digests",
    "read_state",
    "recover_output",
    "run",
    "run_apart",
    "shared_keys_digest",
    "state_stamp",
]
