"""The core runs in worker threads, at most `core_threads` events at once per event loop."""

from __future__ import annotations

import asyncio
import threading

from bot.channels.core_threads import run_core

LIMIT = 60.0  # seconds, only against a hang


async def test_at_most_the_set_number_of_core_calls_run_at_once() -> None:
    guard = threading.Lock()
    running: list[int] = []
    peak: list[int] = [0]
    entered = threading.Semaphore(0)
    go = threading.Event()

    def call(number: int) -> int:
        with guard:
            running.append(number)
            peak[0] = max(peak[0], len(running))
        entered.release()
        assert go.wait(LIMIT)
        with guard:
            running.remove(number)
        return number

    calls = [asyncio.ensure_future(run_core(lambda n=n: call(n), threads=2)) for n in range(6)]
    for _ in range(2):  # two calls are in their threads...
        assert await asyncio.to_thread(entered.acquire, True, LIMIT)
    await asyncio.sleep(0.05)
    assert len(running) == 2  # ...and the others wait for a turn
    go.set()
    assert await asyncio.gather(*calls) == list(range(6))
    assert peak[0] == 2
