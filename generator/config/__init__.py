"""`config.yaml`: the one typed schema, its checks, and loading.

    schema.py     every key, its type, default and meaning (the reference is generated from it)
    entities.py   the canonical entities and the type of each field an export can map
    checks.py     what keys must agree on, in every layer of settings; names the export lacks
    reference.py  docs/config.md, written from the schema: python -m generator.config.reference

The resulting `Config` is passed down the pipeline; nothing re-reads the file.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .checks import check_config, check_setting_names, describe_error
from .schema import (
    ActionsConfig,
    Branding,
    ColumnSpec,
    Config,
    ContentPage,
    FileOptions,
    GateConfig,
    LineSource,
    MailConfig,
    Modules,
    NotificationSettings,
    PortalConfig,
    PublishConfig,
    SmtpConfig,
    Source,
    Strict,
)

__all__ = [
    "ActionsConfig",
    "Branding",
    "ColumnSpec",
    "Config",
    "ConfigError",
    "ContentPage",
    "FileOptions",
    "GateConfig",
    "LineSource",
    "MailConfig",
    "Modules",
    "NotificationSettings",
    "PortalConfig",
    "PublishConfig",
    "SmtpConfig",
    "Source",
    "Strict",
    "check_setting_names",
    "load_config",
    "parse_config",
]


class ConfigError(Exception):
    """Raised with every problem found in a config file, each naming its key path."""

    def __init__(self, path: Path, problems: list[str]):
        self.path = path
        self.problems = problems
        super().__init__(f"{path}: " + "; ".join(problems))


def load_config(path: Path | str) -> Config:
    path = Path(path)
    try:
        source = path.read_bytes()
        raw = yaml.safe_load(source.decode("utf-8"))
    except FileNotFoundError:
        raise ConfigError(path, ["file not found"]) from None
    except OSError as exc:  # a folder, no permission to read
        raise ConfigError(path, [f"cannot be read: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(path, [f"not UTF-8 text (byte {exc.start + 1}); save it as UTF-8"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError(path, [f"not valid YAML: {exc}"]) from None
    if not isinstance(raw, dict):
        raise ConfigError(path, ["the top level must be a mapping of keys"])
    config = parse_config(raw, path)
    config._source_digest = hashlib.sha256(source).digest()
    return config


def parse_config(raw: dict[str, Any], path: Path) -> Config:
    data = {**raw, "root": path.resolve().parent, "source_path": path.resolve()}
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(path, [describe_error(err) for err in exc.errors()]) from None
    problems = check_config(config)
    if problems:
        raise ConfigError(path, problems)
    return config
