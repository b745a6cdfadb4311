"""The configuration reference documents every key and matches the schema."""

from __future__ import annotations

from conftest import REPO

from generator.config import Config, Strict
from generator.config.reference import config_reference, field_docs, nested_models


def all_models(model=Config, seen=None):
    seen = seen if seen is not None else set()
    if model not in seen:
        seen.add(model)
        for _, inner in nested_models(model):
            all_models(inner, seen)
    return seen


def test_every_key_has_a_description():
    from generator.config import ColumnSpec, ContentPage, LineSource, Source

    undocumented = [
        f"{model.__name__}.{name}"
        for model in all_models() | {Source, LineSource, ColumnSpec, ContentPage}
        for name in model.model_fields
        if name not in ("root", "source_path") and not field_docs(model).get(name)
    ]
    assert undocumented == []
    assert all(issubclass(m, Strict) for m in all_models())


def test_committed_reference_is_current():
    committed = (REPO / "docs" / "config.md").read_text(encoding="utf-8")
    assert committed == config_reference(), "run: python -m generator.config.reference > docs/config.md"
