"""The Online Retail site every build benchmark uses: the export (optionally a share of its
customers, or the whole export replicated under new ids), the example config, a keystore."""

from __future__ import annotations

import csv
import gzip
import io
import shutil
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
DATASET = REPO.parent / "shared" / "datasets" / "online_retail" / "online_retail.csv.gz"


def prepare_site(folder: Path, fraction: float = 1.0) -> Path:
    """The site's config.yaml in `folder`: the export (every row, or the rows of the first
    `fraction` of the customers), the example's settings, output and keystore in `folder`."""
    export = folder / "export"
    export.mkdir(parents=True, exist_ok=True)
    if fraction >= 1.0:
        shutil.copy(DATASET, export / DATASET.name)
    else:
        write_share(DATASET, export / DATASET.name, fraction)
    raw = yaml.safe_load((REPO / "examples/online-retail/config.yaml").read_text())
    raw["exports"]["folder"] = str(export)
    raw.update(themes_dir=str(REPO / "themes"), output=str(folder / "public"))
    raw["gate"] = {"keystore": str(folder / "keystore.json")}
    config = folder / "config.yaml"
    config.write_text(yaml.safe_dump(raw))
    return config


def write_share(source: Path, target: Path, fraction: float) -> None:
    with gzip.open(source, "rt", encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    column = header.index("CustomerID")
    customers = sorted({r[column] for r in body if r[column]})
    kept = set(customers[: max(1, int(len(customers) * fraction))])
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(r for r in body if r[column] in kept)
    with gzip.open(target, "wt", encoding="utf-8", newline="") as f:
        f.write(out.getvalue())
