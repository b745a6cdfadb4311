"""How templates call functions: `_("…")`, `href(…)`, `shows(…)` and macros, thirty-odd times a page.

Jinja sends every call in a template through `Context.call`, which works out afresh, for each
call, whether the callable wants the context, the evaluation context or the environment passed
in: several attribute probes that cost twenty times the call itself. `PageContext.call` answers
that from the function's own attributes for the callables pages use (functions, methods and
macros), and leaves every other case to Jinja, so what a call receives is unchanged.
"""

from __future__ import annotations

from types import FunctionType, MethodType
from typing import Any

from jinja2 import pass_eval_context
from jinja2.runtime import Context, Macro

# what Jinja's own decorator marks a function with (its marker's values are not public)
EVAL_CONTEXT = pass_eval_context(lambda eval_ctx: None).jinja_pass_arg
UNDEFINED_BY_STOP = "value was undefined because a callable raised a StopIteration exception"


class PageContext(Context):
    def call(__self, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        kind = type(__obj)
        if kind is MethodType:
            marker = __obj.__func__.__dict__.get("jinja_pass_arg") if type(__obj.__func__) is FunctionType else ""
        elif kind is FunctionType:
            marker = __obj.__dict__.get("jinja_pass_arg")
        else:
            marker = None if kind is Macro else ""  # ("": not known here)
        if marker is EVAL_CONTEXT:
            args = (__self.eval_ctx, *args)
        elif marker is not None:
            return super().call(__obj, *args, **kwargs)  # the context or environment passed: Jinja's way
        if kwargs:
            kwargs.pop("_block_vars", None)
            kwargs.pop("_loop_vars", None)
        try:
            return __obj(*args, **kwargs)
        except StopIteration:
            return __self.environment.undefined(UNDEFINED_BY_STOP)
