"""`portico serve`: build, serve on localhost, rebuild and reload open pages on change."""

from __future__ import annotations

import argparse
import threading

from rich.console import Console

from ...pipeline import BuildOptions, BuildResult
from ..common import EXIT_OK, EXIT_USAGE, in_ci
from ..report import print_problems


def add_to(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    serve = commands.add_parser(
        "serve",
        parents=[common],
        help="build, serve on localhost, rebuild and reload on change",
        description="Build, serve the output, watch config, export, themes and content, "
        "rebuild incrementally and reload open browser tabs.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument("--customer", action="append", metavar="ID", help="build only this customer (repeatable)")
    serve.add_argument("--no-encrypt", action="store_true", help="serve a plain preview build")
    serve.set_defaults(run=run)


def run(args: argparse.Namespace, console: Console) -> int:
    from ...dev.server import DevServer, serve  # here, so that the other commands start without the server

    options = BuildOptions(
        strict=False, only=set(args.customer) if args.customer else None, encrypt=not args.no_encrypt, in_ci=in_ci()
    )
    server = DevServer(args.config, options)

    def report(result: BuildResult) -> None:
        print_problems(result.problems, console, verbose=False, quiet=True)
        if not result.ok:
            console.print(f"[bold red]build failed:[/] {result.failure}", highlight=False)
        elif not result.noop:
            rendered = len(result.engine.rendered) if result.engine else 0
            console.print(f"[green]✓[/] built in {result.seconds:.2f} s ({rendered} file(s) rendered)", highlight=False)

    server.on_built = report
    httpd = watcher = None
    try:
        httpd, watcher = serve(server, args.host, args.port)
        if server.last is not None and server.last.usage_error:  # --customer named nobody: nothing to serve
            return EXIT_USAGE
        console.print(
            f"serving {server.output_dir} on http://{args.host}:{args.port}/ — watching for changes, Ctrl-C stops",
            highlight=False,
        )
        threading.Event().wait()
    except OSError as exc:
        console.print(f"[bold red]cannot listen on {args.host}:{args.port}:[/] {exc.strerror}", highlight=False)
        return EXIT_USAGE
    except KeyboardInterrupt:
        console.print("stopping")
    finally:
        if watcher is not None:
            watcher.stop()
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
    return EXIT_OK
