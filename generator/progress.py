"""What long work tells its caller as it goes; the command line shows it as progress bars."""

from __future__ import annotations


class Progress:
    """Silent by default: a caller that wants to show progress overrides both."""

    def stage(self, name: str, total: int | None = None) -> None:
        pass

    def advance(self, amount: int = 1) -> None:
        pass
