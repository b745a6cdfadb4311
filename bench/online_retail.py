"""The Online Retail site every build benchmark uses: the export (optionally a share of its
customers, or the whole export replicated under new ids), the example config, a keystore."""

from __future__ import annotations

import compileall
import csv
import gzip
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
DATASET = REPO.parent / "shared" / "datasets" / "online_retail" / "online_retail.csv.gz"


def byte_compiled() -> None:
    """Compile the package as an installation does (`pip install` writes bytecode), so that no
    timed process compiles it from source (where PYTHONDONTWRITEBYTECODE is set, as on the
    machines this was measured on, every one would: 0.2 s of a fresh process)."""
    compileall.compile_dir(REPO / "generator", quiet=1)


def prepare_site(folder: Path, fraction: float = 1.0) -> Path:
    """The site's config.yaml in `folder`: the export (every row; the rows of the first `fraction`
    of the customers; or, above 1, the export replicated that many times under new customer ids
    and invoice numbers), the example's settings, output and keystore in `folder`."""
    byte_compiled()
    export = folder / "export"
    export.mkdir(parents=True, exist_ok=True)
    if fraction == 1.0:
        shutil.copy(DATASET, export / DATASET.name)
    elif fraction > 1.0:
        write_replicas(DATASET, export / DATASET.name, int(fraction))
    else:
        write_share(DATASET, export / DATASET.name, fraction)
    raw = yaml.safe_load((REPO / "examples/online-retail/config.yaml").read_text())
    raw["exports"]["folder"] = str(export)
    raw.update(themes_dir=str(REPO / "themes"), output=str(folder / "public"))
    raw["gate"] = {"keystore": str(folder / "keystore.json")}
    config = folder / "config.yaml"
    config.write_text(yaml.safe_dump(raw))
    return config


def write_share(source: Path, target: Path, fraction: float) -> None:
    with gzip.open(source, "rt", encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    column = header.index("CustomerID")
    customers = sorted({r[column] for r in body if r[column]})
    kept = set(customers[: max(1, int(len(customers) * fraction))])
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(r for r in body if r[column] in kept)
    with gzip.open(target, "wt", encoding="utf-8", newline="") as f:
        f.write(out.getvalue())


def write_replicas(source: Path, target: Path, copies: int) -> None:
    """The export `copies` times; copy k's customers and invoices get ids of their own (k-prefixed)."""
    with gzip.open(source, "rt", encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    customer, invoice = header.index("CustomerID"), header.index("InvoiceNo")
    with gzip.open(target, "wt", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for copy in range(copies):
            for row in body:
                if copy:
                    row = list(row)
                    number = row[invoice]
                    letter = number[:1] if number[:1].isalpha() else ""  # "C536379": a cancellation
                    row[invoice] = f"{letter}{copy}{number[len(letter) :]}"
                    row[customer] = f"{copy}{row[customer]}" if row[customer] else ""
                writer.writerow(row)


@dataclass
class Run:
    wall: float
    cpu: float  # the command's user + system seconds, its workers included
    rss_mb: float  # the highest of any command run so far (what the kernel keeps for children)
    report: dict  # its --json report


def old_trees_deleted(folder: Path, patience: float = 300) -> None:
    """Wait until the output trees earlier builds set aside (`.trash-*`, deleted in the background
    so that no build waits for tens of thousands of unlinks) are gone. Back to back on one machine,
    the next command timed would otherwise share it with that deletion (a nightly build, or a
    shard on a machine of its own, does not)."""
    deadline = time.monotonic() + patience
    while any(folder.glob(".trash-*")) and time.monotonic() < deadline:
        time.sleep(0.1)


def portico(config: Path, *args: str) -> Run:
    """One `portico` command with `--json`, as staff run it (not in CI mode), once the trees
    earlier commands set aside are deleted."""
    old_trees_deleted(config.parent)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "generator", *args, "--json", "--config", str(config)],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "CI": ""},
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"portico {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Run(wall, cpu, max(before.ru_maxrss, after.ru_maxrss) / 1024, json.loads(done.stdout))
