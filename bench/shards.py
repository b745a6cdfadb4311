#!/usr/bin/env python3
"""Past one machine: the Online Retail build split into N shards, as N CI jobs would build it.

`portico keys` first (the one step that writes the keystore, and keeps whose each export row is,
so that a shard reads only its own customers' rows), then a full encrypted build in one
process for scale, then each shard's build (`portico build --shard I/N --full`) into an output
folder of its own, one after another: on N machines they would run side by side, so the time
the sharded build takes is the slowest shard's. Prints each shard's wall and CPU seconds and
pages, the slowest against the whole (target ≈ 1/N), and checks that the shards' files
together are the whole build's. Run from the repository root:  python bench/shards.py [--shards 4] [--json]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
from online_retail import portico, prepare_site  # noqa: E402
from report import print_figures  # noqa: E402


def files_of(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() and ".portico" not in p.parts}


def shard_figures(config: Path, folder: Path, shards: int) -> dict:
    portico(config, "keys", "--new-keystore")
    whole = portico(config, "build", "--full")
    whole_wall, whole_cpu = whole.wall, whole.cpu
    figures: dict = {
        "shards": shards,
        "whole_build_wall_s": round(whole_wall, 1),
        "whole_build_cpu_s": round(whole_cpu, 1),
    }
    union: set[str] = set()
    walls = []
    for index in range(shards + 1):
        output = folder / f"shard-{index}"
        run = portico(config, "build", "--full", "--shard", f"{index}/{shards}", "--output", str(output))
        wall, cpu, report = run.wall, run.cpu, run.report
        union |= files_of(output)
        label = "final (0)" if index == 0 else str(index)
        figures[f"shard_{label}_wall_s"] = round(wall, 1)
        figures[f"shard_{label}_cpu_s"] = round(cpu, 1)
        figures[f"shard_{label}_pages"] = report["pages"]
        figures[f"shard_{label}_customers_read"] = report["read_again"]  # None: it read the whole export
        if index:
            walls.append(wall)
    figures["slowest_shard_vs_whole"] = round(max(walls) / whole_wall, 2)
    figures["one_nth"] = round(1 / shards, 2)
    figures["union_equals_whole"] = union == files_of(Path(whole.report["output"]))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--fraction", type=float, default=1.0, help="share of the customers (default all)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="portico-shards-"))
    figures = {"cores": os.cpu_count(), **shard_figures(prepare_site(folder, args.fraction), folder, args.shards)}
    print_figures(figures, args.json, {"union_equals_whole": figures["union_equals_whole"]})


if __name__ == "__main__":
    main()
