#!/usr/bin/env python3
"""`python build.py [args]` does what `portico build [args]` does, without installing the package."""

from generator.cli import build_main, exit_now

if __name__ == "__main__":
    exit_now(build_main())
