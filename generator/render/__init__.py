"""Render the planned files: templates of a theme, in each customer's language and formats.

theme.py       a theme and the themes it extends: templates, static files, catalogues
assets.py      the shared static files, published under content-hashed names with SRI
i18n.py        translation catalogues, merged along the theme chain, English as the floor
formatting.py  money, numbers and dates for a locale (Babel, with a verified fast path)
rendered.py    a rendered file, and the `Sealer` it is handed to (identity for previews)
compiled.py    templates compiled once, handed to a later process
renderer.py    the renderer: planned file → bytes; a contact's e-mail → its subject, text and HTML
"""

from __future__ import annotations

from .assets import AssetError, AssetManifest, branding_files, collect_assets
from .rendered import RenderedFile, RenderedMessage, Sealer, Shell, Unsealed
from .renderer import Renderer, RenderError, SignInTexts
from .theme import ThemeError, load_theme

__all__ = [
    "AssetError",
    "AssetManifest",
    "RenderError",
    "RenderedFile",
    "RenderedMessage",
    "Renderer",
    "Sealer",
    "Shell",
    "SignInTexts",
    "ThemeError",
    "Unsealed",
    "branding_files",
    "collect_assets",
    "load_theme",
]
