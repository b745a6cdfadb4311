"""`{{ line.sku }}` looked up in the compiled template itself, as Jinja would look it up.

Jinja compiles every `a.b` in a template to a call of `environment.getattr(a, "b")`, a Python
method that asks for the attribute and, failing that, the item. A page makes about 160 such
lookups (the lines of an invoice, the cells of a list), nearly all of them attributes that are
there, and the method call costs several times the lookup. `PageCodeGenerator` compiles `a.b`
to Python's own `getattr(a, "b", missing)` inline, and only when the object has no such
attribute to what follows it in Jinja's method (`item_or_undefined`): the item, else an
undefined value. The object is computed once, as before.

Only `a.b` changes; `a["b"]`, filters, tests and calls are Jinja's own. The renderer is not
sandboxed (themes are the site's own code), so no lookup is checked for safety here or before.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, nodes
from jinja2.compiler import CodeGenerator, Frame, optimizeconst

# names the compiled code assigns while looking up: not names Jinja gives variables (`l_0_name`),
# filters (`t_1`) or its runtime, and each one's value is read right after it is set
_OBJECT, _VALUE = "lookup_object", "lookup_value"


class PageCodeGenerator(CodeGenerator):
    @optimizeconst
    def visit_Getattr(self, node: nodes.Getattr, frame: Frame) -> None:
        if self.environment.is_async:  # (no async templates here: Jinja's own way)
            super().visit_Getattr(node, frame)
            return
        self.write(f"({_VALUE} if ({_VALUE} := getattr(({_OBJECT} := ")
        self.visit(node.node, frame)
        self.write(f"), {node.attr!r}, missing)) is not missing else item_or_undefined(environment, {_OBJECT}, ")
        self.write(f"{node.attr!r}))")


def item_or_undefined(environment: Environment, obj: Any, attribute: str) -> Any:
    """What `Environment.getattr` gives for an object without that attribute."""
    try:
        return obj[attribute]
    except (TypeError, LookupError, AttributeError):
        return environment.undefined(obj=obj, name=attribute)
