#!/usr/bin/env python3
"""Benchmark of the password gate, with the real KDF cost (600,000 PBKDF2-HMAC-SHA256 iterations).

Prints: KDF time per key slot in Python, key-slot setup rate on all cores, and in Debian's
Chromium the sign-in time (one KDF in WebCrypto) and the time to open a page after sign-in.
Run from the repository root:  python bench/gate.py [--json]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
os.environ.pop("PORTICO_UNSAFE_KDF_ITERATIONS_FOR_TESTS_ONLY", None)

from report import print_figures  # noqa: E402

from generator.pipeline import BuildOptions, build, check  # noqa: E402
from generator.seal import (  # noqa: E402
    blobs,
    slots,
    sync_access,
)
from generator.seal.keystore import Keystore, read_keystore  # noqa: E402
from generator.site.slugs import opaque_slug  # noqa: E402


def kdf_per_slot(samples: int = 5) -> float:
    keys = blobs.CustomerKeys.generate()
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        slots.make_slot(keys, os.urandom(16), "a@example.com", "correct horse battery", slots.MIN_ITERATIONS)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def slot_setup_rate(config) -> tuple[float, float, int]:
    """Slots per second and CPU use when a first build makes every demo contact's slot."""
    ledger, _ = check(config)
    keystore = Keystore.create(Path(tempfile.mkdtemp()) / "ks.json")
    cpu, wall = time.process_time(), time.perf_counter()
    changes = sync_access(keystore, ledger, slots.MIN_ITERATIONS)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return changes.slots_made / wall, cpu / wall / (os.cpu_count() or 1), changes.slots_made


def browser_times(folder: Path, config, rounds: int = 5) -> tuple[float, float]:
    from conftest import CHROMIUM, CHROMIUM_ARGS, StaticServer
    from playwright.sync_api import sync_playwright

    keystore = read_keystore(folder / "keystore.json")
    customer = "C1001"  # English: the headings waited for below
    email, secret = sorted(keystore.customers[customer].contacts.items())[0]
    server = StaticServer(folder / "public")
    url = f"{server.url}/{opaque_slug(keystore.site_key, customer)}/"
    sign_ins, opens = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        for _ in range(rounds):
            context = browser.new_context()
            page = context.new_page()
            page.goto(url)
            page.wait_for_selector("[data-gate-form]:not([hidden])")
            page.fill("#gate-email", email)
            page.fill("#gate-password", secret.password)
            started = time.perf_counter()
            page.click("button[type=submit]")
            page.wait_for_selector("h1:has-text('Welcome')")
            sign_ins.append(time.perf_counter() - started)
            page.click("nav >> text=Invoices")
            page.wait_for_selector("h1:has-text('Invoices')")
            link = page.locator("table[data-list] tbody tr >> nth=0 >> a")
            started = time.perf_counter()
            link.click()
            page.wait_for_selector("h1:has-text('Invoice INV-')")
            opens.append(time.perf_counter() - started)
            context.close()
        browser.close()
    server.close()
    return statistics.median(sign_ins), statistics.median(opens)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from conftest import demo_config

    os.environ.pop("PORTICO_UNSAFE_KDF_ITERATIONS_FOR_TESTS_ONLY", None)  # the tests' conftest lowers it on import
    folder = Path(tempfile.mkdtemp(prefix="portico-bench-gate-"))
    config = demo_config(folder)
    per_slot = kdf_per_slot()
    rate, cpu_share, slots_made = slot_setup_rate(config)
    result = build(config, BuildOptions(strict=True, new_keystore=True))
    assert result.ok, result.failure
    assert not any("UNSAFE" in notice for notice in result.notices)
    sign_in, page_open = browser_times(folder, config)
    figures = {
        "cores": os.cpu_count(),
        "kdf_iterations": slots.MIN_ITERATIONS,
        "kdf_seconds_per_slot_python": round(per_slot, 3),
        "slot_setup_slots": slots_made,
        "slot_setup_per_second": round(rate, 1),
        "slot_setup_cpu_utilisation": round(cpu_share, 2),
        "browser_sign_in_seconds": round(sign_in, 3),
        "browser_page_open_seconds": round(page_open, 3),
    }
    print_figures(figures, args.json)


if __name__ == "__main__":
    main()
