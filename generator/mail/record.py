"""What was sent, kept beside the keystore (never in the output, never published).

One JSON file, `<keystore>.sent.json`, mode 0600: per message kind, per customer and contact, when
it went, the Message-ID, and which version of the portal's entry page it was for. Written after
every message, atomically, so a run that dies still remembers what it sent and a re-run sends only
the rest.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from datetime import UTC, datetime
from pathlib import Path


def record_path(keystore: Path) -> Path:
    return keystore.with_name(keystore.name + ".sent.json")


class SentRecord:
    def __init__(self, path: Path):
        self.path = path
        self._guard = threading.Lock()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            data = {}
        except ValueError:
            raise ValueError(f"{path} is damaged (not JSON); move it away to start a new record") from None
        self.sent: dict[str, dict[str, dict]] = data.get("sent", {}) if isinstance(data, dict) else {}

    @staticmethod
    def key(customer_id: str, email: str) -> str:
        return f"{customer_id} {email}"

    def last(self, kind: str, customer_id: str, email: str) -> dict | None:
        return self.sent.get(kind, {}).get(self.key(customer_id, email))

    def mark(self, kind: str, customer_id: str, email: str, message_id: str, version: str | None) -> None:
        entry = {"at": datetime.now(UTC).isoformat(timespec="seconds"), "message_id": message_id, "portal": version}
        with self._guard:
            self.sent.setdefault(kind, {})[self.key(customer_id, email)] = entry
            self._save()

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            os.fchmod(descriptor, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as out:
                json.dump({"version": 1, "sent": self.sent}, out, indent=1, sort_keys=True)
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
