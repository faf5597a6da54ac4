"""Benchmark: the desk's reads at volume, with concurrent writes that must never fail.

For each size, a fresh database (SQLite file; PostgreSQL at the largest size with
``--postgres``) gets the demo data and that many open tickets (`demo seed --open-tickets`'s
bulk path). Then an agent and a manager send `/queue`, `/tickets all`, and the manager
`/status` and `/sla month`, through the core as a channel calls it, while a writer thread
sends one-row writes (`/duty on|off`) through the same core every 20 ms. A command whose
first sample exceeds ``--give-up`` seconds is measured once.

Prints p50/p99 per command and size, the growth of p99 from the smallest to the largest
size, the writes that failed, and each goal with "met" / "NOT met":
p99 <= 50 ms at the largest size, growth <= 3x, no failed write, judged on the answer (the
command's transaction and its text: what the channels send at once). The charts of `/status`
and `/sla` follow as a second message, drawn once the text is sent (`Outcome.drawn_files`):
their drawing time is printed beside, without a goal (it does not depend on the number of
tickets, and no text waits for it).

After the warm-up the objects alive are moved out of the garbage collector's reach
(`gc.freeze`), as a serve process does once started (`bot.app.freeze_start_up_heap`): a full
collection of the start-up heap (about 230,000 objects: the platforms' SDKs, SQLAlchemy,
holidays) otherwise pauses whichever read it lands in for 100-250 ms on this machine.
``--no-freeze-gc`` measures without.

Run: ``python bench/reads.py [--sizes 100,10000,100000] [--samples N] [--postgres]
[--no-freeze-gc]``.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

# bench/ holds telegram.py and slack.py: keep the folder off the path (the real packages).
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

from sqlalchemy import Engine  # noqa: E402
from sqlalchemy import text as sql  # noqa: E402

from bot.channels import builtin  # noqa: E402
from bot.db.engine import make_engine, transaction  # noqa: E402
from bot.db.migrate import upgrade  # noqa: E402
from bot.services import demo_volume  # noqa: E402
from bot.settings import Settings  # noqa: E402
from handlers.core import entry  # noqa: E402
from handlers.model import InboundEvent, Outcome  # noqa: E402

READS = [
    ("demo-agent", "/queue"),
    ("demo-agent", "/tickets all"),
    ("demo-manager", "/queue"),
    ("demo-manager", "/tickets all"),
    ("demo-manager", "/status"),
    ("demo-manager", "/sla month"),
]
P99_GOAL_MS = 50.0
GROWTH_GOAL = 3.0


def _event(handle: str, text: str) -> InboundEvent:
    return InboundEvent(
        channel="console",
        chat_id=handle,
        user_external_id=handle,
        received_at=datetime.now(UTC),
        text=text,
    )


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


class Writer(threading.Thread):
    """Sends one-row writes through the core until stopped; counts the failed ones."""

    def __init__(self, core: Callable[[InboundEvent], Outcome]) -> None:
        super().__init__(daemon=True)
        self.core, self.stop, self.done, self.failed = core, threading.Event(), 0, 0

    def run(self) -> None:
        on = True
        while not self.stop.is_set():
            outcome = self.core(_event("demo-agent", "/duty on" if on else "/duty off"))
            self.done += 1
            self.failed += outcome.refusal is not None
            on = not on
            self.stop.wait(0.02)


#: Reads that took longer than --give-up at a smaller size: not run at the larger ones.
TOO_SLOW: dict[str, str] = {}
CHARTS = " (chart, after the text)"


def measure(
    engine: Engine, size: int, samples: int, give_up: float, freeze: bool = False
) -> tuple[dict[str, list[float]], Writer]:
    """Seed `size` open tickets, then time each read `samples` times under writes."""
    with transaction(engine) as session:
        demo_volume.seed_open_tickets(session=session, count=size, now=datetime.now(UTC))
    if engine.dialect.name == "postgresql":
        # After a bulk load, as autovacuum would within a minute: planner statistics, and the
        # visibility map that lets index-only scans skip the table (and the folded deltas' space).
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(sql("VACUUM ANALYZE"))
    core = entry(engine=engine, settings=Settings(_env_file=None))  # type: ignore[call-arg]
    for handle, text in READS:  # first contact and warm caches, not measured
        if f"{handle.removeprefix('demo-')} {text}" not in TOO_SLOW:
            core(_event(handle, text))
    if freeze:
        gc.collect()
        gc.freeze()
    writer = Writer(core)
    writer.start()
    timings: dict[str, list[float]] = {}
    try:
        for handle, text in READS:
            label = f"{handle.removeprefix('demo-')} {text}"
            found = timings.setdefault(label, [])
            whole = timings.setdefault(label + CHARTS, [])
            if label in TOO_SLOW:
                continue
            for _ in range(samples):
                started = time.perf_counter()
                outcome = core(_event(handle, text), draw=False)  # as the channels call it
                found.append((time.perf_counter() - started) * 1000)
                if outcome.files:
                    started = time.perf_counter()
                    outcome.drawn_files()  # what a channel does once the text is sent
                    whole.append((time.perf_counter() - started) * 1000)
                if outcome.refusal is not None:
                    print(f"  refused: {label}: {outcome.refusal.text}", flush=True)
                if found[-1] > give_up * 1000:
                    TOO_SLOW[label] = f"{found[-1] / 1000:.1f} s at {size:,}"
                    break
    finally:
        writer.stop.set()
        writer.join()
        if freeze:
            gc.unfreeze()
    return timings, writer


def _postgres(
    size: int, samples: int, give_up: float, freeze: bool
) -> tuple[dict[str, list[float]], Writer]:
    from tests.worker.pg import start_postgres

    try:
        server = start_postgres(Path(tempfile.mkdtemp()))
    except BaseException as exc:  # the helper skips (pytest's exception) when it cannot start
        raise RuntimeError(f"PostgreSQL unavailable: {exc}") from None
    try:
        url = server.new_database()
        engine = make_engine(url)
        try:
            return measure(engine, size, samples, give_up, freeze)
        finally:
            engine.dispose()
    finally:
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,10000,100000")
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--give-up", type=float, default=3.0, help="seconds; then one sample")
    parser.add_argument("--postgres", action="store_true", help="also the largest size on PG")
    parser.add_argument(
        "--no-freeze-gc",
        dest="freeze_gc",
        action="store_false",
        help="leave the warm-up's objects to the collector (a serve process freezes them)",
    )
    args = parser.parse_args()
    builtin.install()
    sizes = [int(s) for s in args.sizes.split(",")]
    results: dict[str, dict[str, list[float]]] = {}
    failed_writes = 0
    for size in sizes:
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{folder}/bench.db"
            upgrade(url=url)
            engine = make_engine(url)
            started = time.perf_counter()
            timings, writer = measure(engine, size, args.samples, args.give_up, args.freeze_gc)
            engine.dispose()
        name = f"SQLite {size:,}"
        results[name] = timings
        failed_writes += writer.failed
        print(
            f"{name}: measured in {time.perf_counter() - started:.0f} s; concurrent writes "
            f"{writer.done}, failed {writer.failed}",
            flush=True,
        )
    if args.postgres:
        try:
            timings, writer = _postgres(sizes[-1], args.samples, args.give_up, args.freeze_gc)
        except RuntimeError as exc:
            print(exc)
        else:
            name = f"PostgreSQL {sizes[-1]:,}"
            results[name] = timings
            failed_writes += writer.failed
            print(f"{name}: concurrent writes {writer.done}, failed {writer.failed}", flush=True)
    print()
    for timings in results.values():  # reads without a chart: no second line
        for label in [k for k, v in timings.items() if k.endswith(CHARTS) and not v]:
            del timings[label]
    print(f"{'read':<36}" + "".join(f"{name:>26}" for name in results))
    print(f"{'':<36}" + "".join(f"{'p50 / p99 ms':>26}" for _ in results))
    for label in next(iter(results.values())):
        cells = []
        for timings in results.values():
            values = timings.get(label, [])
            cells.append(
                f"{statistics.median(values):>12.1f} / {_p(values, 0.99):>9.1f}"
                if values
                else "not run"
            )
        print(f"{label:<36}" + "".join(f"{cell:>26}" for cell in cells))
    print()
    ok = True
    smallest, largest = f"SQLite {sizes[0]:,}", f"SQLite {sizes[-1]:,}"
    big = [name for name in results if name.endswith(f"{sizes[-1]:,}")]
    for label in results[smallest]:
        if label.endswith(CHARTS):
            continue
        if not all(results[name].get(label) for name in big):
            ok = False
            print(
                f"reads: {label}: NOT met (one sample took {TOO_SLOW.get(label, '?')}; "
                "not run at larger sizes)"
            )
            continue
        for name in big:
            p99 = _p(results[name][label], 0.99)
            met = p99 <= P99_GOAL_MS
            ok &= met
            print(
                f"reads: {label} p99 at {name} = {p99:.1f} ms (goal <= {P99_GOAL_MS:.0f} ms): "
                f"{'met' if met else 'NOT met'}"
            )
        growth = _p(results[largest][label], 0.99) / max(_p(results[smallest][label], 0.99), 1e-3)
        met = growth <= GROWTH_GOAL
        ok &= met
        print(
            f"reads: {label} growth of p99 {sizes[0]:,} -> {sizes[-1]:,} = {growth:.2f}x "
            f"(goal <= {GROWTH_GOAL:.0f}x): {'met' if met else 'NOT met'}"
        )
    met = failed_writes == 0
    ok &= met
    print(
        f"reads: concurrent writes failed = {failed_writes} (goal 0): {'met' if met else 'NOT met'}"
    )
    print("reads: goals met" if ok else "reads: goals NOT met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
