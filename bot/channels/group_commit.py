"""Group commit of the webhooks' inbox writes: the events that arrive while one store runs
are stored together, in one worker-thread call and one transaction.

A burst of 50 chats posting at once used to cost 50 thread hand-offs and 50 write
transactions before the 50 acknowledgements; now it costs two or three. Each caller still
waits for the commit of its own event before it is acknowledged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

import anyio.to_thread

Item = TypeVar("Item")
Result = TypeVar("Result")

#: Most events stored in one transaction (a burst beyond waits for the next one).
MAX_BATCH = 100


class GroupCommit(Generic[Item, Result]):
    """Hands the items waiting at once to `store_all` (run in a worker thread), which returns
    each item's result, or the exception that item alone raised."""

    def __init__(self, store_all: Callable[[Sequence[Item]], Sequence[Result | Exception]]) -> None:
        self._store_all = store_all
        self._waiting: list[tuple[Item, asyncio.Future[Result]]] = []
        self._running: asyncio.Task[None] | None = None

    async def __call__(self, item: Item) -> Result:
        """Store `item` with the others waiting; its result once committed."""
        done: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, done))
        if self._running is None or self._running.done():
            self._running = asyncio.create_task(self._store_waiting())
        return await done

    async def _store_waiting(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
            items = [item for item, _done in batch]
            try:
                results = await anyio.to_thread.run_sync(self._store_all, items)
            except Exception as exc:  # the whole call failed: every caller hears it
                results = [exc] * len(batch)
            if len(results) != len(batch):
                results = [RuntimeError("the store answered for other items")] * len(batch)
            for (_item, done), result in zip(batch, results, strict=True):
                if done.done():  # its caller went away (a dropped request)
                    continue
                if isinstance(result, Exception):
                    done.set_exception(result)
                else:
                    done.set_result(result)
