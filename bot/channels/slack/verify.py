"""Slack requests are verified from the raw body before anything parses it.

Unsigned, badly signed or stale (300 s) requests → 401; signed but malformed bodies (not
UTF-8, JSON that is not an object, a form whose `payload` is not a JSON object) → 400.
Nothing here logs the body.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from urllib.parse import parse_qs

WINDOW_SECONDS = 300  # Slack's replay window


def _json_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def signed(*, secret: bytes, timestamp: str, body: bytes) -> str:
    """Slack's v0 signature of the raw bytes."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret, base, hashlib.sha256).hexdigest()


def refusal(
    *,
    secret: bytes,
    headers: Mapping[str, str],
    body: bytes,
    now: Callable[[], float] = time.time,
) -> tuple[int, str] | None:
    """(status, reason) when the request must be refused, None when it may be dispatched."""
    timestamp = headers.get("x-slack-request-timestamp", "")
    signature = headers.get("x-slack-signature", "")
    if not signature or not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) < 12):
        return 401, "unsigned request"
    if not secret or abs(now() - int(timestamp)) > WINDOW_SECONDS:
        return 401, "invalid or expired signature"
    expected = signed(secret=secret, timestamp=timestamp, body=body)
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
        return 401, "invalid or expired signature"
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return 400, "body is not UTF-8"
    if headers.get("content-type", "").split(";")[0].strip() == "application/json":
        return None if _json_object(text) else (400, "body is not a JSON object")
    try:
        form = parse_qs(text, keep_blank_values=True, strict_parsing=bool(text))
    except ValueError:
        return 400, "body is not a form"
    payload = form.get("payload")
    if payload is not None and not _json_object(payload[0]):
        return 400, "payload is not a JSON object"
    return None
