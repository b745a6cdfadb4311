"""Decoy files: a portal's file count tells an outsider only a coarse class, not how many orders it has.

Without them a portal's folder holds one page per order, invoice and quote plus a constant, so
anyone who can list the store (or count the names a crawler finds) learns each customer's volume
of business. The planner's files are counted per portal, pages and other files (downloads,
documents) apart, and each count is brought up to the next class: pages to `files`, then
`growth` times as many, and so on (8, 16, 32, … by default), other files to an eighth of that.
A decoy is a genuine blob of the customer's, under a name made like any other, holding random
bytes of the size class most files of its kind have (pages start at twice `sizes`, where nearly
every page lands; other files at `sizes`): nothing but its key tells it from a real file of that
class. Decoys are stable (their bytes derive from the portal and their number), so a rebuild
re-uploads none, and when a portal grows the highest-numbered decoys go first.
"""

from __future__ import annotations

from ..config.schema import PaddingConfig
from ..site import DECOY, PlannedFile, SitePlan

FRAMING = 64  # what a blob's plaintext adds around a decoy's bytes (length, media type, deflate's own)


def count_class(count: int, smallest: int, growth: int) -> int:
    size = smallest
    while size < count:
        size *= growth
    return size


def add_decoys(plan: SitePlan, padding: PaddingConfig) -> None:
    if padding.files <= 0:
        return
    pages: dict[str, int] = {p.slug: 0 for p in plan.portals}
    others: dict[str, int] = dict(pages)
    for planned in plan.files:
        if planned.portal is not None:
            counted = pages if planned.path.endswith(".html") else others
            counted[planned.portal.slug] += 1
    kinds = (
        (".html", pages, padding.files, page_size_class(padding)),
        (".bin", others, max(padding.files // 8, 1), padding.sizes),
    )
    for portal in plan.portals:
        for suffix, counted, smallest, size in kinds:
            real = counted[portal.slug]
            length = str(max(size - FRAMING, 16))
            for number in range(count_class(real, smallest, padding.growth) - real):
                plan.files.append(PlannedFile(portal, f"decoy-{number}{suffix}", DECOY, inputs=(length,)))


def page_size_class(padding: PaddingConfig) -> int:
    """Pages start at twice the smallest size class: nearly every page of the default theme lands
    there, so the decoys, which are made there, look like the pages around them."""
    return 2 * padding.sizes
