"""A rendered file, and the `Sealer` it is handed to before it is written.

The renderer knows only this protocol: a sealer names a portal's files (links between pages go
through `href`, so published names may be opaque) and wraps each rendered file (the seal stage
encrypts it into a shell page or a blob). `Unsealed` leaves both as they are, for previews.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ..site import Portal

Shell = Callable[[dict], str]  # renders the page around a sealed payload (the same for every portal)


@dataclass(slots=True)
class RenderedFile:
    portal: Portal | None
    path: str
    data: bytes
    media_type: str
    entry: bool = False  # the portal's entry page
    links: tuple[str, ...] = ()  # output paths of the site's files it links to (set by `Renderer.make`)
    random: bool = False  # random bytes (a decoy): deflate would only spend time finding that out
    shell: bool = False  # a portal's entry shell, its one public page (the gate makes its bytes)
    payment_sizes: bool = False  # sealed in the sizes of pages that may show payment (seal/padding.py)

    @property
    def output_path(self) -> str:
        return f"{self.portal.slug}/{self.path}" if self.portal else self.path


@dataclass(frozen=True)
class RenderedMessage:
    """An e-mail's words: one subject line, a plain-text part and an HTML part."""

    subject: str
    text: str
    html: str


class Sealer(Protocol):
    def href(self, portal: Portal | None, logical: str) -> str:
        """How a page links another file of the same portal."""

    def stored(self, portal: Portal | None, logical: str) -> str:
        """Where that file is stored, relative to the portal's folder: what a publish uploads before the page."""

    def seal(self, rendered: RenderedFile, shell: Shell) -> RenderedFile:
        """The file as it is published."""

    def shared(self, logical: str) -> tuple[str, str | None]:
        """A file several portals read: its published path, and the key a page opens it with (if any)."""


class Unsealed:
    """Plain files under their logical names: a preview for staff."""

    def href(self, portal: Portal | None, logical: str) -> str:
        return logical

    def stored(self, portal: Portal | None, logical: str) -> str:
        return logical.partition("#")[0].partition("?")[0]

    def seal(self, rendered: RenderedFile, shell: Shell) -> RenderedFile:
        return rendered

    def shared(self, logical: str) -> tuple[str, str | None]:
        return logical, None
