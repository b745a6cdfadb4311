"""`{% chrome %}` parts (`generator/render/chrome.py`): rendered once, reused on every page that
would render them the same, and never on a page that would not."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import REPO, demo_config, minimal_config
from jinja2 import DictLoader, Environment, TemplateSyntaxError, pass_context
from markupsafe import Markup

from generator.output import read_state
from generator.pipeline import BuildOptions, build
from generator.render.chrome import ChromeExtension

SKIP_LINK = '<a class="skip-link"'
BASE_VARIANTS = {
    "as shipped": "",
    # a theme that puts a page's own values inside a part gets each page's own, never another's
    "a page's own values in a part": '<p>{{ section if section is defined else "" }}|'
    '{{ customer.name if customer is defined else "" }}|{{ title if title is defined else "" }}</p>',
    # formatted in the page's customer's currency and date format (a filter reading `fmt`)
    "formatted figures in a part": '<p>{{ 1234|money }}|{{ as_of|date if as_of is defined else "" }}</p>',
}


def themes_with(themes: Path, added: str) -> None:
    """The default theme, with `added` at the start of a chrome part of base.html, and a child
    theme whose base.html is the same without the chrome tags."""
    shutil.copytree(REPO / "themes" / "default", themes / "default")
    base_file = themes / "default" / "templates" / "base.html"
    base = base_file.read_text()
    assert base.count(SKIP_LINK) == 1
    base_file.write_text(base := base.replace(SKIP_LINK, added + SKIP_LINK))
    child = themes / "unchromed" / "templates"
    child.mkdir(parents=True)
    (themes / "unchromed" / "theme.yaml").write_text("extends: default\n")
    stripped = base.replace("{% chrome %}\n", "").replace("{% endchrome %}\n", "")
    assert "chrome %}" not in stripped.split("-#}", 1)[1]
    (child / "base.html").write_text(stripped)


def published(folder: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and ".portico" not in path.parts
    }


@pytest.mark.parametrize("added", BASE_VARIANTS.values(), ids=BASE_VARIANTS.keys())
def test_pages_with_chrome_parts_are_byte_for_byte_the_pages_without_them_links_included(tmp_path, added):
    themes = tmp_path / "themes"
    themes_with(themes, added)
    outputs = {}
    for theme in ("default", "unchromed"):
        config = demo_config(tmp_path / theme, themes_dir=str(themes), theme=theme)
        result = build(config, BuildOptions(strict=True, encrypt=False, workers=1))
        assert result.ok, result.failure
        outputs[theme] = tmp_path / theme / "public"
    chromed, plain = published(outputs["default"]), published(outputs["unchromed"])
    assert len(chromed) > 100 and chromed.keys() == plain.keys()
    differing = [name for name in chromed if chromed[name] != plain[name]]
    assert not differing, differing[:5]
    # the links each page makes (what a publish uploads first), for pages whose nav came from a kept part too
    links = read_state(outputs["default"]).links
    assert dict(links) == dict(read_state(outputs["unchromed"]).links)
    portal_pages = [path for path in links if path.endswith(".html") and "/" in path]
    assert len(portal_pages) > 20 and all(links[path] for path in portal_pages)
    if added:  # what was added shows, and differs between pages
        shown = {
            page.split(b"<body>\n", 1)[1].split(b"\n", 1)[0]
            for name, page in chromed.items()
            if "/" in name and name.endswith(".html")
        }
        assert len(shown) > 3


def test_portals_that_share_everything_but_their_currency_never_share_a_part_that_formats_money(site, tmp_path):
    themes = tmp_path / "themes"
    themes_with(themes, BASE_VARIANTS["formatted figures in a part"])
    site.file("customers.csv", "id,name,cur\nC1,Alpha,GBP\nC2,Beta,EUR\nC3,Gamma,GBP\n")
    site.file(
        "orders.csv", "order,customer,date,sku,qty,price\nA-1,C1,2026-05-01,X,2,1.50\nB-1,C2,2026-06-01,Y,1,9.99\n"
    )
    raw = minimal_config()
    raw["exports"]["customers"]["columns"]["currency"] = "cur"
    pages = {}
    for theme in ("default", "unchromed"):
        result = site.build({**raw, "themes_dir": str(themes), "theme": theme, "output": theme})
        assert result.ok, result.failure
        pages[theme] = published(site.root / theme)
    assert pages["default"] == pages["unchromed"]
    shown = {
        name.split("/")[0]: page.split(b"<body>\n", 1)[1].split(b"|", 1)[0]
        for name, page in pages["default"].items()
        if name.endswith("/index.html")
    }
    assert shown == {"C1": b"<p>\xc2\xa31,234.00", "C2": b"<p>\xe2\x82\xac1,234.00", "C3": b"<p>\xc2\xa31,234.00"}


@pytest.mark.parametrize(
    "values",
    [
        [1, True, 1.0, "1", Markup("1")],  # equal to each other, shown differently
        [Decimal("1.0"), Decimal("1.00"), Decimal("1")],
        [["a", "b"], ("a", "b"), ["a", "b", "c"]],
        ["<b>", Markup("<b>")],
    ],
)
def test_values_that_compare_equal_but_render_differently_never_share_a_part(values):
    env = Environment(
        loader=DictLoader({"page.html": "{% chrome %}[{{ value }}]{% endchrome %}"}),
        extensions=[ChromeExtension],
        autoescape=True,
    )
    template = env.get_template("page.html")
    for _ in range(2):  # the second round is served from kept parts
        for value in values:
            assert template.render(value=value) == f"[{Markup.escape(value)}]"


def test_a_part_follows_the_names_its_included_templates_read():
    env = Environment(
        loader=DictLoader(
            {"head.html": "{{ prefix }}style.css", "page.html": "{% chrome %}{% include 'head.html' %}{% endchrome %}"}
        ),
        extensions=[ChromeExtension],
    )
    template = env.get_template("page.html")
    assert [template.render(prefix=p) for p in ("", "../", "")] == ["style.css", "../style.css", "style.css"]


@pytest.mark.parametrize(
    "body, message",
    [
        ("{% block account %}{% endblock %}", "cannot hold block"),
        ("{% include name %}", "only include a template named as it is written"),
        ("{% import 'other.html' as other %}", "cannot hold import"),
        ("{% include 'nested.html' %}", "cannot hold block"),  # found in what it includes, too
        ("{% for x in xs %}{% set ns.found = true %}{% endfor %}", "cannot set a namespace's attribute"),
        ("{% if x %}{% set title = x %}{% endif %}", "would not be seen after it"),
    ],
)
def test_what_a_part_cannot_be_keyed_by_is_refused_when_the_template_is_read(body, message):
    env = Environment(
        loader=DictLoader(
            {
                "page.html": "<p>\n{% chrome %}" + body + "{% endchrome %}",
                "nested.html": "{% block inner %}{% endblock %}",
                "other.html": "",
            }
        ),
        extensions=[ChromeExtension],
    )
    with pytest.raises(TemplateSyntaxError, match=message) as raised:
        env.get_template("page.html")
    assert raised.value.lineno == 2 and raised.value.name == "page.html"


def rendered_both_ways(templates: dict[str, str], rounds: list[dict], always: tuple[str, ...] = ()) -> None:
    """Each round's context rendered with the chrome tags and without them: the same text."""
    outputs = []
    for tags in (True, False):
        sources = (
            templates
            if tags
            else {n: t.replace("{% chrome %}", "").replace("{% endchrome %}", "") for n, t in templates.items()}
        )
        env = Environment(loader=DictLoader(sources), extensions=[ChromeExtension], autoescape=True)
        env.chrome_always = always
        env.filters["money"] = pass_context(lambda context, amount: f"{context['fmt']}{amount}")
        template = env.get_template("page.html")
        outputs.append([template.render(**context) for context in rounds])
    assert outputs[0] == outputs[1]


@pytest.mark.parametrize(
    "page, rounds",
    [
        # two parts on one line are two parts
        (
            "{% chrome %}{{ c.name }}{% endchrome %}|{% chrome %}{{ c.email }}{% endchrome %}",
            [{"c": {"name": "Alice", "email": "a@x"}}],
        ),
        # what changes in place while a page renders: a loop's counter, a joiner, a cycler
        ("{% for x in xs %}{% chrome %}{{ loop.index }}{% endchrome %}{% endfor %}", [{"xs": "abc"}] * 2),
        (
            "{% set j = joiner() %}{% for x in xs %}{% chrome %}{{ j() }}{{ x }}{% endchrome %}{% endfor %}",
            [{"xs": "aaa"}],
        ),
        (
            "{% set c = cycler(1, 2) %}{% for x in xs %}{% chrome %}{{ c.next() }}{% endchrome %}{% endfor %}",
            [{"xs": "abc"}],
        ),
        # a filter reads `fmt` from the page, whatever a macro calls its own argument
        (
            "{% macro total(amount, fmt=none) %}{% chrome %}{{ amount|money }}{% endchrome %}{% endmacro %}"
            "{{ total(5) }}",
            [{"fmt": "£"}, {"fmt": "€"}, {"fmt": "£"}],
        ),
        # an include that may be missing
        ("{% chrome %}[{% include 'absent.html' ignore missing %}]{% endchrome %}", [{}]),
    ],
)
def test_a_part_renders_what_the_page_without_the_tag_renders(page, rounds):
    rendered_both_ways({"page.html": page}, rounds, always=("fmt",))
