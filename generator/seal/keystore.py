"""The keystore: every secret a build needs, kept outside the output folder.

It holds a site key (opaque portal names), and per customer the data key, file key, key id,
portal salt, and each contact's password with its cached key slot, so a rebuild never reruns
the KDF for an unchanged password. With PORTICO_MASTER_KEY set it is encrypted at rest
(AES-256-GCM); otherwise it is written with mode 0600 and a warning. Writes are atomic (temp
file, fsync, rename) and keep one backup. A keystore that is missing or unreadable is an error,
never a reason to make new keys silently: that would lock every customer out.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .blobs import KEY_BYTES, CustomerKeys, b64, b64url, unb64
from .slots import SALT_BYTES

MASTER_KEY_ENV = "PORTICO_MASTER_KEY"
ENCRYPTED_MAGIC = b"PORTICO-KEYSTORE-1\n"
FORMAT_VERSION = 2  # 1: slots found by an HMAC of the e-mail (migrated on read; see `from_json`)


class KeystoreError(Exception):
    pass


@dataclass
class ContactSecret:
    password: str
    slot: dict | None = None  # cached; valid while `slot_for` is what it would be made for now
    slot_for: str | None = None
    kek: str | None = None  # the KDF's output for this password, salt and cost (base64): no KDF to re-seal a slot
    kek_for: str | None = None


@dataclass
class CustomerSecret:
    keys: CustomerKeys
    salt: bytes  # the portal's public salt: every contact's KDF salt derives from it
    contacts: dict[str, ContactSecret] = field(default_factory=dict)  # normalised e-mail -> secret
    enabled: bool = True
    link_expiries: dict[str, str] = field(default_factory=dict)  # logical path -> ISO date its direct links end
    link_epochs: dict[str, int] = field(default_factory=dict)  # logical path -> times re-keyed on its own
    slot_table: int = 0  # counts the entry page's slot tables: a new one whenever any slot changes

    @classmethod
    def generate(cls) -> CustomerSecret:
        return cls(CustomerKeys.generate(), os.urandom(SALT_BYTES))

    def __post_init__(self) -> None:
        if len(self.salt) != SALT_BYTES:
            raise ValueError(f"a portal salt must be {SALT_BYTES} bytes")

    def rotate(self) -> None:
        """New data key, file key, key id and salt: nothing sealed afterwards opens with the old
        keys, and no slot published afterwards can be linked to an earlier one."""
        self.keys = CustomerKeys.generate()
        self.salt = os.urandom(SALT_BYTES)
        self.link_expiries.clear()  # the new keys end every direct link anyway
        self.link_epochs.clear()
        for contact in self.contacts.values():
            contact.slot = contact.slot_for = contact.kek = contact.kek_for = None


@dataclass
class Keystore:
    path: Path
    site_key: bytes
    customers: dict[str, CustomerSecret] = field(default_factory=dict)
    encrypted: bool = False
    saved_state: dict | None = field(default=None, repr=False)  # as last read or written
    # keys every file shared between portals (the catalogue) derive from; new whenever any customer's keys rotate
    shared_secret: bytes = field(default_factory=lambda: os.urandom(32), repr=False)

    @classmethod
    def create(cls, path: Path) -> Keystore:
        return cls(path, os.urandom(32), encrypted=bool(os.environ.get(MASTER_KEY_ENV)))

    def rotate(self, customer_id: str) -> None:
        """New keys for the customer, and for every shared file: a customer whose access was taken
        away must open nothing published afterwards, not even what all portals share."""
        self.customers[customer_id].rotate()
        self.shared_secret = os.urandom(32)

    def first_link_expiry(self) -> str | None:
        """The earliest day a direct link made with --valid-days ends (ISO), if any is pending."""
        days = [until for c in self.customers.values() if c.enabled for until in c.link_expiries.values()]
        return min(days, default=None)

    def manifest_key(self) -> bytes:
        """Seals the publish manifest, so only a publish with this keystore can read what was published."""
        return hmac.new(self.site_key, b"publish manifest\0", hashlib.sha256).digest()

    def memory_key(self) -> bytes:
        """Seals what a build keeps beside the output for the next one (it holds export rows)."""
        return hmac.new(self.site_key, b"build memory\0", hashlib.sha256).digest()

    @property
    def public_id(self) -> str:
        """A public name for this keystore, so a store can tell which keystore its portals were built with."""
        return hashlib.sha256(b"keystore\0" + self.site_key + b"\0").hexdigest()[:16]

    def customer(self, customer_id: str) -> CustomerSecret:
        if customer_id not in self.customers:
            self.customers[customer_id] = CustomerSecret.generate()
        return self.customers[customer_id]

    # -- persistence -----------------------------------------------------------------------------

    def to_json(self) -> dict:
        return {
            "version": FORMAT_VERSION,
            "site_key": b64(self.site_key),
            "shared_secret": b64(self.shared_secret),
            "customers": {
                cid: {
                    "key_id": b64url(c.keys.key_id),
                    "data_key": b64(c.keys.data_key),
                    "file_key": b64(c.keys.file_key),
                    "salt": b64(c.salt),
                    "enabled": c.enabled,
                    "link_expiries": dict(sorted(c.link_expiries.items())),
                    "link_epochs": dict(sorted(c.link_epochs.items())),
                    "slot_table": c.slot_table,
                    "contacts": {
                        email: {
                            "password": s.password,
                            "slot": s.slot,
                            "slot_for": s.slot_for,
                            "kek": s.kek,
                            "kek_for": s.kek_for,
                        }
                        for email, s in sorted(c.contacts.items())
                    },
                }
                for cid, c in sorted(self.customers.items())
            },
        }

    @classmethod
    def from_json(cls, path: Path, data: dict, encrypted: bool) -> Keystore:
        """A keystore as saved. A version 1 keystore is migrated: its slots were found by an HMAC
        of the e-mail under a published salt, so every portal gets a new salt and new slots at
        the next build. Keys and passwords stay: nobody is locked out, open sessions go on."""
        version = data.get("version")
        if version not in (1, FORMAT_VERSION):
            raise KeystoreError(f"{path}: unsupported keystore version {version!r}")
        customers = {}
        for cid, c in data["customers"].items():
            keys = CustomerKeys(unb64(c["key_id"]), unb64(c["data_key"]), unb64(c["file_key"]))
            if version == 1:
                contacts = {email: ContactSecret(s["password"]) for email, s in c["contacts"].items()}
                salt = os.urandom(SALT_BYTES)
            else:
                contacts = {
                    email: ContactSecret(
                        s["password"], s.get("slot"), s.get("slot_for"), s.get("kek"), s.get("kek_for")
                    )
                    for email, s in c["contacts"].items()
                }
                salt = unb64(c["salt"])
            customers[cid] = CustomerSecret(
                keys,
                salt,
                contacts,
                c.get("enabled", True),
                dict(c.get("link_expiries", {})),
                {path: int(n) for path, n in c.get("link_epochs", {}).items()},
                int(c.get("slot_table", 0)),
            )
        keystore = cls(path, _key(data["site_key"]), customers, encrypted)
        if "shared_secret" in data:  # (keystores from before shared files get one at their next save)
            keystore.shared_secret = _key(data["shared_secret"])
            if version == FORMAT_VERSION:  # what `to_json` gives back for a keystore `save` wrote (not
                keystore.saved_state = data  # made again: a tenth of a quick rebuild's keystore read)
        return keystore

    def save(self) -> None:
        """Writes the keystore if anything changed since it was read or last written."""
        state = self.to_json()
        master = master_key()
        if state == self.saved_state and self.path.exists() and (master is None or self.encrypted):
            return  # (a clear keystore is written again, encrypted, once a master key is set)
        if master is None and self.encrypted:
            raise KeystoreError(
                f"{self.path} is encrypted at rest but {MASTER_KEY_ENV} is not set; refusing to write it back in clear"
            )
        atomic_write(self.path, protect(json.dumps(state, indent=1, sort_keys=True).encode("utf-8"), master))
        self.saved_state = state
        self.encrypted = master is not None


def protect(data: bytes, master: bytes | None) -> bytes:
    """The bytes as stored: encrypted with the master key when there is one (encrypted bytes stay as they are)."""
    if master is None or data.startswith(ENCRYPTED_MAGIC):
        return data
    nonce = os.urandom(12)
    return ENCRYPTED_MAGIC + nonce + AESGCM(master).encrypt(nonce, data, ENCRYPTED_MAGIC)


def _key(text: str) -> bytes:
    key = unb64(text)
    if len(key) != KEY_BYTES:
        raise ValueError(f"a site key or shared secret must be {KEY_BYTES} bytes, not {len(key)}")
    return key


def master_key() -> bytes | None:
    text = os.environ.get(MASTER_KEY_ENV)
    if not text:
        return None
    try:
        key = unb64(text.strip())
    except ValueError:
        key = b""
    if len(key) != 32:
        raise KeystoreError(
            f"{MASTER_KEY_ENV} must be 32 random bytes in base64 (make one with: portico keystore new-master-key)"
        )
    return key


def new_master_key() -> str:
    return b64(secrets.token_bytes(32))


def atomic_write(path: Path, data: bytes) -> None:
    """Keeps the old file as .bak, protected like the new one, then writes the new one; both by
    temp file, fsync and rename, mode 0600. A backup is secret too: after a master key is set, the
    plaintext keystore it replaces is encrypted on its way to the .bak, never left readable."""
    if path.exists():
        _write_replacing(backup_path(path), protect(path.read_bytes(), master_key()))
    _write_replacing(path, data)


def _write_replacing(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(descriptor, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def backup_path(path: Path) -> Path:
    return path.with_name(path.name + ".bak")


def read_keystore(path: Path) -> Keystore:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise KeystoreError(f"{path}: cannot be read ({exc.strerror})") from None
    encrypted = raw.startswith(ENCRYPTED_MAGIC)
    if encrypted:
        master = master_key()
        if master is None:
            raise KeystoreError(f"{path} is encrypted: set {MASTER_KEY_ENV} to the master key it was written with")
        body = raw[len(ENCRYPTED_MAGIC) :]
        try:
            raw = AESGCM(master).decrypt(body[:12], body[12:], ENCRYPTED_MAGIC)
        except InvalidTag:
            raise KeystoreError(
                f"{path}: {MASTER_KEY_ENV} does not open this keystore, or the file is damaged; "
                f"a backup may be at {backup_path(path)}"
            ) from None
    try:
        return Keystore.from_json(path, json.loads(raw), encrypted)
    except (ValueError, KeyError, TypeError) as exc:
        raise KeystoreError(
            f"{path}: damaged keystore ({exc.__class__.__name__}: {exc}); "
            f"a backup may be at {backup_path(path)}; nothing was overwritten"
        ) from None


def open_keystore(path: Path, *, create: bool, portals_exist: bool, in_ci: bool) -> tuple[Keystore, bool]:
    """The keystore to build with, and whether it was just created.

    A missing keystore is created only on purpose (`create`), or on a first interactive build:
    never in CI and never when the output already holds encrypted portals.
    """
    if path.exists():
        if create:
            raise KeystoreError(
                f"{path} already exists; --new-keystore would replace every customer's keys. "
                "Move it away first if that is really what you want"
            )
        return read_keystore(path), False
    if not create and portals_exist:
        raise KeystoreError(
            f"keystore {path} is missing but the output folder holds encrypted portals built "
            f"with it. Restore it (a backup may be at {backup_path(path)}), or pass --new-keystore "
            "to make new keys on purpose: every customer will need their new password"
        )
    if not create and in_ci:
        raise KeystoreError(
            f"keystore {path} is missing. In CI it must be provided (e.g. restored from a secret); "
            "pass --new-keystore to create one on purpose"
        )
    return Keystore.create(path), True
