#!/usr/bin/env python3
"""Where a full encrypted build of Online Retail spends its time: each stage's wall and CPU
seconds, then the functions that cost most (cProfile, in one process so every stage is seen).

Run from the repository root:  python bench/stages.py [--fraction 0.25] [--top 30]
One process renders everything here (workers=1), so the wall time is not the parallel build's;
`bench/run.py` measures that. The stage table and the function list say where to cut.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from online_retail import prepare_site  # noqa: E402

from generator.config import load_config  # noqa: E402
from generator.pipeline import BuildOptions, build  # noqa: E402
from generator.progress import Progress  # noqa: E402


class StageClock(Progress):
    """Wall and CPU seconds between one stage's start and the next's."""

    def __init__(self):
        self.stages: list[tuple[str, float, float]] = []
        self._current: tuple[str, float, float] | None = None

    def stage(self, name: str, total: int | None = None) -> None:
        self.close()
        self._current = (name, time.perf_counter(), time.process_time())

    def close(self) -> None:
        if self._current:
            name, wall, cpu = self._current
            self.stages.append((name, time.perf_counter() - wall, time.process_time() - cpu))
            self._current = None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fraction", type=float, default=1.0, help="share of the customers (default all)")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="portico-profile-"))
    config = load_config(prepare_site(folder, args.fraction))
    assert build(config, BuildOptions(new_keystore=True)).ok  # the keystore, as in production

    clock, profile = StageClock(), cProfile.Profile()
    started = time.perf_counter()
    profile.enable()
    result = build(config, BuildOptions(full=True, workers=1), clock)
    profile.disable()
    clock.close()
    total = time.perf_counter() - started
    assert result.ok, result.failure

    print(
        f"full encrypted build, one process: {total:.1f} s, {result.pages} pages, "
        f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB "
        f"(profiler on: times are inflated, shares are what matter)"
    )
    width = max(len(name) for name, _, _ in clock.stages)
    for name, wall, cpu in clock.stages:
        print(f"  {name:<{width}}  {wall:7.2f} s wall  {cpu:7.2f} s CPU  {wall / total:5.1%}")
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(args.top)
    print(out.getvalue())


if __name__ == "__main__":
    main()
