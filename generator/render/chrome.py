"""`{% chrome %}…{% endchrome %}`: a part of the page (head, header, navigation, footer, scripts)
rendered once and reused on every later page that would render it the same.

Every page of a portal repeats the same chrome, and rendering it was a fifth of a page's time.
What a part renders depends only on what it reads, so the part's key is exactly that: the value
of every name used inside it (and inside the templates it includes), read where the part stands,
with the page's language and formats. A theme that puts a page's own value inside a chrome part
(`{{ invoice.number }}`) therefore gets a part per page, never another page's. Values are
compared by identity, except strings, integers and lists of them (compared by value and type); a
kept part holds what its key names by identity, so no other object has that identity meanwhile.

Side effects are replayed: the links a part makes (`href`) are recorded once and added to every
page the part is reused on. What cannot be keyed this way is refused when the template is read:
a `{% block %}` inside a part (a child template may override it with anything), an include of a
template chosen at render time, an import.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from jinja2 import TemplateNotFound, TemplateSyntaxError, nodes, pass_context
from jinja2.ext import Extension
from jinja2.parser import Parser
from jinja2.runtime import Context, LoopContext, Undefined
from jinja2.utils import Cycler, Joiner, Namespace
from markupsafe import Markup

KEPT_PARTS = 256  # rendered parts kept at once: pages come portal by portal, a portal needs a few

BY_VALUE = frozenset({str, Markup, int, bool, type(None)})  # compared by type and value (so 1, True and "1" differ)


class ChromeHost:
    """What the renderer tells the extension: the page's words and formats (part of every key),
    and how to record and replay what rendering a part does besides its text. This one: nothing."""

    def state(self) -> tuple:
        return ()

    def record(self, render: Callable[[], str]) -> tuple[str, Any]:
        return render(), None

    def replay(self, effects: Any) -> None:
        pass


def _each(body: Iterable[nodes.Node]) -> Iterable[nodes.Node]:
    """The nodes and all they hold."""
    for node in body:
        yield node
        yield from node.find_all(nodes.Node)


class ChangesWhileRendered(Exception):
    """A value that changes in place while a page renders (a loop's counter, a namespace, a
    cycler or joiner): a part reading it is rendered every time."""


CHANGING = (LoopContext, Namespace, Cycler, Joiner)


def key_of(values: Iterable[Any], held: list) -> tuple:
    """The values as a key: strings and numbers by type and value, lists and tuples item by item,
    anything else by identity, its object put in `held` (kept with the part, so no other object
    has its id while the part is kept)."""
    parts = []
    for value in values:
        kind = type(value)
        if kind in BY_VALUE:
            parts.append((kind, value))
        elif kind is list or kind is tuple:
            parts.append((kind, key_of(value, held)))
        elif isinstance(value, Undefined):
            parts.append(Undefined)
        elif isinstance(value, CHANGING):
            raise ChangesWhileRendered
        else:
            held.append(value)
            parts.append(id(value))
    return tuple(parts)


class ChromeExtension(Extension):
    tags: ClassVar[set[str]] = {"chrome"}

    def __init__(self, environment):
        super().__init__(environment)
        environment.extend(chrome_host=ChromeHost(), chrome_always=())
        self._parts: dict[tuple, tuple[str, Any, list]] = {}  # key -> text, effects, what the key holds

    def parse(self, parser: Parser) -> nodes.Node:
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endchrome",), drop_needle=True)
        if _set_in_scope(body):
            raise TemplateSyntaxError(
                "a {% set %} in a {% chrome %} part would not be seen after it: set it before the part",
                lineno,
                parser.name,
                parser.filename,
            )
        names = sorted(self._names_read(body, parser, lineno, set()) - set(self.environment.chrome_always))
        values = nodes.List([nodes.Name(name, "load") for name in names])
        # (parts are numbered in their template: two on one line are two parts)
        number = parser.chrome_parts = getattr(parser, "chrome_parts", 0) + 1
        call = self.call_method("_part", [nodes.Const(f"{parser.name}:{lineno}:{number}"), values])
        return nodes.CallBlock(call, [], [], body).set_lineno(lineno)

    def _names_read(self, body: Iterable[nodes.Node], parser: Parser, lineno: int, seen: set[str]) -> set[str]:
        """Every name used in the part and in the templates it includes (each read once)."""

        def refuse(message: str) -> None:
            raise TemplateSyntaxError(message, lineno, parser.name, parser.filename)

        names: set[str] = set()
        for node in _each(body):
            if isinstance(node, (nodes.Block, nodes.Extends, nodes.Import, nodes.FromImport)):
                refuse(f"a {{% chrome %}} part cannot hold {type(node).__name__.lower()}: what it renders is not known")
            elif isinstance(node, nodes.NSRef):
                refuse("a {% chrome %} part cannot set a namespace's attribute: a reused part does not do it again")
            elif isinstance(node, nodes.Name):
                names.add(node.name)
            elif isinstance(node, nodes.Include):
                template = node.template
                if not isinstance(template, nodes.Const) or not isinstance(template.value, str):
                    refuse("a {% chrome %} part can only include a template named as it is written")
                if template.value not in seen and self.environment.loader is not None:  # (none: cannot include)
                    seen.add(template.value)
                    try:
                        source, _, _ = self.environment.loader.get_source(self.environment, template.value)
                    except TemplateNotFound:
                        continue  # (rendering reports it, or leaves it out if `ignore missing`)
                    names |= self._names_read([self.environment.parse(source, template.value)], parser, lineno, seen)
        return names

    @pass_context
    def _part(self, context: Context, where: str, values: list, caller: Callable[[], str]) -> str:
        host, held = self.environment.chrome_host, []
        always = [context.resolve_or_missing(name) for name in self.environment.chrome_always]  # as filters read them
        try:
            key = (where, key_of(host.state(), held), key_of(values, held), key_of(always, held))
        except ChangesWhileRendered:
            return caller()
        kept = self._parts.get(key)
        if kept is None:
            kept = (*host.record(caller), held)
            if len(self._parts) >= KEPT_PARTS:
                self._parts.clear()
            self._parts[key] = kept
        else:
            host.replay(kept[1])
        return kept[0]


SCOPES = (nodes.For, nodes.Macro, nodes.CallBlock, nodes.With, nodes.FilterBlock, nodes.Include)


def _set_in_scope(body: Iterable[nodes.Node]) -> bool:
    """Whether the part sets a variable in its own scope (not inside a loop, macro or `with`)."""
    for node in body:
        if isinstance(node, (nodes.Assign, nodes.AssignBlock)):
            return True
        if not isinstance(node, SCOPES) and _set_in_scope(node.iter_child_nodes()):
            return True
    return False
