"""The worker's wake-up signals: the database signals it subscribes to (`bot.db.signals`)."""

from __future__ import annotations

from bot.db.signals import (
    MILESTONES,
    OUTBOX,
    TOPICS,
    Listener,
    announce,
    mark,
    milestones_written,
    outbox_written,
    subscribe,
)

__all__ = [
    "MILESTONES",
    "OUTBOX",
    "TOPICS",
    "Listener",
    "announce",
    "mark",
    "milestones_written",
    "outbox_written",
    "subscribe",
]
