"""Errors that stop a sync; the CLI prints them as one line, without a traceback."""

from __future__ import annotations


class SyncError(RuntimeError):
    """Base: the sync cannot go on; the catalog keeps its last complete state."""


class HttpFailure(SyncError):
    """A request failed for good: a non-retryable status, or retries exhausted.

    Fatal for API calls and the bulk file; for one image it only counts as a failed image.
    """

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


class BulkError(SyncError):
    """The bulk listing or file is unusable."""


class GalleryBusy(SyncError):
    """Another sync holds this gallery's lock."""
