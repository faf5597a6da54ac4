"""The sender interface, as the worker reads it (defined with the channels)."""

from __future__ import annotations

from bot.channels.sending import (
    FALLBACK_LIMIT,
    ConfirmingSender,
    Delivery,
    OutboxMessage,
    RateLimit,
    Sender,
    SendResult,
    limits_of,
)

__all__ = [
    "FALLBACK_LIMIT",
    "ConfirmingSender",
    "Delivery",
    "OutboxMessage",
    "RateLimit",
    "SendResult",
    "Sender",
    "limits_of",
]
