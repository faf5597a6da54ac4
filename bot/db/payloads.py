"""Raw inbound payloads as stored: bounded in size, a longer one kept truncated and marked."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

#: Appended to a payload cut at the bound; what follows is the original length in characters.
TRUNCATED_MARKER = "\n[truncated by supportbot; original length: {length} characters]"


def bounded_payload(payload: str, *, max_chars: int, what: str) -> str:
    """`payload` when it fits in `max_chars`, else its head followed by the marker (logged)."""
    if len(payload) <= max_chars:
        return payload
    marker = TRUNCATED_MARKER.format(length=len(payload))
    log.warning("%s payload of %d characters stored truncated to %d", what, len(payload), max_chars)
    return payload[: max(max_chars - len(marker), 0)] + marker


def is_truncated(payload: str) -> bool:
    """Whether a stored payload was cut by `bounded_payload` (it cannot be replayed)."""
    return "\n[truncated by supportbot; original length: " in payload[-80:]
