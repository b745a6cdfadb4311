"""S3 and S3-compatible services (MinIO, R2, B2, Wasabi, ...), under a key prefix."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from ...config import PublishConfig
from ...output.state import STATE_DIR
from ..files import LocalFile, ManifestConflict, PublishError
from .registry import Target, store

CONFLICT_CODES = ("PreconditionFailed", "412", "ConditionalRequestConflict")


def client_config(settings: PublishConfig):
    from botocore.config import Config as BotoConfig

    return BotoConfig(
        retries={"mode": settings.retry_mode, "max_attempts": settings.max_attempts},
        max_pool_connections=settings.concurrency + 4,
        connect_timeout=10,
        read_timeout=60,
    )


def session(settings: PublishConfig):
    import boto3

    return boto3.session.Session(profile_name=settings.profile, region_name=settings.region)


@store("s3")
def open_s3(target: Target, settings: PublishConfig) -> S3Store:
    client = session(settings).client("s3", endpoint_url=settings.endpoint_url, config=client_config(settings))
    return S3Store(client, target.location, target.prefix, settings.list_page_size, settings.concurrency)


class S3Store:
    """S3 or an S3-compatible service (MinIO, R2, B2, Wasabi, ...), under a key prefix."""

    def __init__(self, client, bucket: str, prefix: str, page_size: int = 1000, concurrency: int = 16):
        self.client = client
        self.concurrency = concurrency
        self.bucket = bucket
        self.prefix = prefix
        self.page_size = page_size
        self.description = f"s3://{bucket}/{prefix}"

    def list_sizes(self) -> dict[str, int]:
        sizes = {}
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix, PaginationConfig={"PageSize": self.page_size}
        )
        for page in pages:
            for item in page.get("Contents", ()):
                key = item["Key"][len(self.prefix) :]
                if not key.startswith(f"{STATE_DIR}/"):
                    sizes[key] = item["Size"]
        return sizes

    def read_meta(self, name: str) -> tuple[bytes | None, str | None]:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self.prefix + name)
        except self.client.exceptions.NoSuchKey:
            return None, None
        return answer["Body"].read(), answer["ETag"]

    def describe(self, paths: list[str]) -> dict[str, dict]:
        """What the bucket holds under these paths: a HEAD for each, in parallel (the SHA-256 a
        publish put in the object's metadata, its headers and size)."""
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            heads = pool.map(self._head, paths)
            return {path: head for path, head in zip(paths, heads, strict=True) if head is not None}

    def _head(self, path: str) -> dict | None:
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self.prefix + path)
        except self.client.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return {
            "sha256": head.get("Metadata", {}).get("sha256"),
            "type": head.get("ContentType"),
            "cache": head.get("CacheControl"),
            "encoding": head.get("ContentEncoding"),
            "size": head.get("ContentLength"),
        }

    def put(self, file: LocalFile, body: bytes) -> None:
        extra = {"ContentEncoding": file.headers.content_encoding} if file.headers.content_encoding else {}
        self.client.put_object(
            Bucket=self.bucket,
            Key=self.prefix + file.path,
            Body=body,
            ContentType=file.headers.content_type,
            CacheControl=file.headers.cache_control,
            Metadata={"sha256": file.sha256},
            **extra,
        )

    def delete(self, paths: list[str]) -> None:
        for start in range(0, len(paths), 1000):
            batch = [{"Key": self.prefix + p} for p in paths[start : start + 1000]]
            answer = self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
            if answer.get("Errors"):
                first = answer["Errors"][0]
                raise PublishError(
                    f"could not delete {len(answer['Errors'])} object(s), e.g. {first['Key']}: "
                    f"{first.get('Message', first.get('Code'))}"
                )

    def write_meta(self, name: str, body: bytes, expected: str | None) -> str:
        condition = {"IfMatch": expected} if expected else {"IfNoneMatch": "*"}
        try:
            answer = self.client.put_object(
                Bucket=self.bucket,
                Key=self.prefix + name,
                Body=body,
                ContentType="application/octet-stream",
                CacheControl="no-store",
                **condition,
            )
            return answer["ETag"]
        except self.client.exceptions.ClientError as exc:
            if _conflict(exc, expected):
                raise ManifestConflict(
                    f"{name} in {self.description} was written by another publish after this one read it"
                ) from None
            raise

    def delete_meta(self, name: str, expected: str | None = None) -> None:
        condition = {"IfMatch": expected} if expected else {}
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self.prefix + name, **condition)
        except self.client.exceptions.ClientError as exc:
            if _conflict(exc, expected):
                raise ManifestConflict(f"{name} in {self.description} was changed by another publish") from None
            raise


def _conflict(exc, expected: str | None) -> bool:
    """A condition that did not hold (for `If-Match`, also: the object is gone)."""
    code = exc.response.get("Error", {}).get("Code")
    return code in CONFLICT_CODES or (expected is not None and code in ("NoSuchKey", "404"))
