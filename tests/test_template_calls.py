"""Templates call functions through `PageContext.call`: what each callable receives is what
Jinja's own `Context.call` gives it."""

import html
from datetime import date

import pytest
from jinja2 import DictLoader, Environment, StrictUndefined, pass_context, pass_environment, pass_eval_context
from jinja2.runtime import Context

from generator.render.calls import PageContext


@pass_eval_context
def autoescaping(eval_ctx, text):
    return f"{text}:{eval_ctx.autoescape}"


@pass_context
def looked_up(context, name):
    return f"{name}={context.resolve(name)}"  # sees a loop's variable only if given the loop's context


@pass_environment
def environment_name(environment):
    return type(environment).__name__


class Greeter:
    @pass_context
    def __call__(self, context, who):
        return f"hello {who} from {context.resolve('site')}"


class Plain:
    def __init__(self):
        self.calls = 0

    def greet(self, who, **extra):
        self.calls += 1
        return f"{who} {sorted(extra.items())}"


def tagged(who, **extra):
    return f"{who} {sorted(extra.items())}"


def exhausted():
    raise StopIteration


TEMPLATE = (
    "{% macro cell(v) %}<td>{{ v }}</td>{% endmacro %}"
    "{{ autoescaping('a<b') }}|{{ environment_name() }}|{{ greeter('you') }}"
    "|{{ plain.greet('x', obj=2, context=3) }}|{{ tagged('y', self=1, obj=2) }}|{% for item in items %}"
    "{% set inner = item %}{{ looked_up('inner') }}{{ cell(item) }}{{ (lambda_(item)) }}{% endfor %}"
    "|{% set local = 'set here' %}{{ looked_up('local') }}|{{ exhausted() is undefined }}"
    "|{{ day.isoformat() }}|{{ size(items) }}|{{ items.index(2) }}"
)


def render(context_class, autoescape=True):
    env = Environment(loader=DictLoader({"page.html": TEMPLATE}), autoescape=autoescape, undefined=StrictUndefined)
    env.context_class = context_class
    values = dict(
        autoescaping=autoescaping,
        looked_up=looked_up,
        environment_name=environment_name,
        greeter=Greeter(),
        plain=Plain(),
        exhausted=exhausted,
        tagged=tagged,
        lambda_=lambda item: item * 2,
        items=[1, 2],
        site="the site",
        day=date(2026, 12, 4),
        size=len,
    )
    return env.get_template("page.html").render(values)


@pytest.mark.parametrize("autoescape", [True, False])
def test_every_kind_of_callable_gets_what_jinja_gives_it(autoescape):
    ours = render(PageContext, autoescape)
    assert ours == render(Context, autoescape)
    ours = html.unescape(ours)
    assert f"a<b:{autoescape}" in ours  # the evaluation context, passed
    assert "inner=1" in ours and "local=set here" in ours  # a loop's and a block's variables, seen
    assert (
        "hello you from the site" in ours
        and "y [('obj', 2), ('self', 1)]" in ours
        and "x [('context', 3), ('obj', 2)]" in ours
    )
    assert "|2026-12-04|2|1" in ours  # functions and methods written in C


def test_context_functions_are_passed_the_context_without_jinja(monkeypatch):
    """Functions marked to take the context get it from `PageContext` itself (what it passes is
    checked above against Jinja's): Jinja's own `call` sees only the callables it is left."""
    left_to_jinja = []
    jinja_call = Context.call

    def recording(self, obj, *args, **kwargs):
        left_to_jinja.append(obj)
        return jinja_call(self, obj, *args, **kwargs)

    monkeypatch.setattr(Context, "call", recording)
    assert "inner=1" in html.unescape(render(PageContext))
    assert looked_up not in left_to_jinja and all(
        isinstance(obj, Greeter) or obj is environment_name for obj in left_to_jinja
    )


def test_a_page_context_is_what_templates_run_with():
    env = Environment()
    env.context_class = PageContext
    assert type(env.from_string("").new_context({})) is PageContext
