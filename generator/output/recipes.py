"""Recipes: a digest of everything a planned file is made from, so a rebuild renders only what changed.

Every planned file gets a recipe: its portal's data (the customer's book, keys, visible content
pages, settings), its template and every template that one extends, includes or imports, the
parts of the config that rendering reads, the shared data its section declares (the catalogue),
the content page or static file it shows. The recipes of the last build are kept in the output's
state; a file whose recipe is unchanged is kept as it is.
"""

from __future__ import annotations

import copyreg
import hashlib
import io
import json
import pickle
from collections.abc import Callable
from dataclasses import dataclass, field

from jinja2 import Environment, TemplateSyntaxError, meta

from ..config import Config
from ..model import Ledger, Line
from ..read import Origin, Page, pages_for
from ..render import RenderError
from ..seal import Keystore
from ..site import COPY, CSV, DATA, PAGE, SHELL, PlannedFile

# a new version re-makes every file once, as it makes them differently (4: blobs deflated at level 1;
# 5: by ISA-L)
ENGINE_VERSION = "5"


def digest(*parts: bytes | str) -> str:
    """The parts, each ended by a NUL, hashed in one call (every planned file takes one)."""
    encoded = [part.encode("utf-8") if isinstance(part, str) else part for part in parts]
    return hashlib.sha256(b"\0".join(encoded) + b"\0").hexdigest()


def _line_reduced(line: Line) -> tuple:
    """A line with its amounts as one text: a large book holds hundreds of thousands of lines, and
    a decimal pickles five times slower than its text (a decimal's text has no space in it)."""
    amounts = (line.quantity, line.unit_price, line.discount, line.tax, line.total)
    return Line, (line.sku, line.description, line.unit, " ".join(map(str, amounts)))


class _StablePickler(pickle.Pickler):
    """Pickles data for digests, leaving out where a record was read (row numbers shift)."""

    dispatch_table = copyreg.dispatch_table.copy()
    dispatch_table[Origin] = lambda origin: (Origin, ("", 0))
    dispatch_table[Line] = _line_reduced


def data_digest(obj: object) -> str:
    buffer = io.BytesIO()
    _StablePickler(buffer, protocol=5).dump(obj)
    return hashlib.sha256(buffer.getvalue()).hexdigest()


class TemplateDigests:
    """The digest of a template together with every template it pulls in."""

    def __init__(self, env: Environment):
        self.env = env
        self.closures: dict[str, str] = {}  # template name -> digest of it and all it pulls in

    def _source(self, name: str) -> str:
        return self.env.loader.get_source(self.env, name)[0]

    def _referenced(self, name: str) -> set[str]:
        found = {name}
        todo = [name]
        while todo:
            current = todo.pop()
            try:
                parsed = self.env.parse(self._source(current), current, current)
            except TemplateSyntaxError as exc:
                raise RenderError(f"{exc.filename or current}, line {exc.lineno}: {exc.message}") from exc
            for child in meta.find_referenced_templates(parsed):
                if child is not None and child not in found:
                    found.add(child)
                    todo.append(child)
        return found

    def closure(self, name: str) -> str:
        if name not in self.closures:
            names = sorted(self._referenced(name))
            self.closures[name] = digest(*(f"{n}\0{self._source(n)}" for n in names))
        return self.closures[name]


RENDER_CONFIG_EXCLUDED = {"root", "source_path", "exports", "publish", "carriers", "output", "groups", "customers"}


def render_config_digest(config: Config, encrypted: bool) -> str:
    """The config that rendering reads; export mapping only matters through the data."""
    data = config.model_dump(mode="json", exclude=RENDER_CONFIG_EXCLUDED)
    return digest(ENGINE_VERSION, json.dumps(data, sort_keys=True), "encrypted" if encrypted else "preview")


@dataclass
class Recipes:
    """Computes each planned file's recipe; `keys` gives a portal's key and slot digests."""

    config: Config
    ledger: Ledger
    templates: TemplateDigests
    encrypted: bool
    keys: Callable[[str], tuple[str, str]]  # customer id -> (keys digest, slots digest)
    pages: list[Page]
    assets: dict[str, str]  # static file → fingerprinted path: pages link them by these names
    shared_keys: str = ""  # a digest of the keys of files several portals read (their names and keys change)
    _portals: dict[str, str] = field(default_factory=dict)
    _shared: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.base = render_config_digest(self.config, self.encrypted)
        self.links = digest(json.dumps(self.assets, sort_keys=True))  # pages link assets by hashed names
        self.mode = digest(ENGINE_VERSION, "encrypted" if self.encrypted else "preview")
        self.sealing = digest(self.config.gate.model_dump_json())
        self.as_of = self.ledger.as_of.isoformat()
        self.has = json.dumps(sorted(self.ledger.has))  # which sections a portal shows (a new entity: a new nav entry)

    def shared(self, name: str) -> str:
        """The digest of ledger data that some sections' pages show besides a customer's book."""
        if name not in self._shared:
            self._shared[name] = data_digest(getattr(self.ledger, name))
        return self._shared[name]

    def portal(self, customer_id: str) -> str:
        if customer_id not in self._portals:
            book = self.ledger.books[customer_id]
            customer = book.customer
            visible = [
                (p.slug, p.title, p.nav_order, p.language)
                for p in pages_for(self.pages, customer.id, customer.group, customer.language)
            ]
            settings = self.config.settings_for(customer.id, customer.group).model_dump_json()
            self._portals[customer_id] = digest(
                data_digest(book), self.keys(customer_id)[0], json.dumps(visible), self.as_of, self.has, settings
            )
        return self._portals[customer_id]

    def of(self, planned: PlannedFile) -> str:
        if planned.kind == SHELL:
            return self.shell(planned)
        parts = [self.mode, planned.kind, planned.output_path]
        if planned.kind in (PAGE, CSV, DATA):
            parts.append(self.base)  # the config that templates and tables read
        if planned.portal is not None:
            parts.append(self.portal(planned.portal.customer_id))
            if self.encrypted:
                parts.append(self.sealing)
        if planned.kind == PAGE:
            parts += [self.templates.closure(planned.template), self.links]
        parts += [self.shared(name) for name in planned.shared]
        if planned.shared and self.encrypted:
            parts += [self.sealing, self.shared_keys]  # the shared file's name and key, and pages that carry them
        parts += planned.inputs
        if planned.payment_sizes:
            parts.append("payment sizes")
        if planned.kind == COPY:
            parts.append(hashlib.sha256(planned.copied_bytes()).hexdigest())
        return digest(*parts)

    def shell(self, planned: PlannedFile) -> str:
        """A shell holds nothing of its page: its name (from the portal's keys), the shell template
        and the config it reads, and on an entry page the key slots."""
        keys, slots = self.keys(planned.portal.customer_id)
        parts = [self.mode, planned.kind, planned.output_path, keys, self.sealing]
        parts += [self.templates.closure("shell.html"), self.base, self.links]
        if planned.entry:
            parts.append(slots)
        return digest(*parts)


def shared_keys_digest(keystore: Keystore | None) -> str:
    return digest(keystore.shared_secret) if keystore is not None else ""


def keys_digests(keystore: Keystore | None) -> Callable[[str], tuple[str, str]]:
    """Per customer: a digest of the keys (every file depends on them) and of the key slots and the
    salt they are made with (the entry shell)."""

    def of(customer_id: str) -> tuple[str, str]:
        secret = keystore.customers.get(customer_id) if keystore else None
        if secret is None:
            return "", ""
        keys = secret.keys
        slots = sorted(json.dumps(c.slot, sort_keys=True) for c in secret.contacts.values() if c.slot)
        epochs = json.dumps(secret.link_epochs, sort_keys=True)  # a file re-keyed on its own (an expired link)
        slot_table = digest(secret.salt, str(secret.slot_table), *slots)
        return digest(keys.key_id, keys.data_key, keys.file_key, epochs), slot_table

    return of
