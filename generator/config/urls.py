"""Which links a portal may carry: https:, http: and mailto: only.

A link from the export (a payment link, a tracking URL) or from the config (navigation links,
link templates) ends up in an `href` a customer clicks. `javascript:`, `data:`, `file:` and the
like could run script or reach what is not the customer's; the Content-Security-Policy stops
most, but a link is refused where it is read, with the row and column that carried it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

ALLOWED_SCHEMES = ("https", "http", "mailto")


class UnsafeLink(ValueError):
    """A link that is not https:, http: or mailto:. The row stays; the link is left out."""


def checked_url(text: str, *, relative: bool = False) -> str:
    """The link, trimmed, if it is an https:, http: or mailto: link (or, with `relative`, a path on
    the site); otherwise UnsafeLink saying why."""
    link = text.strip()
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in link):
        raise UnsafeLink(f"{_shown(text)} contains control characters (browsers drop them, so they can hide a scheme)")
    parts = urlsplit(link)
    scheme = parts.scheme.lower()
    if scheme in ("https", "http") and parts.netloc:
        return link
    if scheme == "mailto" and parts.path:
        return link
    if relative and not scheme and "\\" not in link and not link.startswith("//") and ":" not in link.split("/")[0]:
        return link  # (browsers read a backslash as a slash: "/\\evil.example" would leave the site)
    allowed = "an https:, http: or mailto: link" + (" or a path on the site" if relative else "")
    raise UnsafeLink(f"{_shown(text)} is not {allowed}")


def checked_link_template(template: str) -> str:
    """A link template's scheme must be fixed in the template itself, before any placeholder."""
    fixed = template.split("{", 1)[0]
    try:
        checked_url(fixed + ("x" if "{" in template else ""))  # a placeholder may fill in the rest
    except UnsafeLink:
        raise UnsafeLink(
            f"{_shown(template)} must begin with https://, http:// or mailto: (before any placeholder)"
        ) from None
    return template


def _shown(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:57] + "...")
