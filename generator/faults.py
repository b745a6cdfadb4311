"""Named moments of a build and a publish at which a test can have the process killed (kill -9),
to show that no moment leaves a wrong site or a wrong store. Inert unless `PORTICO_KILL_AT` names
the moment; costs one dictionary lookup each."""

from __future__ import annotations

import os
import signal

KILL_AT_ENV = "PORTICO_KILL_AT"

BUILD_MOMENTS = ("keystore-saved", "rendering", "staged", "swapping", "swapped-aside", "switching")
PUBLISH_MOMENTS = ("intent-written", "uploading", "deleted")


def moment(name: str) -> None:
    if os.environ.get(KILL_AT_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
