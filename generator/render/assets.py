"""The site's shared static files, published under content-hashed names with SRI hashes.

Every asset a page links (the theme's CSS, JS and icons, the logos, favicons and stylesheets
named in branding settings, and one small stylesheet per distinct set of brand colours) gets
a name with a hash of its bytes in it (`portico.3fa9c0e12b.css`), so a CDN may cache it for a
year and a changed file is a new URL. Pages link them with `integrity="sha384-..."`, so a
browser refuses a file that is not the one the page was built with.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..config import Branding, Config

ASSETS = "_static"  # the site folder of the shared static files


class AssetError(Exception):
    pass


@dataclass(frozen=True)
class Asset:
    name: str  # how templates ask for it: a theme path (`portico.css`) or `file:<path>`, `colors:<digest>`
    path: str  # published path, relative to the site root: `_static/portico.3fa9c0e12b.css`
    data: bytes
    integrity: str  # `sha384-<base64>`


def fingerprinted(filename: str, data: bytes) -> str:
    """`css/portico.css` → `css/portico.<10 hex>.css`."""
    path = PurePosixPath(filename)
    digest = hashlib.sha256(data).hexdigest()[:10]
    return str(path.with_name(f"{path.stem}.{digest}{path.suffix}"))


def integrity(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode("ascii")


def colour_stylesheet(colors: dict[str, str]) -> bytes:
    """Brand colours as custom properties in a file (the CSP allows no inline styles)."""
    lines = "".join(f"  --{name}: {value.strip()};\n" for name, value in sorted(colors.items()))
    return f":root {{\n{lines}}}\n".encode()


def colors_key(colors: dict[str, str]) -> str:
    return "colors:" + hashlib.sha256(colour_stylesheet(colors)).hexdigest()[:16]


def file_key(relative: str) -> str:
    return f"file:{relative}"


class AssetManifest:
    def __init__(self) -> None:
        self.assets: dict[str, Asset] = {}

    def add(self, name: str, filename: str, data: bytes) -> None:
        path = f"{ASSETS}/{fingerprinted(filename, data)}"
        self.assets[name] = Asset(name, path, data, integrity(data))

    def __getitem__(self, name: str) -> Asset:
        try:
            return self.assets[name]
        except KeyError:
            raise AssetError(f"no static file {name!r} in the theme or the branding settings") from None

    def __contains__(self, name: str) -> bool:
        return name in self.assets

    def files(self) -> dict[str, bytes]:
        """Every asset's bytes by its published path (two names may share one file)."""
        return {asset.path: asset.data for asset in self.assets.values()}

    def published(self) -> dict[str, str]:
        """Logical name → published path (the dev server tells a page which names changed)."""
        return {name: asset.path for name, asset in self.assets.items()}


def branding_files(branding: Branding) -> list[tuple[str, str]]:
    """(config key, path) of every file a branding layer names."""
    files = [("branding.extra_css", css) for css in branding.extra_css]
    if branding.logo not in ("company", "none"):
        files.append(("branding.logo", branding.logo))
    if branding.favicon:
        files.append(("branding.favicon", branding.favicon))
    return files


def collect_assets(config: Config, theme_assets: dict[str, Path]) -> AssetManifest:
    manifest = AssetManifest()
    for name, path in theme_assets.items():
        manifest.add(name, name, path.read_bytes())
    named = [("site.logo", config.site.logo)] if config.site.logo else []
    for settings in config.all_settings():
        named += branding_files(settings.branding)
        if settings.branding.colors:
            colors = settings.branding.colors
            manifest.add(colors_key(colors), "colors.css", colour_stylesheet(colors))
    for key, relative in named:
        source = config.path(relative)
        if not source.is_file():
            raise AssetError(f"{key}: file {source} not found")
        manifest.add(file_key(relative), PurePosixPath(relative).name, source.read_bytes())
    return manifest
