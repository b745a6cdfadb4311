"""`python -m generator`, and the `portico` command."""

import gc


def run() -> None:
    """Import the program with the garbage collector off, then run it: importing makes a few
    hundred thousand objects and no garbage, and collecting among them is a tenth of the start."""
    gc.disable()
    from .cli import entry

    gc.enable()
    entry()


if __name__ == "__main__":
    run()
