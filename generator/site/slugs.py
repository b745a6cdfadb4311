"""Portal folder names ("slugs"): the only thing in a portal's URL that identifies a customer."""

from __future__ import annotations

import base64
import hashlib
import hmac

from ..config import Config
from ..model import Ledger
from ..model.canonical import Customer
from ..problems import ProblemLog
from .paths import url_safe


def opaque_slug(site_key: bytes, customer_id: str) -> str:
    digest = hmac.new(site_key, b"slug\0" + customer_id.encode("utf-8"), hashlib.sha256).digest()
    return base64.b32encode(digest[:10]).decode("ascii").lower()


def slug_for(config: Config, customer: Customer, site_key: bytes | None) -> str:
    mode = config.portal.slug
    if mode == "opaque" and site_key is not None:
        return opaque_slug(site_key, customer.id)
    if mode == "field":
        return url_safe(customer.slug)
    return url_safe(customer.id)  # `id`, or an opaque preview built without a keystore


def portal_slugs(config: Config, ledger: Ledger, site_key: bytes | None, problems: ProblemLog) -> dict[str, str]:
    """Customer id -> slug; two customers that would share a folder are an input error."""
    slugs: dict[str, str] = {}
    owners: dict[str, Customer] = {}
    for book in ledger.books.values():
        customer = book.customer
        slug = slug_for(config, customer, site_key)
        if slug in owners:
            problems.error(
                customer.origin.file,
                customer.origin.row,
                "slug" if config.portal.slug == "field" else "id",
                f"portal folder {slug!r} is already used by customer {owners[slug].id!r}",
                "duplicate-id",
            )
            continue
        owners[slug] = customer
        slugs[customer.id] = slug
    return slugs
