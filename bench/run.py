#!/usr/bin/env python3
"""The build benchmark, on the Online Retail export (541,909 rows, 4,372 portals), encrypted.

Prints: full build (render + encrypt + write) with an existing keystore, no-op rebuild, rebuild
after one customer's rows changed, peak RSS, pages per second, and separately the first-time
key-slot setup rate (slots per second, CPU utilisation of all cores).

"One customer" is measured where staff meet it, in `portico serve`'s long-running process (a
build session that remembers the last build): the median of several re-exports that each change
one customer's rows, config reload included. Such a change in a fresh `portico build` process is
printed beside it: the median of three, each re-export changing one more customer (it starts
from what the last build kept beside the output, `.portico/memory.bin`; without that it would
read the whole export again).
Targets on a 2-core machine: full ≤ 30 s, no-op ≤ 2 s, one customer ≤ 0.5 s (fresh process:
≤ 2 s), RSS ≤ 1 GB, key setup ≥ 90 % of both cores.

Then, in the same run (issue 17; `--quick` leaves them out): Portico encrypted against Hugo and a
bare Jinja2 loop, with published bytes against the plaintext (bench/anchor.py, one round), the
export replicated ×0.25 … ×4 (bench/scaling.py) and four shards against the whole build
(bench/shards.py). Run from the repository root:  python bench/run.py [--quick] [--json]
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from online_retail import DATASET, portico, prepare_site  # noqa: E402

TARGETS = {
    "full_build_seconds": 30,
    "noop_rebuild_seconds": 2,
    "one_customer_rebuild_seconds": 0.5,
    "peak_rss_mb": 1024,
}


def run_build(config: Path, *extra: str) -> tuple[float, float, dict]:
    """Seconds, peak RSS (MB) and the --json report of one `portico build` process."""
    run = portico(config, "build", *extra)
    return run.wall, run.rss_mb, run.report


def change_one_customer(source: Path, target: Path, customer: str = "12347.0") -> None:
    """The same export with one customer's quantities changed (its rows stay where they are)."""
    with gzip.open(source, "rt", encoding="utf-8", newline="") as f:
        lines = f.readlines()
    changed = 0
    for i, line in enumerate(lines):
        cells = line.split(",")
        if len(cells) >= 8 and cells[-2] == customer and cells[3].lstrip("-").isdigit():
            cells[3] = str(int(cells[3]) + 1)
            lines[i] = ",".join(cells)
            changed += 1
    assert changed, "customer not found"
    with gzip.open(target, "wt", encoding="utf-8", newline="") as f:
        f.writelines(lines)


def one_customer_in_a_new_process(config: Path, export: Path, customer: str) -> tuple[float, float, dict]:
    """A fresh `portico build` after a re-export that changed one more customer's rows."""
    change_one_customer(export, export, customer)
    return run_build(config)


def served_one_customer_rebuilds(config: Path, export: Path, folder: Path, edits: int = 7) -> tuple[list[float], int]:
    """As in `portico serve`: one process, a first build, then re-exports that each change one
    customer's rows (customer 12347's quantities up by one, then back), each timed from config load to done."""
    sys.path.insert(0, str(REPO))
    from generator.config import load_config
    from generator.incremental.session import Session
    from generator.pipeline import BuildOptions

    session = Session()
    first = session.build(load_config(config), BuildOptions())
    assert first.ok and session.memory is not None, first.failure
    versions = [folder / "changed.csv.gz", DATASET]
    change_one_customer(DATASET, versions[0])
    times, rendered = [], 0
    for i in range(edits):
        shutil.copy(versions[i % 2], export)
        started = time.perf_counter()
        result = session.build(load_config(config), BuildOptions())
        times.append(time.perf_counter() - started)
        assert result.ok and session.quick_builds == i + 1, result.failure
        rendered = max(rendered, len(result.engine.rendered))
    return times, rendered


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--quick", action="store_true", help="only the builds above, not Hugo, scaling or shards")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="portico-bench-"))
    config = prepare_site(folder)
    export = folder / "export"

    run_build(config, "--new-keystore")  # creates the keystore; the benchmark starts from here
    full, full_rss, report = run_build(config, "--full")
    noop, _, noop_report = run_build(config)
    assert noop_report["noop"], "expected a no-op rebuild"
    cold = [one_customer_in_a_new_process(config, export / DATASET.name, c) for c in ("12347.0", "12348.0", "12349.0")]
    one_cold, _, one_report = sorted(cold, key=lambda run: run[0])[1]  # the median of three customers
    one_rss = max(run[1] for run in cold)
    shutil.copy(DATASET, export / DATASET.name)
    one_times, one_rendered = served_one_customer_rebuilds(config, export / DATASET.name, folder)

    sys.path.insert(0, str(REPO))
    sys.path.insert(0, str(REPO / "bench"))
    sys.path.insert(0, str(REPO / "tests"))
    from conftest import demo_config
    from gate import slot_setup_rate

    rate, cpu_share, slots = slot_setup_rate(demo_config(Path(tempfile.mkdtemp())))

    figures = {
        "cores": os.cpu_count(),
        "files": report["files"],
        "pages": report["pages"],
        "full_build_seconds": round(full, 2),
        "pages_per_second": round(report["pages"] / full),
        "noop_rebuild_seconds": round(noop, 2),
        "one_customer_rebuild_seconds": round(statistics.median(one_times), 3),
        "one_customer_rebuild_range": f"{min(one_times):.3f}-{max(one_times):.3f}",
        "one_customer_files_rendered": one_rendered,
        "one_customer_cold_process_seconds": round(one_cold, 2),
        "one_customer_cold_process_range": f"{min(run[0] for run in cold):.2f}-{max(run[0] for run in cold):.2f}",
        "one_customer_cold_files_rendered": one_report["rendered"],
        "peak_rss_mb": round(max(full_rss, one_rss)),
        "key_setup_slots": slots,
        "key_setup_slots_per_second": round(rate, 1),
        "key_setup_cpu_utilisation": round(cpu_share, 2),
    }
    met = {k: figures[k] <= limit for k, limit in TARGETS.items()}
    met["key_setup_cpu_utilisation"] = cpu_share >= 0.9
    met["one_customer_cold_process_seconds"] = one_cold <= 2.0
    if not args.quick:  # issue 17's figures, in the same run
        from anchor import anchor_figures
        from scaling import scaling_figures
        from shards import shard_figures

        for part, (more, more_met) in (
            ("vs_hugo", anchor_figures(rounds=1)),
            ("scaling", scaling_figures([0.25, 1, 2, 4])),
        ):
            figures |= {f"{part}.{k}": v for k, v in more.items() if k != "cores"}
            met |= {f"{part}.{k}": v for k, v in more_met.items()}
        shards_folder = Path(tempfile.mkdtemp(prefix="portico-shards-"))
        shards = shard_figures(prepare_site(shards_folder), shards_folder, 4)
        figures |= {f"shards.{k}": v for k, v in shards.items()}
        met["shards.union_equals_whole"] = shards["union_equals_whole"]
    from report import print_figures

    print_figures(figures, args.json, met)


if __name__ == "__main__":
    main()
