"""Find a theme and the themes it extends: templates, static files, stylesheets and catalogues.

A theme is a folder:

    themes/harbour/
        theme.yaml          # name, extends: default, css: [harbour.css]
        templates/          # only the templates it changes
        static/             # only the files it adds or replaces
        locales/<lang>/LC_MESSAGES/messages.po   # only the strings it changes

Templates are looked up in the site's own `templates/` folder first, then in the theme, then
in each parent; a template can reach a parent's version of itself explicitly by prefixing the
parent's name (`{% extends "default/base.html" %}`). Static files and catalogues merge the
same way: the nearest theme that has a file or a string wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from jinja2 import BaseLoader, ChoiceLoader, FileSystemLoader, PrefixLoader
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..config import Config


class ThemeError(Exception):
    pass


class ThemeManifest(BaseModel):
    """A theme's `theme.yaml`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = None
    extends: str | None = None
    css: list[str] = Field(default_factory=list)


@dataclass(frozen=True)
class ThemeFolder:
    """One theme of the chain, on its own."""

    name: str
    folder: Path
    manifest: ThemeManifest

    @property
    def templates(self) -> Path:
        return self.folder / "templates"

    @property
    def static(self) -> Path:
        return self.folder / "static"

    @property
    def locales(self) -> Path:
        return self.folder / "locales"


@dataclass(frozen=True)
class Theme:
    name: str
    chain: tuple[ThemeFolder, ...]  # the theme first, then its parent, grandparent, ...
    overrides: Path | None  # the site's own templates folder, searched before any theme

    @property
    def template_dirs(self) -> tuple[Path, ...]:
        dirs = tuple(t.templates for t in self.chain if t.templates.is_dir())
        return ((self.overrides,) if self.overrides else ()) + dirs

    @property
    def folders(self) -> tuple[Path, ...]:
        """Every folder whose files make the theme (for watching and fingerprinting inputs)."""
        return ((self.overrides,) if self.overrides else ()) + tuple(t.folder for t in self.chain)

    def loader(self) -> BaseLoader:
        by_name = PrefixLoader({t.name: FileSystemLoader(str(t.templates)) for t in self.chain})
        return ChoiceLoader([FileSystemLoader([str(d) for d in self.template_dirs]), by_name])

    def assets(self) -> dict[str, Path]:
        """Static files by their path under `static/`; a theme's file replaces its parent's."""
        found: dict[str, Path] = {}
        for theme in reversed(self.chain):
            if theme.static.is_dir():
                found.update(
                    {p.relative_to(theme.static).as_posix(): p for p in sorted(theme.static.rglob("*")) if p.is_file()}
                )
        return dict(sorted(found.items()))

    def stylesheets(self) -> list[str]:
        """The stylesheets every page links, the root theme's first."""
        sheets: list[str] = []
        for theme in reversed(self.chain):
            sheets += [css for css in theme.manifest.css if css not in sheets]
        return sheets

    def locale_dirs(self) -> list[Path]:
        """Catalogue folders, nearest theme first (its strings win)."""
        return [t.locales for t in self.chain if t.locales.is_dir()]


def read_theme_folder(themes_dir: Path, name: str) -> ThemeFolder:
    folder = themes_dir / name
    if not folder.is_dir():
        raise ThemeError(f"theme {name!r}: no folder {folder}")
    manifest_path = folder / "theme.yaml"
    manifest = ThemeManifest()
    if manifest_path.is_file():
        try:
            manifest = ThemeManifest.model_validate(yaml.safe_load(manifest_path.read_text(encoding="utf-8")) or {})
        except yaml.YAMLError as exc:
            raise ThemeError(f"{manifest_path}: not valid YAML: {exc}") from None
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise ThemeError(f"{manifest_path}: {problems}") from None
    if not (folder / "templates").is_dir() and manifest.extends is None:
        raise ThemeError(f"theme {name!r}: no folder {folder / 'templates'} and it extends no other theme")
    return ThemeFolder(name, folder, manifest)


def load_theme(config: Config) -> Theme:
    themes_dir = config.path(config.themes_dir)
    chain: list[ThemeFolder] = []
    name: str | None = config.theme
    while name is not None:
        if any(t.name == name for t in chain):
            cycle = " → ".join([t.name for t in chain] + [name])
            raise ThemeError(f"themes extend each other in a circle: {cycle}")
        theme = read_theme_folder(themes_dir, name)
        chain.append(theme)
        name = theme.manifest.extends
    overrides = config.root / "templates"
    return Theme(config.theme, tuple(chain), overrides if overrides.is_dir() else None)
