"""`portico` on the command line: argument parsing, progress, summaries, exit codes.

Exit codes: 0 ok; 1 the export or the build failed; 2 the command or config.yaml is wrong.
With `--json`, stdout carries one JSON document and everything for people goes to stderr.

    common.py     the options every command shares, exit codes
    commands/     one module per command: its parser and what it does
    progress.py   progress bars on a terminal
    report.py     problems, summaries and JSON reports
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from rich.console import Console

from .. import __version__
from ..config import ConfigError
from ..locks import LockHeld
from ..problems import describe_os_error
from ..seal import KeystoreError
from ..seal.manage import StaffError
from .commands import COMMANDS
from .common import EXIT_FAILED, EXIT_USAGE, UsageError, common_options
from .report import report_config_error


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="portico", description="Private static customer portals from an ERP export.")
    top.add_argument("--version", action="version", version=f"portico {__version__}")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = common_options()
    for command in COMMANDS:
        command.add_to(commands, common)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    console = Console(stderr=True, soft_wrap=True)
    try:
        code = args.run(args, console)
        sys.stdout.flush()
        return code
    except BrokenPipeError:  # the reader went away (`portico passwords list --json | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED
    except ConfigError as exc:
        return report_config_error(exc, args, console)
    except UsageError as exc:
        console.print(f"[bold red]error:[/] {exc}", highlight=False)
        return EXIT_USAGE
    except (StaffError, KeystoreError, LockHeld) as exc:
        console.print(f"[bold red]error:[/] {exc}", highlight=False)
        return EXIT_FAILED
    except OSError as exc:  # the disk, not the program: say which file and why, never a traceback
        console.print(f"[bold red]error:[/] {describe_os_error(exc)}", highlight=False)
        return EXIT_FAILED


def build_main() -> int:
    """`python build.py [args]`: the same as `portico build [args]`."""
    return main(["build", *sys.argv[1:]])


def entry() -> NoReturn:
    """The `portico` command (and `python -m generator`)."""
    exit_now(main())


def exit_now(code: int) -> NoReturn:
    """End the process as soon as its output is out: the memory a build held goes back to the system
    at once, rather than being freed object by object (half a million objects after a quick rebuild
    of Online Retail: a fifth of a second). Nothing of ours waits for the interpreter's exit: every
    file is written and closed, every worker has ended, before a command returns."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a reader that went away, a stream already closed
            stream.flush()
    os._exit(code)
