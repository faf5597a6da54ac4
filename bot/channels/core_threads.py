"""The worker threads the core runs in: at most `core_threads` events at once per process.

The core is Python code holding the GIL most of the time it runs. Eight events worked at
once in eight threads finish no sooner than two at a time, but each takes the GIL from the
event loop for up to a switch interval, so the acknowledgements of new events, the answers
to button clicks and the replies being sent wait behind them. The drainer still works
`inbox_concurrency` chats at once: their sends overlap; only their core calls take turns.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import TypeVar

import anyio
import anyio.to_thread

T = TypeVar("T")

# One limiter per event loop (a process has one; tests run many, one after the other).
_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = (
    weakref.WeakKeyDictionary()
)


async def run_core(call: Callable[[], T], *, threads: int) -> T:
    """`call()` in a worker thread, at most `threads` such calls at once on this loop."""
    loop = asyncio.get_running_loop()
    limiter = _limiters.get(loop)
    if limiter is None or limiter.total_tokens != threads:
        limiter = _limiters[loop] = anyio.CapacityLimiter(threads)
    return await anyio.to_thread.run_sync(call, limiter=limiter)
