"""Publishing when things go wrong at once: two publishes, a publish that stalls past its lease or
is killed, a server that ignores conditional writes, and what a visitor sees at every moment of a
publish. Against moto's S3 server over HTTP and a folder target."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import independent_decoder as spec
import pytest
from test_publish import (
    CUSTOMERS,
    ORDERS,
    PORTICO_OBJECTS,
    Recording,
    built_files,
    config_for,
    keys,
    publish,
    rebuild,
    sealed,
    slug,
    stocked,
)

from generator.faults import KILL_AT_ENV, PUBLISH_MOMENTS
from generator.pipeline import publish as publish_site
from generator.publish import PublishError, PublishOptions
from generator.publish.files import local_files
from generator.publish.lock import LOCK_KEY, PublishLock, PublishLocked
from generator.publish.plan import plan_publish
from generator.publish.stores import open_store
from generator.publish.stores.folder import FolderStore
from generator.publish.stores.s3 import S3Store
from generator.publish.targets import effective_settings
from generator.publish.upload import execute

MORE_ORDERS = ORDERS + "".join(
    f"A-{n},C1,2026-06-{n:02d},Z,{n},3\nB-{n},C2,2026-06-{n:02d},X,1,{n}\n" for n in range(3, 9)
)


@pytest.fixture
def shop(site):
    return stocked(site)


def second_machine(site, tmp_path):
    """The same project checked out on another machine (its own output folder and its own locks)."""
    other = tmp_path / "other-machine"
    shutil.copytree(site.root, other, ignore=shutil.ignore_patterns(".*.lock", ".public.*", ".trash-*"))
    return type(site)(other)


# -- two publishes ---------------------------------------------------------------------------------


def test_a_second_publish_refuses_while_the_first_is_uploading(shop, s3, s3_endpoint, tmp_path):
    """The race the audit found: the second publish starts while the first uploads. It must
    change nothing and fail; the first must finish; the store must hold exactly one build."""
    client, bucket = s3
    raw = config_for(s3_endpoint, bucket)
    rebuild(shop, raw)
    publish(shop, raw)
    shop.file("customers.csv", CUSTOMERS.replace("Gamma Tools,yes", "Gamma Tools,no"))  # deletes too
    shop.file("orders.csv", MORE_ORDERS)
    rebuild(shop, raw)
    other = second_machine(shop, tmp_path)
    second = {}

    class StartsASecondPublish(Recording):
        def put(self, file, body):
            super().put(file, body)
            if len(self.puts) == 1:
                with pytest.raises(PublishLocked, match="holds the lock") as refused:
                    second["report"] = publish(other, raw)
                second["error"] = str(refused.value)

    first = {}

    def factory(target, settings):
        first["store"] = StartsASecondPublish(open_store(target, settings))
        return first["store"]

    report = publish_site(shop.load(raw), PublishOptions(build=False), store_factory=factory)
    assert "nothing was changed" in second["error"]
    assert report.deleted > 0 and report.uploaded == len(first["store"].puts)
    assert keys(client, bucket) == built_files(shop) | PORTICO_OBJECTS  # one complete build, no lock left
    assert publish(shop, raw)[0].uploaded == 0


def test_a_publish_that_outlived_its_lease_never_deletes_what_its_successor_published(shop, s3, s3_endpoint, tmp_path):
    """The first publish stalls past its lease (its clock says otherwise: a paused machine); the
    second takes the lock over and publishes. When the first wakes up it must delete nothing."""
    client, bucket = s3
    raw = config_for(s3_endpoint, bucket, concurrency=1)
    rebuild(shop, raw)
    publish(shop, raw)
    shop.file("customers.csv", CUSTOMERS.replace("Gamma Tools,yes", "Gamma Tools,no"))
    shop.file("orders.csv", MORE_ORDERS)
    rebuild(shop, raw)
    other = second_machine(shop, tmp_path)
    config = shop.load(raw)
    settings = effective_settings(config, {})
    seal = sealed(shop)
    stalled = Recording(S3Store(client, bucket, "portals/", 7))
    lock = PublishLock(stalled, lease=5, clock=lambda: time.time() - 60)  # its lease ended a minute ago
    lock.acquire()
    plan = plan_publish(local_files(config.output_dir, settings), stalled, seal)
    assert plan.deleted
    successor = {}

    class Stalls(Recording):
        def put(self, file, body):
            super().put(file, body)
            if len(self.puts) == 2:  # meanwhile, the next publish takes the ended lease over
                successor["report"], successor["store"] = publish(other, raw)

    stalling = Stalls(stalled.inner)
    lock.store = stalling
    lock._stop.set()  # stalled: it renews nothing either (a paused machine)
    with pytest.raises(PublishError, match=r"deleted nothing|lost its lock"):
        execute(plan, stalling, seal, 1, lock=lock)
    lock.release()
    assert stalling.deletes == []
    assert successor["report"].deleted == len(plan.deleted)
    assert keys(client, bucket) == built_files(shop) | PORTICO_OBJECTS
    assert publish(shop, raw)[0].uploaded == 0


# -- a server that ignores conditional writes ----------------------------------------------------


def ignoring_conditions(client):
    """What s3rver does: the conditions never reach the server's decision."""

    def drop(request, **kwargs):
        for header in ("If-None-Match", "If-Match"):
            if header in request.headers:
                del request.headers[header]

    client.meta.events.register("before-sign.s3.PutObject", drop)
    return client


def test_a_store_that_ignores_conditional_writes_is_refused_unless_single_writer(shop, s3, s3_endpoint):
    client, bucket = s3
    raw = config_for(s3_endpoint, bucket)
    rebuild(shop, raw)

    def factory(target, settings):
        return S3Store(ignoring_conditions(open_store(target, settings).client), bucket, "portals/", 7)

    with pytest.raises(PublishError, match=r"does not honour conditional writes \(it accepted a create-only write"):
        publish_site(shop.load(raw), PublishOptions(build=False), store_factory=factory)
    assert keys(client, bucket) == set()  # nothing was changed, the probe cleaned up after itself
    report = publish_site(shop.load(raw), PublishOptions(build=False, single_writer=True), store_factory=factory)
    assert report.uploaded == len(built_files(shop))


def test_the_probe_runs_once_per_target(shop, s3, s3_endpoint):
    _, bucket = s3
    raw = config_for(s3_endpoint, bucket)
    rebuild(shop, raw)
    probes = []

    class Counting(Recording):
        def write_meta(self, name, body, expected):
            if "probe-" in name:
                probes.append(name)
            return self.inner.write_meta(name, body, expected)

    def factory(target, settings):
        return Counting(open_store(target, settings))

    publish_site(shop.load(raw), PublishOptions(build=False), store_factory=factory)
    assert len(probes) == 3  # create, create again (refused), write on a wrong version (refused)
    publish_site(shop.load(raw), PublishOptions(build=False), store_factory=factory)
    assert len(probes) == 3  # remembered


# -- what a visitor sees at every moment ----------------------------------------------------------


def link_graph(site, customers) -> dict[str, set[str]]:
    """Every page each contact opens, and what it links to, read by the independent decoder."""
    keystore = json.loads((site.root / "keystore" / "keystore.json").read_text(encoding="utf-8"))
    graph: dict[str, set[str]] = {}
    for customer_id in customers:
        folder = slug(site, customer_id)
        for email, contact in keystore["customers"][customer_id]["contacts"].items():
            portal = spec.read_portal(site.public, folder, email, contact["password"])
            for path, (media_type, content) in portal.opened.items():
                if media_type.startswith("text/html"):
                    html = content.decode("utf-8")
                    linked = {f"{folder}/{name}" for name in spec.linked_blobs(html)}
                    if found := spec.CATALOGUE.search(html):
                        linked.add(json.loads(found.group(1))["path"])
                    graph[path] = linked
    return graph


def test_no_published_page_ever_links_to_a_missing_file(shop, tmp_path):
    target = tmp_path / "www"
    raw = config_for("unused", "unused", concurrency=1)
    raw["publish"] = {"target": str(target), "concurrency": 1}
    rebuild(shop, raw)
    publish(shop, raw)
    before = link_graph(shop, ["C1", "C2", "C3"])
    shop.file("orders.csv", MORE_ORDERS)  # new order pages, changed lists and dashboards
    rebuild(shop, raw)
    after = link_graph(shop, ["C1", "C2", "C3"])
    assert {p for p in after if p not in before}  # there are new pages
    moments = []

    class Watching(Recording):
        def put(self, file, body):
            super().put(file, body)
            present = set(FolderStore(target).list_sizes())
            for page in present:
                graph = after if page in self.puts else before
                missing = graph.get(page, set()) - present
                assert not missing, f"after uploading {file.path}, {page} links to missing {sorted(missing)}"
            moments.append(len(present))

    def factory(target_, settings):
        return Watching(open_store(target_, settings))

    report = publish_site(shop.load(raw), PublishOptions(build=False), store_factory=factory)
    assert len(moments) == report.uploaded > 10


# -- a re-run after a crash ----------------------------------------------------------------------


def test_a_rerun_sends_only_what_the_crashed_publish_had_not_sent(shop, s3, s3_endpoint):
    client, bucket = s3
    raw = config_for(s3_endpoint, bucket, concurrency=1)
    rebuild(shop, raw)
    publish(shop, raw)
    shop.file("orders.csv", MORE_ORDERS)
    rebuild(shop, raw)
    c1 = slug(shop, "C1")
    with pytest.raises(Exception, match="injected-fault"):
        publish(shop, raw, fail_on=lambda path: path == f"{c1}/index.bin")
    intent = sealed(shop).decode(client.get_object(Bucket=bucket, Key="portals/.portico/manifest.json")["Body"].read())
    pending = {p for p, entry in intent["objects"].items() if entry.get("pending")}
    _, rerun = publish(shop, raw)
    sent_before = pending - set(rerun.puts)
    assert sent_before and f"{c1}/index.bin" in rerun.puts
    assert len(rerun.puts) < len(pending)  # only what the crash kept from going up
    assert keys(client, bucket) == built_files(shop) | PORTICO_OBJECTS
    assert publish(shop, raw)[0].uploaded == 0


def test_a_file_changed_in_the_store_since_the_crash_is_sent_again(shop, s3, s3_endpoint):
    client, bucket = s3
    raw = config_for(s3_endpoint, bucket, concurrency=1)
    rebuild(shop, raw)
    shop_files = sorted(built_files(shop))
    c1 = slug(shop, "C1")
    with pytest.raises(Exception, match="injected-fault"):
        publish(shop, raw, fail_on=lambda path: path == f"{c1}/index.html")
    victim = next(p for p in shop_files if p.startswith("_static/"))
    client.put_object(Bucket=bucket, Key=f"portals/{victim}", Body=b"tampered")  # no sha256 metadata
    _, rerun = publish(shop, raw)
    assert victim in rerun.puts
    assert client.get_object(Bucket=bucket, Key=f"portals/{victim}")["Body"].read() != b"tampered"


# -- a killed publish ------------------------------------------------------------------------------


@pytest.mark.parametrize("moment", PUBLISH_MOMENTS)
def test_a_killed_publish_frees_the_target_once_its_lease_ends(shop, tmp_path, moment):
    target = tmp_path / "www"
    raw = config_for("unused", "unused")
    raw["publish"] = {"target": str(target), "lease_seconds": 5}
    shop.config(raw)
    environment = {**os.environ, "CI": ""}

    def portico(*args, env=None):
        done = subprocess.run(
            [sys.executable, "-m", "generator", *args],
            cwd=shop.root,
            env={**environment, **(env or {})},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert "Traceback" not in done.stderr, done.stderr
        return done

    assert portico("build", "--new-keystore").returncode == 0
    assert portico("publish").returncode == 0
    shop.file("customers.csv", CUSTOMERS.replace("Gamma Tools,yes", "Gamma Tools,no"))
    shop.file("orders.csv", MORE_ORDERS)
    assert portico("build").returncode == 0
    (target / ".portico" / "manifest.lock").write_text("left by an earlier version")  # blocks nothing
    killed = portico("publish", env={KILL_AT_ENV: moment})
    assert killed.returncode == -9
    refused = portico("publish")
    assert refused.returncode == 1 and "holds the lock" in refused.stderr and "nothing was changed" in refused.stderr
    lock = json.loads((target / LOCK_KEY).read_text())
    time.sleep(max(0.0, lock["expires"] - time.time()) + 0.5)
    done = portico("publish", "--json")
    assert done.returncode == 0, done.stderr
    published = {
        p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file() and ".portico" not in p.parts
    }
    assert published == built_files(shop)
    assert json.loads(portico("publish", "--json").stdout)["uploaded"] == 0
    assert not (target / LOCK_KEY).exists()


# -- what the review of this work found -----------------------------------------------------------


def test_a_crash_after_the_deletes_never_leaves_the_manifest_listing_a_deleted_file(shop, s3, s3_endpoint):
    """The intent marks what it is about to delete: a publish after a crash there asks the store
    about those files instead of believing the old manifest (here: the previous build published again)."""
    client, bucket = s3
    raw = config_for(s3_endpoint, bucket)
    rebuild(shop, raw)
    publish(shop, raw)
    first_build = shop.root / "first-build"
    shutil.copytree(shop.public, first_build)
    shop.file("customers.csv", CUSTOMERS.replace("Gamma Tools,yes", "Gamma Tools,no"))
    rebuild(shop, raw)

    class DiesAfterDeleting(Recording):
        def delete(self, paths):
            super().delete(paths)
            raise RuntimeError("killed right after the deletes")

    with pytest.raises(RuntimeError, match="killed"):
        publish_site(
            shop.load(raw), PublishOptions(build=False), store_factory=lambda t, s: DiesAfterDeleting(open_store(t, s))
        )
    shutil.rmtree(shop.public)
    shutil.copytree(first_build, shop.public)  # the first build again (a rollback): Gamma's files are in it
    _, store = publish(shop, raw)
    assert any(p.startswith(slug(shop, "C3") + "/") for p in store.puts)
    assert keys(client, bucket) == built_files(shop) | PORTICO_OBJECTS


def test_a_clock_running_ahead_never_takes_a_live_lock(shop, s3, s3_endpoint):
    client, bucket = s3
    store = S3Store(client, bucket, "portals/", 7)
    holder = PublishLock(store, lease=4)
    holder.acquire()
    try:
        ahead = PublishLock(store, lease=4, clock=lambda: time.time() + 3600)  # sees the lease as long ended
        started = time.monotonic()
        with pytest.raises(PublishLocked, match="holds the lock"):
            ahead.acquire()  # ... but the holder renews it meanwhile
        assert time.monotonic() - started < 3
    finally:
        holder.release()
    assert keys(client, bucket) == set()  # released: gone
    late = PublishLock(store, lease=4)
    late.acquire()  # free again at once
    late.release()
