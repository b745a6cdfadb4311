"""Shared fixtures: small exports written into a temporary folder, and the bundled demo."""
from __future__ import annotations

import copy
import shutil
from pathlib import Path

import pytest
import yaml

from generator.build import BuildOptions, build
from generator.config import load_config

REPO = Path(__file__).resolve().parent.parent
DATASETS = REPO.parent / "shared" / "datasets"


def minimal_config(**exports) -> dict:
    """A config with customers and orders in CSV; tests override what they exercise."""
    base = {
        "site": {"name": "Test Supply", "as_of": "2026-06-30", "currency": "EUR"},
        "exports": {
            "folder": "export",
            "customers": {"file": "customers.csv", "columns": {"id": "id", "name": "name"}},
            "orders": {"file": "orders.csv", "group_by": "number",
                       "columns": {"number": "order", "customer": "customer", "date": "date"},
                       "lines": {"columns": {"sku": "sku", "quantity": "qty", "unit_price": "price"}}},
        },
        "themes_dir": str(REPO / "themes"),
        "content_dir": "content",
        "output": "public",
    }
    for name, value in exports.items():
        if value is None:
            base["exports"].pop(name, None)
        else:
            base["exports"][name] = value
    return base


class Site:
    """A throwaway site folder: write export files and config, then check or build it."""

    def __init__(self, root: Path):
        self.root = root
        (root / "export").mkdir(parents=True, exist_ok=True)

    def file(self, name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
        path = self.root / "export" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            content = content.encode(encoding)
        path.write_bytes(content)
        return path

    def config(self, raw: dict) -> Path:
        path = self.root / "config.yaml"
        path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
        return path

    def load(self, raw: dict | None = None):
        return load_config(self.config(copy.deepcopy(raw or minimal_config())))

    def build(self, raw: dict | None = None, strict: bool = False):
        return build(self.load(raw), BuildOptions(strict=strict))

    @property
    def public(self) -> Path:
        return self.root / "public"


@pytest.fixture
def site(tmp_path: Path) -> Site:
    return Site(tmp_path / "site")


@pytest.fixture(scope="session")
def demo_build(tmp_path_factory) -> Path:
    """The bundled demo, built once per session into a temporary folder."""
    out = tmp_path_factory.mktemp("demo") / "public"
    result = build(load_config(REPO / "config.yaml"), BuildOptions(strict=True, output_dir=out))
    assert result.ok, result.failure
    return out


@pytest.fixture(scope="session")
def northwind_build(tmp_path_factory) -> Path:
    if not (DATASETS / "northwind").is_dir():
        pytest.skip("../shared/datasets/northwind is not beside the repository")
    out = tmp_path_factory.mktemp("northwind") / "public"
    result = build(load_config(REPO / "examples/northwind/config.yaml"), BuildOptions(strict=True, output_dir=out))
    assert result.ok, result.failure
    return out


def copy_tree(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, driven by Playwright (never a downloaded browser build)."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.fail("Chromium is not installed: apt-get install -y chromium (.ci/run does this)")
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class StaticServer:
    """Serves a folder over HTTP on 127.0.0.1, as a CDN would."""

    def __init__(self, folder: Path):
        import functools
        import http.server
        import threading

        class Quiet(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args):
                pass

        handler = functools.partial(Quiet, directory=str(folder))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="session")
def demo_server(demo_build):
    server = StaticServer(demo_build)
    yield server
    server.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    tab.errors = errors
    yield tab
    context.close()
