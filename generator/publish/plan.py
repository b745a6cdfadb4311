"""What to send, and in which order, to make a store hold exactly the build.

Change detection compares each built file's SHA-256 and headers with the store's manifest (one
object recording what was published, and with what headers); it never looks at modification
times, ETags or object contents. With `verify` (and always for a store without a manifest) the
store's listing is compared too.

Under the publish lock (`lock.py`), a publish first writes an intent manifest, conditional on
the version it read: the old objects plus the ones about to change, marked pending. Then uploads
go in waves ordered by the build's link graph, so that no published page ever points at
something missing (`PublishPlan.upload_waves`). Then objects no longer built are deleted (capped
against mass deletion), and the final manifest is written. A publish that dies part-way leaves
the intent: the next run asks the store which pending files it already holds, sends the rest
and deletes every leftover: it converges.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from .files import MANIFEST_KEY, ORDER, LocalFile, PublishError
from .manifest import ManifestSeal, ManifestUnreadable
from .stores import Store


@dataclass
class PublishPlan:
    new: list[LocalFile] = field(default_factory=list)
    changed: list[LocalFile] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: int = 0
    manifest: dict = field(default_factory=dict)  # what the store holds once this plan is done
    manifest_version: str | None = None  # the version of the store's manifest this plan was made from
    previous: dict = field(default_factory=dict)  # the objects that manifest listed
    remote_keystore: str | None = None  # which keystore the published portals were built with
    remote_unreadable: bool = False  # the store's manifest does not open with this keystore

    def intent(self) -> dict:
        """The manifest written before anything changes: old objects, plus the ones about to, pending."""
        pending = {f.path: {**f.signature(), "size": None, "pending": True} for f in self.new + self.changed}
        going = {path: {**self.previous.get(path, {}), "deleting": True} for path in self.deleted}
        return {"version": 1, "keystore": self.remote_keystore, "objects": {**self.previous, **going, **pending}}

    @property
    def empty(self) -> bool:
        return not (self.new or self.changed or self.deleted)

    def uploads(self) -> list[LocalFile]:
        """In the order they go up (see `upload_waves`)."""
        return [file for wave in self.upload_waves() for file in wave]

    def upload_waves(self) -> list[list[LocalFile]]:
        """The uploads in groups, each sent (in parallel) only once the one before is complete.
        A file goes up after everything it links to that the store does not hold yet, so no
        published page ever links to a missing file: new documents before the new order pages
        that link them, those before the changed list that links them, entry pages after their
        portal, shared assets first and the site's own root pages last. (New files that link each
        other in a circle go up together: nothing published links to any of them until the page
        that does goes up, after them.)"""
        uploads = sorted(self.new + self.changed, key=lambda f: f.path)
        missing = {f.path: f for f in self.new}
        depth: dict[str, int] = {}

        def depth_of(file: LocalFile) -> int:
            """0 for a file that links to nothing missing, else one more than the deepest it links to
            (of its own role: every role goes up after the ones before it in ORDER)."""
            if file.path not in depth:
                depth[file.path] = 0  # in progress: a link back to it is a circle of new files
                needs = [missing[link] for link in file.links if link in missing and missing[link].role == file.role]
                depth[file.path] = 1 + max(map(depth_of, needs), default=-1)
            return depth[file.path]

        def wave_of(file: LocalFile) -> tuple[int, int]:
            return ORDER.index(file.role), depth_of(file)

        waves: dict[tuple[int, int], list[LocalFile]] = {}
        for file in uploads:
            waves.setdefault(wave_of(file), []).append(file)
        return [waves[key] for key in sorted(waves)]

    def lines(self) -> Iterator[str]:
        for f in sorted(self.new, key=lambda f: f.path):
            yield f"+ {f.path}"
        for f in sorted(self.changed, key=lambda f: f.path):
            yield f"* {f.path}"
        for path in sorted(self.deleted):
            yield f"- {path}"

    def counts(self) -> dict[str, int]:
        return {
            "new": len(self.new),
            "changed": len(self.changed),
            "deleted": len(self.deleted),
            "unchanged": self.unchanged,
        }


def plan_publish(
    files: dict[str, LocalFile],
    store: Store,
    seal: ManifestSeal,
    verify: bool = False,
    keystore: str | None = None,
    manifest_key: str = MANIFEST_KEY,
    seed: dict[str, dict] | None = None,
) -> PublishPlan:
    """Compare the build with the store's manifest (a shard: with its part of it, `manifest_key`);
    with `verify` (or no manifest yet and no `seed` to start from, or one this keystore cannot
    open) with its listing too."""
    raw, version = store.read_meta(manifest_key)
    unreadable = False
    try:
        remote = seal.decode(raw) if raw is not None else None
    except ManifestUnreadable:
        remote, unreadable = None, True
    published: dict[str, dict] = (remote or {}).get("objects", {})
    if remote is None and seed is not None:
        published = seed
    listed = store.list_sizes() if verify or (remote is None and seed is None) else None
    plan = PublishPlan(
        manifest_version=version,
        previous=published,
        remote_keystore=(remote or {}).get("keystore"),
        remote_unreadable=unreadable,
    )
    sent = already_sent(files, published, store)
    for path, file in files.items():
        previous = sent.get(path) or published.get(path)
        present = path in listed if listed is not None else previous is not None
        if previous is not None and _unsure(previous):
            present = False  # not as built: to the upload order it is missing (it may be)
        if not present:
            plan.new.append(file)
        elif (
            previous is None
            or _unsure(previous)
            or not _same(previous, file)
            or (listed is not None and listed[path] != previous.get("size"))
        ):
            plan.changed.append(file)
        else:
            plan.unchanged += 1
    plan.deleted = sorted((set(published) | set(listed or ())) - set(files))
    plan.manifest = {
        "version": 1,
        "keystore": keystore,
        "objects": {
            path: {**file.signature(), "size": (sent.get(path) or published.get(path, {})).get("size")}
            for path, file in files.items()
        },
    }
    return plan


def already_sent(files: dict[str, LocalFile], published: dict[str, dict], store: Store) -> dict[str, dict]:
    """Files a publish that died part-way had uploaded already: its intent lists them as pending,
    and the store holds exactly what this build would send (same digest and headers). They are
    not sent again; what the store holds is asked of it, never assumed."""
    pending = sorted(p for p, entry in published.items() if _unsure(entry) and p in files)
    if not pending:
        return {}
    held = store.describe(pending)
    sent = {}
    for path in pending:
        entry = held.get(path)
        wanted = files[path].signature()
        if entry and all(entry.get(k, wanted[k]) == wanted[k] for k in wanted) and entry.get("size") is not None:
            sent[path] = {**wanted, "size": entry["size"]}
    return sent


def _unsure(entry: dict) -> bool:
    """An entry of an intent a publish did not finish: about to be sent, or about to be deleted
    (and maybe deleted already): only the store can say what it holds."""
    return bool(entry.get("pending") or entry.get("deleting"))


def _same(previous: dict, file: LocalFile) -> bool:
    return {k: previous.get(k) for k in file.signature()} == file.signature()


def check_same_keystore(plan: PublishPlan, keystore: str | None, allow_new: bool) -> None:
    """Portals built with another keystore would lock every customer out of the published ones."""
    other = plan.remote_unreadable or (plan.remote_keystore and keystore and plan.remote_keystore != keystore)
    if other and not allow_new:
        raise PublishError(
            "the target's portals were built with another keystore; publishing this build would "
            "replace every customer's keys and passwords. Restore the keystore they were built with, "
            "or pass --replace-keys if that is really intended; nothing was changed"
        )


def check_foreign_objects(plan: PublishPlan, allow_all: bool) -> None:
    """A target with no Portico manifest holds nothing known to be ours: never delete from it unasked."""
    if plan.manifest_version is None and plan.deleted and not allow_all:
        raise PublishError(
            f"the target already holds {len(plan.deleted)} file(s) that Portico did not publish "
            f"(e.g. {plan.deleted[0]}) and no Portico manifest; nothing was changed. Publish to an "
            "empty folder or prefix, or pass --allow-deletes all to replace what is there"
        )


def check_delete_cap(plan: PublishPlan, max_deletes: int | None) -> None:
    if max_deletes is not None and len(plan.deleted) > max_deletes:
        raise PublishError(
            f"{len(plan.deleted)} objects would be deleted, more than --max-deletes {max_deletes}; "
            "nothing was changed. Check the build (a missing export file?), then raise the cap "
            "or pass --allow-deletes all"
        )
