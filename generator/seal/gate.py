"""The gate: seal each customer's rendered files, between render and write.

Pages become opaque `.bin` blobs beside small HTML shells at their addresses, which load the
browser code that fetches and opens them (shells.py); other files (documents, CSV downloads)
become opaque `.bin` blobs. Every name inside a portal is opaque except its entry page (the one
its URL opens), whose shell also carries the contacts' key slots. Shared site files (theme
assets, 404, robots.txt) pass through unchanged. The `Gate` is the renderer's `Sealer`.
"""

from __future__ import annotations

from pathlib import Path

from ..config import Config
from ..render import RenderedFile, Shell
from ..site import PATHS, Portal
from ..site.paths import SHARED_DIR
from . import blobs, slots
from .access import is_current
from .keystore import Keystore
from .padding import page_size_class
from .shells import page_of, payload_name

ENTRY = PATHS.entry
SHELL_MARKER = "data-portico-sealed"  # on the body of every shell page


class Gate:
    def __init__(self, config: Config, keystore: Keystore, iterations: int | None = None):
        self.config = config
        self.keystore = keystore
        self.iterations = iterations or slots.kdf_iterations()  # the KDF cost every slot is made with
        self._shell: bytes | None = None  # every page's shell but the entry pages'
        self._names: dict[tuple[str, str], str] = {}

    def shell_page(self, rendered: RenderedFile, shell: Shell) -> RenderedFile:
        """The public page at a page's address: the site's shell, the same bytes for every page of
        every portal, except an entry page's, which adds its portal's key slots. It links the
        payload beside it, so a publish uploads the payload first."""
        portal = rendered.portal
        name = self.published_name(portal, page_of(rendered.path))
        if rendered.entry:
            html = shell({"gate": self.gate_data(portal)}).encode("utf-8")
        else:
            if self._shell is None:
                self._shell = shell({"gate": None}).encode("utf-8")
            html = self._shell
        made = RenderedFile(portal, name, html, "text/html; charset=utf-8", rendered.entry)
        made.links = (f"{portal.slug}/{payload_name(name)}",)
        return made

    def keys(self, portal: Portal) -> blobs.CustomerKeys:
        return self.keystore.customers[portal.customer_id].keys

    def published_name(self, portal: Portal, logical: str) -> str:
        key = (portal.slug, logical)
        name = self._names.get(key)
        if name is None:
            extension = ".html" if logical.endswith(".html") else ".bin"
            name = ENTRY if logical == ENTRY else self.keys(portal).file_name(logical, extension)
            self._names[key] = name
        return name

    def href(self, portal: Portal | None, logical: str) -> str:
        """How the renderer links one page of a portal to another: by published name."""
        return logical if portal is None else self.published_name(portal, logical)

    def shared(self, logical: str) -> tuple[str, str | None]:
        """A file several portals read (`_shared/...`): published under an opaque name, encrypted with
        keys of its own (made from the keystore's shared secret, which changes whenever any customer's
        keys rotate); each portal's page carries the one content key that opens it."""
        keys = blobs.CustomerKeys.derived(self.keystore.shared_secret)
        path = f"{SHARED_DIR}/{keys.file_name(logical, '.bin')}"
        return path, blobs.b64url(keys.content_key(path))

    def seal(self, rendered: RenderedFile, shell: Shell) -> RenderedFile:
        portal = rendered.portal
        if portal is None and rendered.path.startswith(f"{SHARED_DIR}/"):
            path, _ = self.shared(rendered.path)
            keys = blobs.CustomerKeys.derived(self.keystore.shared_secret)
            blob = blobs.seal(keys, path, rendered.media_type, rendered.data, self.config.gate.padding.sizes)
            return RenderedFile(None, path, blob, "application/octet-stream")
        if portal is None:
            return rendered
        if rendered.shell:
            return self.shell_page(rendered, shell)
        name = self.published_name(portal, rendered.path)
        path = f"{portal.slug}/{name}"  # a page's blob is bound to the page's address, not where it is stored
        epoch = self.keystore.customers[portal.customer_id].link_epochs.get(rendered.path, 0)
        page = name.endswith(".html")
        sizes = page_size_class(self.config.gate.padding) if page else self.config.gate.padding.sizes
        blob = blobs.seal(self.keys(portal), path, rendered.media_type, rendered.data, sizes, epoch, rendered.random)
        return RenderedFile(portal, payload_name(name) if page else name, blob, "application/octet-stream")

    def gate_data(self, portal: Portal) -> dict:
        """What the sign-in page needs: key id, salt, KDF and slots among decoys. No e-mail address,
        no name, nothing that tells how many contacts there are beyond a bucket of 8, 16, … ."""
        secret = self.keystore.customers[portal.customer_id]
        real = [c.slot for c in secret.contacts.values() if is_current(secret, c, self.iterations)]
        gate = self.config.gate
        return {
            "v": 2,
            "kid": blobs.b64(secret.keys.key_id),
            "salt": blobs.b64(secret.salt),
            "kdf": slots.KDF_NAME,
            "iter": self.iterations,
            "slots": slots.padded_slots(real, secret.keys.file_key, secret.salt, secret.slot_table),
            "idle_minutes": gate.session_minutes,
            "remember_days": gate.remember_days,
        }

    def direct_link(self, portal: Portal, logical: str, download: str | None = None) -> str:
        """A URL that opens this one page, its key in the fragment (never sent to a server); with
        `download`, also the key of that one file (a document the page lists), and no other."""
        fragment = f"k={blobs.b64url(self.content_key(portal, logical))}"
        if download:
            fragment += f"&d={blobs.b64url(self.content_key(portal, download))}"
        name = self.published_name(portal, logical)
        return f"{self.config.site.base_url.rstrip('/')}/{portal.slug}/{name}#{fragment}"

    def content_key(self, portal: Portal, logical: str) -> bytes:
        name = self.published_name(portal, logical)
        epoch = self.keystore.customers[portal.customer_id].link_epochs.get(logical, 0)
        return self.keys(portal).content_key(f"{portal.slug}/{name}", epoch)


def encrypted_portals_exist(output_dir: Path) -> bool:
    """Whether an earlier build left encrypted portals here (so a missing keystore is an accident)."""
    if not output_dir.is_dir():
        return False
    for entry in output_dir.glob(f"*/{ENTRY}"):
        try:
            if SHELL_MARKER in entry.read_text(encoding="utf-8", errors="replace"):
                return True
        except OSError:
            continue
    return False
