"""Shared fixtures: small exports written into a temporary folder, and the bundled demo."""

from __future__ import annotations

import copy
import email
import logging
import os
import re
import socket
import subprocess
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from email import policy
from pathlib import Path

import boto3
import pytest
import yaml
from aiosmtpd.controller import Controller

from generator.config import load_config, parse_config
from generator.pipeline import BuildOptions, build
from generator.progress import Progress
from generator.render.compiled import CompiledTemplates
from generator.seal.keystore import read_keystore
from generator.seal.slots import UNSAFE_TEST_ITERATIONS_ENV

REPO = Path(__file__).resolve().parent.parent
DATASETS = REPO.parent / "shared" / "datasets"

# Key slots in tests use a cheap KDF so builds take milliseconds; the one test that checks the
# real cost clears this. Builds made with it say UNSAFE in their notices.
os.environ[UNSAFE_TEST_ITERATIONS_ENV] = "1000"


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    """What publish remembers about stores goes to a folder of the test's own, never ~/.cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))


def static_file(public: Path, name: str) -> str:
    """The published path of a static file, whose name carries a hash of its bytes."""
    stem, _, suffix = name.rpartition(".")
    pattern = re.compile(re.escape(stem) + r"\.[0-9a-f]{10}\." + re.escape(suffix))
    found = [p.name for p in (public / "_static").iterdir() if pattern.fullmatch(p.name)]
    assert len(found) == 1, f"{name}: {found}"
    return f"_static/{found[0]}"


DIRECT_LINK = re.compile(r"/([a-z2-7]{16})/(?:\?p=([a-z2-7]{16}))?#k=([A-Za-z0-9_-]{43})")


def blob_url(page_url: str) -> str:
    """Where the page an address names is published: `<portal>/?p=<name>` at `<portal>/<name>.bin`,
    the portal's own address at `<portal>/index.bin`."""
    base, _, query = page_url.partition("#")[0].partition("?")
    page = re.fullmatch(r"p=([a-z2-7]{16})", query)
    return base.rsplit("/", 1)[0] + "/" + (f"{page[1]}.bin" if page else "index.bin")


def direct_link_parts(url: str) -> tuple[str, str, str]:
    """A direct link's portal folder, the blob its page is published as, and its key (base64url)."""
    slug, page, key = DIRECT_LINK.search(url).groups()
    return slug, f"{page}.bin" if page else "index.bin", key


def aging_bucket(days_past_due: int) -> str:
    """The aging bucket a balance so many days past due is in, written out independently of Portico's."""
    for bucket, last_day in (("current", 0), ("1-30", 30), ("31-60", 60), ("61-90", 90)):
        if days_past_due <= last_day:
            return bucket
    return "over-90"


def minimal_config(**exports) -> dict:
    """A config with customers and orders in CSV; tests override what they exercise."""
    base = {
        "site": {"name": "Test Supply", "as_of": "2026-06-30", "currency": "EUR"},
        "exports": {
            "folder": "export",
            "customers": {"file": "customers.csv", "columns": {"id": "id", "name": "name"}},
            "orders": {
                "file": "orders.csv",
                "group_by": "number",
                "columns": {"number": "order", "customer": "customer", "date": "date"},
                "lines": {"columns": {"sku": "sku", "quantity": "qty", "unit_price": "price"}},
            },
        },
        "themes_dir": str(REPO / "themes"),
        "content_dir": "content",
        "output": "public",
        "portal": {"slug": "id"},
        "gate": {"keystore": "keystore/keystore.json"},
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

    def build(self, raw: dict | None = None, strict: bool = False, encrypt: bool = False, session=None, **options):
        """A plain preview build by default; `encrypt=True` for the gate; `session` as `portico serve` keeps one."""
        config, build_options = self.load(raw), BuildOptions(strict=strict, encrypt=encrypt, **options)
        return session.build(config, build_options) if session is not None else build(config, build_options)

    @property
    def public(self) -> Path:
        return self.root / "public"


class SavedAt(Progress):
    """Staff saving a new export file while a command is at one of its stages (it has read the
    export, and is still working from what it read)."""

    def __init__(self, site: Site, stage: str, name: str, content: str):
        self.site, self.at, self.name, self.content, self.saved = site, stage, name, content, False

    def stage(self, name: str, total: int | None = None) -> None:
        if name == self.at and not self.saved:
            self.site.file(self.name, self.content)
            self.saved = True


@pytest.fixture
def site(tmp_path: Path) -> Site:
    return Site(tmp_path / "site")


def demo_config(folder: Path, **overrides):
    """The bundled demo's config, with paths made absolute and the keystore in `folder`."""
    raw = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    raw["exports"]["folder"] = str(REPO / raw["exports"]["folder"])
    raw.update(themes_dir=str(REPO / "themes"), content_dir=str(REPO / "content"), output=str(folder / "public"))
    raw["gate"] = {**raw.get("gate", {}), "keystore": str(folder / "keystore.json")}
    if raw["site"].get("logo"):
        raw["site"]["logo"] = str(REPO / raw["site"]["logo"])
    for key, value in overrides.items():
        raw[key] = {**raw.get(key, {}), **value} if isinstance(value, dict) else value
    return parse_config(raw, folder / "config.yaml")


def demo_cli(folder: Path, smtp_port: int, export: Path | None = None):
    """`portico` as staff run it: a process with a config.yaml in `folder` (the demo's, with its
    export, or a copy at `export`; output, keystore and a folder target in `folder`; e-mail to a
    local SMTP server). Returns a function that runs one command and its completed process."""
    raw = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    raw["exports"]["folder"] = str(export or REPO / raw["exports"]["folder"])
    raw["site"]["logo"] = str(REPO / raw["site"]["logo"])
    raw.update(themes_dir=str(REPO / "themes"), content_dir=str(REPO / "content"), output=str(folder / "public"))
    raw["gate"] = {"keystore": str(folder / "keystore.json")}
    raw["publish"] = {"target": str(folder / "www")}
    raw["mail"] = {"smtp": {"host": "127.0.0.1", "port": smtp_port, "security": "none"}, "attempts": 1}
    (folder / "config.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    environment = {UNSAFE_TEST_ITERATIONS_ENV: "1000", "CI": "", "PATH": "/usr/bin:/bin"}

    def portico(*args):
        done = subprocess.run(
            [sys.executable, "-m", "generator", *args, "--config", str(folder / "config.yaml")],
            capture_output=True,
            text=True,
            env=environment,
            cwd=REPO,
            timeout=300,
        )
        assert "Traceback" not in done.stderr, done.stderr
        return done

    return portico


@pytest.fixture(scope="session")
def demo_build(tmp_path_factory) -> Path:
    """The bundled demo as a plain preview, portals named by customer id, built once per session."""
    folder = tmp_path_factory.mktemp("demo")
    result = build(demo_config(folder, portal={"slug": "id"}), BuildOptions(strict=True, encrypt=False))
    assert result.ok, result.failure
    return folder / "public"


@pytest.fixture(scope="session")
def encrypted_demo(tmp_path_factory) -> Path:
    """The bundled demo, encrypted with opaque names; its keystore.json is beside the public folder."""
    folder = tmp_path_factory.mktemp("encrypted-demo")
    result = build(demo_config(folder), BuildOptions(strict=True, new_keystore=True))
    assert result.ok, result.failure
    return folder / "public"


@pytest.fixture(scope="session")
def northwind_build(tmp_path_factory) -> Path:
    if not (DATASETS / "northwind").is_dir():
        pytest.skip("../shared/datasets/northwind is not beside the repository")
    out = tmp_path_factory.mktemp("northwind") / "public"
    raw = yaml.safe_load((REPO / "examples/northwind/config.yaml").read_text(encoding="utf-8"))
    raw["portal"]["slug"] = "id"
    config = parse_config(raw, REPO / "examples/northwind/config.yaml")
    result = build(config, BuildOptions(strict=True, output_dir=out, encrypt=False))
    assert result.ok, result.failure
    return out


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def playwright():
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.fail("Chromium is not installed: apt-get install -y chromium (.ci/run does this)")
    with playwright_api.sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright):
    """Debian's Chromium, driven by Playwright (never a downloaded browser build)."""
    chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
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

            def end_headers(self):
                self.send_header("Cache-Control", "no-cache")  # what a publish sets for pages: revalidate
                super().end_headers()

            def send_head(self):
                # Revalidation by date has one-second resolution: a rebuild within the same second
                # would be answered 304 with the old page. A CDN compares ETags; here, always send.
                del self.headers["If-Modified-Since"]
                return super().send_head()

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


@dataclass
class DemoPortal:
    entry: str  # the portal's address
    email: str  # its first contact's
    password: str


@contextmanager
def served_demo_portal(folder: Path, customer: str = "C1001", **overrides):
    """The demo built encrypted (config `overrides` as for demo_config) and served over HTTP: one
    customer's portal address, and the e-mail and password of its first contact."""
    config = demo_config(folder, **overrides)
    result = build(config, BuildOptions(strict=True, new_keystore=True))
    assert result.ok, result.failure
    address, contact = sorted(read_keystore(folder / "keystore.json").customers[customer].contacts.items())[0]
    slug = next(p.slug for p in result.portals if p.customer_id == customer)
    server = StaticServer(folder / "public")
    try:
        yield DemoPortal(f"{server.url}/{slug}/", address, contact.password)
    finally:
        server.close()


def sign_in_by_form(page, url: str, email: str, password: str) -> None:
    """Open a portal's address and sign in as a contact does, through the form; returns once the
    sign-in is submitted (the caller waits for what it expects next)."""
    page.goto(url)
    page.wait_for_selector("[data-gate-form]:not([hidden])")
    page.fill("#gate-email", email)
    page.fill("#gate-password", password)
    page.click("[data-gate-form] button[type=submit]")


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


# -- a real S3 endpoint: moto's server over HTTP --------------------------------------------------


@pytest.fixture(scope="session")
def s3_endpoint():
    from moto.server import ThreadedMotoServer

    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_ACCESS_KEY_ID", "testing")
        env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        env.setenv("AWS_DEFAULT_REGION", "us-east-1")
        for name in ("AWS_PROFILE", "PORTICO_PUBLISH_TARGET", "PORTICO_PUBLISH_ENDPOINT_URL"):
            env.delenv(name, raising=False)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
        server.stop()


@pytest.fixture
def s3(s3_endpoint, request):
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    bucket = "portals-" + request.node.name.lower().replace("_", "-")[:40]
    client.create_bucket(Bucket=bucket)
    return client, bucket


# -- a real SMTP server (aiosmtpd on 127.0.0.1) -------------------------------------------------


class Inbox:
    """An SMTP server's handler that keeps every message, and refuses some recipients for a while."""

    def __init__(self):
        self.messages: list[tuple[list[str], bytes]] = []
        self.busy: set[str] = set()  # answered "451 try again later"
        self.guard = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.busy:
            return "451 4.3.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.guard:
            self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"

    def parsed(self) -> list[email.message.EmailMessage]:
        return [email.message_from_bytes(raw, policy=policy.default) for _, raw in self.messages]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp():
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


def count_compiled(monkeypatch, log: Path):
    """Every template compiled from now on, in this process and the processes it forks (they write
    to `log`), by Jinja's key: a function that lists them."""
    dump = CompiledTemplates.dump_bytecode

    def counted(self, bucket):
        with open(log, "a") as out:
            out.write(f"{bucket.key}\n")
        return dump(self, bucket)

    monkeypatch.setattr(CompiledTemplates, "dump_bytecode", counted)
    return lambda: log.read_text().split()
