"""Write the configuration reference (docs/config.md) from the schema itself.

Run `python -m generator.config.reference > docs/config.md` after changing the schema; a test fails
while the committed page and the schema disagree, so the reference cannot go stale.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
import types
import typing
from functools import cache
from itertools import pairwise
from typing import Any, Literal

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from .entities import ENTITIES, LINE_FIELDS
from .schema import ColumnSpec, Config, DocumentsSource, ExportsConfig, LineSource, Lookup, Source, Strict

INTERNAL = {"root", "source_path"}


def _strip_optional(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def type_name(annotation: Any) -> str:
    annotation = _strip_optional(annotation)
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return " \\| ".join(f"`{a}`" for a in typing.get_args(annotation))
    if origin in (list, dict):
        return f"{origin.__name__}[{', '.join(type_name(a) for a in typing.get_args(annotation))}]"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "mapping"
    return getattr(annotation, "__name__", str(annotation)).replace("str", "text")


def default_text(field: Any) -> str:
    if field.is_required():
        return "**required**"
    value = field.default_factory() if field.default_factory is not None else field.default
    if value is None or value is PydanticUndefined:
        return "—"
    if isinstance(value, BaseModel):
        return "see below"
    return f"`{value!r}`" if not isinstance(value, bool) else f"`{str(value).lower()}`"


@cache
def field_docs(model: type[Strict]) -> dict[str, str]:
    """Each field's docstring, the string just under it in the class body (its own class's or an
    ancestor's). Read from the source here, when the reference is written: pydantic would read
    it on every start of every command (`use_attribute_docstrings`), a twentieth of a second."""
    docs: dict[str, str] = {}
    for cls in reversed(model.__mro__):
        if not (issubclass(cls, Strict) and cls is not Strict):
            continue
        body = ast.parse(textwrap.dedent(inspect.getsource(cls))).body[0].body
        for node, following in pairwise(body):
            if (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)
            ):
                docs[node.target.id] = inspect.cleandoc(following.value.value)
    return docs


def table(model: type[Strict], prefix: str, leave_out: tuple[str, ...] = ()) -> list[str]:
    rows = ["| key | type | default | meaning |", "|---|---|---|---|"]
    docs = field_docs(model)
    for name, field in model.model_fields.items():
        if name in INTERNAL or name in leave_out:
            continue
        description = docs.get(name, "").replace("|", "\\|").replace("\n", " ")
        rows.append(f"| `{prefix}{name}` | {type_name(field.annotation)} | {default_text(field)} | {description} |")
    return rows


def section(title: str, model: type[Strict], prefix: str) -> list[str]:
    doc = " ".join((model.__doc__ or "").split())
    return [f"## {title}", "", doc, "", *table(model, prefix), ""]


def nested_models(model: type[Strict]) -> list[tuple[str, type[Strict]]]:
    found = []
    for name, field in model.model_fields.items():
        inner = _strip_optional(field.annotation)
        if isinstance(inner, type) and issubclass(inner, Strict):
            found.append((name, inner))
    return found


def entity_table(fields: dict[str, str], required: tuple[str, ...]) -> list[str]:
    return [", ".join(f"`{f}`{'*' if f in required else ''} ({kind})" for f, kind in fields.items()), ""]


def config_reference() -> str:
    out = [
        "# Configuration reference",
        "",
        "Every key of `config.yaml`, generated from the schema in `generator/config/schema.py` "
        "(`python -m generator.config.reference > docs/config.md`). Unknown keys are errors. "
        "Relative paths are relative to the folder of `config.yaml`.",
        "",
    ]
    out += section("Top level", Config, "")
    for name, model in nested_models(Config):
        if model is ExportsConfig:
            continue
        out += section(f"`{name}`", model, f"{name}.")
        for inner_name, inner in nested_models(model):
            out += section(f"`{name}.{inner_name}`", inner, f"{name}.{inner_name}.")
    out += section("`exports`", ExportsConfig, "exports.")
    out += section("`exports.<entity>`", Source, "exports.<entity>.")
    out += section("`exports.<entity>.lines`", LineSource, "exports.<entity>.lines.")
    documents_only = ["## `exports.documents`", "", "Besides the keys of every entity:", ""]
    out += documents_only + table(DocumentsSource, "exports.documents.", tuple(Source.model_fields)) + [""]
    out += section("`exports.<entity>.columns.<field>`", ColumnSpec, "")
    out += section("`exports.<entity>.columns.<field>.lookup`", Lookup, "lookup.")
    out += [
        "## Entity fields",
        "",
        "The canonical fields `columns` can map, per entity (`*` marks a required field). "
        "Types: text, date, decimal, bool (see `true_values`), email. Address fields come in "
        "groups: `<prefix>_name`, `_street`, `_city`, `_postal_code`, `_region`, `_country`.",
        "",
    ]
    for name, entity in ENTITIES.items():
        out += [f"### {name}", "", *entity_table(entity.fields, entity.required)]
        if entity.has_lines:
            out += [f"Lines (`exports.{name}.lines.columns`):", "", *entity_table(LINE_FIELDS, entity.line_required)]
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    print(config_reference(), end="")
