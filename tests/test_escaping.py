"""Templates print values through `escape_output`: the same text markupsafe's `escape` gives."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jinja2 import DictLoader, Environment, StrictUndefined, UndefinedError
from markupsafe import Markup, escape

from generator.render.escaping import PageTemplate, escape_output

HOSTILE = "<script>alert('x')</script> & \"quoted\" <b>"


class Html:
    def __html__(self):
        return "<i>kept as it is</i>"


@given(st.text())
def test_plain_text_is_escaped_exactly_as_markupsafe_escapes_it(text):
    assert escape_output(text) == str(escape(text))


@pytest.mark.parametrize(
    "value", [HOSTILE, Markup("<b>safe</b>"), Html(), 42, Decimal("-1.50"), None, 3.5, ["<a>"], "", "plain"]
)
def test_every_kind_of_value_prints_as_markupsafe_prints_it(value):
    assert escape_output(value) == str(escape(value))


TEMPLATES = {
    "base.html": "<title>{% block title %}{{ title }}{% endblock %}</title>{% block body %}{% endblock %}",
    "page.html": (
        '{% extends "base.html" %}{% from "macros.html" import cell with context %}'
        "{% block body %}{{ value }}|{{ cell(value) }}|{% set held %}{{ value }}{% endset %}{{ held }}"
        "|{{ safe }}|{{ number }}|{{ value|upper }}|{% for v in items %}{{ v }}{% endfor %}{% endblock %}"
    ),
    "macros.html": "{% macro cell(v) %}<td>{{ v }}</td>{% endmacro %}",
}


def environment(template_class=None):
    env = Environment(loader=DictLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined)
    if template_class:
        env.template_class = template_class
    return env


def test_a_page_template_renders_byte_for_byte_what_jinja_renders():
    values = {"title": HOSTILE, "value": HOSTILE, "safe": Markup("<em>ok</em>"), "number": Decimal("7.25")}
    values["items"] = [HOSTILE, 3, Markup("<br>")]
    ours, jinjas = environment(PageTemplate).get_template("page.html"), environment().get_template("page.html")
    assert ours.render(values) == jinjas.render(values)
    assert "<script>" not in ours.render(values) and "&lt;script&gt;" in ours.render(values)
    assert ours.root_render_func.__globals__["escape"] is escape_output  # (or the comparison proves nothing)


def test_an_undefined_value_still_fails_the_page():
    with pytest.raises(UndefinedError):
        environment(PageTemplate).get_template("page.html").render(title="t")
