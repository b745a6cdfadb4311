"""Content pages: Markdown files in the content folder, with YAML front matter.

    ---
    title: Delivery terms
    nav_order: 20
    audience: [wholesale, C1002]   # optional: customer ids or groups; default everyone
    ---
    Text in **Markdown**.

A page can have a variant per language beside it: `faq.de.md` is `faq.md` for customers whose
language is German (`de`, `de_AT`, ...). A variant's front matter only needs what differs; the
rest (nav order, audience) comes from the page it translates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from ..config import ContentPage
from ..problems import ProblemLog


@dataclass(frozen=True)
class Page:
    slug: str
    title: str
    nav_order: int
    audience: frozenset[str] | None
    html: str
    source: Path
    language: str | None = None  # None: the page itself; else the language of this variant

    def visible_to(self, customer_id: str, group: str) -> bool:
        return self.audience is None or customer_id in self.audience or (bool(group) and group in self.audience)


def split_front_matter(text: str) -> tuple[dict, str]:
    if not text.startswith("---"):
        return {}, text
    _, _, rest = text.partition("\n")
    head, separator, body = rest.partition("\n---")
    if not separator:
        return {}, text
    return yaml.safe_load(head) or {}, body.partition("\n")[2]


LANGUAGE_SUFFIX = re.compile(r"^(?P<slug>.+)\.(?P<language>[a-z]{2,3}(?:_[A-Za-z]{2,4})?)$")


def split_name(stem: str) -> tuple[str, str | None]:
    """`faq.de` → ('faq', 'de'); `faq` → ('faq', None)."""
    match = LANGUAGE_SUFFIX.match(stem)
    return (match["slug"], match["language"]) if match else (stem, None)


def read_pages(folder: Path, problems: ProblemLog) -> list[Page]:
    """Every page and language variant; a variant whose page is missing is reported and left out."""
    sources = sorted(folder.glob("*.md")) if folder.is_dir() else []
    metas: dict[Path, tuple[dict, str]] = {}
    for path in sources:
        try:
            metas[path] = split_front_matter(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            problems.error(path.name, 1, None, f"front matter is not valid YAML: {exc}", "bad-content")
    bases = {split_name(p.stem)[0]: meta for p, (meta, _) in metas.items() if split_name(p.stem)[1] is None}
    pages = []
    for path, (meta, body) in metas.items():
        slug, language = split_name(path.stem)
        if language is not None:
            if slug not in bases:
                problems.error(
                    path.name, 1, None, f"a language variant of {slug}.md, which does not exist", "bad-content"
                )
                continue
            meta = {**bases[slug], **meta}
        page = _page(path, slug, language, meta, body, problems)
        if page is not None:
            pages.append(page)
    return sorted(pages, key=lambda p: (p.nav_order, p.slug, p.language or ""))


def _page(path: Path, slug: str, language: str | None, meta: dict, body: str, problems: ProblemLog) -> Page | None:
    try:
        header = ContentPage.model_validate(meta)
    except ValidationError as exc:
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "front matter"
            problems.error(path.name, 1, None, f"{where}: {err['msg']}", "bad-content")
        return None
    import markdown  # (on first use: a site without content pages never needs it)

    html = markdown.markdown(body, extensions=["tables", "sane_lists", "attr_list"], output_format="html")
    return Page(
        slug=slug,
        title=header.title,
        nav_order=header.nav_order,
        audience=frozenset(header.audience) if header.audience is not None else None,
        html=html,
        source=path,
        language=language,
    )


def pages_for(pages: list[Page], customer_id: str, group: str, language: str) -> list[Page]:
    """The pages a customer sees, each in the customer's language where a variant exists."""
    candidates = (language, language.split("_")[0])
    chosen: dict[str, Page] = {}
    for page in pages:
        if page.language is not None and page.language not in candidates:
            continue
        current = chosen.get(page.slug)
        rank = candidates.index(page.language) if page.language else len(candidates)
        if current is None or rank < (candidates.index(current.language) if current.language else len(candidates)):
            chosen[page.slug] = page
    return [p for p in chosen.values() if p.visible_to(customer_id, group)]
