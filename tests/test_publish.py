"""Publishing against a real S3 endpoint (moto's server over HTTP) and to a folder."""

from __future__ import annotations

import gzip
import json
import shutil

import boto3
import botocore.exceptions
import pytest
from conftest import REPO, minimal_config, static_file

from generator.cli import main
from generator.output import read_state
from generator.pipeline import publish as publish_site
from generator.publish import PublishError, PublishOptions
from generator.publish.files import ManifestConflict, local_files
from generator.publish.manifest import ManifestSeal
from generator.publish.plan import plan_publish
from generator.publish.stores import open_store
from generator.publish.stores.s3 import S3Store
from generator.publish.targets import effective_settings
from generator.publish.upload import execute
from generator.seal.keystore import read_keystore
from generator.site.slugs import opaque_slug

CUSTOMERS = "id,name,portal\nC1,Alpha Works,yes\nC2,Beta Foods,yes\nC3,Gamma Tools,yes\n"
CONTACTS = "customer,name,email\nC1,Ann,ann@alpha.example\nC2,Cy,cy@beta.example\nC3,Di,di@gamma.example\n"
ORDERS = (
    "order,customer,date,sku,qty,price\nA-1,C1,2026-05-01,X,2,1.50\nA-2,C1,2026-05-02,Y,1,4\n"
    "B-1,C2,2026-06-01,Y,1,9.99\nB-2,C2,2026-06-02,Z,3,2\nG-1,C3,2026-06-03,X,1,1\n"
)


def config_for(s3_endpoint, bucket, **publish):
    raw = minimal_config(
        contacts={"file": "contacts.csv", "columns": {"customer": "customer", "name": "name", "email": "email"}}
    )
    raw["exports"]["customers"]["columns"]["portal_enabled"] = "portal"
    raw["portal"] = {"slug": "opaque"}
    raw["publish"] = {
        "target": f"s3://{bucket}/portals",
        "endpoint_url": s3_endpoint,
        "list_page_size": 7,
        "concurrency": 4,
        **publish,
    }
    return raw


def stocked(site):
    """The shop's export: three customers, one contact each, five orders."""
    site.file("customers.csv", CUSTOMERS)
    site.file("contacts.csv", CONTACTS)
    site.file("orders.csv", ORDERS)
    return site


@pytest.fixture
def shop(site):
    return stocked(site)


def rebuild(site, raw):
    result = site.build(raw, encrypt=True, new_keystore=not (site.root / "keystore" / "keystore.json").exists())
    assert result.ok, result.failure
    return result


PORTICO_OBJECTS = {".portico/manifest.json"}  # the lock is gone once a publish is done


class Recording:
    """Wraps a store to record what a publish really did."""

    def __init__(self, inner, fail_on=None):
        self.inner, self.fail_on = inner, fail_on
        self.puts, self.deletes = [], []
        self.description = inner.description

    def __getattr__(self, name):  # list_sizes, describe, read_meta, write_meta, delete_meta
        return getattr(self.inner, name)

    def put(self, file, body):
        if self.fail_on and self.fail_on(file.path):
            raise botocore.exceptions.EndpointConnectionError(endpoint_url="http://injected-fault")
        self.inner.put(file, body)
        self.puts.append(file.path)

    def delete(self, paths):
        self.inner.delete(paths)
        self.deletes += paths


def publish(site, raw, fail_on=None, **options):
    recorder = {}

    def factory(target, settings):
        recorder["store"] = Recording(open_store(target, settings), fail_on)
        return recorder["store"]

    report = publish_site(site.load(raw), PublishOptions(build=False, **options), store_factory=factory)
    return report, recorder["store"]


def keys(client, bucket, prefix="portals/"):
    found = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        found += [o["Key"][len(prefix) :] for o in page.get("Contents", ())]
    return set(found)


def built_files(site):
    return set(read_state(site.public).files)


def sealed(site) -> ManifestSeal:
    return ManifestSeal(read_keystore(site.root / "keystore" / "keystore.json").manifest_key())


def slug(site, customer_id):
    return opaque_slug(read_keystore(site.root / "keystore" / "keystore.json").site_key, customer_id)


def test_first_publish_uploads_everything_with_the_right_headers(shop, s3, s3_endpoint):
    client, bucket = s3
    raw = config_for(s3_endpoint, bucket)
    rebuild(shop, raw)
    report, store = publish(shop, raw)
    files = built_files(shop)
    assert report.counts == {"new": len(files), "changed": 0, "deleted": 0, "unchanged": 0}
    assert keys(client, bucket) == files | PORTICO_OBJECTS
    entry = client.head_object(Bucket=bucket, Key=f"portals/{slug(shop, 'C1')}/index.html")
    assert entry["ContentType"] == "text/html; charset=utf-8" and entry["CacheControl"] == "no-cache"
    assert len(entry["Metadata"]["sha256"]) == 64
    blob = next(k for k in files if k.endswith(".bin"))
    assert client.head_object(Bucket=bucket, Key=f"portals/{blob}")["ContentType"] == "application/octet-stream"
    css = client.head_object(Bucket=bucket, Key=f"portals/{static_file(shop.public, 'portico.css')}")
    assert css["ContentType"] == "text/css; charset=utf-8" and "immutable" in css["CacheControl"]
    order = [
        store.puts.index(p)
        for p in (static_file(shop.public, "gate.js"), f"{slug(shop, 'C1')}/index.html", "index.html")
    ]
    assert order == sorted(order)  # assets, then portals' pages and entries, then the site's root
    entries = [i for i, p in enumerate(store.puts) if p.endswith("/index.html")]
    pages = [
        i for i, p in enumerate(store.puts) if "/" in p and not p.startswith("_static") and not p.endswith("index.html")
    ]
    assert max(pages) < min(entries)  # an entry page never links to a page not yet uploaded


def test_identical_rebuild_publishes_nothing(shop, s3, s3_endpoint):
    client, bucket = s3
    raw = config_for(s3_endpoint, bucket)
    rebuild(shop, raw)
    publish(shop, raw)
    manifest_etag = client.head_object(Bucket=bucket, Key="portals/.portico/manifest.json")["ETag"]
    rebuild(shop, raw)
    report, store = publish(shop, raw)
    assert report.uploaded == 0 and report.deleted == 0 and store.puts == []
    assert report.counts["unchanged"] == len(built_files(shop))
    assert client.head_object(Bucket=bucket, Key="portals/.portico/manifest.json")["ETag"] == manifest_etag


def test_one_customers_change_uploads_only_that_customers_objects(shop, s3, s3_endpoint):
    _client, bucket = s3
    raw = config_for(s3_endpoint, bucket)
    rebuild(shop, raw)
    publish(shop, raw)
    shop.file("orders.csv", ORDERS.replace("B-2,C2,2026-06-02,Z,3,2", "B-2,C2,2026-06-02,Z,4,2"))
    rebuild(shop, raw)
    report, store = publish(shop, raw)
    assert store.puts and all(p.startswith(slug(shop, "C2") + "/") for p in store.puts)
    assert report.counts["changed"] == len(store.puts) and report.counts["new"] == 0


def test_a_disabled_customer_disappears(shop, s3, s3_endpoint):
    client, bucket = s3
    raw = config_for(s3_endpoint, bucket)
    rebuild(shop, raw)
    publish(shop, raw)
    gone = slug(shop, "C2")
    before = {k for k in keys(client, bucket) if k.startswith(gone + "/")}
    assert len(before) > 3
    shop.file("customers.csv", CUSTOMERS.replace("Beta Foods,yes", "Beta Foods,no"))
    rebuild(shop, raw)
    _report, store = publish(shop, raw)
    assert set(store.deletes) == before
    assert not any(k.startswith(gone + "/") for k in keys(client, bucket))


def test_the_delete_cap_stops_a_mass_delete(shop, s3, s3_endpoint, capsys):
    client, bucket = s3
    raw = config_for(s3_endpoint, bucket, max_deletes=2)
    rebuild(shop, raw)
    publish(shop, raw)
    before = keys(client, bucket)
    shop.file("customers.csv", CUSTOMERS.replace("Beta Foods,yes", "Beta Foods,no"))
    rebuild(shop, raw)
    with pytest.raises(PublishError, match="more than --max-deletes 2; nothing was changed"):
        publish(shop, raw)
    assert keys(client, bucket) == before
    config = shop.config(raw)
    assert main(["publish", "--no-build", "--config", str(config)]) == 1
    assert "--allow-deletes all" in capsys.readouterr().err
    assert main(["publish", "--no-build", "--allow-deletes", "all", "--config", str(config)]) == 0
    assert keys(client, bucket) == built_files(shop) | PORTICO_OBJECTS


def test_a_failed_upload_deletes_nothing_and_a_rerun_converges(shop, s3, s3_endpoint):
    client, bucket = s3
    raw = config_for(s3_endpoint, bucket)
    rebuild(shop, raw)
    publish(shop, raw)
    manifest_before = sealed(shop).decode(
        client.get_object(Bucket=bucket, Key="portals/.portico/manifest.json")["Body"].read()
    )
    shop.file("customers.csv", CUSTOMERS.replace("Beta Foods,yes", "Beta Foods,no"))
    shop.file("orders.csv", ORDERS.replace("A-1,C1,2026-05-01,X,2,1.50", "A-1,C1,2026-05-01,X,3,1.50"))
    rebuild(shop, raw)
    c1 = slug(shop, "C1")
    with pytest.raises(botocore.exceptions.EndpointConnectionError):
        publish(shop, raw, fail_on=lambda path: path == f"{c1}/index.bin")
    listed = keys(client, bucket)
    assert any(k.startswith(slug(shop, "C2") + "/") for k in listed)  # nothing deleted
    intent = sealed(shop).decode(client.get_object(Bucket=bucket, Key="portals/.portico/manifest.json")["Body"].read())
    before = manifest_before["objects"]
    assert set(before) <= set(intent["objects"])  # the leftovers stay known, to be deleted by the re-run
    assert intent["objects"][f"{c1}/index.bin"]["pending"] is True
    _report, store = publish(shop, raw)  # the re-run
    assert f"{c1}/index.bin" in store.puts and store.deletes
    assert keys(client, bucket) == built_files(shop) | PORTICO_OBJECTS
    assert publish(shop, raw)[0].uploaded == 0  # converged


def test_verify_finds_objects_removed_behind_its_back(shop, s3, s3_endpoint):
    client, bucket = s3
    raw = config_for(s3_endpoint, bucket)
    rebuild(shop, raw)
    publish(shop, raw)
    lost = f"{slug(shop, 'C3')}/index.html"
    client.delete_object(Bucket=bucket, Key=f"portals/{lost}")
    client.put_object(Bucket=bucket, Key="portals/stray.html", Body=b"left by hand")
    assert publish(shop, raw)[0].uploaded == 0  # the manifest alone cannot know
    _report, store = publish(shop, raw, verify=True)
    assert store.puts == [lost] and store.deletes == ["stray.html"]
    assert keys(client, bucket) == built_files(shop) | PORTICO_OBJECTS


def test_keys_with_spaces_unicode_plus_and_percent_round_trip(shop, s3, s3_endpoint, tmp_path):
    client, bucket = s3
    themes = tmp_path / "themes"
    shutil.copytree(REPO / "themes", themes)
    odd = ["a b.txt", "ünïcødé ☃.txt", "plus+sign.txt", "per%20cent%.txt"]
    for name in odd:
        (themes / "default" / "static" / name).write_text(name)
    raw = config_for(s3_endpoint, bucket)
    raw["themes_dir"] = str(themes)
    rebuild(shop, raw)
    publish(shop, raw)
    listed = keys(client, bucket)
    published = {name: static_file(shop.public, name) for name in odd}
    for name, path in published.items():
        assert path in listed
        assert client.get_object(Bucket=bucket, Key=f"portals/{path}")["Body"].read().decode() == name
    assert publish(shop, raw)[0].uploaded == 0  # the names matched the manifest exactly
    folder = tmp_path / "www"
    publish(shop, raw, target=str(folder))
    assert set(published.values()) <= {p.relative_to(folder).as_posix() for p in folder.rglob("*")}


def test_two_racing_publishes_one_loses(shop, s3, s3_endpoint):
    client, bucket = s3
    raw = config_for(s3_endpoint, bucket)
    rebuild(shop, raw)
    config = shop.load(raw)
    settings = effective_settings(config, {})
    store = S3Store(client, bucket, "portals/", 7)
    seal = sealed(shop)
    slow = plan_publish(local_files(config.output_dir, settings), store, seal)  # reads: no manifest yet
    publish(shop, raw)  # another publish finishes first
    loser = Recording(store)
    with pytest.raises(ManifestConflict, match=r"wrote the manifest of .* after this one read it; nothing was changed"):
        execute(slow, loser, seal, 4)
    assert loser.puts == [] and loser.deletes == []  # the loser stops before changing anything
    # the same when a manifest existed: the write is conditional on the version this publish read
    shop.file("customers.csv", CUSTOMERS.replace("Gamma Tools,yes", "Gamma Tools,no"))
    rebuild(shop, raw)
    slow = plan_publish(local_files(config.output_dir, settings), store, seal)
    assert slow.manifest_version and slow.deleted
    publish(shop, raw)
    loser = Recording(store)
    with pytest.raises(ManifestConflict):
        execute(slow, loser, seal, 4)
    assert loser.puts == [] and loser.deletes == []


def test_dry_run_plan_equals_what_the_real_run_does(shop, s3, s3_endpoint, capsys):
    client, bucket = s3
    raw = config_for(s3_endpoint, bucket)
    rebuild(shop, raw)
    publish(shop, raw)
    shop.file("customers.csv", CUSTOMERS.replace("Gamma Tools,yes", "Gamma Tools,no"))
    shop.file("orders.csv", ORDERS + "A-3,C1,2026-07-01,Q,1,1\n")
    rebuild(shop, raw)
    before = keys(client, bucket)
    dry, dry_store = publish(shop, raw, dry_run=True)
    assert keys(client, bucket) == before and dry_store.puts == [] and dry_store.deletes == []
    real, store = publish(shop, raw)
    planned_uploads = {line[2:] for line in dry.plan_lines if line[0] in "+*"}
    planned_deletes = {line[2:] for line in dry.plan_lines if line[0] == "-"}
    assert planned_uploads == set(store.puts) and planned_deletes == set(store.deletes)
    assert dry.counts == real.counts and all(dry.counts[k] for k in ("new", "changed", "deleted"))
    config = shop.config(raw)
    assert main(["publish", "--no-build", "--dry-run", "--json", "-v", "--config", str(config)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["dry_run"] is True and out["new"] == out["changed"] == out["deleted"] == 0 and out["plan"] == []


def test_cloudfront_invalidates_changed_paths_only(shop, s3, s3_endpoint):
    _client, bucket = s3
    cloudfront = boto3.client("cloudfront", endpoint_url=s3_endpoint, region_name="us-east-1")
    distribution = cloudfront.create_distribution(
        DistributionConfig={
            "CallerReference": "portico-test",
            "Comment": "",
            "Enabled": True,
            "Origins": {
                "Quantity": 1,
                "Items": [
                    {
                        "Id": "s3",
                        "DomainName": f"{bucket}.s3.amazonaws.com",
                        "S3OriginConfig": {"OriginAccessIdentity": ""},
                    }
                ],
            },
            "DefaultCacheBehavior": {
                "TargetOriginId": "s3",
                "ViewerProtocolPolicy": "redirect-to-https",
                "TrustedSigners": {"Enabled": False, "Quantity": 0},
                "MinTTL": 0,
                "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
            },
        }
    )["Distribution"]["Id"]
    raw = config_for(s3_endpoint, bucket, cloudfront=[distribution], cloudfront_endpoint_url=s3_endpoint)
    rebuild(shop, raw)
    first, _ = publish(shop, raw)
    assert first.invalidations == {}  # everything was new: nothing cached to refresh
    rebuild(shop, raw)
    assert publish(shop, raw)[0].invalidations == {}  # nothing changed
    shop.file("orders.csv", ORDERS.replace("G-1,C3,2026-06-03,X,1,1", "G-1,C3,2026-06-03,X,5,1"))
    rebuild(shop, raw)
    report, store = publish(shop, raw)
    paths = report.invalidations[distribution]
    changed = {p for p in store.puts}
    assert set(paths) == {f"/portals/{p}" for p in changed} and all(slug(shop, "C3") in p for p in paths)
    listed = cloudfront.list_invalidations(DistributionId=distribution)["InvalidationList"]
    assert listed["Quantity"] == 1


def test_many_changes_collapse_to_wildcards():
    from generator.publish.plan import PublishPlan
    from generator.publish.upload import invalidation_paths

    plan = PublishPlan(deleted=[f"portal{i % 3}/f{i}.html" for i in range(40)] + ["_static/app.0123abcd.js"])
    assert invalidation_paths(plan, "p/", 15) == ["/p/portal0/*", "/p/portal1/*", "/p/portal2/*"]
    assert invalidation_paths(plan, "", 2) == ["/*"]


def test_gzip_option(shop, s3, s3_endpoint):
    client, bucket = s3
    raw = config_for(s3_endpoint, bucket, gzip=True)
    rebuild(shop, raw)
    publish(shop, raw)
    css_path = static_file(shop.public, "portico.css")
    css = client.get_object(Bucket=bucket, Key=f"portals/{css_path}")
    assert css["ContentEncoding"] == "gzip"
    assert gzip.decompress(css["Body"].read()) == (shop.public / css_path).read_bytes()
    assert "ContentEncoding" not in client.head_object(
        Bucket=bucket, Key=f"portals/{next(k for k in built_files(shop) if k.endswith('.bin'))}"
    )


def test_publish_builds_when_stale_and_targets_come_from_the_environment(shop, s3, s3_endpoint, tmp_path, monkeypatch):
    client, bucket = s3
    raw = config_for(s3_endpoint, bucket)
    raw["publish"].pop("target")
    rebuild(shop, raw)
    config = shop.config(raw)
    files_before = built_files(shop)
    monkeypatch.setenv("PORTICO_PUBLISH_TARGET", f"s3://{bucket}/from-env")
    shop.file("orders.csv", ORDERS + "A-9,C1,2026-07-09,Q,1,1\n")  # the output is now stale
    assert main(["publish", "-q", "--config", str(config)]) == 0
    after = built_files(shop)  # rebuilt first: one more order page, one decoy fewer (the count stays coarse)
    assert len(after) == len(files_before) and len(after - files_before) == len(files_before - after) == 1
    listed = keys(client, bucket, "from-env/")
    assert listed == built_files(shop) | PORTICO_OBJECTS
    folder = tmp_path / "site-copy"
    assert main(["publish", "-q", "--target", str(folder), "--config", str(config)]) == 0  # a flag beats env
    assert (folder / "index.html").is_file() and not (folder / ".portico" / "build.json").exists()


def test_no_target_is_a_clear_error(shop, capsys):
    raw = minimal_config()
    shop.file("orders.csv", ORDERS)
    assert main(["publish", "--no-build", "--config", str(shop.config(raw))]) == 1
    assert "no publish target" in capsys.readouterr().err


def test_a_preview_or_partial_build_is_never_published(shop, s3, s3_endpoint):
    client, bucket = s3
    raw = config_for(s3_endpoint, bucket)
    assert shop.build(raw, encrypt=False).ok  # a plain preview of the current inputs
    with pytest.raises(PublishError, match="plain preview"):
        publish(shop, raw)  # --no-build: refused
    report = publish_site(shop.load(raw), PublishOptions(build=True), store_factory=open_store)
    assert report.uploaded > 0  # with building allowed, it builds the encrypted site first
    listed = keys(client, bucket)
    assert any(k.endswith(".bin") for k in listed) and not any(k.startswith("C1/") for k in listed)
    assert shop.build(raw, encrypt=True, only={"C1"}).ok
    with pytest.raises(PublishError, match="partial build"):
        publish(shop, raw)


def test_never_deletes_what_it_did_not_publish_unasked(shop, s3, s3_endpoint, tmp_path):
    client, bucket = s3
    raw = config_for(s3_endpoint, bucket)
    rebuild(shop, raw)
    client.put_object(Bucket=bucket, Key="portals/someone-elses.pdf", Body=b"not ours")
    with pytest.raises(PublishError, match="did not publish"):
        publish(shop, raw)
    assert keys(client, bucket) == {"someone-elses.pdf"}  # nothing changed
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "notes.txt").write_text("precious")
    with pytest.raises(PublishError, match="did not publish"):
        publish(shop, raw, target=str(folder))
    assert (folder / "notes.txt").read_text() == "precious"
    _report, store = publish(shop, raw, allow_all_deletes=True)  # replacing it on purpose
    assert store.deletes == ["someone-elses.pdf"]


def test_portals_built_with_another_keystore_are_not_published_unasked(shop, s3, s3_endpoint):
    client, bucket = s3
    raw = config_for(s3_endpoint, bucket)
    rebuild(shop, raw)
    publish(shop, raw)
    before = keys(client, bucket)
    (shop.root / "keystore" / "keystore.json").unlink()  # e.g. a fresh clone without the real keystore
    assert shop.build(raw, encrypt=True, new_keystore=True, output_dir=shop.root / "elsewhere").ok
    raw["output"] = str(shop.root / "elsewhere")
    with pytest.raises(PublishError, match="another keystore"):
        publish(shop, raw)
    assert keys(client, bucket) == before
    report, _ = publish(shop, raw, replace_keys=True)
    assert report.uploaded > 0


def test_the_published_manifest_tells_an_outsider_nothing(shop, s3, s3_endpoint, tmp_path):
    client, bucket = s3
    raw = config_for(s3_endpoint, bucket)
    rebuild(shop, raw)
    publish(shop, raw)
    folder = tmp_path / "web-root"
    publish(shop, raw, target=str(folder))
    for raw_manifest in (
        client.get_object(Bucket=bucket, Key="portals/.portico/manifest.json")["Body"].read(),
        (folder / ".portico" / "manifest.json").read_bytes(),
    ):
        assert raw_manifest.startswith(b"PORTICO-MANIFEST-2\n")
        for path in built_files(shop):
            assert path.encode() not in raw_manifest  # no object names ...
        for digest in read_state(shop.public).files.values():
            assert str(digest)[:16].encode() not in raw_manifest  # ... no digests, no sizes in clear
        assert sealed(shop).decode(raw_manifest)["objects"].keys() == built_files(shop)  # but the keystore reads it


def test_a_manifest_written_in_clear_by_an_earlier_version_is_read_then_sealed(shop, s3, s3_endpoint):
    client, bucket = s3
    raw = config_for(s3_endpoint, bucket)
    rebuild(shop, raw)
    publish(shop, raw)
    key = "portals/.portico/manifest.json"
    clear = sealed(shop).decode(client.get_object(Bucket=bucket, Key=key)["Body"].read())
    client.put_object(Bucket=bucket, Key=key, Body=json.dumps(clear).encode())  # as version 1 wrote it
    shop.file("orders.csv", ORDERS + "A-9,C1,2026-07-09,Q,1,1\n")
    rebuild(shop, raw)
    report, _ = publish(shop, raw)
    assert 0 < report.uploaded < len(built_files(shop))  # the clear manifest was understood: only changes sent
    assert client.get_object(Bucket=bucket, Key=key)["Body"].read().startswith(b"PORTICO-MANIFEST-2\n")
