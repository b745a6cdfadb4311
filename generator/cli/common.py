"""What every command shares: the common options, exit codes, and the CI switch."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """What was asked cannot be done as asked (exit code 2); the message says why."""


def common_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        type=Path,
        default=Path("config.yaml"),
        metavar="PATH",
        help="the site's config file (default: ./config.yaml)",
    )
    loudness = common.add_mutually_exclusive_group()
    loudness.add_argument("-v", "--verbose", action="store_true", help="list every problem and every portal")
    loudness.add_argument("-q", "--quiet", action="store_true", help="print errors only")
    common.add_argument("--json", action="store_true", help="print a machine-readable report on stdout")
    return common


def add_new_keystore_option(parser: argparse.ArgumentParser) -> None:
    """`--new-keystore`, for the commands that may make the keystore (build, keys)."""
    parser.add_argument(
        "--new-keystore",
        action="store_true",
        help="create the keystore on purpose (a missing keystore is otherwise an error)",
    )


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"
