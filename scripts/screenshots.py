"""Screenshots of the demo portal's main pages in each theme, for the README.

    python scripts/screenshots.py            # writes docs/screenshots/<theme>-<page>.png

Builds the bundled demo into a temporary folder once per theme (a plain preview for the portal
pages, an encrypted build for the sign-in page, with a throwaway keystore), serves it on
127.0.0.1 and photographs each page in Debian's Chromium through Playwright.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import re
import sys
import tempfile
import threading
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from generator.config import parse_config  # noqa: E402
from generator.pipeline import BuildOptions, build  # noqa: E402

THEMES = ["default", "harbour"]
PAGES = {  # name: (customer, page) in the preview build; the sign-in page comes from the encrypted one
    "dashboard": ("C1001", "index.html"),
    "orders": ("C1004", "orders.html"),
    "order-de": ("C1002", None),  # the German customer's newest order
    "statement": ("C1009", "statement.html"),
    "sign-in": ("C1003", "index.html"),
    "phone-dashboard": ("C1001", "index.html"),
    "phone-invoice": ("C1009", "invoice-INV-71037.html"),
    "phone-statement": ("C1009", "statement.html"),
}
VIEWPORT = {"width": 1200, "height": 780}
PHONE = {"width": 375, "height": 812}


def demo_config(folder: Path, theme: str):
    raw = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    raw["exports"]["folder"] = str(REPO / raw["exports"]["folder"])
    raw["site"]["logo"] = str(REPO / raw["site"]["logo"])
    raw.update(
        theme=theme, themes_dir=str(REPO / "themes"), content_dir=str(REPO / "content"), output=str(folder / "public")
    )
    raw["portal"]["slug"] = "id"
    raw["gate"] = {**raw.get("gate", {}), "keystore": str(folder / "keystore.json")}
    return parse_config(raw, REPO / "config.yaml")


def serve(folder: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}"


def newest_order(portal: Path) -> str:
    orders = (portal / "orders.html").read_text(encoding="utf-8")
    return re.search(r'href="(order-[^"]+\.html)"', orders)[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args(argv)
    os.environ.setdefault("PORTICO_UNSAFE_KDF_ITERATIONS_FOR_TESTS_ONLY", "1000")  # a throwaway keystore
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium, args=["--no-sandbox", "--disable-gpu"])
        for theme in THEMES:
            preview, sealed = Path(tmp, theme, "preview"), Path(tmp, theme, "sealed")
            for folder, encrypt in ((preview, False), (sealed, True)):
                result = build(demo_config(folder, theme), BuildOptions(encrypt=encrypt, new_keystore=encrypt))
                if not result.ok:
                    print(f"{theme}: build failed: {result.failure}", file=sys.stderr)
                    return 1
            for name, (customer, page_name) in PAGES.items():
                root = sealed if name == "sign-in" else preview
                page_name = page_name or newest_order(root / "public" / customer)
                httpd, url = serve(root / "public")
                try:
                    phone = name.startswith("phone-")
                    page = browser.new_page(viewport=PHONE if phone else VIEWPORT, locale="en-GB")
                    page.goto(f"{url}/{customer}/{page_name}")
                    if name == "sign-in":
                        page.wait_for_selector("[data-gate-form]:not([hidden])")
                    target = args.out / f"{theme}-{name}.png"
                    page.screenshot(path=str(target))
                    page.close()
                    print(f"wrote {target.relative_to(REPO) if target.is_relative_to(REPO) else target}")
                finally:
                    httpd.shutdown()
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
