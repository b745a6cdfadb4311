"""Render planned files into bytes: Jinja2 templates, CSV tables, copied files.

The renderer knows nothing of encryption or of where files go. Links between pages are made
through `href`, a function the build hands in, so a later stage may rename files (opaque
names) without a template changing.
"""
from __future__ import annotations

import gettext
import mimetypes
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateError, select_autoescape
from markupsafe import Markup

from . import tables
from .config import Config
from .formatting import Formatter
from .plan import ASSETS, COPY, CSV, PAGE, PATHS, PlannedFile, Portal
from .theme import Theme

MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".csv": "text/csv; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".ico": "image/x-icon",
    ".pdf": "application/pdf",
    ".woff2": "font/woff2",
}

STATE_LABELS = {
    "received": tables.N_("Received"), "confirmed": tables.N_("Confirmed"),
    "in_production": tables.N_("In production"), "shipped": tables.N_("Shipped"),
    "delivered": tables.N_("Delivered"), "cancelled": tables.N_("Cancelled"),
    "open": tables.N_("Open"), "paid": tables.N_("Paid"), "overdue": tables.N_("Overdue"),
    "void": tables.N_("Void"), "credit_note": tables.N_("Credit note"),
    "accepted": tables.N_("Accepted"), "declined": tables.N_("Declined"), "expired": tables.N_("Expired"),
    "pending": tables.N_("Pending"), "in_transit": tables.N_("In transit"), "returned": tables.N_("Returned"),
}


def media_type(path: str) -> str:
    suffix = PurePosixPath(path).suffix.lower()
    return MEDIA_TYPES.get(suffix) or mimetypes.guess_type(path)[0] or "application/octet-stream"


class RenderError(Exception):
    """A template failed; the message names the template and the line."""


def template_location(exc: TemplateError, fallback: str) -> str:
    """'file.html, line N' of the innermost template frame (Jinja keeps them in the traceback)."""
    if getattr(exc, "filename", None) and getattr(exc, "lineno", None):
        return f"{exc.filename}, line {exc.lineno}"
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.endswith((".html", ".txt", ".xml"))]
    if frames:
        return f"{frames[-1].filename}, line {frames[-1].lineno}"
    return fallback


@dataclass(slots=True)
class RenderedFile:
    portal: Portal | None
    path: str
    data: bytes
    media_type: str

    @property
    def output_path(self) -> str:
        return f"{self.portal.slug}/{self.path}" if self.portal else self.path


def logo_asset(config: Config) -> str | None:
    """The logo's name among the site's assets (the build copies it there)."""
    return f"logo{PurePosixPath(config.site.logo).suffix.lower()}" if config.site.logo else None


def identity_href(portal: Portal | None, path: str) -> str:
    return path


def content_security_policy(config: Config) -> str:
    """No external scripts, nothing inline that runs; forms only to the configured channel."""
    form_targets = "'self' mailto:"
    if config.actions.channel == "form" and config.actions.form_url:
        form_targets += " " + config.actions.form_url
    return ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
            f"connect-src 'self'; font-src 'self'; form-action {form_targets}; base-uri 'none'; object-src 'none'")


class Renderer:
    def __init__(self, config: Config, theme: Theme,
                 href: Callable[[Portal | None, str], str] = identity_href, preview: bool = False):
        self.config = config
        self.href = href
        self.env = Environment(
            loader=FileSystemLoader([str(d) for d in theme.template_dirs]),
            autoescape=select_autoescape(["html"]),
            extensions=["jinja2.ext.i18n"],
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        self.translations = gettext.NullTranslations()  # the language catalogues plug in here
        self.env.install_gettext_callables(self.translations.gettext, self.translations.ngettext, newstyle=True)
        self.env.globals.update(site=config.site, portal_config=config.portal, actions=config.actions,
                                state_label=lambda s: STATE_LABELS.get(s, s), preview=preview,
                                gate_config=config.gate, csp=content_security_policy(config),
                                logo=logo_asset(config))
        self._formatters: dict[tuple[str, str], Formatter] = {}
        self._fragments: dict[tuple[str, str], Markup] = {}

    def formatter(self, language: str, currency: str) -> Formatter:
        key = (language, currency)
        if key not in self._formatters:
            self._formatters[key] = Formatter(language, currency)
        return self._formatters[key]

    def render(self, planned: PlannedFile) -> RenderedFile:
        if planned.kind == PAGE:
            data = self.render_page(planned).encode("utf-8")
        elif planned.kind == CSV:
            data = tables.to_csv(planned.table)
        elif planned.kind == COPY:
            data = planned.source.read_bytes()
        else:
            raise AssertionError(planned.kind)
        return RenderedFile(planned.portal, planned.path, data, media_type(planned.path))

    def render_page(self, planned: PlannedFile) -> str:
        portal = planned.portal
        extra = {"link": lambda target: self._link(portal, planned, target), "page_path": planned.path}
        return self.render_template(planned.template, portal, {**(planned.context or {}), **extra},
                                    planned.output_path)

    def state_badge(self, key: str) -> Markup:
        """A state as a badge; a helper rather than a macro, as lists show one on every row."""
        label = self.translations.gettext(STATE_LABELS.get(key, key))
        return Markup('<span class="state state-{}">{}</span>').format(key, label)

    def fragment(self, template: str, language: str) -> Markup:
        """A template that depends on nothing but the language, rendered once per language."""
        key = (template, language)
        if key not in self._fragments:
            self._fragments[key] = Markup(self.env.get_template(template).render())
        return self._fragments[key]

    def render_shell(self, portal: Portal, context: dict) -> str:
        """The page around an encrypted payload (called by the gate stage)."""
        return self.render_template("shell.html", portal, context, portal.slug)

    def render_template(self, template: str, portal: Portal | None, context: dict, target: str) -> str:
        site = self.config.site
        fmt = self.formatter(portal.language if portal else site.language, portal.currency if portal else site.currency)
        helpers = {
            "fmt": fmt,
            "href": lambda path: self._href(portal, path),
            "asset": lambda name: ("../" if portal else "") + f"{ASSETS}/{name}",
            "fragment": lambda name: self.fragment(name, fmt.language),
            "state": self.state_badge,
        }
        try:
            return self.env.get_template(template).render({**context, **helpers})
        except TemplateError as exc:
            raise RenderError(f"{template_location(exc, template)}: {exc.message} (rendering {target})") from exc

    def _href(self, portal: Portal | None, path: str | None) -> str:
        if not path:
            return ""
        if "://" in path or path.startswith(("mailto:", "#")):
            return path
        return self.href(portal, path)

    def _link(self, portal: Portal | None, planned: PlannedFile, target: tuple[str, str] | None) -> str:
        book = (planned.context or {}).get("book")
        return self._href(portal, PATHS.target(target, book))
