#!/usr/bin/env python3
"""Benchmark: the catalogue at scale, 2,000 products × 1,000 customers, built encrypted.

Generates an export: 1,000 customers in 4 price groups and 2 languages, each with a contact and
an order; 2,000 products; each group's price list covers 500 products, and one customer in ten
has 20 prices of its own. Creates the keystore once, then measures a full encrypted build with
it: wall time, peak RSS (of the build process), the bytes published, the shared catalogue files
and the size of one portal's catalogue page. Target: peak RSS ≤ 400 MB.
Run from the repository root:  python bench/catalogue.py [--json] [--repo PATH]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from report import print_figures  # noqa: E402

PRODUCTS, CUSTOMERS = 2000, 1000
TARGET_RSS_MB = 400


def write_export(folder: Path) -> None:
    rng = random.Random(11)
    groups = ["trade", "retail", "key", "export"]
    customers = ["id,name,group,lang,email"]
    contacts, orders = ["customer,name,email"], ["order,customer,date,sku,qty,price"]
    for i in range(CUSTOMERS):
        customers.append(f"K{i:04d},Customer {i:04d},{groups[i % 4]},{'de' if (i // 4) % 2 else 'en'},k{i}@example.com")
        contacts.append(f"K{i:04d},Contact {i},k{i}@example.com")
        orders.append(f"O{i:05d},K{i:04d},2026-05-{1 + i % 28:02d},S{rng.randrange(PRODUCTS):05d},2,3.50")
    products = ["sku,name,unit,price,stock"]
    for i in range(PRODUCTS):
        name = f"Product {i:05d} {'x' * rng.randrange(5, 40)}"
        products.append(f"S{i:05d},{name},pcs,{rng.randrange(100, 100000) / 100},{rng.randrange(500)}")
    prices = ["customer,group,sku,price,min"]
    for group in groups:
        prices += [f",{group},S{s:05d},{rng.randrange(100, 90000) / 100},1" for s in rng.sample(range(PRODUCTS), 500)]
    for i in range(0, CUSTOMERS, 10):
        prices += [f"K{i:04d},,S{s:05d},{rng.randrange(100, 90000) / 100},1" for s in rng.sample(range(PRODUCTS), 20)]
    for name, lines in (
        ("customers.csv", customers),
        ("contacts.csv", contacts),
        ("orders.csv", orders),
        ("catalogue.csv", products),
        ("prices.csv", prices),
    ):
        (folder / name).write_text("\n".join(lines) + "\n")


def write_config(folder: Path, repo: Path) -> Path:
    raw = {
        "site": {"name": "Bench Supply", "as_of": "2026-06-30", "currency": "EUR"},
        "exports": {
            "folder": "export",
            "customers": {
                "file": "customers.csv",
                "columns": {"id": "id", "name": "name", "price_group": "group", "language": "lang"},
            },
            "contacts": {"file": "contacts.csv", "columns": {"customer": "customer", "name": "name", "email": "email"}},
            "orders": {
                "file": "orders.csv",
                "group_by": "number",
                "columns": {"number": "order", "customer": "customer", "date": "date"},
                "lines": {"columns": {"sku": "sku", "quantity": "qty", "unit_price": "price"}},
            },
            "catalogue": {
                "file": "catalogue.csv",
                "columns": {"sku": "sku", "name": "name", "unit": "unit", "list_price": "price", "stock": "stock"},
            },
            "prices": {
                "file": "prices.csv",
                "columns": {
                    "customer": "customer",
                    "price_group": "group",
                    "sku": "sku",
                    "price": "price",
                    "min_quantity": "min",
                },
            },
        },
        "themes_dir": str(repo / "themes"),
        "output": "public",
        "gate": {"keystore": "keystore.json"},
    }
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def timed_build(repo: Path, config: Path, *extra: str) -> tuple[float, int]:
    """Seconds and peak RSS (MB) of one `portico build` process (GNU time reports its maximum resident set)."""
    python = repo / ".venv" / "bin" / "python"
    started = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%M", str(python), "-m", "generator", "build", "-q", "--config", str(config), *extra],
        cwd=repo,
        capture_output=True,
        text=True,
        env={**os.environ, "CI": "", "PORTICO_UNSAFE_KDF_ITERATIONS_FOR_TESTS_ONLY": "1000"},
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"build failed:\n{done.stderr[-3000:]}")
    return seconds, int(done.stderr.strip().splitlines()[-1]) // 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--repo", type=Path, default=HERE.parent, help="the checkout to measure (default: this one)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="portico-catalogue-"))
    (folder / "export").mkdir()
    write_export(folder / "export")
    config = write_config(folder, args.repo.resolve())
    timed_build(args.repo, config, "--new-keystore")  # key slots are made once; the benchmark starts here
    seconds, rss = timed_build(args.repo, config, "--full")
    public = folder / "public"
    files = [p for p in public.rglob("*") if p.is_file() and ".portico" not in p.parts]
    shared = [p for p in files if p.parts[-2] == "_shared"]
    biggest = max((p.stat().st_size for p in files if p.parts[-2] not in ("_static", "_shared")), default=0)
    figures = {
        "products": PRODUCTS,
        "customers": CUSTOMERS,
        "full_build_seconds": round(seconds, 2),
        "peak_rss_mb": rss,
        "published_mb": round(sum(p.stat().st_size for p in files) / 1e6, 1),
        "shared_catalogue_files": len(shared),
        "shared_catalogue_kb_each": round(sum(p.stat().st_size for p in shared) / max(1, len(shared)) / 1e3, 1),
        "largest_portal_file_kb": round(biggest / 1e3, 1),
    }
    print_figures(figures, args.json, {"peak_rss_mb": rss <= TARGET_RSS_MB})


if __name__ == "__main__":
    main()
