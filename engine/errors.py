"""Typed errors with a message fit to show a chat user.

The bots and the HTTP API never parse exception text: they switch on `code` and show
`user_message`. `str(exc)` carries the operator-facing detail for logs.
"""

from __future__ import annotations

from typing import Any


class RecognizerError(Exception):
    """Base class: something the caller should answer politely, not crash on."""

    code = "error"
    user_message = "Something went wrong while reading that image."
    http_status = 500

    def __init__(self, detail: str | None = None, *, user_message: str | None = None) -> None:
        super().__init__(detail or self.user_message)
        if user_message is not None:
            self.user_message = user_message

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled with its own user message: an engine process's errors reach the caller whole."""
        return _rebuilt, (type(self), str(self), self.user_message)


def _rebuilt(kind: type[RecognizerError], detail: str, user_message: str) -> RecognizerError:
    return kind(detail, user_message=user_message)


class ImageError(RecognizerError):
    """The bytes are not a usable image (not an image, truncated, corrupt)."""

    code = "bad_image"
    user_message = "That file doesn't look like an image I can read. Try a JPEG or PNG photo."
    http_status = 400


class ImageTooLarge(ImageError):
    """Too many bytes or too many pixels (decompression bombs land here)."""

    code = "too_large"
    user_message = "That image is too large. Please send a photo under the size limit."
    http_status = 413


class EngineBusy(RecognizerError):
    """The work queue is full; the caller should try again shortly."""

    code = "busy"
    user_message = "I'm busy with other photos right now. Please try again in a few seconds."
    http_status = 503


class RequestTimeout(RecognizerError):
    code = "timeout"
    user_message = "That took too long to read. Please try a smaller or clearer photo."
    http_status = 504


class ArtifactError(RuntimeError):
    """An artifact set is missing, incomplete or fails its checksums: refuse to load it."""
