"""Benchmark: scale-out — events per second of 2 `supportbot serve` processes (each with its
inbox drainer and worker) over 1, on one PostgreSQL, under a mixed workload.

A throwaway PostgreSQL 15 server is started as the tests start theirs
(`tests/worker/pg.py`); each run gets a fresh database with the same seed. The workload:
``--customers`` Telegram and as many Slack customers each comment ``--events`` times on the
demo customer's open tickets (`/comment REF marker`, one `comment` event each), and
``--agents`` Telegram chats of the demo agent acknowledge distinct open tickets
(`/ack REF`). Every chat sends its events one after the other (each re-posted until answered
200, as the platforms do), all chats at once, round-robin over the processes' ports.

Measured: events per second from the first post until every acknowledged event has its
effect in the database (its comment, its ticket responded), for 1 then 2 processes with the
same settings; errors (non-200 answers, ERROR lines in the servers' logs, parked rows); and
duplicate sends, counted on the fake platforms: each customer chat must receive exactly the
replies its events call for (measured once beforehand, on a calibration event), no more.

Both fake platforms answer every call after the same fixed latency (``--latency-ms``, 20 ms
by default): a real platform answers over the internet in tens of milliseconds, so a
process spends that time waiting, as in production, and both runs face the same platform.

Goal: >= 1.8x events/s with 2 processes, 0 errors, 0 duplicate sends.

Run: ``python bench/scaleout.py [--customers N] [--agents N] [--events N] [--latency-ms MS]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402
import httpx  # noqa: E402
from sqlalchemy import func  # noqa: E402
from sqlmodel import col, select  # noqa: E402

GOAL = 1.8
WAIT_LIMIT = 600.0


@dataclass
class Result:
    """One run's figures."""

    processes: int
    events: int
    seconds: float = 0.0
    refused: Counter[str] = field(default_factory=Counter)
    log_errors: int = 0
    parked: int = 0
    duplicates: int = 0
    missing_sends: int = 0
    missing_effects: int = 0
    replies: tuple[int, int] = (0, 0)  # per comment: Telegram, Slack (calibrated)
    busy_cores: float = 0.0  # the whole machine, on average, during the timed part
    serve_cores: float = 0.0  # the serve processes, on average, during the timed part
    bench_cores: float = 0.0  # this process: the load generator and both fake platforms

    @property
    def rate(self) -> float:
        """Events handled per second."""
        return self.events / self.seconds if self.seconds else 0.0

    @property
    def errors(self) -> int:
        """Everything that went wrong."""
        return sum(self.refused.values()) + self.log_errors + self.parked + self.missing_effects


def _effects(url: str) -> tuple[Counter[str], int, int]:
    """Comments by marker, tickets responded, parked inbox rows."""
    from bot.db.engine import make_engine, transaction
    from bot.db.models import InboundUpdate, Ticket, TicketEvent

    engine = make_engine(url)
    try:
        with transaction(engine) as session:
            reasons = session.exec(
                select(TicketEvent.reason).where(TicketEvent.type == "comment")
            ).all()
            responded = session.exec(
                select(func.count())
                .select_from(Ticket)
                .where(col(Ticket.responded_at).is_not(None))
            ).one()
            parked = session.exec(
                select(func.count())
                .select_from(InboundUpdate)
                .where(col(InboundUpdate.parked_at).is_not(None))
            ).one()
    finally:
        engine.dispose()
    return Counter(str(r) for r in reasons if r), int(responded), int(parked)


async def _deliver(
    client: httpx.AsyncClient,
    ports: list[int],
    turn: list[int],
    path: str,
    make: Any,
    refused: Counter[str],
) -> None:
    """Post one event until it is answered 200 (a fresh body each time: Slack signs anew,
    the same event id)."""
    while True:
        turn[0] += 1
        port = ports[turn[0] % len(ports)]
        body, headers = make()
        try:
            response = await client.post(
                f"http://127.0.0.1:{port}{path}", content=body, headers=headers
            )
        except httpx.HTTPError as exc:
            refused[type(exc).__name__] += 1
        else:
            if response.status_code == 200:
                return
            refused[str(response.status_code)] += 1
        await asyncio.sleep(0.05)


def _telegram(user: int, text: str) -> Any:
    body = harness.telegram_message(user, text)  # one update_id, re-posted as is
    return lambda: (body, harness.TELEGRAM_HEADERS)


def _slack(user: str, text: str) -> Any:
    body, _headers = harness.slack_dm(user, text)  # one event_id, signed at each post
    return lambda: (body, harness.slack_signed(body, "application/json"))


async def _traffic(
    world: harness.World,
    agents: list[int],
    ports: list[int],
    events: int,
    tag: str,
    refused: Counter[str],
) -> tuple[list[str], int]:
    """Every chat sends its events in turn, all chats at once; the markers and acks sent."""
    tickets = world.tickets
    markers: list[str] = []
    turn = [0]
    limits = harness.client_limits(256)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:

        async def telegram_customer(index: int, user: int) -> None:
            for n in range(events):
                marker = f"{tag}-t{user}-{n}"
                markers.append(marker)
                text = f"/comment {tickets[(index + n) % len(tickets)]} {marker}"
                await _deliver(
                    client, ports, turn, "/telegram/webhook", _telegram(user, text), refused
                )

        async def slack_customer(index: int, user: str) -> None:
            for n in range(events):
                marker = f"{tag}-s{user}-{n}"
                markers.append(marker)
                text = f"/comment {tickets[(index + n) % len(tickets)]} {marker}"
                await _deliver(client, ports, turn, "/slack/events", _slack(user, text), refused)

        acked = 0

        async def agent(index: int, user: int) -> None:
            nonlocal acked
            for n in range(events):
                reference = tickets[index * events + n]
                await _deliver(
                    client,
                    ports,
                    turn,
                    "/telegram/webhook",
                    _telegram(user, f"/ack {reference}"),
                    refused,
                )
                acked += 1

        await asyncio.gather(
            *(telegram_customer(i, u) for i, u in enumerate(world.telegram)),
            *(slack_customer(i, u) for i, u in enumerate(world.slack)),
            *(agent(i, u) for i, u in enumerate(agents)),
        )
    return markers, acked


def _sends(platforms: harness.Platforms, world: harness.World) -> dict[str, int]:
    """Messages received per customer chat (Telegram sendMessage, Slack chat.postMessage)."""
    counts = {str(u): platforms.stamps.count(f"tg-send:{u}") for u in world.telegram}
    counts |= {u: platforms.stamps.count(f"sl-send:D{u[1:]}") for u in world.slack}
    return counts


async def one_run(pg: Any, processes: int, args: argparse.Namespace, work: Path) -> Result:
    """Seed a fresh database, start the processes, calibrate, play the workload."""
    customers, agents_n, events = args.customers, args.agents, args.events
    url = pg.new_database()
    world = harness.prepare(
        url,
        telegram=customers + 1,
        slack=customers + 1,
        tickets=agents_n * events + 4,
        agents=agents_n,
    )
    calibrate_tg, calibrate_sl = world.telegram.pop(), world.slack.pop()
    agents = [harness.AGENT_TELEGRAM + i for i in range(agents_n)]
    platforms = harness.Platforms(latency=args.latency_ms / 1000)
    extra = {
        "SUPPORTBOT_TELEGRAM_MESSAGES_PER_SECOND": "1000",
        "SUPPORTBOT_INBOX_LEASE_SECONDS": "10",
    }
    servers = [
        harness.Serve(url=url, platforms=platforms, workdir=work / f"run{processes}", extra=extra)
        for _ in range(processes)
    ]
    result = Result(processes=processes, events=(2 * customers + agents_n) * events)
    try:
        for server in servers:
            server.start()
        ports = [s.port for s in servers]
        # Calibration (not timed): the replies one comment gets, on each platform.
        refused: Counter[str] = Counter()
        world_cal = harness.World(
            url=url, telegram=[calibrate_tg], slack=[calibrate_sl], tickets=world.tickets[-4:]
        )
        markers, _ = await _traffic(world_cal, [], ports, 1, f"cal{processes}", refused)
        await harness.wait_until(lambda: all(_effects(url)[0][m] for m in markers), limit=120)
        await asyncio.sleep(2)  # its replies go out
        per_tg = platforms.stamps.count(f"tg-send:{calibrate_tg}")
        per_sl = platforms.stamps.count(f"sl-send:D{calibrate_sl[1:]}")
        result.replies = (per_tg, per_sl)
        if not per_tg or not per_sl:
            raise RuntimeError(f"calibration: a comment got {per_tg} / {per_sl} replies")
        before = _sends(platforms, world)
        _c, responded_before, _p = _effects(url)
        started = time.perf_counter()
        machine_before = harness.machine_busy_seconds()
        serve_before = sum(server.cpu_seconds() for server in servers)
        bench_before = time.process_time()
        markers, acked = await _traffic(
            world, agents, ports, events, f"r{processes}", result.refused
        )

        def done() -> bool:
            comments, responded, _parked = _effects(url)
            return all(comments[m] for m in markers) and responded - responded_before >= acked

        await asyncio.to_thread(_poll, done)
        result.seconds = time.perf_counter() - started
        result.busy_cores = (harness.machine_busy_seconds() - machine_before) / result.seconds
        serve_cpu = sum(server.cpu_seconds() for server in servers) - serve_before
        result.serve_cores = serve_cpu / result.seconds
        result.bench_cores = (time.process_time() - bench_before) / result.seconds
        await asyncio.sleep(3)  # late duplicates, if any, would arrive now
        comments, _responded, result.parked = _effects(url)
        result.missing_effects = sum(1 for m in markers if not comments[m])
        result.duplicates += sum(comments[m] - 1 for m in markers if comments[m] > 1)
        after = _sends(platforms, world)
        for chat, count in after.items():
            expected = events * (per_tg if chat.isdigit() else per_sl)
            got = count - before.get(chat, 0)
            result.duplicates += max(0, got - expected)
            result.missing_sends += max(0, expected - got)
    finally:
        for server in servers:
            server.stop()
        result.log_errors = sum(server.errors() for server in servers)
        platforms.stop()
    return result


def _poll(done: Any) -> None:
    deadline = time.monotonic() + WAIT_LIMIT
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError("the events were not all handled in time")
        time.sleep(0.2)


def main() -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--customers", type=int, default=12, help="per platform")
    parser.add_argument("--agents", type=int, default=4)
    parser.add_argument("--events", type=int, default=10, help="per chat")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    args = parser.parse_args()
    sys.path.insert(0, str(harness.ROOT))
    from tests.worker.pg import start_postgres

    print(f"scale-out: {harness.load()}")
    try:
        pg = start_postgres(Path(tempfile.gettempdir()))
    except BaseException as exc:  # pytest's skip: PostgreSQL 15 is not available
        print(f"scale-out: PostgreSQL unavailable ({exc}): NOT met (not measured)")
        return 0
    try:
        with tempfile.TemporaryDirectory(prefix="bench-scaleout-") as tmp:
            results = [asyncio.run(one_run(pg, n, args, Path(tmp))) for n in (1, 2)]
    finally:
        pg.stop()
    for r in results:
        print(
            f"scale-out: {r.processes} process(es): {r.events} events in {r.seconds:.1f} s = "
            f"{r.rate:.1f} events/s; errors {r.errors} (refused {dict(r.refused)}, log "
            f"{r.log_errors}, parked {r.parked}, unhandled {r.missing_effects}); duplicate "
            f"sends {r.duplicates}, missing sends {r.missing_sends} (replies per comment: "
            f"Telegram {r.replies[0]}, Slack {r.replies[1]})"
        )
        print(
            f"scale-out: {r.processes} process(es): CPU busy {r.busy_cores:.2f} of "
            f"{os.cpu_count()} cores on average (serve processes {r.serve_cores:.2f}, the load "
            f"generator and the fake platforms {r.bench_cores:.2f}, the rest "
            f"{max(0.0, r.busy_cores - r.serve_cores - r.bench_cores):.2f}: PostgreSQL)"
        )
    one, two = results
    ratio = two.rate / one.rate if one.rate else 0.0
    clean = all(r.errors == 0 and r.duplicates == 0 for r in results)
    cores = os.cpu_count() or 1
    if one.busy_cores:
        # With every core busy, events/s cannot grow beyond this, however many processes.
        ceiling = cores / one.busy_cores
        print(
            f"scale-out: this machine's ceiling: {cores} cores / {one.busy_cores:.2f} busy with "
            f"1 process = {ceiling:.2f}x at most"
        )
    print(
        f"scale-out: 2 processes / 1 = {ratio:.2f}x (goal >= {GOAL}x, 0 errors, 0 duplicate "
        f"sends; fake platforms answer after {args.latency_ms:.0f} ms): "
        f"{harness.verdict(ratio >= GOAL and clean)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
