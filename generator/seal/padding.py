"""Decoy files: a portal's file count tells an outsider only a coarse class, not how many orders it has.

Without them a portal's folder holds one page per order, invoice and quote plus a constant, so
anyone who can list the store (or count the names a crawler finds) learns each customer's volume
of business. The planner's files are counted per portal, pages and other files (downloads,
documents) apart, and each count is brought up to the next class: pages to `files`, then
`growth` times as many, and so on (8, 16, 32, … by default), other files to an eighth of that.
A decoy is a genuine blob of the customer's, under a name made like any other, holding random
bytes of the size class most files of its kind have (pages start at twice `sizes`, where nearly
every page lands; other files at `sizes`): nothing but its key tells it from a real file of that
class. A decoy's bytes derive from the portal and its number, and a page decoy's also from the
date the portal's data is as of, which every real page shows: when that date moves, every page
of the portal is sealed anew, decoys too, so comparing two publishes does not single the decoys
out as the pages that never change. Otherwise a rebuild re-uploads no decoy, and when a portal
grows the highest-numbered decoys go first.

Pages whose size would tell what should stay private are padded one class up and counted
apart: an invoice (or the statement) shows payment instructions and a QR code while it is open
and not once it is paid, which would lift exactly the unpaid ones into the next class. In a
portal that can show payment instructions, every invoice page and its statement are padded to
sizes of their own, paid or not — from 9/4 of the page class (6.75 KiB by default), doubling,
which no other page is ever padded to (ordinary pages are 3, 6, 12 KiB …; a long quote page
among the invoices would spoil their count) — and brought up to a count class of their own
(1, 2, 4, …) with decoys of that size: what the public files tell is how many invoices, within
a factor of `growth`, never which are paid.
"""

from __future__ import annotations

from datetime import date

from ..config.schema import PaddingConfig
from ..site import DECOY, PlannedFile, SitePlan

FRAMING = 64  # what a blob's plaintext adds around a decoy's bytes (length, media type, deflate's own)


def count_class(count: int, smallest: int, growth: int) -> int:
    size = smallest
    while size < count:
        size *= growth
    return size


PAYMENT_TEMPLATES = frozenset({"invoice.html", "statement.html"})  # may show payment instructions


def add_decoys(plan: SitePlan, padding: PaddingConfig, as_of: date) -> None:
    if padding.files <= 0:
        return
    pages: dict[str, int] = {p.slug: 0 for p in plan.portals}
    others: dict[str, int] = dict(pages)
    payment_pages: dict[str, int] = dict(pages)
    for planned in plan.files:
        if planned.portal is None:
            continue
        if planned.template in PAYMENT_TEMPLATES and may_show_payment(planned):
            planned.payment_sizes = True
            payment_pages[planned.portal.slug] += 1
        elif planned.path.endswith(".html"):
            pages[planned.portal.slug] += 1
        else:
            others[planned.portal.slug] += 1
    kinds = (
        ("", ".html", pages, padding.files, page_size_class(padding), 0),
        ("payment-", ".html", payment_pages, 1, payment_size_class(padding), 1),
        ("", ".bin", others, max(padding.files // 8, 1), padding.sizes, 0),
    )
    for portal in plan.portals:
        for prefix, suffix, counted, smallest, size, step in kinds:
            real = counted[portal.slug]
            if step and not real:
                continue  # a portal that shows no payment instructions has no such pages to hide
            inputs = (str(max(size - FRAMING, 16)), *([as_of.isoformat()] if suffix == ".html" else []))
            for number in range(count_class(real, smallest, padding.growth) - real):
                decoy = PlannedFile(portal, f"decoy-{prefix}{number}{suffix}", DECOY, inputs=inputs)
                decoy.payment_sizes = bool(step)
                plan.files.append(decoy)


def may_show_payment(planned: PlannedFile) -> bool:
    """Whether this portal's invoices or statement can carry payment instructions: bank details
    in its settings, a pay-link template, or any invoice with a pay link of its own."""
    settings = planned.portal.settings
    book = (planned.context or {}).get("book")
    links = book is not None and any(invoice.payment_link for invoice in book.invoices)
    return settings.payment.given or bool(settings.payment_link_template) or links


def page_size_class(padding: PaddingConfig) -> int:
    """Pages start at twice the smallest size class: nearly every page of the default theme lands
    there, so the decoys, which are made there, look like the pages around them."""
    return 2 * padding.sizes


def payment_size_class(padding: PaddingConfig) -> int:
    """Where invoice pages and the statement start: above an open invoice's length, and 9/4 of
    the page class, so that doubling never meets a size an ordinary page has."""
    return page_size_class(padding) * 9 // 4


def blob_size_class(padding: PaddingConfig, path: str, payment: bool) -> int:
    """The smallest size a file's blob is padded to (then twice that, and so on)."""
    if payment:
        return payment_size_class(padding)
    return page_size_class(padding) if path.endswith(".html") else padding.sizes
