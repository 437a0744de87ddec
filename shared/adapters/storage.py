"""Where the PDFs live: the documents bucket (infra/stack.py's DocumentsBucket; the emulator's S3
locally), one key prefix per service (applications: documents, letters, college records,
packets; scores: `scores/`, the S7 score reports). The browser uploads straight to a presigned
POST (at most 5 MB, by the policy's content-length-range); the service then checks the object
itself (exists, `%PDF-` by its bytes, size) before it counts (A1, A7, S7)."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod

from shared.settings import Settings, resource_name

UPLOAD_SECONDS = 15 * 60
DOWNLOAD_SECONDS = 5 * 60
HEAD_BYTES = 5


def documents_bucket(settings: Settings) -> str:
    """The documents bucket (infra/stack.py's DocumentsBucket): CASPR_DOCUMENTS_BUCKET, else
    caspr-<stage>-documents-<account> (bucket names are global on AWS)."""
    return os.environ.get("CASPR_DOCUMENTS_BUCKET") or resource_name(settings.stage, "documents",
                                                                      settings.account_id)


class DocumentStorage(ABC):
    @abstractmethod
    def upload_form(self, key: str, max_bytes: int) -> dict:
        """{url, method, fields} of a presigned POST for one PDF at `key`."""

    @abstractmethod
    def inspect(self, key: str) -> tuple[bytes | None, int | None]:
        """The object's first bytes and its size; (None, None) when nothing is there."""

    @abstractmethod
    def download_url(self, key: str, filename: str | None = None) -> str:
        """A presigned GET of the object (DOWNLOAD_SECONDS); with `filename`, the browser saves it
        under that name (Content-Disposition: attachment)."""

    @abstractmethod
    def read(self, key: str) -> bytes: ...

    @abstractmethod
    def write(self, key: str, body: bytes, content_type: str = "application/pdf") -> None: ...

    @abstractmethod
    def delete(self, key: str) -> None:
        """Removes the object (nothing there is no error)."""

    def discard(self, keys, logger) -> None:
        """The objects a committed change dropped (a replaced or deleted PDF, an unfinished upload
        replaced), deleted right after the commit, best effort: a failure leaves an unreferenced
        object (logged; an S3 lifecycle rule or a sweep can remove it), never a broken record."""
        for key in sorted(set(keys)):
            try:
                self.delete(key)
            except Exception:  # noqa: BLE001 - best effort, the change is committed
                logger.warning("could not delete a dropped document", extra={"key": key})


class S3DocumentStorage(DocumentStorage):
    def __init__(self, bucket: str, region: str):
        self.bucket = bucket
        self.region = region
        self._client = None

    @property
    def client(self):
        if self._client is None:
            import boto3
            from botocore.config import Config

            self._client = boto3.client("s3", region_name=self.region,
                                        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
        return self._client

    def upload_form(self, key: str, max_bytes: int) -> dict:
        post = self.client.generate_presigned_post(
            self.bucket, key, Fields={"Content-Type": "application/pdf"},
            Conditions=[["content-length-range", 1, max_bytes], {"Content-Type": "application/pdf"}],
            ExpiresIn=UPLOAD_SECONDS)
        return {"url": post["url"], "method": "POST", "fields": post["fields"]}

    def inspect(self, key: str) -> tuple[bytes | None, int | None]:
        from botocore.exceptions import ClientError

        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound", "NoSuchBucket"):
                return None, None
            raise
        size = int(head["ContentLength"])
        if size == 0:
            return b"", 0
        body = self.client.get_object(Bucket=self.bucket, Key=key, Range=f"bytes=0-{HEAD_BYTES - 1}")["Body"]
        return body.read(), size

    def download_url(self, key: str, filename: str | None = None) -> str:
        params = {"Bucket": self.bucket, "Key": key}
        if filename:
            params["ResponseContentDisposition"] = f'attachment; filename="{filename}"'
        return self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=DOWNLOAD_SECONDS)

    def read(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def write(self, key: str, body: bytes, content_type: str = "application/pdf") -> None:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)
