"""Database signals: a committed write tells in-process listeners that something is due sooner.

The services publish "milestones written" and "outbox written" without knowing who listens
(the worker subscribes; nothing here imports it): they mark their session
(`milestones_written`, `outbox_written`) inside the transaction, and after the COMMIT every
subscribed listener hears the earliest new instant. Rows written by another process are not
heard: the worker's bounded sleep (`worker_max_sleep_seconds`) is the safety net for them.

Listeners run in the committing thread; they must be quick and thread-safe (the worker's
listener hands the signal to its event loop with `call_soon_threadsafe`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

MILESTONES = "milestones"
OUTBOX = "outbox"
TOPICS = (MILESTONES, OUTBOX)

Listener = Callable[[str, datetime], None]

_INFO_KEY = "supportbot.wake"
_listeners: list[Listener] = []
_lock = threading.Lock()


def subscribe(listener: Listener) -> Callable[[], None]:
    """Hear every committed wake-up as `listener(topic, earliest)`; returns the unsubscriber."""
    with _lock:
        _listeners.append(listener)

    def unsubscribe() -> None:
        with _lock:
            if listener in _listeners:
                _listeners.remove(listener)

    return unsubscribe


def mark(session: Session, topic: str, earliest: datetime) -> None:
    """Remember in the session that `topic` has work at `earliest`, announced at COMMIT."""
    pending: dict[str, datetime] = session.info.setdefault(_INFO_KEY, {})
    current = pending.get(topic)
    if current is None or earliest < current:
        pending[topic] = earliest


def milestones_written(session: Session, earliest: datetime) -> None:
    """New milestone rows, the earliest due at `earliest`."""
    mark(session, MILESTONES, earliest)


def outbox_written(session: Session, earliest: datetime) -> None:
    """New outbox rows, the earliest to send at `earliest`."""
    mark(session, OUTBOX, earliest)


def announce(topic: str, earliest: datetime) -> None:
    """Tell every listener now (used after commit, and by tests)."""
    with _lock:
        listeners = list(_listeners)
    for listener in listeners:
        try:
            listener(topic, earliest)
        except Exception:  # a listener must never break the committing caller
            log.exception("wake-up listener failed")


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    pending: dict[str, datetime] | None = session.info.pop(_INFO_KEY, None)
    if pending:
        for topic, earliest in pending.items():
            announce(topic, earliest)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_INFO_KEY, None)
