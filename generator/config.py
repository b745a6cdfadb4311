"""The one typed schema of `config.yaml`.

Everything the build needs to know is declared here once, with its default, and validated
before any work starts; the resulting `Config` object is passed down the pipeline. Errors
name the key path (`exports.orders.columns.date: ...`) so a typo is found in seconds.
"""
from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .entities import ENTITIES, LINE_FIELDS, DOCUMENT_KINDS

ORDER_STAGES_DEFAULT = ["received", "confirmed", "in_production", "shipped", "delivered"]
INVOICE_STATES = ("open", "paid", "void")
QUOTE_STATES = ("open", "accepted", "declined", "expired")
SHIPMENT_STATES = ("pending", "in_transit", "delivered", "returned")


class ConfigError(Exception):
    """Raised with every problem found in a config file, each naming its key path."""

    def __init__(self, path: Path, problems: list[str]):
        self.path = path
        self.problems = problems
        super().__init__(f"{path}: " + "; ".join(problems))


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnSpec(Strict):
    """Where one canonical field comes from: a column, a constant, or a template of columns."""

    column: str | None = None
    value: str | None = None
    template: str | None = Field(None, description="Python format string over the row's columns, e.g. '{First} {Last}'")
    default: str | None = Field(None, description="used when the cell is blank")
    map: dict[str, str] | None = Field(None, description="replace exact cell values, e.g. carrier codes by names")
    match: str | None = Field(None, description="regular expression; its first group is the value (e.g. '^(\\d+)(?:\\.0)?$')")

    @model_validator(mode="after")
    def _one_origin(self) -> "ColumnSpec":
        origins = [o for o in ("column", "value", "template") if getattr(self, o) is not None]
        if len(origins) != 1:
            raise ValueError("give exactly one of column, value or template")
        if self.match is not None:
            try:
                re.compile(self.match)
            except re.error as exc:
                raise ValueError(f"match is not a valid regular expression: {exc}") from None
        return self


def _column_spec(value: Any) -> Any:
    return {"column": value} if isinstance(value, str) else value


Columns = dict[str, ColumnSpec]


class FileOptions(Strict):
    """How one file is read; anything left unset falls back to the `exports` defaults."""

    format: Literal["csv", "json", "ndjson", "xlsx"] | None = Field(None, description="default: from the file name")
    encoding: str | None = None
    delimiter: str | None = None
    quotechar: str | None = None
    sheet: str | None = Field(None, description="XLSX: worksheet name (default: the first)")
    records: str | None = Field(None, description="JSON: dotted key of the list of records (default: the document itself)")
    date_formats: list[str] | None = None
    decimal_separator: str | None = None
    thousands_separator: str | None = None

    @field_validator("columns", mode="before", check_fields=False)
    @classmethod
    def _columns_shorthand(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: _column_spec(v) for k, v in value.items()}
        return value


class LineSource(FileOptions):
    """Line items: from the same rows as their document, or from a file of their own."""

    file: str | None = Field(None, description="omit when each row of the document's file is one line")
    columns: Columns


class Source(FileOptions):
    """One entity's file in the export and how its columns map onto canonical fields."""

    file: str
    columns: Columns
    skip_when_blank: list[str] = Field(default_factory=list, description="fields whose blank value means: skip the row, count it")
    group_by: str | None = Field(None, description="field shared by the rows of one record (one row per line item)")
    on_conflict: Literal["error", "first"] = Field("error", description="grouped rows whose header fields differ: an error, or keep the first value with a warning")
    lines: LineSource | None = None
    credit_note_prefix: str | None = Field(None, description="invoices: numbers starting with this are credit notes")


class ExportsConfig(Strict):
    folder: str = "content/export"
    encoding: str = "utf-8-sig"
    delimiter: str = ","
    quotechar: str = '"'
    date_formats: list[str] = Field(default_factory=lambda: ["%Y-%m-%d"])
    decimal_separator: str = "."
    thousands_separator: str = ""
    true_values: list[str] = Field(default_factory=lambda: ["1", "true", "yes", "y", "x", "ja", "oui", "si", "on"])
    false_values: list[str] = Field(default_factory=lambda: ["0", "false", "no", "n", "", "nein", "non", "off"])

    customers: Source
    contacts: Source | None = None
    orders: Source | None = None
    order_history: Source | None = None
    invoices: Source | None = None
    payments: Source | None = None
    shipments: Source | None = None
    quotes: Source | None = None
    documents: Source | None = None
    catalogue: Source | None = None
    prices: Source | None = None

    def sources(self) -> dict[str, Source]:
        return {name: s for name in ENTITIES if (s := getattr(self, name)) is not None}


class SiteConfig(Strict):
    name: str = "Customer portal"
    base_url: str = Field("", description="public URL of the published site, for portal links in listings")
    language: str = "en"
    currency: str = "EUR"
    as_of: date | None = Field(None, description="the date balances and ages are computed at (default: the newest export file's date)")
    support_email: str | None = None
    support_phone: str | None = None
    footer: str = ""


class StatusMaps(Strict):
    """ERP status code → customer-facing state, per entity."""

    orders: dict[str, str] = Field(default_factory=dict)
    invoices: dict[str, str] = Field(default_factory=dict)
    quotes: dict[str, str] = Field(default_factory=dict)
    shipments: dict[str, str] = Field(default_factory=dict)


class Modules(Strict):
    orders: bool = True
    invoices: bool = True
    statement: bool = True
    shipments: bool = True
    quotes: bool = True
    documents: bool = True
    catalogue: bool = True
    requests: bool = True
    account: bool = True


class ActionsConfig(Strict):
    channel: Literal["mailto", "form"] = "mailto"
    email: str | None = Field(None, description="mailto: the address requests go to (default: site.support_email)")
    form_url: str | None = Field(None, description="form: HTTPS endpoint that receives posted requests")

    @model_validator(mode="after")
    def _form_needs_url(self) -> "ActionsConfig":
        if self.channel == "form" and not (self.form_url or "").startswith("https://"):
            raise ValueError("channel 'form' needs form_url starting with https://")
        return self


class PortalConfig(Strict):
    modules: Modules = Modules()
    order_stages: list[str] = Field(default_factory=lambda: list(ORDER_STAGES_DEFAULT))
    default_stage: str = Field("received", description="stage of an order with no status and no ship date")
    show_sales_rep: bool = True
    payment_link_template: str | None = Field(None, description="e.g. 'https://pay.example.com/{invoice}?amount={balance}&currency={currency}'")
    default_payment_days: int = Field(30, ge=0)
    recent_activity: int = Field(8, ge=0)
    slug: Literal["id", "field"] = Field("id", description="portal folder name: the customer id (made URL-safe), or the export's `slug` field")


class ContentPage(Strict):
    title: str
    nav_order: int = 100
    audience: list[str] | None = None


class Config(Strict):
    """A validated `config.yaml`; `root` is the folder relative paths are resolved against."""

    root: Path
    source_path: Path
    site: SiteConfig = SiteConfig()
    exports: ExportsConfig
    status_map: StatusMaps = StatusMaps()
    portal: PortalConfig = PortalConfig()
    actions: ActionsConfig = ActionsConfig()
    carriers: dict[str, str] = Field(default_factory=dict, description="carrier name → tracking URL template with {tracking}")
    theme: str = "default"
    themes_dir: str = "themes"
    content_dir: str = "content"
    output: str = "public"

    def path(self, relative: str) -> Path:
        return (self.root / relative).resolve()

    @property
    def export_dir(self) -> Path:
        return self.path(self.exports.folder)

    @property
    def output_dir(self) -> Path:
        return self.path(self.output)


def load_config(path: Path | str) -> Config:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(path, ["file not found"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError(path, [f"not valid YAML: {exc}"]) from None
    if not isinstance(raw, dict):
        raise ConfigError(path, ["the top level must be a mapping of keys"])
    return parse_config(raw, path)


def parse_config(raw: dict[str, Any], path: Path) -> Config:
    data = {**raw, "root": path.resolve().parent, "source_path": path.resolve()}
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(path, [_describe(err) for err in exc.errors()]) from None
    problems = _check_semantics(config)
    if problems:
        raise ConfigError(path, problems)
    return config


def _describe(error: dict[str, Any]) -> str:
    location = ".".join(str(part) for part in error["loc"] if not str(part).startswith("function-"))
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        message = "unknown key"
    elif error["type"] == "missing":
        message = "required key is missing"
    message = message.removeprefix("Value error, ")
    return f"{location}: {message}" if location else message


def _check_semantics(config: Config) -> list[str]:
    """What the types alone cannot say: field names per entity, stages, the one required kind."""
    problems: list[str] = []
    exports = config.exports
    for name, source in exports.sources().items():
        entity = ENTITIES[name]
        where = f"exports.{name}"
        for field_name in source.columns:
            if field_name not in entity.fields:
                problems.append(f"{where}.columns.{field_name}: not a field of {name} "
                                f"(fields: {', '.join(sorted(entity.fields))})")
        for field_name in entity.required:
            if field_name not in source.columns:
                problems.append(f"{where}.columns.{field_name}: required field is not mapped")
        for field_name in source.skip_when_blank:
            if field_name not in source.columns:
                problems.append(f"{where}.skip_when_blank: '{field_name}' is not a mapped field")
        if source.group_by is not None and source.group_by not in source.columns:
            problems.append(f"{where}.group_by: '{source.group_by}' is not a mapped field")
        if source.lines is not None:
            problems += _check_lines(name, source)
        if source.credit_note_prefix is not None and name != "invoices":
            problems.append(f"{where}.credit_note_prefix: only invoices have credit notes")
    if not any(getattr(exports, kind) for kind in DOCUMENT_KINDS):
        problems.append(f"exports: map at least one of {', '.join(DOCUMENT_KINDS)}")
    stages = config.portal.order_stages
    if config.portal.default_stage not in stages:
        problems.append(f"portal.default_stage: '{config.portal.default_stage}' is not one of portal.order_stages")
    allowed = {"orders": [*stages, "cancelled"], "invoices": INVOICE_STATES, "quotes": QUOTE_STATES,
               "shipments": SHIPMENT_STATES}
    for entity, states in allowed.items():
        for code, state in getattr(config.status_map, entity).items():
            if state not in states:
                problems.append(f"status_map.{entity}.{code}: '{state}' is not one of {', '.join(states)}")
    return problems


def _check_lines(name: str, source: Source) -> list[str]:
    where = f"exports.{name}.lines"
    if not ENTITIES[name].has_lines:
        return [f"{where}: {name} have no lines"]
    problems = [f"{where}.columns.{f}: not a line field (fields: {', '.join(LINE_FIELDS)})"
                for f in source.lines.columns if f not in LINE_FIELDS]
    if source.lines.file and "document" not in source.lines.columns:
        problems.append(f"{where}.columns.document: lines from their own file need the column naming their {name[:-1]}")
    if not source.lines.file and source.group_by is None:
        problems.append(f"exports.{name}.group_by: lines in the same rows need group_by (the document number)")
    return problems
