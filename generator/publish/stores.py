"""The places a build can be published to: a local folder, or S3 and S3-compatible services.

Every store answers the same five questions (what is there and how big, what the manifest says,
put, delete, write the manifest only if nobody else did since it was read).
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path, PurePosixPath
from typing import Protocol

from ..write import STATE_DIR
from .sync import MANIFEST_KEY, LocalFile, ManifestConflict, PublishError


class Store(Protocol):
    description: str

    def list_sizes(self) -> dict[str, int]: ...
    def read_manifest(self) -> tuple[dict | None, str | None]: ...
    def put(self, file: LocalFile, body: bytes) -> None: ...
    def delete(self, paths: list[str]) -> None: ...
    def write_manifest(self, body: bytes, expected: str | None) -> str:
        """Writes the manifest only if its version is still `expected` (None: none exists); returns the new version."""


class FolderStore:
    """A local folder as the target (a web server's document root, a mounted share)."""

    def __init__(self, root: Path):
        self.root = root
        self.description = str(root)

    def _file(self, path: str) -> Path:
        return self.root.joinpath(*PurePosixPath(path).parts)

    def list_sizes(self) -> dict[str, int]:
        if not self.root.is_dir():
            return {}
        return {p.relative_to(self.root).as_posix(): p.stat().st_size for p in self.root.rglob("*")
                if p.is_file() and STATE_DIR not in p.relative_to(self.root).parts}

    def read_manifest(self) -> tuple[dict | None, str | None]:
        try:
            raw = self._file(MANIFEST_KEY).read_bytes()
        except FileNotFoundError:
            return None, None
        return json.loads(raw), hashlib.sha256(raw).hexdigest()

    def put(self, file: LocalFile, body: bytes) -> None:
        target = self._file(file.path)
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.with_name(f".{target.name}.partial")
        temp.write_bytes(body)
        os.replace(temp, target)

    def delete(self, paths: list[str]) -> None:
        for path in paths:
            target = self._file(path)
            target.unlink(missing_ok=True)
            for parent in target.parents:
                if parent == self.root or any(parent.iterdir()):
                    break
                parent.rmdir()

    def write_manifest(self, body: bytes, expected: str | None) -> str:
        target = self._file(MANIFEST_KEY)
        target.parent.mkdir(parents=True, exist_ok=True)
        lock = target.with_name("manifest.lock")
        try:
            handle = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            raise ManifestConflict(f"another publish to {self.root} is writing its manifest") from None
        try:
            current = self.read_manifest()[1]
            if current != expected:
                raise ManifestConflict(f"another publish to {self.root} wrote the manifest after this one read it; "
                                       "nothing was deleted; run publish again")
            temp = target.with_name("manifest.json.partial")
            temp.write_bytes(body)
            os.replace(temp, target)
            return hashlib.sha256(body).hexdigest()
        finally:
            os.close(handle)
            lock.unlink()


class S3Store:
    """S3 or an S3-compatible service (MinIO, R2, B2, Wasabi, ...), under a key prefix."""

    def __init__(self, client, bucket: str, prefix: str, page_size: int = 1000):
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.page_size = page_size
        self.description = f"s3://{bucket}/{prefix}"

    def list_sizes(self) -> dict[str, int]:
        sizes = {}
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix, PaginationConfig={"PageSize": self.page_size})
        for page in pages:
            for item in page.get("Contents", ()):
                key = item["Key"][len(self.prefix):]
                if not key.startswith(f"{STATE_DIR}/"):
                    sizes[key] = item["Size"]
        return sizes

    def read_manifest(self) -> tuple[dict | None, str | None]:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self.prefix + MANIFEST_KEY)
        except self.client.exceptions.NoSuchKey:
            return None, None
        return json.loads(answer["Body"].read()), answer["ETag"]

    def put(self, file: LocalFile, body: bytes) -> None:
        extra = {"ContentEncoding": file.headers.content_encoding} if file.headers.content_encoding else {}
        self.client.put_object(Bucket=self.bucket, Key=self.prefix + file.path, Body=body,
                               ContentType=file.headers.content_type, CacheControl=file.headers.cache_control,
                               Metadata={"sha256": file.sha256}, **extra)

    def delete(self, paths: list[str]) -> None:
        for start in range(0, len(paths), 1000):
            batch = [{"Key": self.prefix + p} for p in paths[start:start + 1000]]
            answer = self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
            if answer.get("Errors"):
                first = answer["Errors"][0]
                raise PublishError(f"could not delete {len(answer['Errors'])} object(s), e.g. {first['Key']}: "
                                   f"{first.get('Message', first.get('Code'))}")

    def write_manifest(self, body: bytes, expected: str | None) -> str:
        condition = {"IfMatch": expected} if expected else {"IfNoneMatch": "*"}
        try:
            answer = self.client.put_object(Bucket=self.bucket, Key=self.prefix + MANIFEST_KEY, Body=body,
                                            ContentType="application/json", CacheControl="no-store", **condition)
            return answer["ETag"]
        except self.client.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
                raise ManifestConflict(f"another publish to {self.description} wrote the manifest after this one "
                                       "read it; nothing was deleted; run publish again") from None
            raise


