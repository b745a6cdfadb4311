#!/usr/bin/env python3
"""Benchmark: a publish with nothing changed, of the whole Online Retail build, to S3 (moto's server).

Builds the Online Retail example (encrypted) into a temporary folder, publishes it once to a
fresh bucket on a local moto server over HTTP, then times a second publish with nothing changed,
which includes the staleness check of every input, listing every key, and reading the manifest.
Target: at most 10 s and 0 uploads. Run from the repository root:  python bench/publish.py [--json]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(REPO))

from report import print_figures  # noqa: E402

from generator.config import parse_config  # noqa: E402
from generator.pipeline import BuildOptions, build  # noqa: E402
from generator.pipeline import publish as publish_site  # noqa: E402
from generator.publish import PublishOptions  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="bench")

    folder = Path(tempfile.mkdtemp(prefix="portico-bench-publish-"))
    example = REPO / "examples" / "online-retail" / "config.yaml"
    raw = yaml.safe_load(example.read_text())
    raw["output"] = str(folder / "public")
    raw["gate"] = {"keystore": str(folder / "keystore.json")}
    raw["publish"] = {"target": "s3://bench/portals", "endpoint_url": endpoint, "concurrency": 32}
    config = parse_config(raw, example)

    started = time.perf_counter()
    result = build(config, BuildOptions(strict=True, new_keystore=True))
    assert result.ok, result.failure
    build_seconds = time.perf_counter() - started
    first = publish_site(config, PublishOptions(strict=True))
    noop = publish_site(config, PublishOptions(strict=True))
    server.stop()
    figures = {
        "cores": os.cpu_count(),
        "objects": result.files,
        "megabytes": round(result.bytes / 1e6, 1),
        "build_seconds": round(build_seconds, 1),
        "first_publish_seconds": round(first.seconds, 1),
        "first_publish_uploads": first.uploaded,
        "noop_publish_seconds": round(noop.seconds, 2),
        "noop_publish_uploads": noop.uploaded,
        "noop_target_met": noop.seconds <= 10 and noop.uploaded == 0,
    }
    print_figures(figures, args.json)


if __name__ == "__main__":
    main()
