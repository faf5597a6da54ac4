"""The benchmarks still run: each one, at the smallest sizes, end to end (no timing asserted;
the figures are `make bench`'s business)."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def load(name: str) -> ModuleType:
    """A benchmark module by its file name."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def _bench_path() -> object:
    """The benchmarks import their harness from their folder; the folder leaves the path after."""
    saved = list(sys.path)
    yield
    sys.path[:] = saved


def test_bursts_measure_every_chat_on_both_platforms() -> None:
    bursts = load("bursts")
    telegram, slack = asyncio.run(bursts.run(chats=2, rounds=1, telegram_rate=1000.0))
    for figures in (telegram, slack):
        assert len(figures.first) == 2
        assert len(figures.answered) == 2
        assert figures.missing == 0


def test_floor_measures_the_bare_bots_and_ours() -> None:
    floor = load("floor")
    figures, cpu = asyncio.run(floor.run(chats=2, rounds=1))
    for bots in figures.values():
        assert len(bots["bare"]) == 2
        assert len(bots["ours"]) == 2
    assert set(cpu) == {"ours", "bare"}  # CPU seconds, counted in ticks (small runs may read 0)
    assert min(cpu.values()) >= 0


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.serve_processes
def test_scaleout_counts_every_event_once(tmp_path: Path) -> None:
    from tests.worker.pg import start_postgres

    scaleout = load("scaleout")
    pg = start_postgres(tmp_path)
    try:
        args = scaleout.argparse.Namespace(customers=1, agents=1, events=2, latency_ms=5.0)
        results = [asyncio.run(scaleout.one_run(pg, n, args, tmp_path)) for n in (1, 2)]
    finally:
        pg.stop()
    for result in results:
        assert result.events == 6
        assert result.errors == 0
        assert result.duplicates == 0
        assert result.missing_sends == 0


def test_goals_read_each_verdict(tmp_path: Path) -> None:
    goals = load("goals")
    (tmp_path / "bursts.txt").write_text(
        "bursts: 50 chats at once per platform\n"
        "bursts: Telegram first reply p50 1 ms, p99 2 ms (goal p99 <= 500 ms): met\n"
        "bursts: Slack first reply p50 1 ms, p99 900 ms (goal p99 <= 500 ms): NOT met\n"
    )
    (tmp_path / "floor.txt").write_text(
        "floor: 3 chats at once\nfloor: Slack first reply p99: 2.0x (goal <= 2.5x): met\n"
    )
    found = {goal.text: verdict for goal, verdict, _lines in goals.verdicts(tmp_path)}
    assert len(found) == len(goals.GOALS)
    assert found["bursts: Telegram, 50 chats at once, first reply p99 <= 500 ms"] == "met"
    assert found["bursts: Slack, 50 users at once, first reply p99 <= 500 ms"] == "NOT met"
    assert (
        found[
            "scale-out: 2 serve processes + workers on PostgreSQL >= 1.8x events/s of 1, "
            "0 errors, 0 duplicate sends"
        ]
        == "NOT met (not measured)"
    )
