"""Getting the image bytes out of a ``POST /identify`` request without trusting its size.

Both a raw body (``curl --data-binary @photo.jpg``) and a multipart form (browsers, most HTTP
libraries) are accepted. Bytes are counted while streaming, so an oversized upload is refused
after ``limit`` bytes rather than after being buffered whole.
"""

from __future__ import annotations

from aiohttp import BodyPartReader, web

from engine.errors import ImageError, ImageTooLarge

FORM_FIELD = "image"
MULTIPART_OVERHEAD = 64 * 1024
"""Room for multipart headers and boundaries on top of the image-size limit."""


def _too_large(limit: int) -> ImageTooLarge:
    return ImageTooLarge(
        f"upload exceeds {limit} bytes",
        user_message=f"That image is too large. Please send a photo under {limit // (1024 * 1024) or 1} MB.",
    )


async def _read_part(part: BodyPartReader, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while chunk := await part.read_chunk(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def read_image(request: web.Request, limit: int) -> bytes:
    """The uploaded image; raises `ImageTooLarge` over ``limit`` and `ImageError` when absent."""
    declared = request.content_length
    multipart = request.content_type.startswith("multipart/")
    if declared is not None and declared > limit + (MULTIPART_OVERHEAD if multipart else 0):
        raise _too_large(limit)
    if multipart:
        data = await _read_form_image(request, limit)
    else:
        data = await _read_raw(request, limit)
    if not data:
        raise ImageError(
            "empty upload",
            user_message="No image received. Send a photo as the request body or as the "
            f"'{FORM_FIELD}' field of a form.",
        )
    return data


async def _read_raw(request: web.Request, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def _read_form_image(request: web.Request, limit: int) -> bytes:
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:  # next() skips unread parts
            if isinstance(part, BodyPartReader) and (part.name == FORM_FIELD or part.filename):
                return await _read_part(part, limit)
    except ValueError as exc:  # aiohttp's complaint about a malformed multipart body
        raise ImageError(f"malformed multipart body: {exc}") from exc
    raise ImageError(
        "multipart body without an image field",
        user_message=f"No image found in the form. Attach the photo as the '{FORM_FIELD}' field.",
    )
