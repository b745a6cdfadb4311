"""The gate: seal each customer's rendered files, between render and write.

Every file of a portal, page or download, becomes a blob under an opaque name (`<name>.bin`);
the portal's one public page is its entry shell (`index.html`), which carries the contacts' key
slots and opens whichever page its address names (`./?p=<name>`, shells.py). Shared site files
(theme assets, 404, robots.txt) pass through unchanged. The `Gate` is the renderer's `Sealer`.
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
from .padding import blob_size_class
from .shells import ENTRY_BLOB, PAGE_PARAMETER, page_id

ENTRY = PATHS.entry
SHELL_MARKER = "data-portico-sealed"  # on the body of every shell page


class Gate:
    def __init__(self, config: Config, keystore: Keystore, iterations: int | None = None):
        self.config = config
        self.keystore = keystore
        self.iterations = iterations or slots.kdf_iterations()  # the KDF cost every slot is made with
        self._names: dict[tuple[str, str], tuple[blobs.CustomerKeys, str]] = {}  # the keys each name was made with

    def entry_shell(self, rendered: RenderedFile, shell: Shell) -> RenderedFile:
        """The portal's one public page (`index.html`): the site's shell with the portal's key slots.
        It opens every page of the portal, so it links the entry page's blob, which a publish
        uploads first."""
        portal = rendered.portal
        html = shell({"gate": self.gate_data(portal)}).encode("utf-8")
        made = RenderedFile(portal, ENTRY, html, "text/html; charset=utf-8", entry=True)
        made.links = (f"{portal.slug}/{ENTRY_BLOB}",)
        return made

    def keys(self, portal: Portal) -> blobs.CustomerKeys:
        return self.keystore.customers[portal.customer_id].keys

    def published_name(self, portal: Portal, logical: str) -> str:
        """Where a portal's file is stored: every one is a blob under an opaque name, the entry
        page's at `index.bin`."""
        keys = self.keys(portal)
        key = (portal.customer_id, logical)  # (not the slug: two customers may swap slugs between quick rebuilds)
        found = self._names.get(key)
        if found is None or found[0] is not keys:  # (new keys: new names)
            found = self._names[key] = (keys, ENTRY_BLOB if logical == ENTRY else keys.file_name(logical, ".bin"))
        return found[1]

    def href(self, portal: Portal | None, logical: str) -> str:
        """How a page links another file of its portal: a page by its address (the entry shell,
        told which page to open), any other file by its name."""
        if portal is None:
            return logical
        if not logical.endswith(".html"):
            return self.published_name(portal, logical)
        return "./" if logical == ENTRY else f"./?{PAGE_PARAMETER}={page_id(self.published_name(portal, logical))}"

    def stored(self, portal: Portal | None, logical: str) -> str:
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
            return self.entry_shell(rendered, shell)
        name = self.published_name(portal, rendered.path)
        epoch = self.keystore.customers[portal.customer_id].link_epochs.get(rendered.path, 0)
        padding = self.config.gate.padding
        sizes = blob_size_class(padding, rendered.path, payment=rendered.payment_sizes)
        path = f"{portal.slug}/{name}"
        blob = blobs.seal(self.keys(portal), path, rendered.media_type, rendered.data, sizes, epoch, rendered.random)
        return RenderedFile(portal, name, blob, "application/octet-stream")

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
        return f"{self.config.site.base_url.rstrip('/')}/{portal.slug}/{self.href(portal, logical)[2:]}#{fragment}"

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
