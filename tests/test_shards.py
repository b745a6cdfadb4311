"""Sharded builds and publishes: N machines each build and publish a share of the portals, and a
final step publishes the site's own files and the combined manifest. Checked against one build
and one publish of the same site, byte for byte, on a real S3 endpoint (moto server)."""

from __future__ import annotations

import hashlib
import json
from datetime import date, timedelta
from functools import partial
from pathlib import Path

import pytest
from conftest import REPO, SavedAt, Site
from test_publish import CONTACTS, ORDERS, config_for, keys, publish, rebuild, sealed, slug, stocked

from generator.cli import main
from generator.incremental import row_index
from generator.output import InputDigests
from generator.pipeline import BuildOptions, build, prepare_keys
from generator.progress import Progress
from generator.publish import PublishError
from generator.seal.keystore import read_keystore
from generator.seal.slots import UNSAFE_TEST_ITERATIONS_ENV
from generator.site.shards import Shard

SHARDS = 3
PORTALS = 24


@pytest.fixture
def shop(site):
    return stocked(site)


def tree(folder: Path) -> dict[str, str]:
    """Every published file of a build (its own state left out) and its SHA-256."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in folder.rglob("*")
        if p.is_file() and ".portico" not in p.relative_to(folder).parts
    }


def shard_build(site, raw, shard: str):
    output = site.root / f"shard-{shard.replace('/', '-of-')}"
    result = site.build(raw, encrypt=True, shard=Shard.parse(shard), output_dir=output)
    assert result.ok, result.failure
    return output


def more_customers(site) -> None:
    """Enough portals that every one of three shards holds some (folders are random, made from the
    keystore's site key: with 24 portals a shard is left empty once in 5,000 runs)."""
    customers = "id,name,portal\n" + "".join(f"C{i},Customer {i},yes\n" for i in range(1, PORTALS + 1))
    contacts = "customer,name,email\n" + "".join(f"C{i},Pat,pat{i}@example.com\n" for i in range(1, PORTALS + 1))
    orders = ORDERS + "".join(f"O-{i},C{i},2026-05-0{1 + i % 9},X,{i},1.50\n" for i in range(4, PORTALS + 1))
    site.file("customers.csv", customers)
    site.file("contacts.csv", contacts)
    site.file("orders.csv", orders)


def test_the_union_of_the_shard_builds_is_the_one_build_byte_for_byte(shop, s3, s3_endpoint):
    _, bucket = s3
    raw = config_for(s3_endpoint, bucket)
    more_customers(shop)
    rebuild(shop, raw)  # the keystore, and the one build to compare with
    whole = tree(shop.public)
    union: dict[str, str] = {}
    portals_per_shard = []
    for index in range(SHARDS + 1):
        built = tree(shard_build(shop, raw, f"{index}/{SHARDS}"))
        for path, digest in built.items():
            assert union.setdefault(path, digest) == digest, path  # shared files: the same in every shard
        portals_per_shard.append({p.split("/")[0] for p in built if "/" in p and not p.startswith("_")})
    assert union == whole
    assert portals_per_shard[0] == set()  # 0/N: the site's own files only
    assert all(portals_per_shard[1:]) and sum(map(len, portals_per_shard)) == len(set().union(*portals_per_shard))


def test_a_shard_never_writes_the_keystore_and_asks_for_portico_keys(shop, s3, s3_endpoint):
    _, bucket = s3
    raw = config_for(s3_endpoint, bucket)
    rebuild(shop, raw)
    keystore = shop.root / "keystore" / "keystore.json"
    before = keystore.read_bytes()
    shop.file("contacts.csv", CONTACTS + "C1,Bo,bo@alpha.example\n")  # a new contact needs a key slot
    result = shop.build(raw, encrypt=True, shard=Shard.parse(f"1/{SHARDS}"), output_dir=shop.root / "s1")
    assert not result.ok and "portico keys" in result.failure
    assert keystore.read_bytes() == before and not (shop.root / "s1").exists()
    assert prepare_keys(shop.load(raw), BuildOptions()).ok  # the step before the shards
    assert keystore.read_bytes() != before
    assert shop.build(raw, encrypt=True, shard=Shard.parse(f"1/{SHARDS}"), output_dir=shop.root / "s1").ok


@pytest.mark.parametrize("text", ["2", "0/0", "4/3", "a/b", "-1/3"])
def test_a_malformed_shard_is_refused_with_the_form_it_takes(text):
    with pytest.raises(ValueError, match=r"I/N|at most N"):
        Shard.parse(text)


# -- publishing -------------------------------------------------------------------------------------


def store_contents(client, bucket: str, prefix: str) -> dict[str, tuple[str, str, str]]:
    """Every object a visitor can fetch under the prefix: its SHA-256, Content-Type and Cache-Control."""
    found = {}
    for key in keys(client, bucket, prefix):
        if key.startswith(".portico/"):
            continue
        got = client.get_object(Bucket=bucket, Key=prefix + key)
        found[key] = (hashlib.sha256(got["Body"].read()).hexdigest(), got["ContentType"], got.get("CacheControl"))
    return found


def manifest_objects(client, bucket: str, prefix: str, site) -> dict:
    raw = client.get_object(Bucket=bucket, Key=f"{prefix}.portico/manifest.json")["Body"].read()
    return sealed(site).decode(raw)["objects"]


def sharded_publish(site, raw: dict, fail_on=None, only: list[int] | range | None = None) -> None:
    """Shards 1 … N (each built into a folder of its own, as on N machines), then the final step."""
    for index in only if only is not None else [*range(1, SHARDS + 1), 0]:
        shard = Shard.parse(f"{index}/{SHARDS}")
        part = {**raw, "output": str(shard_build(site, raw, str(shard)))}
        publish(site, part, fail_on=fail_on, shard=shard)


def test_shard_publishes_and_the_final_step_leave_the_store_as_one_publish_does(shop, s3, s3_endpoint):
    client, bucket = s3
    whole = config_for(s3_endpoint, bucket)  # one build, one publish, to portals/
    sharded = config_for(s3_endpoint, bucket, target=f"s3://{bucket}/sharded")
    more_customers(shop)
    for round_ in ("first", "after changes"):
        rebuild(shop, whole)
        publish(shop, whole)
        sharded_publish(shop, sharded, only=range(1, SHARDS + 1))
        held = keys(client, bucket, "sharded/")
        assets = {p for p in tree(shop.public) if p.startswith(("_static/", "_shared/"))}
        assert assets <= held  # what the shards' pages link to is there before the final step
        if round_ == "first":
            assert not {p for p in tree(shop.public) if "/" not in p} & held  # the site's own pages wait for it
        sharded_publish(shop, sharded, only=range(0, 1))
        assert store_contents(client, bucket, "sharded/") == store_contents(client, bucket, "portals/"), round_
        assert manifest_objects(client, bucket, "sharded/", shop) == manifest_objects(client, bucket, "portals/", shop)
        shop.file("orders.csv", ORDERS.replace("A-1,C1,2026-05-01,X,2,1.50", "A-1,C1,2026-05-01,X,3,1.50"))
        shop.file("customers.csv", "id,name,portal\n" + "".join(f"C{i},Customer {i},yes\n" for i in range(1, 11)))


def test_a_failed_shard_leaves_the_site_whole_and_the_final_step_refuses_until_it_is_done(shop, s3, s3_endpoint):
    client, bucket = s3
    raw = config_for(s3_endpoint, bucket)
    more_customers(shop)
    rebuild(shop, raw)
    sharded_publish(shop, raw)
    before = store_contents(client, bucket, "portals/")
    manifest_before = manifest_objects(client, bucket, "portals/", shop)
    shop.file("customers.csv", "id,name,portal\n" + "".join(f"C{i},Customer {i},yes\n" for i in range(1, 12)))
    shop.file("orders.csv", ORDERS.replace("A-1,C1,2026-05-01,X,2,1.50", "A-1,C1,2026-05-01,X,3,1.50"))
    rebuild(shop, raw)  # the keys (as `portico keys` would), and the whole build to compare with
    failing = next(i for i in range(1, SHARDS + 1) if Shard(i, SHARDS).holds(slug(shop, "C1")))  # C1 changed
    others = [i for i in range(1, SHARDS + 1) if i != failing]

    def every_upload_fails(path):
        return True

    shard = Shard(failing, SHARDS)
    with pytest.raises(Exception, match="injected-fault"):
        publish(
            shop, {**raw, "output": str(shard_build(shop, raw, str(shard)))}, fail_on=every_upload_fails, shard=shard
        )
    sharded_publish(shop, raw, only=others)
    with pytest.raises(PublishError, match=f"shard\\(s\\) {failing}/{SHARDS} have not finished"):
        sharded_publish(shop, raw, only=[0])
    after = store_contents(client, bucket, "portals/")
    assert set(before) <= set(after)  # nothing deleted while a shard is unfinished
    assert manifest_objects(client, bucket, "portals/", shop) == manifest_before  # what visitors are told: unchanged
    sharded_publish(shop, raw, only=[failing])  # the rerun of the failed shard
    sharded_publish(shop, raw, only=[0])  # and now the final step
    assert store_contents(client, bucket, "portals/") == {
        path: contents for path, contents in tree_with_headers(shop, client, bucket).items()
    }


def tree_with_headers(site, client, bucket):
    """What one publish of the whole build would leave: published to a prefix of its own."""
    raw = config_for(client.meta.endpoint_url, bucket, target=f"s3://{bucket}/whole")
    rebuild(site, raw)
    publish(site, raw)
    return store_contents(client, bucket, "whole/")


def test_the_commands_keys_build_shard_and_publish_shard(shop, tmp_path, capsys):
    raw = config_for("http://unused", "unused")
    raw["publish"] = {"target": str(tmp_path / "store")}
    config = shop.config(raw)
    assert main(["keys", "--new-keystore", "--config", str(config)]) == 0
    assert "keys ready (3 new customer(s), 3 new password(s), 3 key slot(s))" in capsys.readouterr().err
    assert row_index.path_for(shop.load(raw)).exists()  # whose each row is, for the shards
    assert main(["build", "--shard", "1/2", "--json", "--config", str(config), "--output", str(tmp_path / "s")]) == 0
    assert json.loads(capsys.readouterr().out)["read_again"] is not None  # its own rows, not the whole export
    assert main(["publish", "--shard", "1/2", "--config", str(config)]) == 0  # builds its shard first
    with pytest.raises(SystemExit):
        main(["build", "--shard", "3/2", "--config", str(config)])
    assert "at most N" in capsys.readouterr().err
    assert main(["publish", "--no-build", "--config", str(config)]) != 0  # the output holds shard 1/2
    assert "publish it with --shard 1/2" in capsys.readouterr().err
    assert main(["publish", "--shard", "0/2", "--config", str(config)]) != 0  # shard 2/2 not done
    assert "shard(s) 2/2 have not finished" in capsys.readouterr().err
    assert main(["publish", "--shard", "2/2", "--config", str(config)]) == 0
    assert main(["publish", "--shard", "0/2", "--config", str(config)]) == 0
    published = {p.relative_to(tmp_path / "store").as_posix() for p in (tmp_path / "store").rglob("*") if p.is_file()}
    assert {"index.html", "404.html"} <= published and sum(p.endswith("/index.html") for p in published) == 3


def test_every_portico_command_in_the_workflows_parses():
    """The shipped workflows call commands and options that exist (a typo would fail at night)."""
    import shlex

    import yaml

    from generator.cli import parser

    found = 0
    for workflow in sorted((REPO / ".github" / "workflows").glob("*.yml")):
        for job in yaml.safe_load(workflow.read_text(encoding="utf-8"))["jobs"].values():
            for step in job["steps"]:
                for line in step.get("run", "").splitlines():
                    if line.strip().startswith("portico "):
                        words = shlex.split(
                            line.split(">")[0].replace("${{ matrix.index }}", "1").replace("$SHARDS", "4")
                        )
                        parser().parse_args(words[1:])
                        found += 1
    assert found >= 6


# -- shards that read only their customers' rows (`portico keys` keeps whose each row is) ------------


@pytest.fixture
def raw(s3, s3_endpoint):
    """The shop's settings, publishing to the S3 endpoint."""
    _, bucket = s3
    return config_for(s3_endpoint, bucket)


def built_with_keys(site, raw):
    """One whole build, then `portico keys` as the command runs it."""
    rebuild(site, raw)
    return keys_kept(site, raw)


def keys_kept(site, raw):
    """`portico keys`, as the command runs it: keeping whose each export row is beside the keystore."""
    config = site.load(raw)
    assert prepare_keys(config, BuildOptions(), keep=partial(row_index.keep, config)).ok
    assert row_index.path_for(config).exists()
    return config


def read_only_its_rows(site, raw, shard: str):
    """A shard built as `portico build --shard` builds it: from its customers' rows when it can."""
    config = site.load(raw)
    options = BuildOptions(encrypt=True, shard=Shard.parse(shard), output_dir=site.root / f"rows-{shard[0]}")
    result = build(config, options, prepare=partial(row_index.prepare, config, options, Progress()))
    assert result.ok, result.failure
    return options.output_dir, result


def test_shards_that_read_only_their_own_rows_make_the_one_build_byte_for_byte(shop, raw):
    more_customers(shop)
    shop.file("orders.csv", (shop.root / "export" / "orders.csv").read_text() + "O-98,C2,2026-05-09,X,one,2.00\n")
    problems = [p.message for p in rebuild(shop, raw).problems.problems]
    assert any("one" in message for message in problems)  # a problem on one shard's row: every shard reports it
    keys_kept(shop, raw)
    whole = tree(shop.public)
    union: dict[str, str] = {}
    read = []
    for index in range(SHARDS + 1):
        output, result = read_only_its_rows(shop, raw, f"{index}/{SHARDS}")
        union.update(tree(output))
        read.append(result.read_again)
        assert [p.message for p in result.problems.problems] == problems
    assert union == whole
    assert read[0] == 0 and None not in read and sum(read) == PORTALS  # each shard read its own rows, no more


def test_a_shard_reads_the_whole_export_when_it_changed_since_portico_keys(shop, raw):
    more_customers(shop)
    built_with_keys(shop, raw)
    shop.file("orders.csv", (shop.root / "export" / "orders.csv").read_text() + "O-99,C1,2026-05-09,X,1,2.00\n")
    output, result = read_only_its_rows(shop, raw, f"1/{SHARDS}")
    assert result.read_again is None  # the whole export, as without `portico keys`'s rows
    rebuild(shop, raw)
    assert tree(output).items() <= tree(shop.public).items()


def test_an_export_saved_while_portico_keys_reads_it_sends_the_shards_to_the_whole_export(shop, raw):
    more_customers(shop)
    rebuild(shop, raw)
    config = shop.load(raw)
    orders = (shop.root / "export" / "orders.csv").read_text() + "O-99,C1,2026-05-09,X,1,2.00\n"
    midway = SavedAt(shop, "Key slots", "orders.csv", orders)
    assert prepare_keys(config, BuildOptions(), midway, keep=partial(row_index.keep, config)).ok and midway.saved
    # whose each line is was found in the lines read, not in the ones saved since: a shard that
    # trusted it would not read the new order's line as C1's
    shard = shard_of(shop, "C1")
    assert both_ways(shop, raw, shard) is None
    rebuild(shop, raw)
    assert tree(shop.root / f"rows-{shard[0]}").items() <= tree(shop.public).items()


def test_a_shard_reads_the_whole_export_when_rows_cross_customers(shop, raw):
    more_customers(shop)
    shop.file("customers.csv", (shop.root / "export" / "customers.csv").read_text() + "C13,Customer 13,yes\n")
    raw["exports"]["customers"]["columns"]["group"] = "group"
    lines = (shop.root / "export" / "customers.csv").read_text().splitlines()
    grouped = [lines[0] + ",group"] + [line + ("," + ("C1" if line.startswith("C13,") else "")) for line in lines[1:]]
    shop.file("customers.csv", "\n".join(grouped) + "\n")  # C13's group is another customer's id
    built_with_keys(shop, raw)
    results = [read_only_its_rows(shop, raw, f"{i}/{SHARDS}")[1] for i in range(1, SHARDS + 1)]
    assert all(result.read_again is None for result in results)


@pytest.mark.parametrize("damage", ["missing", "garbled", "another keystore"])
def test_a_shard_reads_the_whole_export_without_a_sound_row_index(shop, raw, damage):
    more_customers(shop)
    rebuild(shop, raw)
    config = keys_kept(shop, raw)
    rows = row_index.path_for(config)
    if damage == "missing":
        rows.unlink()
    elif damage == "garbled":
        data = bytearray(rows.read_bytes())
        data[-40] ^= 1
        rows.write_bytes(bytes(data))
    else:  # sealed by another keystore: made for another site, or the keystore was replaced since
        other = Site(shop.root / "other")
        stocked(other)
        more_customers(other)
        rebuild(other, raw)
        rows.write_bytes(row_index.path_for(keys_kept(other, raw)).read_bytes())
    output, result = read_only_its_rows(shop, raw, f"1/{SHARDS}")
    assert result.read_again is None
    assert tree(output).items() <= tree(shop.public).items()


def test_the_row_index_is_sealed_and_never_published(shop, raw):
    more_customers(shop)
    rebuild(shop, raw)
    rows = row_index.path_for(keys_kept(shop, raw)).read_bytes()
    for visible in (b"C12", b"pat12@example.com", b"Customer 12"):
        assert visible not in rows
    assert not (shop.public / ".portico" / "keystore.json.rows").exists()
    assert oct(row_index.path_for(shop.load(raw)).stat().st_mode & 0o777) == "0o600"


# -- what the review of the row index found: each case builds the shard both ways ------------------


def shard_of(site, customer_id: str) -> str:
    folder = slug(site, customer_id)
    return next(f"{i}/{SHARDS}" for i in range(1, SHARDS + 1) if Shard.parse(f"{i}/{SHARDS}").holds(folder))


def both_ways(site, raw, shard: str, tag: str = "") -> int | None:
    """The shard from its own rows and from the whole export: the same files, problems and notices
    (or the same failure). Returns how many customers' rows the first read (None: everything)."""
    config = site.load(raw)
    made = []
    for way in ("rows", "whole"):
        output = site.root / f"{way}{tag}-{shard[0]}"
        options = BuildOptions(encrypt=True, shard=Shard.parse(shard), output_dir=output)
        prepare = partial(row_index.prepare, config, options, Progress()) if way == "rows" else None
        made.append((build(site.load(raw), options, prepare=prepare), options.output_dir))
    (rows, rows_out), (whole, whole_out) = made
    assert (rows.ok, rows.failure) == (whole.ok, whole.failure)
    problems = [[(p.kind, p.message) for p in result.problems.problems] for result in (rows, whole)]
    assert problems[0] == problems[1]
    assert rows.notices == whole.notices
    if whole.ok:
        assert tree(rows_out) == tree(whole_out)
    return rows.read_again


def test_a_number_two_customers_use_is_theirs_to_neither_when_grouped_by_another_field(shop, raw):
    raw["exports"]["orders"]["group_by"] = "po_number"
    raw["exports"]["orders"]["columns"]["po_number"] = "po"
    more_customers(shop)
    rows = "".join(f"O-{i},C{i},2026-05-01,X,1,1.50,PO-{i}\n" for i in range(1, PORTALS + 1))
    same = "SAME,C1,2026-05-02,X,1,9,PO-A\nSAME,C2,2026-05-02,X,1,8,PO-B\n"
    shop.file("orders.csv", "order,customer,date,sku,qty,price,po\n" + rows + same)
    built_with_keys(shop, raw)
    for customer_id in ("C1", "C2"):
        assert both_ways(shop, raw, shard_of(shop, customer_id), customer_id) is None  # only the whole export tells


def test_contacts_added_in_a_file_named_like_an_export_file_are_read_from_that_file(shop, raw):
    columns = {"customer": "customer", "name": "name", "email": "email", "role": "role"}
    raw["exports"]["added_contacts"] = {"file": "contacts.csv", "columns": columns}
    more_customers(shop)
    (shop.root / "contacts.csv").write_text(
        "customer,name,email,role\nC1,Patricia Staff-Added,pat1@example.com,Buyer\n"
    )
    built_with_keys(shop, raw)
    assert both_ways(shop, raw, shard_of(shop, "C1")) is not None


def test_a_direct_link_ended_since_portico_keys_sends_the_shard_back_to_the_whole_export(shop, raw, monkeypatch):
    more_customers(shop)
    rebuild(shop, raw)
    config = shop.load(raw)
    keystore = read_keystore(config.path(config.gate.keystore))
    tomorrow = date.today() + timedelta(days=1)
    keystore.customers["C1"].link_expiries["A-1.html"] = tomorrow.isoformat()  # made with --valid-days 1
    keystore.save()
    keys_kept(shop, raw)
    options = BuildOptions(encrypt=True, shard=Shard.parse(shard_of(shop, "C1")))
    inputs = InputDigests.take(config)
    assert row_index.prepare(config, options, Progress(), inputs) is not None  # the link still runs today

    class TwoDaysLater(date):
        @classmethod
        def today(cls):
            return tomorrow + timedelta(days=1)

    monkeypatch.setattr(row_index, "date", TwoDaysLater)  # nothing read changed; the link's day has passed
    assert row_index.prepare(config, options, Progress(), inputs) is None


def test_a_shard_made_at_another_kdf_cost_reads_the_whole_export_and_says_unsafe(shop, raw, monkeypatch):
    more_customers(shop)
    built_with_keys(shop, raw)
    _, result = read_only_its_rows(shop, raw, f"1/{SHARDS}")
    assert result.read_again is not None and any("UNSAFE" in notice for notice in result.notices)
    monkeypatch.setenv(UNSAFE_TEST_ITERATIONS_ENV, "2000")  # not the cost `portico keys` made the slots with
    config = shop.load(raw)
    options = BuildOptions(encrypt=True, shard=Shard.parse(f"1/{SHARDS}"))
    assert row_index.prepare(config, options, Progress(), InputDigests.take(config)) is None


def test_a_catalogue_every_portal_reads_does_not_send_shards_to_the_whole_export(shop, raw):
    columns = {"sku": "sku", "name": "name", "list_price": "price"}
    raw["exports"]["catalogue"] = {"file": "products.csv", "columns": columns}
    more_customers(shop)
    shop.file("products.csv", "sku,name,price\nX,Widget,1.50\nY,Gadget,2.00\n")
    built_with_keys(shop, raw)
    assert both_ways(shop, raw, shard_of(shop, "C1")) is not None


def test_an_export_not_read_line_by_line_keeps_no_row_index(shop, raw):
    raw["exports"]["encoding"] = "utf-16"
    more_customers(shop)
    for name in ("customers.csv", "contacts.csv", "orders.csv"):
        path = shop.root / "export" / name
        path.write_bytes(path.read_text().encode("utf-16"))
    rebuild(shop, raw)
    config = shop.load(raw)
    assert prepare_keys(config, BuildOptions(), keep=partial(row_index.keep, config)).ok
    assert not row_index.path_for(config).exists()
    assert both_ways(shop, raw, f"1/{SHARDS}") is None


def test_a_shard_with_nothing_to_build_reads_no_rows(shop, raw):
    more_customers(shop)
    built_with_keys(shop, raw)
    read_only_its_rows(shop, raw, f"1/{SHARDS}")
    config = shop.load(raw)
    options = BuildOptions(encrypt=True, shard=Shard.parse(f"1/{SHARDS}"), output_dir=shop.root / "rows-1")
    asked = []
    again = build(config, options, prepare=lambda inputs: asked.append(1))
    assert again.noop and not asked
