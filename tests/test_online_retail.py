"""The Online Retail export's quirks, handled by examples/online-retail/config.yaml alone.

Runs on the first rows of the real file (all quirks occur there), written to a temporary
folder as gzip, with the example config pointed at it.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from collections import defaultdict
from decimal import Decimal

import pytest
import yaml
from conftest import DATASETS, REPO

from generator.config import load_config
from generator.pipeline import BuildOptions, build

SOURCE = DATASETS / "online_retail" / "online_retail.csv.gz"
ROWS = 6000


@pytest.fixture(scope="module")
def retail(tmp_path_factory):
    if not SOURCE.is_file():
        pytest.skip("../shared/datasets/online_retail is not beside the repository")
    folder = tmp_path_factory.mktemp("retail")
    with gzip.open(SOURCE, "rt", encoding="utf-8", newline="") as f:
        lines = [next(f) for _ in range(ROWS + 1)]
    (folder / "online_retail.csv.gz").write_bytes(gzip.compress("".join(lines).encode()))
    raw = yaml.safe_load((REPO / "examples/online-retail/config.yaml").read_text())
    raw["exports"]["folder"] = str(folder)
    raw["themes_dir"] = str(REPO / "themes")
    raw["portal"]["slug"] = "id"
    (folder / "config.yaml").write_text(yaml.safe_dump(raw))
    result = build(
        load_config(folder / "config.yaml"), BuildOptions(strict=True, output_dir=folder / "public", encrypt=False)
    )
    assert result.ok, result.failure
    return folder, list(csv.DictReader(io.StringIO("".join(lines)))), result


def test_rows_without_customer_are_skipped_and_counted(retail):
    _, rows, result = retail
    blank = sum(1 for r in rows if not r["CustomerID"])
    assert blank > 100
    assert result.problems.skipped["invoices (online_retail.csv.gz): rows with no customer"] == blank
    assert result.problems.skipped["customers (online_retail.csv.gz): rows with no id"] == blank  # each entity says


def test_float_customer_ids_become_plain_ids(retail):
    folder, rows, result = retail
    expected = {r["CustomerID"].removesuffix(".0") for r in rows if r["CustomerID"]}
    assert {p.customer_id for p in result.portals} == expected
    assert (folder / "public" / "17850" / "index.html").is_file()
    assert "Customer 17850" in (folder / "public" / "17850" / "index.html").read_text()


def test_invoice_totals_and_credit_notes(retail):
    folder, rows, _ = retail
    totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for r in rows:
        if r["CustomerID"]:
            totals[(r["CustomerID"].removesuffix(".0"), r["InvoiceNo"])] += Decimal(r["Quantity"]) * Decimal(
                r["UnitPrice"]
            )
    credits = [key for key in totals if key[1].startswith("C")]
    assert credits, "the sample holds cancellations"
    for (customer, number), total in totals.items():
        text = (folder / "public" / customer / f"invoice-{number}.html").read_text()
        shown = re.search(r'class="grand"><dt>Total</dt><dd>(.*?)</dd>', text).group(1)
        expected = f"-£{-total:,.2f}" if total < 0 else f"£{total:,.2f}"
        assert shown == expected, number
        if number.startswith("C"):
            assert f"Credit note {number}" in text
            assert "Pay " not in text


def test_built_in_batches_it_is_the_build_that_read_it_whole(retail, tmp_path):
    """The real file's quirks (rows without a customer, credit notes, float ids, a BOM-less gzip)
    split into batches of customers: the same files, problems and skipped counts."""
    from test_batches import Stages
    from test_incremental import tree

    folder, _, whole = retail
    raw = yaml.safe_load((folder / "config.yaml").read_text())
    raw["exports"].update(batch_above_mb=0.1, batch_mb=0.2)
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(raw))
    stages = Stages()
    options = BuildOptions(strict=True, output_dir=tmp_path / "public", encrypt=False)
    batched = build(load_config(tmp_path / "config.yaml"), options, stages)
    assert batched.ok, batched.failure
    assert any(name.startswith("Reading the export in") for name in stages.names), stages.names
    assert tree(tmp_path / "public") == tree(folder / "public")
    assert sorted(batched.problems.problems, key=repr) == sorted(whole.problems.problems, key=repr)
    assert batched.problems.skipped == whole.problems.skipped and sum(batched.problems.skipped.values()) > 0
    assert [(p.customer_id, p.pages, p.files) for p in batched.portals] == [
        (p.customer_id, p.pages, p.files) for p in whole.portals
    ]
