"""Render planned files into bytes: Jinja2 templates, CSV tables, copied files.

The renderer knows nothing of encryption or of where files go. It is made with a `Sealer`
(`rendered.py`): links between pages go through the sealer's `href`, so the seal stage may
publish files under opaque names without a template changing, and `make` hands every rendered
file to the sealer.
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Callable
from urllib.parse import urlsplit

from jinja2 import Environment, StrictUndefined, TemplateError, pass_context, pass_eval_context, select_autoescape
from jinja2.nodes import EvalContext
from markupsafe import Markup

from ..config import ActionsConfig, Branding, Config, PortalConfig
from ..config.schema import Words, in_language
from ..site import COPY, CSV, DATA, DECOY, PAGE, PATHS, SHELL, PlannedFile, Portal, media_type, tables
from ..site.labels import activity_label, state_label
from .assets import AssetManifest, colors_key, file_key
from .calls import PageContext
from .chrome import ChromeExtension, ChromeHost
from .compiled import CompiledTemplates
from .escaping import PageTemplate
from .formatting import Formatter
from .i18n import Catalogues
from .lookups import PageCodeGenerator
from .qr import payment_qr
from .rendered import RenderedFile, RenderedMessage, Sealer, Unsealed
from .theme import Theme

DECOY_TYPE = "application/octet-stream"  # never shown as a page; as long as "text/html; charset=utf-8"

FORMATTING_FILTERS = ("money", "number", "date", "month", "percent")


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


SIGN_IN_TEXTS = "sign-in-texts.js"
SignInTexts = tuple[str, str, bytes]  # the asset's name, its path and its bytes (`AssetManifest.add`)


def content_security_policy(*actions: ActionsConfig) -> str:
    """No external scripts, nothing inline that runs; forms only to the configured endpoints (the
    sign-in forms are handled by script, e-mail requests open as links)."""
    endpoints = sorted({a.form_url for a in actions if a.channel == "form" and a.form_url})
    form_targets = " ".join(endpoints) or "'none'"
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        f"connect-src 'self'; font-src 'self'; form-action {form_targets}; base-uri 'none'; object-src 'none'"
    )


class Renderer:
    def __init__(
        self,
        config: Config,
        theme: Theme,
        assets: AssetManifest,
        sealer: Sealer | None = None,
        preview: bool = False,
        compiled: dict[str, bytes] | None = None,  # templates an earlier process compiled (`compiled_templates`)
    ):
        self.config = config
        self.theme = theme
        self.assets = assets
        self.sealer = sealer or Unsealed()
        self.compiled = CompiledTemplates(compiled)
        self.env = Environment(
            loader=theme.loader(),
            bytecode_cache=self.compiled,
            auto_reload=False,  # a renderer lives for one build (a session makes a new one when the theme changes)
            autoescape=select_autoescape(["html"]),
            extensions=["jinja2.ext.i18n", ChromeExtension],
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        self.env.template_class = PageTemplate  # prints values escaped as markupsafe does, faster
        self.env.context_class = PageContext  # calls functions as Jinja does, faster
        self.env.code_generator_class = PageCodeGenerator  # looks up `a.b` as Jinja does, faster
        self.catalogues = Catalogues(theme.locale_dirs())
        self.translations = self.catalogues.translations(config.site.language)  # switched per page
        self.language = config.site.language  # switched per page, like the custom states
        self.states: dict = {}
        self.env.install_gettext_callables(
            lambda text: self.translations.gettext(text),
            lambda one, many, n: self.translations.ngettext(one, many, n),
            newstyle=True,
        )
        self._translated: dict[tuple[object, str, bool], str] = {}
        self.env.globals.update(_=self.translate, gettext=self.translate)
        self.fmt: Formatter | None = None  # the page's formats (its customer's language, currency): per page
        self.env.filters.update({name: self._formatting(name) for name in FORMATTING_FILTERS})
        self.env.filters.update(markdown=self.markdown, state=self.state_badge, words=self.words)
        self.env.filters["plain_decimal"] = lambda amount: format(amount, "f")  # as machines read it: 1234.50
        self.env.globals.update(
            site=config.site,
            state_label=self.state_text,
            activity_label=activity_label,
            preview=preview,
            gate_config=config.gate,
            payment_qr=payment_qr,
            site_root=urlsplit(config.site.base_url).path.rstrip("/") + "/",  # where a 404 at any depth finds the site
        )
        self._formatters: dict[tuple[str, str, str], Formatter] = {}
        self._fragments: dict[tuple[str, str], Markup] = {}
        self._markdown: dict[str, Markup] = {}
        self._looks: dict[int, tuple[PortalConfig, dict]] = {}
        self._shell_policy: str | None = None
        self._links: set[str] = set()  # the output paths the page being made links to
        self._page_helpers: tuple[tuple, dict] = ((), {})
        self._assets_at: dict[str, dict] = {}
        # what a chrome part's key holds besides the names it reads (`extend` would keep the defaults)
        self.env.chrome_host, self.env.chrome_always = _RendererChrome(self), ("fmt",)

    @pass_eval_context
    def translate(self, eval_ctx: EvalContext, message: str, **variables) -> str:
        """`_("…")` in templates: what Jinja's newstyle gettext does (escaped in HTML, always a
        format string), without its three context calls per string; pages call it thousands of
        times, mostly for the same few hundred strings, so each language's is kept."""
        key = (self.translations, message, eval_ctx.autoescape)
        text = self._translated.get(key)
        if text is None:
            text = self.translations.gettext(message)
            text = self._translated[key] = Markup(text) if eval_ctx.autoescape else text
        return text % variables if variables or "%" in text else text

    def _formatting(self, method: str) -> Callable:
        """`{{ amount|money }}` formats with the page's formatter. Filters rather than
        `fmt.money(amount)` calls, and the formatter read here rather than from the page's context,
        because a call from a template goes through Jinja's runtime checks and a context lookup:
        lists and invoices format hundreds of thousands of values. The filter still takes the
        context, so that Jinja never formats a constant once when it compiles the template."""

        @pass_context
        def apply(context, value, *args):
            return getattr(self.fmt, method)(value, *args)

        return apply

    def formatter(self, language: str, currency: str, date_format: str) -> Formatter:
        key = (language, currency, date_format)
        if key not in self._formatters:
            self._formatters[key] = Formatter(language, currency, date_format)
        return self._formatters[key]

    def markdown(self, text: str) -> Markup:
        """Staff-written Markdown from the config (e.g. the text after sign-in)."""
        if text not in self._markdown:
            import markdown  # (on first use: most sites set no Markdown text)

            self._markdown[text] = Markup(markdown.markdown(text, extensions=["sane_lists"], output_format="html"))
        return self._markdown[text]

    def make(self, planned: PlannedFile) -> RenderedFile:
        """The file as it is published: rendered, then sealed, with the files it links to (published
        names), which a publish uploads before it."""
        self._links = set()
        made = self.sealer.seal(self.render(planned), self.render_shell)
        made.links = tuple(sorted(self._links.union(made.links)))
        return made

    def render(self, planned: PlannedFile) -> RenderedFile:
        if planned.kind == PAGE:
            data = self.render_page(planned).encode("utf-8")
        elif planned.kind == CSV:
            self.speak_for(planned.portal)
            data = tables.to_csv(planned.table, self.translations.gettext, self.state_text)
        elif planned.kind == DATA:
            speaks = planned.context
            self.translations = self.catalogues.translations(speaks["language"])
            fmt = self.formatter(speaks["language"], speaks["currency"], speaks["date_format"])
            data = tables.to_json(planned.table, fmt.money, fmt.number, self.translations.gettext, speaks.get("extra"))
        elif planned.kind in (COPY, DECOY):
            data = planned.copied_bytes()
        elif planned.kind == SHELL:
            data = b""  # the gate makes it
        else:
            raise AssertionError(planned.kind)
        return RenderedFile(
            planned.portal,
            planned.path,
            data,
            DECOY_TYPE if planned.kind == DECOY else media_type(planned.path),
            planned.entry,
            random=planned.kind == DECOY,
            shell=planned.kind == SHELL,
            payment_sizes=planned.payment_sizes,
        )

    def render_page(self, planned: PlannedFile) -> str:
        portal = planned.portal
        extra = {"link": lambda target: self._link(portal, planned, target)}
        return self.render_template(planned.template, portal, {**(planned.context or {}), **extra}, planned.output_path)

    def state_text(self, key: str) -> str:
        """What the customer reads for a state: the ERP's own state's label in the page's language
        (`portal.states`), a built-in state's translated label, or, for a code nobody labelled,
        the code made readable ("on_hold" → "On hold") — never the raw code."""
        custom = self.states.get(key)
        if custom is not None:
            return custom.text(self.language, self.config.site.language)
        label = state_label(key)
        if label == key:
            return key.replace("_", " ").strip().capitalize()
        return self.translations.gettext(label)

    def words(self, value: Words | None) -> str:
        """Configured text customers read: given per language, or one string that the theme's
        catalogues translate when it is one of theirs (the defaults are)."""
        if value is None:
            return ""
        if isinstance(value, str):
            return self.translations.gettext(value)
        return in_language(value, self.language, self.config.site.language)

    def state_badge(self, key: str) -> Markup:
        """A state as a badge; a helper rather than a macro, as lists show one on every row."""
        return Markup('<span class="state state-{}">{}</span>').format(key, self.state_text(key))

    def fragment(self, template: str, language: str) -> Markup:
        """A template that depends on nothing but the language, rendered once per language."""
        key = (template, language)
        if key not in self._fragments:
            current = self.translations
            self.translations = self.catalogues.translations(language)
            try:
                self._fragments[key] = Markup(self.env.get_template(template).render())
            finally:
                self.translations = current
        return self._fragments[key]

    def load_templates(self) -> None:
        """Every template of the theme chain compiled and loaded (a broken one is left to the
        build that uses it to report): processes forked after this one start with them."""
        for name in self.env.list_templates():
            try:
                self.env.get_template(name)
            except TemplateError:
                continue

    def compiled_templates(self) -> dict[str, bytes]:
        """Every template compiled, for a later process to start with."""
        self.load_templates()
        return dict(self.compiled.entries)

    def sign_in_texts(self) -> SignInTexts:
        """The sign-in page's words in every language the theme speaks, as one shared script
        (`window.PorticoSignInTexts`): every shell is the same for every portal, so nothing
        unencrypted tells a customer's language; the page speaks the browser's."""
        languages = self.catalogues.languages()
        texts = {language: json.loads(self.fragment("_gate_texts.json", language)) for language in languages}
        script = "window.PorticoSignInTexts = " + json.dumps(
            {"default": self.config.site.language, "languages": texts}, ensure_ascii=True, sort_keys=True
        )
        return SIGN_IN_TEXTS, SIGN_IN_TEXTS, (script + ";\n").encode("ascii")

    def render_shell(self, context: dict) -> str:
        """The page around an encrypted payload (called by the gate stage): the site's, in no
        customer's language or look, the same for every portal."""
        if self._shell_policy is None:  # what any portal's pages may need, as a page keeps its shell's policy
            self._shell_policy = content_security_policy(*(s.actions for s in self.config.all_settings()))
        context = {**context, "shell_csp": self._shell_policy}
        return self.render_template("shell.html", None, context, "shell", prefix="../")

    def speak_for(self, portal: Portal | None) -> tuple[str, PortalConfig]:
        """Switch the words (catalogue, custom states) to the portal's language and settings."""
        settings = portal.settings if portal else self.config.portal
        language = portal.language if portal else (settings.language or self.config.site.language)
        self.translations = self.catalogues.translations(language)
        self.language, self.states = language, settings.states
        return language, settings

    def render_template(
        self, template: str, portal: Portal | None, context: dict, target: str, prefix: str | None = None
    ) -> str:
        site = self.config.site
        language, settings = self.speak_for(portal)
        fmt = self.fmt = self.formatter(language, portal.currency if portal else site.currency, settings.date_format)
        prefix = prefix if prefix is not None else ("../" if portal else "")
        helpers = self.helpers(portal, settings, language, fmt, prefix)
        try:
            return self.env.get_template(template).render({**context, **helpers})
        except TemplateError as exc:
            raise RenderError(f"{template_location(exc, template)}: {exc.message} (rendering {target})") from exc

    def helpers(
        self, portal: Portal | None, settings: PortalConfig, language: str, fmt: Formatter, prefix: str
    ) -> dict:
        """What every template may call, made once for a run of pages of one portal (pages come
        portal by portal): the same objects on each of its pages, so a `{% chrome %}` part that
        calls them is reused (`chrome.py` compares them by identity)."""
        key = (portal, settings, language, fmt, prefix)
        made_for, helpers = self._page_helpers
        if len(made_for) == len(key) and all(a is b for a, b in zip(made_for, key, strict=True)):
            return helpers
        helpers = {
            **self.look(settings),
            "fmt": fmt,
            "href": lambda path: self._href(portal, path),
            **self._asset_helpers(prefix),
            "fragment": lambda name: self.fragment(name, language),
            "shared_file": lambda logical: self._shared_file(prefix, logical),
            "price_cells": lambda prices: {
                sku: [fmt.money(price), str(price)] for sku, price in sorted(prices.items())
            },
            "language": language.replace("_", "-"),
        }
        self._page_helpers = (key, helpers)
        return helpers

    def _asset_helpers(self, prefix: str) -> dict:
        """`asset` and `sri`, the same objects for every page at the same depth (any portal's)."""
        if prefix not in self._assets_at:
            self._assets_at[prefix] = {
                "asset": lambda name: prefix + self.assets[name].path,
                "sri": self._integrity,
            }
        return self._assets_at[prefix]

    def _integrity(self, name: str) -> str:
        return self.assets[name].integrity

    def render_message(self, kind: str, portal: Portal | None, context: dict) -> RenderedMessage:
        """An e-mail to a portal's contact, from the theme's `emails/<kind>.subject.txt`, `.txt` and
        `.html`: in the portal's language, with its look and formats, like its pages; links and
        images point at the published site."""
        base = self.config.site.base_url.rstrip("/") + "/"
        subject, text, html = (
            self.render_template(f"emails/{kind}.{part}", portal, context, f"the {kind} e-mail", prefix=base)
            for part in ("subject.txt", "txt", "html")
        )
        return RenderedMessage(" ".join(subject.split()), text, html)

    def look(self, settings: PortalConfig) -> dict:
        """What pages read from a portal's settings, worked out once per distinct settings
        (a build has a handful, shared by thousands of pages; the entry keeps them alive, so
        their `id` stays theirs)."""
        key = id(settings)
        if key not in self._looks:
            branding = settings.branding
            self._looks[key] = (
                settings,
                {
                    "settings": settings,
                    "branding": branding,
                    "actions": settings.actions,
                    "shows": settings.shows,
                    "csp": content_security_policy(settings.actions),
                    "display_name": branding.display_name or self.config.site.name,
                    "logo": self.logo(branding),
                    "favicon": file_key(branding.favicon) if branding.favicon else "favicon.svg",
                    "stylesheets": self.stylesheets(branding),
                },
            )
        return self._looks[key][1]

    def logo(self, branding: Branding) -> str | None:
        if branding.logo == "none":
            return None
        if branding.logo == "company":
            return file_key(self.config.site.logo) if self.config.site.logo else None
        return file_key(branding.logo)

    def stylesheets(self, branding: Branding) -> list[str]:
        """The theme's stylesheets, then the brand colours, then the site's own (later ones win)."""
        sheets = self.theme.stylesheets()
        if branding.colors:
            sheets = [*sheets, colors_key(branding.colors)]
        return sheets + [file_key(css) for css in branding.extra_css]

    def _shared_file(self, prefix: str, logical: str) -> dict:
        """Where a page finds a file several portals read, and the key that opens it (None: plain)."""
        path, key = self.sealer.shared(logical)
        self._links.add(path)
        return {"src": prefix + path, "path": path, "key": key}

    def _href(self, portal: Portal | None, path: str | None) -> str:
        if not path:
            return ""
        if "://" in path or path.startswith(("mailto:", "tel:", "#", "/")):
            return path
        target = self.sealer.stored(portal, path)
        self._links.add(f"{portal.slug}/{target}" if portal else target)
        return self.sealer.href(portal, path)

    def _link(self, portal: Portal | None, planned: PlannedFile, target: tuple[str, str] | None) -> str:
        book = (planned.context or {}).get("book")
        return self._href(portal, PATHS.target(target, book))


class _RendererChrome(ChromeHost):
    """A `{% chrome %}` part depends on the words of the page's language and its custom states;
    what it does besides rendering is add to the links the page makes."""

    def __init__(self, renderer: Renderer):
        self.renderer = renderer

    def state(self) -> tuple:
        renderer = self.renderer
        return renderer.language, renderer.translations, renderer.states

    def record(self, render: Callable[[], str]) -> tuple[str, frozenset[str]]:
        renderer = self.renderer
        outer, renderer._links = renderer._links, set()
        try:
            text = render()
        finally:
            made, renderer._links = renderer._links, outer | renderer._links
        return text, frozenset(made)

    def replay(self, effects: frozenset[str]) -> None:
        self.renderer._links |= effects
