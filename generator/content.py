"""Content pages: Markdown files in the content folder, with YAML front matter.

    ---
    title: Delivery terms
    nav_order: 20
    audience: [wholesale, C1002]   # optional: customer ids or groups; default everyone
    ---
    Text in **Markdown**.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import markdown
import yaml
from pydantic import ValidationError

from .config import ContentPage
from .problems import ProblemLog


@dataclass(frozen=True)
class Page:
    slug: str
    title: str
    nav_order: int
    audience: frozenset[str] | None
    html: str
    source: Path

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


def read_pages(folder: Path, problems: ProblemLog) -> list[Page]:
    pages = []
    for path in sorted(folder.glob("*.md")) if folder.is_dir() else ():
        name = path.name
        try:
            meta, body = split_front_matter(path.read_text(encoding="utf-8"))
            header = ContentPage.model_validate(meta)
        except yaml.YAMLError as exc:
            problems.error(name, 1, None, f"front matter is not valid YAML: {exc}", "bad-content")
            continue
        except ValidationError as exc:
            for err in exc.errors():
                where = ".".join(str(p) for p in err["loc"]) or "front matter"
                problems.error(name, 1, None, f"{where}: {err['msg']}", "bad-content")
            continue
        html = markdown.markdown(body, extensions=["tables", "sane_lists", "attr_list"], output_format="html")
        pages.append(Page(
            slug=path.stem, title=header.title, nav_order=header.nav_order,
            audience=frozenset(header.audience) if header.audience is not None else None,
            html=html, source=path,
        ))
    return sorted(pages, key=lambda p: (p.nav_order, p.slug))
