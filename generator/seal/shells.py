"""Shell pages: what the address of an encrypted page serves, apart from the page's ciphertext.

Every page of a portal is published as two files: its sealed payload (`<name>.bin`, the page's
blob, nothing else) and a shell at the page's own address (`<name>.html`), which loads the
browser code that fetches the payload beside it and opens it. The shell holds nothing of the
page, so all of a site's shells are the same bytes, except each portal's entry page, which also
carries its key slots. Keeping the two apart means the ciphertext is published as raw bytes
(no base64, no copy of the shell inside every page), and a page opened in place fetches only
its payload.

Shells are planned after the decoys, one per page (decoy pages included, so a decoy has a shell
like any page); a shell's logical path is its page's with `SUFFIX`.
"""

from __future__ import annotations

from ..site import SHELL, PlannedFile, SitePlan

SUFFIX = ".shell"
PAYLOAD = ".bin"  # a page `<name>.html` has its payload at `<name>.bin`


def add_shells(plan: SitePlan) -> None:
    pages = [f for f in plan.files if f.portal is not None and f.path.endswith(".html")]
    for page in pages:
        plan.files.append(PlannedFile(page.portal, page.path + SUFFIX, SHELL, entry=page.entry))


def page_of(shell_path: str) -> str:
    return shell_path.removesuffix(SUFFIX)


def payload_name(page_name: str) -> str:
    """Where a page's sealed payload is published, beside the page's shell."""
    return page_name.removesuffix(".html") + PAYLOAD
