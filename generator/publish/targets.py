"""Where a publish goes: the target from flag, environment or config, and the store behind it."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from ..config import Config, PublishConfig
from .stores import FolderStore, S3Store, Store
from .sync import PublishError

ENVIRONMENT = {
    "target": "PORTICO_PUBLISH_TARGET",
    "endpoint_url": "PORTICO_PUBLISH_ENDPOINT_URL",
    "region": "PORTICO_PUBLISH_REGION",
    "profile": "PORTICO_PUBLISH_PROFILE",
}
DISTRIBUTIONS_ENV = "PORTICO_CLOUDFRONT_DISTRIBUTIONS"


def effective_settings(config: Config, flags: dict[str, str | None]) -> PublishConfig:
    """Config, overridden by the environment, overridden by flags: CI needs no file edits."""
    settings = config.publish
    changes: dict = {}
    for name, variable in ENVIRONMENT.items():
        value = flags.get(name) or os.environ.get(variable)
        if value:
            changes[name] = value
    if os.environ.get(DISTRIBUTIONS_ENV):
        changes["cloudfront"] = [d.strip() for d in os.environ[DISTRIBUTIONS_ENV].split(",") if d.strip()]
    return settings.model_copy(update=changes)


@dataclass(frozen=True)
class Target:
    kind: str  # "folder" or "s3"
    location: str  # folder path, or bucket
    prefix: str = ""


def parse_target(text: str | None, config: Config) -> Target:
    if not text:
        raise PublishError("no publish target: set publish.target in config.yaml, PORTICO_PUBLISH_TARGET, "
                           "or pass --target (a folder or s3://bucket/prefix)")
    if text.startswith("s3://"):
        parsed = urlparse(text)
        if not parsed.netloc:
            raise PublishError(f"target {text!r} names no bucket (s3://bucket/prefix)")
        prefix = parsed.path.lstrip("/")
        return Target("s3", parsed.netloc, prefix + "/" if prefix and not prefix.endswith("/") else prefix)
    if "://" in text:
        raise PublishError(f"target {text!r}: only folders and s3:// are supported")
    folder = Path(text) if Path(text).is_absolute() else config.root / text
    if folder.resolve() == config.output_dir:
        raise PublishError("the publish target is the build's own output folder")
    return Target("folder", str(folder.resolve()))


def session(settings: PublishConfig):
    import boto3
    return boto3.session.Session(profile_name=settings.profile, region_name=settings.region)


def client_config(settings: PublishConfig):
    from botocore.config import Config as BotoConfig
    return BotoConfig(retries={"mode": settings.retry_mode, "max_attempts": settings.max_attempts},
                      max_pool_connections=settings.concurrency + 4, connect_timeout=10, read_timeout=60)


def open_store(target: Target, settings: PublishConfig) -> Store:
    if target.kind == "folder":
        return FolderStore(Path(target.location))
    client = session(settings).client("s3", endpoint_url=settings.endpoint_url, config=client_config(settings))
    return S3Store(client, target.location, target.prefix, settings.list_page_size)


def cloudfront_client(settings: PublishConfig):
    return session(settings).client("cloudfront", endpoint_url=settings.cloudfront_endpoint_url,
                                    config=client_config(settings))

