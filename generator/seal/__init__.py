"""Seal each customer's portal: keys, key slots and passwords, and the encryption of every file.

blobs.py      the encrypted file format (AES-256-GCM, bound to customer and path)
slots.py      key slots: a contact's password (PBKDF2) unwraps the customer's data key
keystore.py   every secret, kept outside the output, encrypted at rest with a master key
passwords.py  generated passwords, and the strength check of chosen ones
access.py     brings the keystore in line with the export's contacts (grants, revocations)
gate.py       the `Sealer`: shell pages and blobs under opaque names; direct links
manage.py     what staff do between builds: list, set, rotate passwords; links; revoke
"""

from __future__ import annotations

from .access import AccessChanges, sync_access
from .gate import Gate, encrypted_portals_exist
from .keystore import Keystore, KeystoreError, master_key, new_master_key, open_keystore, read_keystore
from .slots import MIN_ITERATIONS, kdf_iterations

__all__ = [
    "MIN_ITERATIONS",
    "AccessChanges",
    "Gate",
    "Keystore",
    "KeystoreError",
    "encrypted_portals_exist",
    "kdf_iterations",
    "master_key",
    "new_master_key",
    "open_keystore",
    "read_keystore",
    "sync_access",
]
