#!/usr/bin/env python3
"""What hiding counts and sizes costs: encrypted builds with the default padding and without it.

For Northwind (91 portals) and Online Retail (4,372 portals): published files, published bytes
and full-build wall time with `gate.padding` at its defaults (pages padded with decoys to 8,
16, 32, …; other files to 1, 2, 4, …; pages to a size class of 3 KiB, 6 KiB, …, other files
1.5 KiB, 3 KiB, …) and with padding off, and the plaintext HTML of a `--no-encrypt` build for
scale. The keystore is made once per export, so no build runs the KDF.
Run from the repository root:  python bench/padding.py [--json] [--only northwind]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DATASETS = REPO.parent / "shared" / "datasets"
sys.path.insert(0, str(HERE))
from report import print_figures  # noqa: E402

EXPORTS = {
    "northwind": ("examples/northwind/config.yaml", DATASETS / "northwind"),
    "online_retail": ("examples/online-retail/config.yaml", DATASETS / "online_retail"),
}
NO_PADDING = {"files": 0, "sizes": 0}


def build(config: Path, *extra: str) -> tuple[float, dict]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "generator", "build", "--json", "--full", "--config", str(config), *extra],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "CI": "", "PORTICO_UNSAFE_KDF_ITERATIONS_FOR_TESTS_ONLY": "1000"},
    )
    if done.returncode != 0:
        raise SystemExit(f"build failed:\n{done.stderr[-3000:]}")
    return time.perf_counter() - started, json.loads(done.stdout)


def published(folder: Path, suffixes: tuple[str, ...] | None = None) -> tuple[int, int]:
    files = [
        p
        for p in folder.rglob("*")
        if p.is_file() and ".portico" not in p.parts and (suffixes is None or p.suffix in suffixes)
    ]
    return len(files), sum(p.stat().st_size for p in files)


def measure(name: str, work: Path) -> dict:
    relative, _ = EXPORTS[name]
    source = REPO / relative
    raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    raw["exports"]["folder"] = str((source.parent / raw["exports"].get("folder", "content/export")).resolve())
    raw["themes_dir"] = str(REPO / "themes")
    raw["gate"] = {**raw.get("gate", {}), "keystore": str(work / "keystore.json")}
    figures: dict = {}
    for label, padding, extra in (
        ("plain", None, ("--no-encrypt",)),
        ("padded", None, ()),
        ("unpadded", NO_PADDING, ()),
    ):
        raw["output"] = str(work / label)
        if padding is not None:
            raw["gate"]["padding"] = padding
        else:
            raw["gate"].pop("padding", None)
        config = work / f"{label}.yaml"
        config.write_text(yaml.safe_dump(raw), encoding="utf-8")
        if label == "padded":
            build(config, "--new-keystore")  # the keystore, once
        seconds, _ = build(config, *extra)
        files, size = published(work / label)
        figures[f"{name}_{label}_files"] = files
        figures[f"{name}_{label}_mb"] = round(size / 1e6, 1)
        figures[f"{name}_{label}_build_seconds"] = round(seconds, 1)
        if label == "plain":
            figures[f"{name}_plain_html_mb"] = round(published(work / label, (".html",))[1] / 1e6, 1)
            figures[f"{name}_portals"] = len(list((work / label).glob("*/index.html")))
    figures[f"{name}_padding_byte_cost"] = round(
        figures[f"{name}_padded_mb"] / max(figures[f"{name}_unpadded_mb"], 0.1), 2
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--only", choices=sorted(EXPORTS))
    args = parser.parse_args()
    figures: dict = {"cores": os.cpu_count()}
    for name in [args.only] if args.only else list(EXPORTS):
        if not EXPORTS[name][1].is_dir():
            print(f"skipped {name}: {EXPORTS[name][1]} is missing", file=sys.stderr)
            continue
        work = Path(tempfile.mkdtemp(prefix=f"portico-bench-padding-{name}-"))
        try:
            figures.update(measure(name, work))
        finally:
            shutil.rmtree(work, ignore_errors=True)
    print_figures(figures, args.json)


if __name__ == "__main__":
    main()
