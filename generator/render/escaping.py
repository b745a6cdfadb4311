"""What a template prints, escaped: the text markupsafe's `escape` gives, at a fraction of its cost.

A page prints a hundred-odd values (`{{ line.description }}`, `{{ amount|money }}`), and Jinja
escapes each with markupsafe's `escape`, which wraps every result in a new `Markup` through
Python-level constructors: that wrapping was a sixth of a page's rendering time. What Jinja prints
is only ever joined into the page (a macro's, block's or `{% set %}` block's text is marked safe
after the join), so the escaped text itself is all a printed value needs to be.

`PageTemplate` is the renderer's template class: every compiled template's `escape` (the one name
Jinja's generated code prints through) is `escape_output`. Everything but plain and marked-safe
strings still goes through markupsafe's own `escape`, so objects with `__html__`, numbers and
undefined values behave exactly as before.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, Template
from markupsafe import Markup, escape

from .lookups import item_or_undefined

try:
    from markupsafe import _escape_inner as _escaped_text  # the C escaping `escape` itself calls on a str
except ImportError:  # (a markupsafe without it: its public `escape`, at its own speed)

    def _escaped_text(text: str) -> str:
        return str(escape(text))


def escape_output(value: Any) -> str:
    """The printed text of `value`: escaped if it is a plain string, as it is if marked safe."""
    kind = type(value)
    if kind is str:
        return _escaped_text(value)
    if kind is Markup:
        return value
    return escape(value)


class PageTemplate(Template):
    @classmethod
    def from_code(cls, environment: Environment, code, globals, uptodate=None) -> Template:
        template = super().from_code(environment, code, globals, uptodate)
        module = template.root_render_func.__globals__
        module["escape"] = escape_output  # the compiled module's own name
        module["item_or_undefined"] = item_or_undefined  # what `PageCodeGenerator`'s lookups fall back on
        return template
