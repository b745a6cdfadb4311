"""How templates call functions: `_("…")`, `href(…)`, `shows(…)` and macros, thirty-odd times a page.

Jinja sends every call in a template through `Context.call`, which works out afresh, for each
call, whether the callable wants the context, the evaluation context or the environment passed
in: several attribute probes that cost twenty times the call itself. `PageContext.call` answers
that from the function's own attributes for the callables pages use (functions, methods, macros
and functions written in C), passes the context (with a loop's or block's variables, as Jinja
does: the chrome parts take it, four a page) or the evaluation context itself, and leaves every
other case to Jinja, so what a call receives is unchanged.
"""

from __future__ import annotations

from types import BuiltinFunctionType, FunctionType, MethodType
from typing import Any

from jinja2 import pass_context, pass_eval_context
from jinja2.runtime import Context, Macro

# what Jinja's own decorator marks a function with (its marker's values are not public)
EVAL_CONTEXT = pass_eval_context(lambda eval_ctx: None).jinja_pass_arg
CONTEXT = pass_context(lambda context: None).jinja_pass_arg
UNDEFINED_BY_STOP = "value was undefined because a callable raised a StopIteration exception"


class PageContext(Context):
    def call(__self, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        kind = type(__obj)
        if kind is MethodType:
            marker = __obj.__func__.__dict__.get("jinja_pass_arg") if type(__obj.__func__) is FunctionType else ""
        elif kind is FunctionType:
            marker = __obj.__dict__.get("jinja_pass_arg")
        else:  # a macro, or a function or method written in C (`date.isoformat`), which carries no marker
            marker = None if kind is Macro or kind is BuiltinFunctionType else ""  # ("": not known here)
        if marker is not None and marker is not CONTEXT and marker is not EVAL_CONTEXT:
            return super().call(__obj, *args, **kwargs)  # the environment wanted, or a callable object: Jinja's way
        loop_vars = kwargs.pop("_loop_vars", None) if kwargs else None
        block_vars = kwargs.pop("_block_vars", None) if kwargs else None
        if marker is CONTEXT:  # as Jinja passes it: with the variables a loop or block set so far
            if loop_vars:
                __self = __self.derived(loop_vars)
            if block_vars:
                __self = __self.derived(block_vars)
            args = (__self, *args)
        elif marker is EVAL_CONTEXT:
            args = (__self.eval_ctx, *args)
        try:
            return __obj(*args, **kwargs)
        except StopIteration:
            return __self.environment.undefined(UNDEFINED_BY_STOP)
