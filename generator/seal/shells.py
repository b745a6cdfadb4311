"""The entry shell: a portal's one public page, which opens every page of the portal.

Every page of a portal is published as a blob like any other file (`<name>.bin`: raw ciphertext,
no HTML around it). A page's address is the portal's folder with the page named in the query,
`<portal>/?p=<name>`; the folder serves the entry shell (`index.html`), the site's shell page
plus the portal's key slots, whose browser code fetches the named blob (or, with no name, the
entry page's, `index.bin`), opens it and shows it. So the ciphertext is published once, as raw
bytes, beside one small page per portal; a sign-in works on any page's address; a page opened
in place fetches only its blob. A page's name carries no secret: its blob opens only with the
portal's key, or a direct link's key for that one file.

The entry shell is planned after the decoys, as a file of its own (its logical path is the
entry page's with `SUFFIX`): it changes with the key slots, the entry page with the data.
"""

from __future__ import annotations

from ..site import PATHS, SHELL, PlannedFile, SitePlan

SUFFIX = ".shell"
ENTRY_BLOB = "index.bin"
PAGE_PARAMETER = "p"


def add_entry_shells(plan: SitePlan) -> None:
    entries = [f for f in plan.files if f.portal is not None and f.entry]
    for entry in entries:
        plan.files.append(PlannedFile(entry.portal, PATHS.entry + SUFFIX, SHELL, entry=True))


def page_id(published_name: str) -> str:
    """What a page's address names it by: its blob's name without `.bin`."""
    return published_name.removesuffix(".bin")
