#!/usr/bin/env python3
"""`python build.py [args]` does what `portico build [args]` does, without installing the package."""

import sys

from generator.cli import build_main

if __name__ == "__main__":
    sys.exit(build_main())
