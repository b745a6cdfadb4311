"""What was sent, kept beside the keystore (never in the output, never published).

`<keystore>.sent.json`: invitations and password resets, per customer and contact: when each went,
its Message-ID, and which version of the portal's entry page it was for.
`<keystore>.notified.json`: the events each customer's contacts were told of (`portico notify`).

Both mode 0600, written after every message, atomically, so a run that dies still remembers what
it sent and a re-run sends only the rest.
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


def notified_path(keystore: Path) -> Path:
    return keystore.with_name(keystore.name + ".notified.json")


def read_private_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except ValueError:
        raise ValueError(f"{path} is damaged (not JSON); move it away to start a new record") from None
    return data if isinstance(data, dict) else {}


def write_private_json(path: Path, data: dict) -> None:
    """Atomically, readable by the owner only: it names who was told what."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(descriptor, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=1, sort_keys=True)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class SentRecord:
    def __init__(self, path: Path):
        self.path = path
        self._guard = threading.Lock()
        data = read_private_json(path)
        self.sent: dict[str, dict[str, dict]] = data.get("sent", {})
        self.pending: dict[str, dict] = data.get("pending", {})  # kind -> "customer email" -> what to send

    @staticmethod
    def key(customer_id: str, email: str) -> str:
        return f"{customer_id} {email}"

    def last(self, kind: str, customer_id: str, email: str) -> dict | None:
        return self.sent.get(kind, {}).get(self.key(customer_id, email))

    def mark(self, kind: str, customer_id: str, email: str, message_id: str, version: str | None) -> None:
        entry = {"at": now(), "message_id": message_id, "portal": version}
        with self._guard:
            self.sent.setdefault(kind, {})[self.key(customer_id, email)] = entry
            self.pending.get(kind, {}).pop(self.key(customer_id, email), None)
            self._save()

    def queue(self, kind: str, customer_id: str, email: str) -> None:
        """A message to send once what it announces is published (a password reset)."""
        with self._guard:
            self.pending.setdefault(kind, {})[self.key(customer_id, email)] = {"since": now()}
            self._save()

    def queued(self, kind: str) -> list[tuple[str, str]]:
        """(customer id, e-mail) of every message of this kind waiting for a publish."""
        return [tuple(key.split(" ", 1)) for key in sorted(self.pending.get(kind, {}))]

    def _save(self) -> None:
        write_private_json(self.path, {"version": 1, "sent": self.sent, "pending": self.pending})


class NotifiedRecord:
    """Per customer: the event keys its contacts were told of (or that were there when notifying
    began: the baseline), when each overdue invoice was last reminded, and, for an event not yet
    told to every contact, those who have it, so a re-run tells only the rest."""

    def __init__(self, path: Path, read_only: bool = False):
        self.path, self.read_only = path, read_only  # read_only: a dry run, which changes nothing
        self._guard = threading.Lock()
        data = read_private_json(path)
        self.customers: dict[str, dict] = data.get("customers", {})

    def knows(self, customer_id: str) -> bool:
        return customer_id in self.customers

    def _of(self, customer_id: str) -> dict:
        return self.customers.setdefault(customer_id, {"known": [], "reminded": {}, "partly": {}})

    def known(self, customer_id: str) -> set[str]:
        return set(self.customers.get(customer_id, {}).get("known", []))

    def reminded(self, customer_id: str, key: str) -> str | None:
        return self.customers.get(customer_id, {}).get("reminded", {}).get(key)

    def told(self, customer_id: str, key: str) -> set[str]:
        return set(self.customers.get(customer_id, {}).get("partly", {}).get(key, []))

    def baseline(self, customer_id: str, keys: set[str], overdue: set[str], today: str) -> None:
        """What a customer's account holds when notifying begins is not news: no e-mail for it
        (kept in memory until `save`: one write for a run's thousands of customers)."""
        with self._guard:
            entry = self._of(customer_id)
            entry["known"] = sorted(keys)
            entry["reminded"] = dict.fromkeys(sorted(overdue), today)

    def tell(self, customer_id: str, key: str, email: str) -> None:
        with self._guard:
            told = self._of(customer_id)["partly"].setdefault(key, [])
            if email not in told:
                told.append(email)
            self._save()

    def done(self, customer_id: str, key: str, today: str, reminder: bool) -> None:
        """Every contact has it: an event becomes known; an overdue invoice, reminded today."""
        with self._guard:
            entry = self._of(customer_id)
            entry["partly"].pop(key, None)
            if reminder:
                entry["reminded"][key] = today
            elif key not in entry["known"]:
                entry["known"] = sorted({*entry["known"], key})
            self._save()

    def forget_reminders_except(self, customer_id: str, overdue: set[str]) -> None:
        """A paid invoice needs no reminder; should it fall overdue again, it starts afresh."""
        with self._guard:
            reminded = self._of(customer_id)["reminded"]
            for key in set(reminded) - overdue:
                del reminded[key]

    def save(self) -> None:
        with self._guard:
            self._save()

    def _save(self) -> None:
        if not self.read_only:
            write_private_json(self.path, {"version": 1, "customers": self.customers})


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
