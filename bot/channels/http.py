"""Limits before work for the webhooks: a body is read in chunks and refused past a limit.

A request announcing (Content-Length) or streaming more than the limit is answered 413
without its body being read whole; nothing here logs a body.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse


class BodyTooLargeError(Exception):
    """The request body is larger than the webhook accepts."""


async def read_body(request: Request, *, limit: int) -> bytes:
    """The request body, read chunk by chunk; `BodyTooLargeError` once it exceeds `limit`.

    The number of bytes actually read is left on ``request.state.bytes_read``.
    """
    request.state.bytes_read = 0
    announced = request.headers.get("content-length", "")
    if announced.isascii() and announced.isdigit() and int(announced) > limit:
        raise BodyTooLargeError
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        request.state.bytes_read = size
        if size > limit:
            raise BodyTooLargeError
        chunks.append(chunk)
    return b"".join(chunks)


def too_large(limit: int) -> JSONResponse:
    """The 413 answer."""
    return JSONResponse(
        {"ok": False, "error": f"request body larger than {limit} bytes"}, status_code=413
    )
