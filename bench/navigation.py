#!/usr/bin/env python3
"""Moving between the pages of a signed-in portal in Chromium: click to content, in place.

Signs in to the encrypted demo (test KDF cost: sign-in is not measured here), then clicks through
the portal's sections and documents and times each click until the new page's heading shows;
for comparison, loads the same pages the ordinary way (a full load of the shell, which reads the
session key again). Target (issue 16): median click to content <= 100 ms.
Run from the repository root:  python bench/navigation.py [--rounds N] [--json]
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

from report import print_figures  # noqa: E402

CUSTOMER = "C1001"  # English headings
TARGET_MS = 100

HEADING_CHANGED = """(before) => {
  const h1 = document.querySelector('main h1');
  return h1 && document.title !== before && h1.isConnected;
}"""


def measure(rounds: int) -> dict:
    from conftest import CHROMIUM, CHROMIUM_ARGS, StaticServer, demo_config, sign_in_by_form
    from playwright.sync_api import sync_playwright

    from generator.pipeline import BuildOptions, build
    from generator.seal.keystore import read_keystore
    from generator.site.slugs import opaque_slug

    folder = Path(tempfile.mkdtemp(prefix="portico-bench-nav-"))
    assert build(demo_config(folder), BuildOptions(strict=True, new_keystore=True)).ok
    keystore = read_keystore(folder / "keystore.json")
    email, secret = sorted(keystore.customers[CUSTOMER].contacts.items())[0]
    server = StaticServer(folder / "public")
    portal = f"{server.url}/{opaque_slug(keystore.site_key, CUSTOMER)}/"
    in_place, full = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page()
        sign_in_by_form(page, portal, email, secret.password)
        page.wait_for_selector("h1:has-text('Welcome')")
        links = page.eval_on_selector_all(".site-nav a", "links => links.map(a => [a.getAttribute('href'), a.href])")
        links = [(attribute, href) for attribute, href in links if href.startswith(portal)]  # ./ and ./?p=<name>
        links = links[1:] + links[:1]  # the dashboard (shown now) last: every click changes page
        targets = [href for _, href in links]
        for _ in range(rounds):
            for attribute, _href in links:
                before = page.title()
                started = time.perf_counter()
                page.click(f".site-nav a[href='{attribute}']")
                page.wait_for_function(HEADING_CHANGED, arg=before)
                in_place.append(time.perf_counter() - started)
        for _ in range(rounds):
            for href in targets:
                started = time.perf_counter()
                page.goto(href)
                page.wait_for_selector("main h1")
                full.append(time.perf_counter() - started)
        browser.close()
    server.close()
    return {
        "cores": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "clicks": len(in_place),
        "in_place_median_ms": round(statistics.median(in_place) * 1000, 1),
        "in_place_p90_ms": round(sorted(in_place)[int(len(in_place) * 0.9)] * 1000, 1),
        "full_load_median_ms": round(statistics.median(full) * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    figures = measure(args.rounds)
    print_figures(figures, args.json, {"in_place_median_ms": figures["in_place_median_ms"] <= TARGET_MS})


if __name__ == "__main__":
    main()
