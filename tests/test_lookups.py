"""Templates look up `a.b` inline (`PageCodeGenerator`): every lookup gives what Jinja's own
`Environment.getattr` gives, for every kind of object and undefined value."""

from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jinja2 import ChainableUndefined, DictLoader, Environment, StrictUndefined, Undefined
from jinja2.exceptions import UndefinedError

from generator import pipeline
from generator.config import load_config
from generator.render.escaping import PageTemplate
from generator.render.lookups import PageCodeGenerator

REPO = Path(__file__).resolve().parent.parent
TEMPLATE = (
    "{{ obj.name }}|{{ obj.inner.value }}|{{ (obj.inner).value|upper }}|{{ mapping.key }}"
    "|{{ mapping.items is callable }}"
    "|{{ text.upper is callable }}|{{ number.real }}|{{ obj.nothing is defined }}|{{ mapping.nothing is defined }}"
    "|{% for row in rows if row.shown %}{{ row.label }},{% endfor %}"
    "|{% macro cell(value=obj.inner.value) %}[{{ value }}{{ caller() }}]{% endmacro %}"
    "{% call cell(mapping.key) %}{{ obj.name }}{% endcall %}"
    "|{% set ns = namespace(last=none) %}{% for row in rows %}{% set ns.last = row.label %}{% endfor %}{{ ns.last }}"
    "|{{ made().key }}|{{ calls.count }}|{{ sequence.0 }}|{{ none_value.anything is defined }}"
)


class Counter:
    def __init__(self):
        self.count = 0

    def made(self):
        self.count += 1
        return {"key": "from a call"}


def context(name="<b>ann</b>", key="k&v") -> dict:
    counter = Counter()
    return {
        "obj": SimpleNamespace(name=name, inner=SimpleNamespace(value="inner<>")),
        "mapping": {"key": key, "items": "an item named like a method"},
        "text": "abc",
        "number": 7,
        "rows": [SimpleNamespace(label="one", shown=True), SimpleNamespace(label="two", shown=False)],
        "made": counter.made,
        "calls": counter,
        "sequence": ["first"],
        "none_value": None,
    }


def render(generator, undefined=StrictUndefined, autoescape=True, source=TEMPLATE, **values) -> str:
    env = Environment(loader=DictLoader({"page.html": source}), undefined=undefined, autoescape=autoescape)
    env.template_class = PageTemplate
    if generator is not None:
        env.code_generator_class = generator
    return env.get_template("page.html").render(**values)


@pytest.mark.parametrize("undefined", [StrictUndefined, Undefined, ChainableUndefined])
@pytest.mark.parametrize("autoescape", [True, False])
def test_every_lookup_gives_what_jinja_gives(undefined, autoescape):
    ours = render(PageCodeGenerator, undefined, autoescape, **context())
    assert ours == render(None, undefined, autoescape, **context())
    assert "|1|" in ours  # the object of `made().key` was made once, though `key` is the dict's item


@given(st.text(), st.text())
def test_any_text_looked_up_prints_as_jinja_prints_it(name, key):
    assert render(PageCodeGenerator, **context(name, key)) == render(None, **context(name, key))


@pytest.mark.parametrize("source", ["{{ obj.nothing }}", "{{ mapping.nothing }}", "{{ missing_name.nothing }}"])
def test_a_missing_attribute_still_fails_the_page_as_jinja_fails_it(source):
    failures = []
    for generator in (PageCodeGenerator, None):
        with pytest.raises(UndefinedError) as failed:
            render(generator, source=source, **context())
        failures.append(str(failed.value))
    assert failures[0] == failures[1] and ("nothing" in failures[0] or "missing_name" in failures[0])


def test_the_renderer_compiles_lookups_inline():
    """The renderer's templates look up inline (else the comparisons above would not be about the pages)."""
    renderer = pipeline.mail_renderer(load_config(REPO / "config.yaml"))
    template = renderer.env.from_string("{{ a.b }}/{{ c.d }}")
    assert "item_or_undefined" in template.root_render_func.__code__.co_names
    assert template.render(a={"b": "an item"}, c=SimpleNamespace(d="an attribute")) == "an item/an attribute"
