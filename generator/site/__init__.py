"""Plan the site: which portals exist, what each is called, and every file each one has.

labels.py    the labels the generator declares for customers (states, sections, columns)
paths.py     where each page of a portal lives (logical names) and each file's media type
slugs.py     each portal's folder name: opaque by default
tables.py    list tables, declared once, shown as HTML and downloaded as CSV
sections.py  the registry of portal sections: what each needs, shows and depends on
planned.py   the plan's plain data: portals, planned files, navigation entries
plan.py      the planner: asks every section that is on for its files
"""

from __future__ import annotations

from .paths import PATHS, media_type, url_safe
from .plan import Planner, plan_site
from .planned import COPY, CSV, DATA, DECOY, PAGE, SHELL, NavItem, PlannedFile, Portal, SitePlan, portal_of
from .slugs import opaque_slug, portal_slugs, slug_for

__all__ = [
    "COPY",
    "CSV",
    "DATA",
    "DECOY",
    "PAGE",
    "PATHS",
    "SHELL",
    "NavItem",
    "PlannedFile",
    "Planner",
    "Portal",
    "SitePlan",
    "media_type",
    "opaque_slug",
    "plan_site",
    "portal_of",
    "portal_slugs",
    "slug_for",
    "url_safe",
]
