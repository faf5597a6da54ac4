"""What a channel needs of the inbox: the stored row it is handed, and the process's doorbell.

A channel stores each platform event (through its own store) before the platform gets its
answer, then rings the `hub`; the inbox drainer of the process (`bot.inbox.drainer`) claims
the row and hands it to the channel's `InboxHandler` with a `Seal` that marks it handled in
the transaction of its effects and keeps the reply there until the channel has sent it.
Nothing here touches the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import anyio.to_thread

from handlers.model import Along, Outcome, Seal

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InboxRow:
    """One stored inbound event, claimed for handling.

    A `handled` row had its effects committed but its reply not sent (its process stopped,
    or the send failed): the channel sends `reply`, the stored outcome, without running the
    core again ("reply only").
    """

    id: int
    channel: str
    key: str
    chat_key: str
    payload: str
    attempts: int
    final: bool
    handled: bool = False
    reply: Outcome | None = None


InboxHandler = Callable[[InboxRow, Seal], Awaitable[None]]


class SendLater(RuntimeError):
    """A platform asked to wait `after` seconds before the next call (a flood-control answer
    longer than a reply may wait): the inbox offers the row again no sooner."""

    def __init__(self, message: str, *, after: float) -> None:
        super().__init__(message)
        self.after = after


class Listener(Protocol):
    """A drainer attached to the hub."""

    channels: frozenset[str]

    def wake(self) -> None:
        """Look for work now (called from the event loop's thread or any other)."""

    async def settled(self) -> None:
        """Return once no stored event of its channels is waiting or in hand."""

    def adopt(self, row: InboxRow, token: str) -> Seal:
        """The seal of a row its channel stored already claimed, to handle it inline."""


class Hub:
    """The process's doorbell between the channels that store events and the drainers."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def attach(self, listener: Listener) -> None:
        """A drainer starts listening."""
        self._listeners.append(listener)

    def detach(self, listener: Listener) -> None:
        """A drainer stops."""
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    def ring(self) -> None:
        """A row was stored: drainers look for work at once."""
        for listener in list(self._listeners):
            listener.wake()

    def adopt(self, row: InboxRow, token: str) -> Seal | None:
        """The seal of a row stored already claimed (handled inline, e.g. a Slack modal
        submission answered in its acknowledgement); None without a drainer for its channel."""
        for listener in self._listeners:
            if row.channel in listener.channels:
                return listener.adopt(row, token)
        return None

    async def settled(self, channel: str) -> None:
        """Wait until every stored event of `channel` is handled (or parked)."""
        self.ring()
        for listener in [item for item in self._listeners if channel in item.channels]:
            await listener.settled()
        await asyncio.sleep(0)


hub = Hub()


async def after_reply(seal: Seal | None, write: Along, *, run: Callable[[Along], None]) -> None:
    """Run a channel's bookkeeping write of its replies (its open question, its answers about
    a ticket): with `seal` (an event from the inbox) in the transaction that marks the event
    replied, else with `run` (a transaction of its own) in a worker thread, best effort."""
    if seal is not None:
        seal.after_reply(write)
        return
    try:
        await anyio.to_thread.run_sync(run, write)
    except Exception:
        log.exception("replies' bookkeeping not kept")
