"""Worker threads run as background work for the OS scheduler; the main thread never does."""

from __future__ import annotations

import os
import threading

import pytest

from bot.threads import as_background_thread, in_worker_thread

pytestmark = pytest.mark.skipif(
    not hasattr(os, "sched_getscheduler"), reason="no scheduling policies on this system"
)


async def test_a_worker_thread_is_marked_as_batch_work() -> None:
    def policy() -> tuple[int, str]:
        return os.sched_getscheduler(0), threading.current_thread().name

    seen, name = await in_worker_thread(policy)
    assert seen == os.SCHED_BATCH
    assert name != threading.main_thread().name


def test_the_main_thread_keeps_its_policy() -> None:
    before = os.sched_getscheduler(0)
    as_background_thread()
    assert os.sched_getscheduler(0) == before
