"""The one typed schema of `config.yaml`.

Everything the build needs to know is declared here once, with its default, and validated
before any work starts; the resulting `Config` object is passed down the pipeline. Errors
name the key path (`exports.orders.columns.date: ...`) so a typo is found in seconds.
"""

from __future__ import annotations

import codecs
import re
import string
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from .entities import ENTITIES
from .expressions import Expression, ExpressionError
from .urls import checked_link_template, checked_url
from .words import N_

ORDER_STAGES_DEFAULT = ["received", "confirmed", "in_production", "shipped", "delivered"]
INVOICE_STATES = ("open", "paid", "void")
QUOTE_STATES = ("open", "accepted", "declined", "expired")
SHIPMENT_STATES = ("pending", "in_transit", "delivered", "returned")


def _checked_encoding(name: str | None) -> str | None:
    if name is not None:
        try:
            codecs.lookup(name)
        except LookupError:
            raise ValueError(
                f"{name!r} is not a text encoding Python knows (e.g. utf-8-sig, cp1252, latin-1)"
            ) from None
    return name


def _checked_date_formats(formats: list[str] | None) -> list[str] | None:
    for fmt in formats or ():
        try:
            datetime.strptime(datetime(2026, 12, 31, 23, 59, 58).strftime(fmt), fmt)
        except ValueError as exc:
            raise ValueError(f"{fmt!r} is not a strptime format ({exc})") from None
    return formats


def placeholders(template: str) -> list[str]:
    """The names a format string fills in; ValueError for one that does not parse."""
    return [part[1] for part in string.Formatter().parse(template) if part[1] is not None]


def checked_template(template: str | None, allowed: set[str] | None = None) -> str | None:
    """A format string whose placeholders are plain names (and, where given, only these)."""
    if template is None:
        return None
    try:
        names = placeholders(template)
    except ValueError as exc:
        raise ValueError(f"{template!r} is not a template ({exc})") from None
    for name in names:
        if not name or name.isdigit() or any(c in name for c in ".[]"):
            raise ValueError(f"{template!r}: {{{name}}} is not a name (no positions, '.' or '[' in placeholders)")
        if allowed is not None and name not in allowed:
            raise ValueError(f"{template!r}: {{{name}}} is not one of {', '.join(f'{{{a}}}' for a in sorted(allowed))}")
    return template


class Strict(BaseModel):
    """Every settings model: unknown keys are errors. A field's docstring, the string under it, is
    its entry in docs/config.md (`reference.py` reads it from this source)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class FileOptions(Strict):
    """How one file is read; anything left unset falls back to the `exports` defaults."""

    format: Literal["csv", "json", "ndjson", "xlsx"] | None = None
    """File format; by default from the file name (`.csv`, `.json`, `.ndjson`/`.jsonl`, `.xlsx`, each optionally `.gz`)."""
    encoding: str | None = None
    """Text encoding, e.g. `utf-8-sig`, `cp1252`, `mac_roman`, `latin-1`."""
    delimiter: str | None = None
    """CSV field separator: `,` `;` `tab` `|`, or `auto` to detect it."""
    quotechar: str | None = None
    """CSV quote character."""
    sheet: str | None = None
    """XLSX: the worksheet's name (default: the first sheet)."""
    records: str | None = None
    """JSON: dotted key of the list of records, e.g. `data.orders` (default: the document is the list)."""
    date_formats: list[str] | None = None
    """`strptime` formats tried in order; ISO dates (`2026-05-01`) are always understood."""
    decimal_separator: str | None = None
    """Decimal separator of numbers, e.g. `,` for `1234,56`."""
    thousands_separator: str | None = None
    """Thousands separator to ignore, e.g. `.` for `1.234,56`."""
    null_values: list[str] | None = None
    """Cell values that mean blank in this file, e.g. `[NULL, "\\N", N/A]` (default: `exports.null_values`)."""

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, value: str | None) -> str | None:
        return _checked_encoding(value)

    @field_validator("date_formats")
    @classmethod
    def _date_formats(cls, value: list[str] | None) -> list[str] | None:
        return _checked_date_formats(value)

    @field_validator("columns", mode="before", check_fields=False)
    @classmethod
    def _columns_shorthand(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: _column_spec(v) for k, v in value.items()}
        return value


class Lookup(FileOptions):
    """A field taken from another table of the export, by key: e.g. the sales rep's name from an employees table. The table is read with the `exports` defaults; `format`, `encoding`, `delimiter`, `sheet`, `records` and the other file options can be set here too."""

    file: str
    """The other table, relative to `exports.folder` (any supported format)."""
    key: str
    """Its column holding the key, e.g. `employeeNumber`."""
    on: str
    """This row's column holding the key to look up, e.g. `salesRepEmployeeNumber`."""
    column: str | None = None
    """The other table's column to take."""
    template: str | None = None
    """Or a format string over the other table's columns, e.g. `"{firstName} {lastName}"`."""

    @model_validator(mode="after")
    def _one_value(self) -> Lookup:
        if (self.column is None) == (self.template is None):
            raise ValueError("give exactly one of column or template")
        checked_template(self.template)
        return self


ORIGINS = ("column", "value", "template", "compute", "first_of", "lookup")


class ColumnSpec(Strict):
    """Where one canonical field comes from. A plain string is short for `{column: ...}`."""

    column: str | None = None
    """The export column (CSV/XLSX header, or dotted JSON key such as `address.city`)."""
    value: str | None = None
    """A constant, for a field the export does not carry (e.g. `status: {value: paid}`)."""
    template: str | None = None
    """A Python format string over the row's mapped fields and columns, e.g. `"{first} {last}"`."""
    compute: str | None = None
    """Decimal arithmetic over the row's other fields, e.g. `"total / quantity"` or `"round(quantity * unit_price * (1 - discount), 2)"`: names, numbers, `+ - * /`, parentheses, `round`, `min`, `max`, `abs`."""
    first_of: list[ColumnSpec] | None = None
    """The first non-blank of several origins, e.g. `[Company, {template: "{First} {Last}"}]` (a string is a column)."""
    lookup: Lookup | None = None
    """A value from another table of the export, found by key (see `lookup` below)."""
    default: str | None = None
    """Used when the cell is blank."""
    map: dict[str, str] | None = None
    """Replaces exact cell values, e.g. carrier codes by carrier names."""
    match: str | None = None
    """A regular expression the value must match; its first group is kept (e.g. `'^(\\d+)(?:\\.0)?$'`)."""

    @field_validator("first_of", mode="before")
    @classmethod
    def _first_of_shorthand(cls, value: Any) -> Any:
        return [_column_spec(item) for item in value] if isinstance(value, list) else value

    @model_validator(mode="after")
    def _one_origin(self) -> ColumnSpec:
        origins = [o for o in ORIGINS if getattr(self, o) is not None]
        if len(origins) != 1:
            raise ValueError(f"give exactly one of {', '.join(ORIGINS)}")
        if self.match is not None:
            try:
                re.compile(self.match)
            except re.error as exc:
                raise ValueError(f"match is not a valid regular expression: {exc}") from None
        if self.compute is not None:
            try:
                Expression(self.compute)
            except ExpressionError as exc:
                raise ValueError(f"compute: {exc}") from None
        if self.first_of is not None and not self.first_of:
            raise ValueError("first_of needs at least one origin")
        checked_template(self.template)
        return self


def _column_spec(value: Any) -> Any:
    return {"column": value} if isinstance(value, str) else value


Columns = dict[str, ColumnSpec]


class LineSource(FileOptions):
    """Line items: in the same rows as their document, or in a file of their own."""

    file: str | None = None
    """Omit when each row of the document's file is one line; otherwise the lines' own file."""
    columns: Columns
    """Line field → column (see the line fields below); a separate file needs `document`."""


class Source(FileOptions):
    """One entity's file in the export, and how its columns map onto canonical fields."""

    file: str
    """Path relative to `exports.folder`."""
    columns: Columns
    """Canonical field → column (see the entity fields below)."""
    skip_when_blank: list[str] = Field(default_factory=list)
    """Fields whose blank value means: skip the row on purpose and count it (not an error), under the first of them (in the mapping's order) that is blank. A field whose column the file lacks is reported once and skips no row; a cell the field cannot read (not matching its `match` pattern) is not blank: the row is mapped and the cell reported. A field made by a template from other fields is blank when its text is."""
    group_by: str | None = None
    """The field shared by the rows of one record, when the export has one row per line item."""
    on_conflict: Literal["error", "first"] = "error"
    """Grouped rows whose header fields differ: an `error`, or keep the `first` value with a warning."""
    lines: LineSource | None = None
    """Where the document's line items come from."""
    credit_note_prefix: str | None = None
    """Invoices only: numbers starting with this are credit notes (negative totals always are)."""
    allocate: Literal["oldest_first", "none"] | None = None
    """Payments only: `oldest_first` (the default) applies payments that name no invoice, and what a payment pays beyond its invoice, to the customer's open invoices, oldest due first; the rest is credit on account. `none`: such payments are listed and count for nothing."""


class DocumentsSource(Source):
    """Document rows, and the folder their files are in."""

    folder: str = "documents"
    """The folder of the document files, relative to `exports.folder`. It must hold none of the export's tables: a row's `file` is a path inside it (a leading `<folder>/` is accepted), a plain file, reached through no symbolic link, with one hard link."""
    shared_files: bool = False
    """Whether rows of several customers may name the same file (a product manual, general terms). Off by default: such a file is most likely one customer's, named by mistake in another's row, so it is left out for all of them, with an error on each row."""


class ExportsConfig(Strict):
    """The ERP export: a folder of files, one entity each. Only customers and one of orders, invoices or quotes are required."""

    folder: str = "content/export"
    """The export folder, relative to config.yaml."""
    encoding: str = "utf-8-sig"
    """Default text encoding (`utf-8-sig` reads UTF-8 with or without a BOM)."""
    delimiter: str = ","
    """Default CSV separator."""
    quotechar: str = '"'
    """Default CSV quote character."""
    date_formats: list[str] = Field(default_factory=lambda: ["%Y-%m-%d"])
    """Default date formats."""
    decimal_separator: str = "."
    """Default decimal separator."""
    thousands_separator: str = ""
    """Default thousands separator."""
    null_values: list[str] = Field(default_factory=list)
    """Cell values that mean blank, e.g. `[NULL, "\\N", N/A]` (matched whole, after trimming spaces)."""
    true_values: list[str] = Field(default_factory=lambda: ["1", "true", "yes", "y", "x", "ja", "oui", "si", "on"])
    """Cell values read as yes (case-insensitive)."""
    false_values: list[str] = Field(default_factory=lambda: ["0", "false", "no", "n", "", "nein", "non", "off"])
    """Cell values read as no (case-insensitive)."""
    batch_above_mb: float = Field(64, ge=0)
    """An export whose row files hold more than this many megabytes of text is built in batches of customers, holding one batch's rows in memory at a time (0: never). Only an export of delimited text whose every row names its customer can be; any other is read whole."""
    batch_mb: float = Field(32, gt=0)
    """About how many megabytes of the export's rows one batch holds."""

    customers: Source
    """Required. Customer id and name, contact details, addresses, language, currency, portal flag, group, sales rep, terms."""
    contacts: Source | None = None
    """People at a customer; those with an e-mail and portal access get a password."""
    added_contacts: Source | None = None
    """Contacts staff keep outside the export: a file relative to config.yaml (any format), mapped and checked like `contacts` and added to them; e.g. for an ERP whose export has no e-mail addresses."""
    orders: Source | None = None
    """Orders with their lines."""
    order_history: Source | None = None
    """Status changes of orders over time (order, status, date), for the stage timeline."""
    invoices: Source | None = None
    """Invoices and credit notes with their lines."""
    payments: Source | None = None
    """Payments received, applied to invoices."""
    shipments: Source | None = None
    """Shipments of orders, with carrier and tracking number."""
    quotes: Source | None = None
    """Quotes/estimates with their lines."""
    documents: DocumentsSource | None = None
    """Files (PDFs, ...) in the documents folder that belong to a customer, an order or an invoice; always published as downloads."""
    catalogue: Source | None = None
    """Products: sku, name, list price, stock."""
    prices: Source | None = None
    """Customer or price-group prices per sku, with minimum quantities."""

    def sources(self) -> dict[str, Source]:
        return {name: s for name in ENTITIES if (s := getattr(self, name)) is not None}


class SiteConfig(Strict):
    """The business publishing the portals."""

    name: str = "Customer portal"
    """The company name shown on every page."""
    base_url: str = ""
    """Public URL of the published site, used for portal links in listings."""
    language: str = "en"
    """Default language of a portal (a customer's own language wins)."""
    currency: str = "EUR"
    """Default currency (ISO 4217) of a customer's amounts."""
    as_of: date | None = None
    """The date balances, due dates and aging are computed at; default: the newest export file's date."""
    support_email: str | None = None
    """Where customers write for help; also the default address for requests."""
    support_phone: str | None = None
    """Support telephone number."""
    logo: str | None = None
    """The company logo: an image file (relative to config.yaml), shown where `branding.logo` is `company`."""
    legal_name: str | None = None
    """The seller's legal name on printed invoices and statements (default: `name`)."""
    address: list[str] = Field(default_factory=list)
    """The seller's address on printed documents, one line per item."""
    tax_id: str | None = None
    """The seller's tax or VAT number on printed invoices."""


class StatusMaps(Strict):
    """ERP status code → customer-facing state, per entity. Codes already equal to a state need no entry."""

    orders: dict[str, str] = Field(default_factory=dict)
    """To one of `portal.order_stages` or `cancelled`."""
    invoices: dict[str, str] = Field(default_factory=dict)
    """To `open`, `paid` or `void` (`overdue` is derived from the due date)."""
    quotes: dict[str, str] = Field(default_factory=dict)
    """To `open`, `accepted`, `declined` or `expired`."""
    shipments: dict[str, str] = Field(default_factory=dict)
    """To `pending`, `in_transit`, `delivered` or `returned`."""


class CustomState(Strict):
    """An ERP's own state, with the words customers read for it."""

    label: dict[str, str]
    """Per language (`en`, `de`, `fr_CH`, ...): what a badge, filter, timeline and download say, e.g. `{en: On hold, de: Angehalten}`."""
    counts_as: (
        Literal[
            "open", "paid", "void", "accepted", "declined", "expired", "pending", "in_transit", "delivered", "returned"
        ]
        | None
    ) = None
    """For an invoice, quote or shipment status: the built-in state whose rules apply (an invoice `disputed` that counts as `open` is still owed and can be overdue). Order stages need none: list them in `order_stages`."""

    @field_validator("label")
    @classmethod
    def _some_label(cls, label: dict[str, str]) -> dict[str, str]:
        if not label or not all(text.strip() for text in label.values()):
            raise ValueError("give the label in at least one language, e.g. {en: On hold}")
        return label

    def text(self, language: str, fallback: str) -> str:
        return in_language(self.label, language, fallback)


def in_language(texts: dict[str, str], language: str, fallback: str) -> str:
    """The text in `language` (`de_AT`, then `de`), else in `fallback`, else English, else any."""
    for candidate in (language, language.split("_")[0], fallback, "en"):
        if candidate in texts:
            return texts[candidate]
    return next(iter(texts.values()))


class Modules(Strict):
    """Which sections a portal has. A section whose entity is not in the export never shows."""

    orders: bool = True
    """Orders list and order pages."""
    invoices: bool = True
    """Invoices list and invoice pages."""
    statement: bool = True
    """Statement of account with aging."""
    shipments: bool = True
    """Shipments list with tracking links."""
    quotes: bool = True
    """Quotes list and quote pages with approve/decline."""
    documents: bool = True
    """Documents list and downloads."""
    catalogue: bool = True
    """Catalogue with the customer's own prices and stock."""
    requests: bool = True
    """Request page (new order, work request, change of details)."""
    account: bool = True
    """Account details page."""


class ActionsConfig(Strict):
    """How a customer's requests and quote decisions leave the static site."""

    channel: Literal["mailto", "form"] = "mailto"
    """`mailto`: prefilled e-mail; `form`: an HTTPS POST to `form_url`."""
    email: str | None = None
    """mailto: the address requests go to (default: `site.support_email`)."""
    form_url: str | None = None
    """form: the HTTPS endpoint that receives posted requests."""

    @model_validator(mode="after")
    def _form_needs_url(self) -> ActionsConfig:
        if self.channel == "form" and not is_form_endpoint(self.form_url or ""):
            raise ValueError(
                "channel 'form' needs form_url starting with https:// (or http://127.0.0.1 or "
                "http://localhost, for a receiver on this machine)"
            )
        return self


def is_form_endpoint(url: str) -> bool:
    """HTTPS, or plain HTTP to this machine (a browser treats loopback as a secure origin)."""
    parts = urlsplit(url)
    if any(ord(c) < 0x21 or c in "'\";" for c in url) or not parts.hostname:
        return False  # (the URL goes into the Content-Security-Policy as it is)
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost"))


Words = str | dict[str, str]
"""Text customers read: one string (the theme's catalogues translate it when it is one of theirs,
as the defaults are), or per language, e.g. `{en: Repair, de: Reparatur}`."""


def checked_words(value: Words | None, what: str) -> Words | None:
    if value is None:
        return None
    texts = [value] if isinstance(value, str) else list(value.values())
    if not texts or not all(text.strip() for text in texts):
        raise ValueError(f"{what}: give the text, in one language at least (e.g. {{en: ...}})")
    return value


REQUEST_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")


class RequestField(Strict):
    """A field of a request form besides the description."""

    key: str
    """The field's name in what is sent (`field.<key>`): lower-case letters, digits, `-` and `_`."""
    label: Words
    """What the form says beside it."""
    type: Literal["text", "number", "date", "choice"] = "text"
    """`text` (one line), `number`, `date` (YYYY-MM-DD), or `choice` (one of `choices`)."""
    required: bool = False
    """Whether the request cannot be sent without it."""
    choices: list[str] = Field(default_factory=list)
    """For `choice`: the values offered, as sent and shown."""

    @field_validator("key")
    @classmethod
    def _key(cls, key: str) -> str:
        if not REQUEST_KEY.match(key):
            raise ValueError(f"{key!r}: use lower-case letters, digits, '-' and '_' (up to 40), starting with a letter")
        return key

    @model_validator(mode="after")
    def _checked(self) -> RequestField:
        checked_words(self.label, f"field {self.key} label")
        if self.type == "choice" and not self.choices:
            raise ValueError(f"field {self.key}: a choice needs `choices`")
        if self.type != "choice" and self.choices:
            raise ValueError(f"field {self.key}: `choices` only go with type choice")
        return self


class Terms(Strict):
    """Terms a customer must accept before sending: the text (Markdown) and its version, which is sent along."""

    text: Words
    """The terms, in Markdown (one text, or per language)."""
    version: str
    """Names this wording (e.g. `2026-01`): what is sent says which version the customer accepted."""

    @model_validator(mode="after")
    def _checked(self) -> Terms:
        checked_words(self.text, "terms text")
        if not self.version.strip() or len(self.version) > 40 or "\n" in self.version:
            raise ValueError("terms version: one short line, e.g. 2026-01")
        return self


class RequestKind(Strict):
    """One kind of request a customer can send from the request page."""

    key: str
    """What is sent as `request` (e.g. `repair`): lower-case letters, digits, `-` and `_`."""
    label: Words
    """The kind's name: heading of its form and e-mail subject."""
    button: Words = N_("Send request")
    """The send button's text."""
    hint: Words | None = None
    """A line of help above the description."""
    description: Words | None = None
    """Text the description box starts with (a default work description)."""
    description_required: bool = False
    """Whether the request cannot be sent with an empty description (or only the default one)."""
    fields: list[RequestField] = Field(default_factory=list)
    """Fields besides the description."""
    terms: Terms | None = None
    """Terms to accept before sending."""

    @field_validator("key")
    @classmethod
    def _key(cls, key: str) -> str:
        return RequestField._key(key)

    @model_validator(mode="after")
    def _checked(self) -> RequestKind:
        for words, what in ((self.label, "label"), (self.button, "button"), (self.hint, "hint")):
            checked_words(words, f"request kind {self.key} {what}")
        keys = [f.key for f in self.fields]
        if len(keys) != len(set(keys)):
            raise ValueError(f"request kind {self.key}: two fields with the same key")
        return self


DEFAULT_REQUEST_KINDS = [
    RequestKind(key="new-order", label=N_("New order"), hint=N_("Please list the items and quantities you need.")),
    RequestKind(key="work-request", label=N_("Work request"), hint=N_("Please describe the work you need.")),
    RequestKind(
        key="change-details", label=N_("Change of details"), hint=N_("Please tell us which details have changed.")
    ),
]


class RequestsConfig(Strict):
    """The request page's kinds of request (a group's or customer's `kinds` replace these as a whole)."""

    kinds: list[RequestKind] = Field(default_factory=lambda: list(DEFAULT_REQUEST_KINDS))
    """The kinds offered, in order; by default new order, work request, change of details."""

    @field_validator("kinds")
    @classmethod
    def _unique(cls, kinds: list[RequestKind]) -> list[RequestKind]:
        keys = [k.key for k in kinds]
        if len(keys) != len(set(keys)):
            raise ValueError("two request kinds with the same key")
        if {"quote-approve", "quote-decline"} & set(keys):
            raise ValueError("quote-approve and quote-decline are the quote page's own requests")
        return kinds


class QuoteDecisions(Strict):
    """Approving or declining a quote from its page."""

    terms: Terms | None = None
    """Terms a customer must accept to approve a quote (their version is sent along)."""


class PaymentInstructions(Strict):
    """How to pay an invoice: printed on it and shown under it, with a QR code made at build time."""

    account_holder: str | None = None
    """The account's holder (default: the seller's legal name)."""
    bank: str | None = None
    """The bank's name."""
    iban: str | None = None
    """The account's IBAN (printed in groups of four)."""
    bic: str | None = None
    """The bank's BIC."""
    account_number: str | None = None
    """An account number, where there is no IBAN (with `sort_code` or `routing_number` in `note`)."""
    note: str = ""
    """A line for the customer, e.g. "Please quote the invoice number with your payment."."""
    qr: bool = True
    """A QR code: the invoice's pay link, else (IBAN, EUR) a SEPA credit-transfer code (EPC) for the balance."""

    @field_validator("iban")
    @classmethod
    def _iban(cls, value: str | None) -> str | None:
        if value is None:
            return value
        compact = re.sub(r"\s+", "", value).upper()
        if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{10,30}", compact):
            raise ValueError(f"{value!r} is not an IBAN")
        digits = "".join(str(int(c, 36)) for c in compact[4:] + compact[:4])
        if int(digits) % 97 != 1:
            raise ValueError(f"{value!r}: the IBAN's check digits are wrong")
        return compact

    @property
    def given(self) -> bool:
        return bool(self.iban or self.account_number or self.note)


class NotificationSettings(Strict):
    """Which events e-mail a customer's contacts after a publish (`portico notify`), and when."""

    invoice: bool = True
    """A new invoice."""
    overdue: bool = True
    """A reminder for an overdue invoice."""
    shipped: bool = True
    """A shipment of an order, with its tracking link."""
    quote: bool = True
    """A new quote awaiting the customer's decision."""
    document: bool = True
    """A new document."""
    overdue_after_days: int = Field(7, ge=0)
    """The first reminder goes this many days after the due date."""
    overdue_every_days: int = Field(14, ge=1)
    """At most one reminder per invoice in this many days."""


HIDEABLE_FIELDS = (
    "sales_rep",
    "po_number",
    "promised_date",
    "notes",
    "unit_price",
    "discount",
    "tax",
    "payment_terms",
    "payment_method",
    "list_price",
    "stock",
)
CSS_NAME = re.compile(r"^[a-z][a-z0-9-]*$")
CSS_COLOUR = re.compile(r"^(#[0-9a-fA-F]{3,8}|[a-zA-Z]+|(rgb|rgba|hsl|hsla|oklch|oklab)\([0-9a-z.,%/ +-]+\))$")
DATE_STYLES = ("short", "medium", "long", "full")


class NavLink(Strict):
    """An extra link in a portal's navigation."""

    label: str
    """The link's text."""
    url: str
    """Where it goes: `https://...`, `mailto:...`, or a path on the site."""
    audience: list[str] | None = None
    """Customer ids or groups who see the link; default everyone."""

    @field_validator("url")
    @classmethod
    def _safe_url(cls, value: str) -> str:
        return checked_url(value, relative=True)


class Branding(Strict):
    """How a portal looks and greets; every key can differ per group and per customer."""

    display_name: str | None = None
    """The name in every page's header and title; default `site.name`."""
    logo: str = "company"
    """`company` (the `site.logo` file, if any), `none`, or an image file relative to config.yaml."""
    favicon: str | None = None
    """An icon file relative to config.yaml; default the theme's `favicon.svg`."""
    colors: dict[str, str] = Field(default_factory=dict)
    """CSS custom properties the theme reads, without `--`, e.g. `{brand: "#0b5d3b", brand-contrast: "#fff"}`."""
    extra_css: list[str] = Field(default_factory=list)
    """Stylesheets (relative to config.yaml) linked after the theme's own."""
    footer: str = ""
    """A line of text at the foot of every page."""
    welcome: str = ""
    """Text on the sign-in page, above the form."""
    after_sign_in: str = ""
    """Markdown shown at the top of the dashboard once signed in (news, holiday hours)."""
    nav_links: list[NavLink] = Field(default_factory=list)
    """Extra navigation links after the portal's own sections."""

    @field_validator("colors")
    @classmethod
    def _safe_colours(cls, colors: dict[str, str]) -> dict[str, str]:
        for name, value in colors.items():
            if not CSS_NAME.match(name):
                raise ValueError(f"colour name {name!r}: use lower-case letters, digits and '-'")
            if not CSS_COLOUR.match(value.strip()):
                raise ValueError(f"colour {name}: {value!r} is not a CSS colour such as '#1f4e79' or 'rgb(31 78 121)'")
        return colors


class PortalConfig(Strict):
    """What a portal shows. Set here for everyone; `groups` and `customers` override any key."""

    enabled: bool = True
    """Whether customers get a portal (the export's `portal_enabled` can also switch one off)."""
    language: str | None = None
    """Language of portals whose export row names none (default `site.language`), e.g. `de` or `fr_CH`."""
    date_format: str = "medium"
    """`short`, `medium`, `long`, `full`, or a Babel date pattern such as `dd.MM.yyyy`."""
    modules: Modules = Modules()
    """Sections switched on or off."""
    hidden_fields: list[Literal[HIDEABLE_FIELDS]] = Field(default_factory=list)  # type: ignore[valid-type]
    """Fields left out of every page and download: `sales_rep`, `po_number`, `promised_date`, `notes`, `unit_price`, `discount`, `tax`, `payment_terms`, `payment_method`, `list_price`, `stock`."""
    order_stages: list[str] = Field(default_factory=lambda: list(ORDER_STAGES_DEFAULT))
    """The customer-facing order stages, in order, as the timeline shows them."""
    default_stage: str = "received"
    """Stage of an order with no status (an order with a ship date is `shipped`)."""
    status_map: StatusMaps = StatusMaps()
    """ERP status codes → customer-facing states (built-in, or one of `states`)."""
    states: dict[str, CustomState] = Field(default_factory=dict)
    """The ERP's own stages and statuses beyond the built-in ones, e.g. `{on_hold: {label: {en: On hold, de: Angehalten}}, disputed: {label: {en: Disputed}, counts_as: open}}`."""
    actions: ActionsConfig = ActionsConfig()
    """How requests and quote decisions leave the site."""
    requests: RequestsConfig = RequestsConfig()
    """The kinds of request customers can send, each with its fields and terms."""
    quotes: QuoteDecisions = QuoteDecisions()
    """Quote approval: terms to accept."""
    payment_link_template: str | None = None
    """Pay link for invoices with a balance when the export has none; fields `{invoice}`, `{balance}`, `{currency}`, `{customer}`."""
    default_payment_days: int = Field(30, ge=0)
    """Days from invoice date to due date when neither the invoice nor the customer's terms say."""
    recent_activity: int = Field(8, ge=0)
    """How many events the dashboard's recent activity lists."""
    statement_months: int = Field(12, ge=1)
    """The statement of account lists the movements of this many months (this one included), after the opening balance."""
    branding: Branding = Branding()
    """Name, logo, colours, stylesheets and texts."""
    payment: PaymentInstructions = PaymentInstructions()
    """Bank details and a note, printed on invoices (and the statement) with a QR code."""
    notifications: NotificationSettings = NotificationSettings()
    """Which events `portico notify` e-mails to contacts (a contact whose export row says `notifications: no` gets none)."""
    slug: Literal["opaque", "id", "field"] = "opaque"
    """A portal's folder name: `opaque` (a keyed hash of the customer id, says nothing), the customer `id` made URL-safe, or the export's `slug` field. Site-wide only."""

    @field_validator("payment_link_template")
    @classmethod
    def _payment_link(cls, value: str | None) -> str | None:
        template = checked_template(value, {"invoice", "balance", "currency", "customer"})
        return checked_link_template(template) if template else template

    @field_validator("date_format")
    @classmethod
    def _date_pattern(cls, value: str) -> str:
        if value in DATE_STYLES:
            return value
        from babel.dates import format_date

        try:
            format_date(date(2026, 1, 2), value, locale="en")
        except Exception as exc:  # Babel raises several kinds for a bad pattern
            raise ValueError(
                f"{value!r} is not a date style ({', '.join(DATE_STYLES)}) or Babel pattern: {exc}"
            ) from None
        if not re.search(r"[dMyLE]", value.split("'")[0] + "".join(value.split("'")[2::2])):
            raise ValueError(f"{value!r} has no day, month or year field (a Babel pattern such as 'dd.MM.yyyy')")
        return value

    def shows(self, field_name: str) -> bool:
        return field_name not in self.hidden_fields


SITE_WIDE_PORTAL_KEYS = {"slug"}


class PaddingConfig(Strict):
    """What the published files say of a portal: by default only a coarse size class. The byte cost is in docs/encryption.md."""

    sizes: int = Field(1536, ge=0)
    """Every encrypted file is padded to the smallest of this many bytes (pages: twice this, where nearly all land), twice, four times as many, …; 0 gives exact sizes."""
    files: int = Field(8, ge=0)
    """Decoy files bring each portal's page count up to this many, or `growth` times, `growth`² times as many, …; 0 publishes no decoys."""
    growth: int = Field(2, ge=2)
    """How much each file-count class is larger than the one before: 2 tells a portal's page count within a factor of 2, 4 within 4 at more decoys."""


class GateConfig(Strict):
    """The password gate: how portals are encrypted and unlocked in the browser."""

    keystore: str = ".portico/keystore.json"
    """The keystore file (keys, passwords, key slots), relative to config.yaml; keep it outside the output folder and back it up."""
    session_minutes: int = Field(30, ge=1)
    """A signed-in session ends after this many minutes without opening a page."""
    remember_days: int = Field(30, ge=1)
    """With "remember me", the session survives browser restarts and lasts this many idle days."""
    padding: PaddingConfig = Field(default_factory=PaddingConfig)
    """Size classes and decoy files, so the public files tell little of what a portal holds."""

    @model_validator(mode="before")
    @classmethod
    def renamed_keys(cls, data: object) -> object:
        if isinstance(data, dict) and "pad_bucket" in data:
            raise ValueError("gate.pad_bucket is now gate.padding.sizes (a size class, doubled as needed)")
        return data


class CacheRule(Strict):
    """One Cache-Control rule; the first whose pattern matches a published path wins."""

    pattern: str
    """A glob over the published path, e.g. `_static/*` or `*/index.html`."""
    value: str
    """The Cache-Control header, e.g. `public, max-age=600`."""


class PublishConfig(Strict):
    """Where `portico publish` sends the build. Flags and environment variables override these."""

    target: str | None = None
    """A folder path, or `s3://bucket/prefix` (env `PORTICO_PUBLISH_TARGET`, flag `--target`)."""
    region: str | None = None
    """S3 region (env `PORTICO_PUBLISH_REGION`; default: boto3's own configuration)."""
    profile: str | None = None
    """AWS profile to take credentials from (env `PORTICO_PUBLISH_PROFILE`); default: boto3's chain."""
    endpoint_url: str | None = None
    """An S3-compatible service's endpoint, e.g. MinIO, R2, B2, Wasabi (env `PORTICO_PUBLISH_ENDPOINT_URL`, flag `--endpoint-url`)."""
    cloudfront: list[str] = Field(default_factory=list)
    """CloudFront distribution ids to invalidate after a publish (env `PORTICO_CLOUDFRONT_DISTRIBUTIONS`, comma-separated)."""
    cloudfront_endpoint_url: str | None = None
    """A CloudFront-compatible endpoint; only for testing."""
    max_deletes: int = Field(256, ge=0)
    """A publish that would delete more objects than this deletes nothing and fails (flags `--max-deletes`, `--allow-deletes all`)."""
    concurrency: int = Field(16, ge=1, le=128)
    """Uploads in flight at once."""
    retry_mode: Literal["standard", "adaptive"] = "adaptive"
    """botocore's retry mode (exponential back-off; adaptive also slows down when throttled)."""
    max_attempts: int = Field(6, ge=1)
    """Attempts per request, first try included."""
    cache_control: list[CacheRule] = Field(default_factory=list)
    """Rules checked before the defaults: fingerprinted `_static` assets immutable for a year, other `_static` assets an hour, everything else `no-cache`."""
    gzip: bool = False
    """Upload text files (HTML shells, CSS, JS, SVG) gzip-compressed with `Content-Encoding: gzip`."""
    verify: bool = False
    """Also compare with the store's full listing (flag `--verify`): finds objects removed behind Portico's back, at the cost of listing every key."""
    list_page_size: int = Field(1000, ge=1, le=1000)
    """Keys per listing request."""
    invalidation_limit: int = Field(15, ge=1)
    """More changed paths than this are collapsed into wildcards (per portal, then the whole prefix)."""
    lease_seconds: float = Field(120, ge=5, le=3600)
    """The publish lock's lease: renewed while a publish runs; a crashed publish's lock is taken over this long after its last renewal."""
    single_writer: bool = False
    """Skip the check that the store honours conditional writes (flag `--single-writer`): only where one publish can ever run at a time."""


class SmtpConfig(Strict):
    """The SMTP server e-mail goes through. Credentials come from the environment, never from this file."""

    host: str
    """The server's name or address."""
    port: int = Field(587, ge=1, le=65535)
    """587 for STARTTLS, 465 for implicit TLS, 25 for neither."""
    security: Literal["starttls", "tls", "none"] = "starttls"
    """`starttls` (upgrade after connecting), `tls` (TLS from the start) or `none` (a relay on this machine only)."""
    username_env: str = "PORTICO_SMTP_USER"
    """The environment variable holding the user name (none set: no login)."""
    password_env: str = "PORTICO_SMTP_PASSWORD"
    """The environment variable holding the password."""
    timeout: float = Field(30, gt=0)
    """Seconds to wait for the server."""


class MailConfig(Strict):
    """E-mail to contacts (`portico invite`, `portico notify`): who it comes from and how it leaves."""

    from_address: str | None = None
    """The sender, e.g. `Larkspur Portal <portal@larkspur.example>`; default: the site's name and `support_email`."""
    reply_to: str | None = None
    """Where replies go; default: `site.support_email`."""
    smtp: SmtpConfig | None = None
    """The SMTP server; without one, messages are written to the outbox folder as `.eml` files."""
    outbox: str = "outbox"
    """The folder `.eml` files are written to when there is no SMTP server (relative to config.yaml)."""
    concurrency: int = Field(4, ge=1, le=16)
    """Messages sent at once (one SMTP connection each)."""
    max_per_run: int = Field(500, ge=1)
    """At most this many messages per run (many providers cap a day's sending); a re-run sends the rest."""
    attempts: int = Field(3, ge=1, le=10)
    """Tries per message, with back-off, before it is reported as failed."""
    invite_credential: Literal["password", "link"] = "password"
    """What an invitation carries: the `password`, or a personal sign-in `link` (the key that opens the contact's slot, in the URL's fragment; it stops when the password changes or the customer is re-keyed)."""


class ContentPage(Strict):
    """Front matter of a content page (`content/*.md`)."""

    title: str
    """Page title and navigation label."""
    nav_order: int = 100
    """Position in the navigation, lowest first."""
    audience: list[str] | None = None
    """Customer ids or groups who see the page; default everyone."""


class Config(Strict):
    """A validated `config.yaml`; `root` is the folder relative paths are resolved against."""

    root: Path
    source_path: Path
    site: SiteConfig = SiteConfig()
    """The business publishing the portals."""
    exports: ExportsConfig
    """The ERP export and how to read it."""
    portal: PortalConfig = PortalConfig()
    """What every portal shows, how it looks and how it acts: the first layer of settings."""
    groups: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Per customer group (the export's `group`): any `portal` keys, overriding the global ones."""
    customers: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Per customer id: any `portal` keys, overriding the group's and the global ones."""
    gate: GateConfig = GateConfig()
    """The password gate."""
    publish: PublishConfig = PublishConfig()
    """Where and how to publish."""
    mail: MailConfig = MailConfig()
    """E-mail to contacts: invitations."""
    carriers: dict[str, str] = Field(default_factory=dict)
    """Carrier name → tracking URL template with `{tracking}` (names match case-insensitively)."""

    @field_validator("carriers")
    @classmethod
    def _tracking_templates(cls, carriers: dict[str, str]) -> dict[str, str]:
        for name, template in carriers.items():
            try:
                checked_link_template(checked_template(template, {"tracking"}))
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}") from None
        return carriers

    theme: str = "default"
    """The theme's folder name under `themes_dir`."""
    themes_dir: str = "themes"
    """Where themes live, relative to config.yaml."""
    content_dir: str = "content"
    """Folder of content pages (`*.md`), relative to config.yaml."""
    output: str = "public"
    """The output folder, relative to config.yaml."""

    _layers: dict[tuple[str, str], PortalConfig] = PrivateAttr(default_factory=dict)
    _source_digest: bytes | None = PrivateAttr(default=None)

    @property
    def source_digest(self) -> bytes | None:
        """The SHA-256 of the bytes of config.yaml these settings were parsed from (a build records
        that, not the file as it is by the time the build starts)."""
        return self._source_digest

    def path(self, relative: str) -> Path:
        return (self.root / relative).resolve()

    def settings_for(self, customer_id: str, group: str = "") -> PortalConfig:
        """A customer's portal settings: global, then its group's, then its own keys."""
        key = (group if group in self.groups else "", customer_id if customer_id in self.customers else "")
        layers = self._layers  # (a private attribute: pydantic looks it up slowly, and this runs per document)
        settings = layers.get(key)
        if settings is None:
            settings = layers[key] = layered(self.portal, [self.groups.get(key[0]), self.customers.get(key[1])])
        return settings

    def all_settings(self) -> list[PortalConfig]:
        """Every combination of layers a customer can end up with (for the files they name)."""
        found = [self.portal] + [self.settings_for("", name) for name in self.groups]
        return found + [self.settings_for(cid, g) for cid in self.customers for g in ["", *self.groups]]

    @property
    def export_dir(self) -> Path:
        return self.path(self.exports.folder)

    @property
    def output_dir(self) -> Path:
        return self.path(self.output)


def merged(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """`override` laid over `base`: mappings merge key by key, anything else is replaced."""
    result = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merged(result[key], value)
        else:
            result[key] = value
    return result


def layered(base: PortalConfig, overrides: list[dict[str, Any] | None]) -> PortalConfig:
    data = base.model_dump()
    for override in overrides:
        if override:
            data = merged(data, override)
    return PortalConfig.model_validate(data)
