"""Find a theme's templates and static files; site-level overrides come first."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .config import Config


class ThemeError(Exception):
    pass


@dataclass(frozen=True)
class Theme:
    name: str
    template_dirs: tuple[Path, ...]  # searched in order: site overrides, then the theme
    static_dir: Path

    def assets(self) -> dict[str, Path]:
        """Static files by their path under the theme's static folder."""
        if not self.static_dir.is_dir():
            return {}
        return {p.relative_to(self.static_dir).as_posix(): p
                for p in sorted(self.static_dir.rglob("*")) if p.is_file()}


def load_theme(config: Config) -> Theme:
    folder = config.path(config.themes_dir) / config.theme
    if not (folder / "templates").is_dir():
        raise ThemeError(f"theme {config.theme!r}: no folder {folder / 'templates'}")
    overrides = config.root / "templates"
    dirs = ((overrides,) if overrides.is_dir() else ()) + (folder / "templates",)
    return Theme(config.theme, dirs, folder / "static")
