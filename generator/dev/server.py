"""`portico serve`: build, serve the output on localhost, rebuild on change, reload the browser.

The server adds one script to every HTML response (`/__portico/reload.js`, same origin, so the
portals' Content-Security-Policy allows it); the output on disk stays exactly what `build`
writes. The script listens to server-sent events: `reload` after a rebuild, `css` when only
stylesheets changed (swapped without a reload), `error` with the message and file of a failed
build (shown as an overlay), `ok` when a build succeeds again. Requests wait while a build runs,
so no half-written file is ever served.
"""

from __future__ import annotations

import http.server
import json
import mimetypes
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import parse_qs, unquote, urlparse

from .. import pipeline
from ..config import Config, ConfigError, load_config
from ..incremental.session import Session
from ..output.state import STATE_DIR, SWITCHING
from ..pipeline import BuildOptions, BuildResult
from ..progress import Progress
from ..site import media_type

CLIENT = Path(__file__).with_name("reload.js")
RELOAD_TAG = '<script src="/__portico/reload.js?since={serial}"></script>'
DEBOUNCE_SECONDS = 0.3


@dataclass
class Events:
    """The latest build event, for every open browser tab to pick up."""

    condition: threading.Condition = field(default_factory=threading.Condition)
    serial: int = 0
    last: dict = field(default_factory=lambda: {"type": "ok"})

    def publish(self, event: dict) -> None:
        with self.condition:
            self.serial += 1
            self.last = event
            self.condition.notify_all()

    def wait(self, seen: int, timeout: float) -> tuple[int, dict | None]:
        with self.condition:
            self.condition.wait_for(lambda: self.serial != seen, timeout)
            return self.serial, (self.last if self.serial != seen else None)


def event_for(
    result: BuildResult, changed: set[Path] | None = None, previous_assets: dict[str, str] | None = None
) -> dict:
    if not result.ok:
        message = result.failure or "the build failed"
        return {"type": "error", "message": message, "file": message.split(":")[0]}
    rendered = result.engine.rendered if result.engine else []
    if rendered and changed and all(path.suffix == ".css" for path in changed):
        # stylesheets carry their hash in their name: tell open pages which names to swap
        swap = {
            PurePosixPath(old).name: PurePosixPath(result.assets[name]).name
            for name, old in (previous_assets or {}).items()
            if name in result.assets and result.assets[name] != old
        }
        return {"type": "css", "swap": swap}
    return {"type": "reload" if rendered or not result.noop else "ok"}


class DevServer:
    def __init__(self, config_path: Path, options: BuildOptions, progress: Progress | None = None):
        self.config_path = config_path
        self.options = options
        self.progress = progress or Progress()
        self.events = Events()
        self.ready = threading.Event()  # cleared while a build runs
        self.build_lock = threading.Lock()
        self.config: Config | None = None
        self.last: BuildResult | None = None
        self.on_built = lambda result: None
        self.session = Session()  # export edits rebuild only the customers they touch

    @property
    def output_dir(self) -> Path:
        return self.options.output_dir or self.config.output_dir

    def rebuild(self, changed: set[Path] | None = None) -> BuildResult | None:
        """`changed`: the files that changed since the last build, when known."""
        with self.build_lock:
            self.ready.clear()
            try:
                try:
                    self.config = load_config(self.config_path)
                except ConfigError as exc:
                    self.events.publish({"type": "error", "message": "; ".join(exc.problems), "file": str(exc.path)})
                    return None
                try:
                    result = self.session.build(self.config, self.options, self.progress)
                except Exception as exc:  # keep serving; show what broke
                    self.events.publish({"type": "error", "message": f"{exc.__class__.__name__}: {exc}", "file": ""})
                    traceback.print_exc()
                    return None
                previous_assets = self.last.assets if self.last else {}
                self.last = result
                self.events.publish(event_for(result, changed, previous_assets))
                self.on_built(result)
                return result
            finally:
                self.ready.set()

    def watched(self) -> list[Path]:
        config = self.config
        folders = [
            self.config_path.resolve().parent / "templates",
            config.export_dir,
            config.path(config.themes_dir),
            config.path(config.content_dir),
        ]
        return [self.config_path.resolve()] + [f for f in folders if f.is_dir()]


def site_folder(output_dir: Path, patience: float = 5.0) -> Path:
    """The output folder, whole: another build's swap or switch may be under way (wait for it); a
    build killed in the middle of one left what `recover_site` finishes or puts back."""
    deadline = time.monotonic() + patience
    while (not output_dir.is_dir() or (output_dir / SWITCHING).exists()) and time.monotonic() < deadline:
        if pipeline.recover_site(output_dir):
            break
        time.sleep(0.02)
    return output_dir.resolve()


def handler_for(server: DevServer):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            url = urlparse(self.path)
            path = unquote(url.path)
            if path == "/__portico/reload.js":
                return self.send(200, CLIENT.read_bytes(), "text/javascript; charset=utf-8")
            if path == "/__portico/events":
                since = parse_qs(url.query).get("since", [""])[0]
                return self.stream_events(int(since) if since.isdigit() else None)
            server.ready.wait(timeout=300)  # never serve a half-written build
            self.send_file(path)

        def send_file(self, path: str) -> None:
            root = site_folder(server.output_dir)
            target = (root / path.lstrip("/")).resolve()
            if target.is_dir():
                if not path.endswith("/"):
                    return self.redirect(path + "/")
                target = target / "index.html"
            inside = target.is_relative_to(root) and STATE_DIR not in target.relative_to(root).parts
            if not inside or not target.is_file():
                page = root / "404.html"
                body = page.read_bytes() if page.is_file() else b"not found"
                return self.send(404, self.with_reload(body), "text/html; charset=utf-8")
            body = target.read_bytes()
            kind = media_type(target.name) if target.suffix else (mimetypes.guess_type(target.name)[0] or "")
            if kind.startswith("text/html"):
                body = self.with_reload(body)
            self.send(200, body, kind or "application/octet-stream")

        @staticmethod
        def with_reload(body: bytes) -> bytes:
            """The page learns which build it comes from, so no event after it can be missed."""
            tag = RELOAD_TAG.format(serial=server.events.serial).encode()
            head, marker, tail = body.rpartition(b"</body>")
            return head + tag + marker + tail if marker else body + tag

        def redirect(self, location: str) -> None:
            self.send_response(301)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def send(self, status: int, body: bytes, kind: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def stream_events(self, since: int | None) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            seen = server.events.serial
            current = server.events.last
            try:
                # a build finished since the page was served, or the page sits on a broken build
                if (since is not None and since != seen) or current["type"] == "error":
                    self.wfile.write(f"data: {json.dumps(current)}\n\n".encode())
                    self.wfile.flush()
                while True:
                    seen, event = server.events.wait(seen, timeout=15)
                    message = f"data: {json.dumps(event)}\n\n" if event else ": keep-alive\n\n"
                    self.wfile.write(message.encode())
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError, OSError):
                return

    return Handler


class ChangeWatcher:
    """Watches the inputs with watchdog and rebuilds once a burst of changes has settled."""

    def __init__(self, server: DevServer):
        from watchdog.events import FileSystemEventHandler
        from watchdog.observers import Observer

        self.server = server
        self.observer = Observer()
        self.changed = threading.Event()
        self.paths: set[Path] = set()
        self.paths_lock = threading.Lock()
        watcher = self

        class OnChange(FileSystemEventHandler):
            def on_any_event(self, event) -> None:
                if event.event_type in ("opened", "closed_no_write"):
                    return
                path = Path(str(event.src_path))
                output = server.output_dir
                if path.is_relative_to(output) or path.name.startswith((".", "~")) or "/." in str(path):
                    return
                with watcher.paths_lock:
                    if not event.is_directory:  # a folder's own "modified" says nothing new
                        watcher.paths.add(path)
                        if getattr(event, "dest_path", None):
                            watcher.paths.add(Path(str(event.dest_path)))
                watcher.changed.set()

        handler = OnChange()
        for place in server.watched():
            self.observer.schedule(handler, str(place if place.is_dir() else place.parent), recursive=place.is_dir())
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def start(self) -> None:
        self.observer.start()
        self.thread.start()

    def loop(self) -> None:
        while True:
            self.changed.wait()
            while self.changed.is_set():  # debounce: wait until nothing changed for a moment
                self.changed.clear()
                time.sleep(DEBOUNCE_SECONDS)
            with self.paths_lock:
                changed, self.paths = self.paths, set()
            self.server.rebuild(changed)

    def stop(self) -> None:
        self.observer.stop()
        self.observer.join(timeout=5)


def serve(server: DevServer, host: str, port: int) -> tuple[http.server.ThreadingHTTPServer, ChangeWatcher]:
    """Build once, then serve and watch in the background; the caller waits and stops them."""
    server.rebuild()
    if server.config is None:
        raise ConfigError(server.config_path, ["config.yaml could not be read; fix it and start again"])
    httpd = http.server.ThreadingHTTPServer((host, port), handler_for(server))  # a busy port fails here, first
    httpd.daemon_threads = True
    watcher = ChangeWatcher(server)
    try:
        watcher.start()  # watching before anyone is served: a change made after the first page is seen
    except BaseException:  # Ctrl-C while the watches are set up: leave nothing behind
        httpd.server_close()
        raise
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, watcher
