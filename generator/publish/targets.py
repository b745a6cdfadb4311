"""Where a publish goes: the target from flag, environment or config, and the store behind it."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse

from ..config import Config, PublishConfig
from .files import PublishError
from .stores import STORES, Target
from .stores.s3 import client_config, session

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


def parse_target(text: str | None, config: Config) -> Target:
    """`scheme://location/prefix` for a registered store, or a folder path (relative to config.yaml)."""
    if not text:
        raise PublishError(
            "no publish target: set publish.target in config.yaml, PORTICO_PUBLISH_TARGET, "
            "or pass --target (a folder or s3://bucket/prefix)"
        )
    scheme, separator, _ = text.partition("://")
    if separator and scheme != "file":
        if scheme not in STORES:
            raise PublishError(
                f"target {text!r}: no store for {scheme}:// (known: a folder, "
                f"{', '.join(f'{s}://' for s in sorted(STORES) if s != 'file')})"
            )
        parsed = urlparse(text)
        if not parsed.netloc:
            raise PublishError(f"target {text!r} names no bucket ({scheme}://bucket/prefix)")
        prefix = parsed.path.lstrip("/")
        return Target(scheme, parsed.netloc, prefix + "/" if prefix and not prefix.endswith("/") else prefix)
    path = Path(urlparse(text).path if separator else text)
    folder = (path if path.is_absolute() else config.root / path).resolve()
    if folder == config.output_dir:
        raise PublishError("the publish target is the build's own output folder")
    return Target("file", str(folder))


def cloudfront_client(settings: PublishConfig):
    return session(settings).client(
        "cloudfront", endpoint_url=settings.cloudfront_endpoint_url, config=client_config(settings)
    )
