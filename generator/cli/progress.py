"""Progress on a terminal: a Rich progress bar per stage of long work, on stderr."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress

from ..progress import Progress


class BarProgress(Progress):
    """Rich progress bars on stderr, one task per stage."""

    def __init__(self, console: Console):
        self.bars = RichProgress(
            TextColumn("{task.description:<20}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self.task = None

    def __enter__(self) -> BarProgress:
        self.bars.start()
        return self

    def __exit__(self, *exc) -> None:
        self.bars.stop()

    def stage(self, name: str, total: int | None = None) -> None:
        if self.task is not None:
            self.bars.update(self.task, total=self.bars.tasks[self.task].completed)
        self.task = self.bars.add_task(name, total=total)

    def advance(self, amount: int = 1) -> None:
        if self.task is not None and amount:
            self.bars.advance(self.task, amount)


class QuietProgress(Progress):
    def __enter__(self) -> QuietProgress:
        return self

    def __exit__(self, *exc) -> None:
        pass


def progress_for(args: argparse.Namespace, console: Console) -> BarProgress | QuietProgress:
    if console.is_terminal and not args.quiet and not args.json:
        return BarProgress(console)
    return QuietProgress()
