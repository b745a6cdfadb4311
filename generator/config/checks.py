"""Checks of a config beyond its types: each returns every problem, naming its key path.

The schema (`schema.py`) says what each key may hold; these say what keys must agree on: the
fields mapped per entity, the order stages and status maps in every layer of settings as it
will be used, and, once the export is read, the customer ids and groups that settings name.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from ..problems import ProblemLog
from .entities import DECIMAL, DOCUMENT_KINDS, ENTITIES, LINE_FIELDS
from .expressions import Expression
from .schema import (
    INVOICE_STATES,
    ORDER_STAGES_DEFAULT,
    QUOTE_STATES,
    SHIPMENT_STATES,
    SITE_WIDE_PORTAL_KEYS,
    ColumnSpec,
    Config,
    PortalConfig,
    Source,
)


def check_config(config: Config) -> list[str]:
    """Every problem of a config whose types are right; empty when it can be built with."""
    return check_entities(config) + check_portal(config.portal, "portal") + check_layers(config)


def describe_error(error: dict[str, Any]) -> str:
    location = ".".join(str(part) for part in error["loc"] if not str(part).startswith("function-"))
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        message = "unknown key"
    elif error["type"] == "missing":
        message = "required key is missing"
    message = message.removeprefix("Value error, ")
    return f"{location}: {message}" if location else message


def check_entities(config: Config) -> list[str]:
    """What the types alone cannot say: field names per entity, stages, the one required kind."""
    problems: list[str] = []
    exports = config.exports
    for key, name, source in mapped_sources(exports):
        entity = ENTITIES[name]
        where = f"exports.{key}"
        for field_name in source.columns:
            if field_name not in entity.fields:
                problems.append(
                    f"{where}.columns.{field_name}: not a field of {name} (fields: {', '.join(sorted(entity.fields))})"
                )
        for field_name in entity.required:
            if field_name not in source.columns:
                problems.append(f"{where}.columns.{field_name}: required field is not mapped")
        for field_name in source.skip_when_blank:
            if field_name not in source.columns:
                problems.append(f"{where}.skip_when_blank: '{field_name}' is not a mapped field")
        if source.group_by is not None and source.group_by not in source.columns:
            problems.append(f"{where}.group_by: '{source.group_by}' is not a mapped field")
        problems += check_computed(f"{where}.columns", source.columns, entity.fields)
        if source.lines is not None:
            problems += check_lines(name, source)
            problems += check_computed(f"{where}.lines.columns", source.lines.columns, LINE_FIELDS)
        if source.credit_note_prefix is not None and name != "invoices":
            problems.append(f"{where}.credit_note_prefix: only invoices have credit notes")
        if source.allocate is not None and name != "payments":
            problems.append(f"{where}.allocate: only payments are allocated")
    if not any(getattr(exports, kind) for kind in DOCUMENT_KINDS):
        problems.append(f"exports: map at least one of {', '.join(DOCUMENT_KINDS)}")
    return problems


def mapped_sources(exports) -> list[tuple[str, str, Source]]:
    """(config key, entity, source) of every file mapped onto an entity."""
    found = [(name, name, source) for name, source in exports.sources().items()]
    if exports.added_contacts is not None:
        found.append(("added_contacts", "contacts", exports.added_contacts))
    return found


def check_computed(where: str, columns: dict[str, ColumnSpec], types: dict[str, str]) -> list[str]:
    """A computed field is a number made of other mapped numbers."""
    problems = []
    for field_name, spec in columns.items():
        if spec.compute is None or field_name not in types:
            continue
        if types[field_name] != DECIMAL:
            problems.append(
                f"{where}.{field_name}.compute: only numbers are computed; {field_name} is {types[field_name]}"
            )
        for name in sorted(Expression(spec.compute).names):
            if name not in columns:
                problems.append(
                    f"{where}.{field_name}.compute: {name!r} is not a mapped field here "
                    f"(mapped: {', '.join(sorted(columns))})"
                )
            elif types.get(name) != DECIMAL:
                problems.append(f"{where}.{field_name}.compute: {name!r} is not a number field")
    return problems


BUILT_IN_STAGES = (*ORDER_STAGES_DEFAULT, "cancelled")


def check_portal(settings: PortalConfig, where: str) -> list[str]:
    """Stages and status maps agree with each other, in every layer as it will be used."""
    problems = []
    stages = settings.order_stages
    if settings.default_stage not in stages:
        problems.append(f"{where}.default_stage: '{settings.default_stage}' is not one of the order_stages")
    custom = settings.states
    built_in = {"invoices": INVOICE_STATES, "quotes": QUOTE_STATES, "shipments": SHIPMENT_STATES}
    allowed = {"orders": [*stages, "cancelled"]}
    for entity, states in built_in.items():
        allowed[entity] = [*states, *(key for key, state in custom.items() if state.counts_as in states)]
    for entity, states in allowed.items():
        for code, state in getattr(settings.status_map, entity).items():
            if state not in states:
                problems.append(f"{where}.status_map.{entity}.{code}: '{state}' is not one of {', '.join(states)}")
    for key, state in custom.items():
        if state.counts_as is None and key not in stages:
            problems.append(
                f"{where}.states.{key}: an order stage must be listed in order_stages; an invoice, "
                "quote or shipment status needs counts_as"
            )
    return problems


def check_lines(name: str, source: Source) -> list[str]:
    where = f"exports.{name}.lines"
    if not ENTITIES[name].has_lines:
        return [f"{where}: {name} have no lines"]
    problems = [
        f"{where}.columns.{f}: not a line field (fields: {', '.join(LINE_FIELDS)})"
        for f in source.lines.columns
        if f not in LINE_FIELDS
    ]
    problems += [
        f"{where}.columns.{f}: required line field is not mapped (map a column, a constant such as "
        f"{{value: '1'}}, or a template)"
        for f in ENTITIES[name].line_required
        if f not in source.lines.columns
    ]
    if source.lines.file and "document" not in source.lines.columns:
        problems.append(f"{where}.columns.document: lines from their own file need the column naming their {name[:-1]}")
    if not source.lines.file and source.group_by is None:
        problems.append(f"exports.{name}.group_by: lines in the same rows need group_by (the document number)")
    return problems


def check_layers(config: Config) -> list[str]:
    """Each group's and customer's keys, validated as they will be used: laid over the global ones
    (and, for a customer, over each group's, as the export decides which group it is in). The
    settings made here are the ones the build uses: `settings_for` keeps them."""
    problems = []
    for kind in ("groups", "customers"):
        for name, override in getattr(config, kind).items():
            if not isinstance(override, dict):
                problems.append(f"{kind}.{name}: must be a mapping of portal keys")
            else:
                problems += [
                    f"{kind}.{name}.{key}: site-wide only, set it under portal"
                    for key in SITE_WIDE_PORTAL_KEYS & set(override)
                ]
    if problems:
        return problems
    combos = [(f"groups.{name}", "", name) for name in config.groups]
    combos += [(f"customers.{cid}", cid, "") for cid in config.customers]
    combos += [(f"customers.{cid} (in group {name})", cid, name) for cid in config.customers for name in config.groups]
    for where, customer_id, group in combos:
        try:
            settings = config.settings_for(customer_id, group)
        except ValidationError as exc:
            problems += [f"{where}.{describe_error(err)}" for err in exc.errors()]
            continue
        problems += check_portal(settings, where)
    return list(dict.fromkeys(problems))


def check_setting_names(config: Config, customers: set[str], groups: set[str], problems: ProblemLog) -> None:
    """Warn about settings that name a customer id or group the export does not have, stages the
    global `portal.order_stages` does not list, and navigation-link audiences that name nobody."""
    where = config.source_path.name
    for customer_id in config.customers:
        if customer_id not in customers:
            problems.warning(
                where,
                None,
                f"customers.{customer_id}",
                f"no customer {customer_id!r} in the export; these settings apply to nobody",
                "unknown-setting",
            )
    for group in config.groups:
        if group not in groups:
            known = ", ".join(sorted(groups)) or "none"
            problems.warning(
                where,
                None,
                f"groups.{group}",
                f"no customer is in group {group!r} (groups in the export: {known})",
                "unknown-setting",
            )
    for path, settings in [("portal", config.portal)] + [
        (f"groups.{g}", config.settings_for("", g)) for g in config.groups
    ]:
        for stage in settings.order_stages:
            if stage not in BUILT_IN_STAGES and stage not in settings.states:
                problems.warning(
                    where,
                    None,
                    f"{path}.order_stages",
                    f"stage {stage!r} has no label in {path}.states: customers read "
                    f"{stage.replace('_', ' ').capitalize()!r} in every language (e.g. states: {{{stage}: "
                    f"{{label: {{en: ..., de: ...}}}}}})",
                    "unlabelled-state",
                )
    known_stages = set(config.portal.order_stages)
    layers = [(f"groups.{name}", o) for name, o in config.groups.items()]
    layers += [(f"customers.{cid}", o) for cid, o in config.customers.items()]
    for path, override in layers:
        for stage in override.get("order_stages") or []:
            if stage not in known_stages:
                problems.warning(
                    where,
                    None,
                    f"{path}.order_stages",
                    f"stage {stage!r} is not one of portal.order_stages",
                    "unknown-setting",
                )
        for i, link in enumerate((override.get("branding") or {}).get("nav_links") or []):
            _check_audience(
                where, f"{path}.branding.nav_links.{i}.audience", link.get("audience"), customers, groups, problems
            )
    for i, link in enumerate(config.portal.branding.nav_links):
        _check_audience(where, f"portal.branding.nav_links.{i}.audience", link.audience, customers, groups, problems)


def _check_audience(
    where: str, path: str, audience: list[str] | None, customers: set[str], groups: set[str], problems: ProblemLog
) -> None:
    for name in audience or []:
        if name not in customers and name not in groups:
            problems.warning(
                where, None, path, f"{name!r} is neither a customer id nor a group in the export", "unknown-setting"
            )
