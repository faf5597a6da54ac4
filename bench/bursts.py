"""Benchmark: bursts of chats typing at the same instant, on Telegram and on Slack, against
`supportbot serve` (a real process, SQLite, default settings) and the fake platforms.

Each round, ``--chats`` Telegram requesters post `/new` to the webhook at the same instant,
then each clicks the first button of the question they got, all at once, then `/cancel`;
then as many Slack requesters run `/support new`, click the first option of their question
(block_actions), and `/support cancel`. The first round warms up; ``--rounds`` are measured.

Measured per chat: the first reply (POST sent → the fake platform receives its first
sendMessage / chat.postMessage), the Telegram callback answer (POST sent → its
answerCallbackQuery arrives) and the Slack block action's acknowledgement (POST sent → the
HTTP 200, which is Slack's `ack()`). Goals: first reply p99 <= 500 ms, callback / block action
answered p99 <= 300 ms.

Telegram's flood limit (about 30 messages a second for the whole bot, which the bot keeps)
alone puts 50 first replies over at least (50 - 5) / 25 = 1.8 s; the fake Bot API has no such
limit, so the bot runs with `SUPPORTBOT_TELEGRAM_MESSAGES_PER_SECOND` raised (``--telegram-rate``)
to measure its own handling; ``--telegram-rate 30`` measures the product as deployed.

Run: ``python bench/bursts.py [--chats N] [--rounds N] [--telegram-rate R]``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402
import httpx  # noqa: E402

FIRST_REPLY_GOAL_MS = 500.0
CALLBACK_GOAL_MS = 300.0
WAIT_LIMIT = 120.0  # seconds a burst may take before its stragglers count as missing


@dataclass
class Figures:
    """Latencies (ms) of one platform's bursts."""

    first: list[float] = field(default_factory=list)
    answered: list[float] = field(default_factory=list)
    missing: int = 0


async def telegram_round(
    client: httpx.AsyncClient,
    serve: harness.Serve,
    platforms: harness.Platforms,
    chats: list[int],
    round_: int,
    figures: Figures | None,
) -> None:
    """One Telegram burst: /new, click, /cancel, each from every chat at once."""
    stamps = platforms.stamps
    url = f"{serve.base}/telegram/webhook"
    stamps.clear()
    before = {chat: len(platforms.telegram.sent(chat)) for chat in chats}
    posts = [
        harness.post(client, url, harness.telegram_message(c, "/new"), harness.TELEGRAM_HEADERS)
        for c in chats
    ]
    starts = [s for s, _ in await asyncio.gather(*posts)]
    keys = [f"tg-send:{c}" for c in chats]
    await harness.wait_until(lambda: all(k in stamps.first for k in keys), limit=WAIT_LIMIT)

    def asked() -> bool:
        return all(
            len(platforms.telegram.sent(c)) > before[c] and platforms.telegram_last(c)
            for c in chats
        )

    await harness.wait_until(asked, limit=WAIT_LIMIT)
    if figures is not None:
        for key, start in zip(keys, starts, strict=True):
            if key in stamps.first:
                figures.first.append((stamps.first[key] - start) * 1000)
            else:
                figures.missing += 1
    queries = [f"q{round_}-{c}" for c in chats]
    clicks = []
    for chat, query in zip(chats, queries, strict=True):
        last = platforms.telegram_last(chat)
        assert last is not None
        clicks.append(harness.telegram_click(chat, query, last))
    posts = [harness.post(client, url, body, harness.TELEGRAM_HEADERS) for body in clicks]
    starts = [s for s, _ in await asyncio.gather(*posts)]
    keys = [f"tg-answer:{q}" for q in queries]
    await harness.wait_until(lambda: all(k in stamps.first for k in keys), limit=WAIT_LIMIT)
    if figures is not None:
        for key, start in zip(keys, starts, strict=True):
            if key in stamps.first:
                figures.answered.append((stamps.first[key] - start) * 1000)
            else:
                figures.missing += 1
    await asyncio.sleep(0.5)  # the next questions go out
    sent = {c: len(platforms.telegram.sent(c)) for c in chats}
    posts = [
        harness.post(client, url, harness.telegram_message(c, "/cancel"), harness.TELEGRAM_HEADERS)
        for c in chats
    ]
    await asyncio.gather(*posts)
    await harness.wait_until(
        lambda: all(len(platforms.telegram.sent(c)) > sent[c] for c in chats), limit=WAIT_LIMIT
    )


async def slack_round(
    client: httpx.AsyncClient,
    serve: harness.Serve,
    platforms: harness.Platforms,
    users: list[str],
    figures: Figures | None,
) -> None:
    """One Slack burst: `/support new`, a click, `/support cancel`, from every user at once."""
    stamps = platforms.stamps
    url = f"{serve.base}/slack/events"
    stamps.clear()
    requests = [harness.slack_command(u, "new") for u in users]
    posts = [harness.post(client, url, body, headers) for body, headers in requests]
    starts = [s for s, _ in await asyncio.gather(*posts)]
    keys = [f"sl-send:D{u[1:]}" for u in users]
    await harness.wait_until(lambda: all(k in stamps.first for k in keys), limit=WAIT_LIMIT)
    await harness.wait_until(
        lambda: all(platforms.slack_last(u) is not None for u in users), limit=WAIT_LIMIT
    )
    if figures is not None:
        for key, start in zip(keys, starts, strict=True):
            if key in stamps.first:
                figures.first.append((stamps.first[key] - start) * 1000)
            else:
                figures.missing += 1
    clicks = []
    for user in users:
        last = platforms.slack_last(user)
        assert last is not None
        clicks.append(harness.slack_click(user, last))
    stamps.clear()
    done = await asyncio.gather(
        *(harness.post(client, url, body, headers) for body, headers in clicks)
    )
    if figures is not None:
        figures.answered.extend((end - start) * 1000 for start, end in done)
    await harness.wait_until(lambda: all(k in stamps.first for k in keys), limit=WAIT_LIMIT)
    stamps.clear()
    requests = [harness.slack_command(u, "cancel") for u in users]
    await asyncio.gather(*(harness.post(client, url, body, headers) for body, headers in requests))
    await harness.wait_until(lambda: all(k in stamps.first for k in keys), limit=WAIT_LIMIT)


async def run(
    chats: int, rounds: int, telegram_rate: float, profile: Path | None = None
) -> tuple[Figures, Figures]:
    """Play the bursts against one serve process; the Telegram and Slack figures."""
    telegram, slack = Figures(), Figures()
    with tempfile.TemporaryDirectory(prefix="bench-bursts-") as tmp:
        work = Path(tmp)
        world = harness.prepare(f"sqlite:///{work / 'bench.db'}", telegram=chats, slack=chats)
        platforms = harness.Platforms()
        serve = harness.Serve(
            url=world.url,
            platforms=platforms,
            workdir=work,
            extra={
                "SUPPORTBOT_TELEGRAM_MESSAGES_PER_SECOND": str(telegram_rate),
                # Profiled, everything is slower: writers wait for each other longer.
                **({"SUPPORTBOT_SQLITE_BUSY_TIMEOUT_MS": "60000"} if profile else {}),
            },
            profile=profile,
        )
        limits = harness.client_limits(4 * chats)
        try:
            serve.start()
            async with httpx.AsyncClient(timeout=WAIT_LIMIT, limits=limits) as client:
                for round_ in range(rounds + 1):  # the first round warms up
                    measured = round_ > 0
                    if round_ == 1:
                        cpu_before = serve.cpu_seconds()
                    await telegram_round(
                        client,
                        serve,
                        platforms,
                        world.telegram,
                        round_,
                        telegram if measured else None,
                    )
                    await slack_round(
                        client, serve, platforms, world.slack, slack if measured else None
                    )
            events = rounds * chats * 3 * 2
            cpu = serve.cpu_seconds() - cpu_before
            print(
                f"bursts: serve process CPU {cpu:.1f} s for {events} events measured: "
                f"{cpu * 1000 / events:.1f} ms per event (webhook, inbox, core, replies)"
            )
        except Exception:
            print(serve.log_tail(), file=sys.stderr)
            raise
        finally:
            serve.stop()
            platforms.stop()
    return telegram, slack


def report(
    name: str, figures: Figures, expected: int, kind: str, goal: float, values: list[float]
) -> bool:
    """Print one figure with its goal; whether it is met."""
    if not values:
        print(f"bursts: {name} {kind}: no sample: NOT met")
        return False
    p50, p99 = harness.percentile(values, 0.5), harness.percentile(values, 0.99)
    met = p99 <= goal and len(values) == expected
    print(
        f"bursts: {name} {kind} p50 {p50:.0f} ms, p99 {p99:.0f} ms, n={len(values)}/{expected} "
        f"(goal p99 <= {goal:.0f} ms): {harness.verdict(met)}"
    )
    return met


def main() -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--chats", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--telegram-rate",
        type=float,
        default=1000.0,
        help="the bot's Telegram messages per second (Telegram's own limit: 30)",
    )
    parser.add_argument(
        "--profile", type=Path, help="save a CPU profile of the serve process (needs yappi)"
    )
    args = parser.parse_args()
    print(
        f"bursts: {args.chats} chats at once per platform, {args.rounds} rounds, {harness.load()}"
    )
    telegram, slack = asyncio.run(run(args.chats, args.rounds, args.telegram_rate, args.profile))
    expected = args.chats * args.rounds
    report("Telegram", telegram, expected, "first reply", FIRST_REPLY_GOAL_MS, telegram.first)
    report("Telegram", telegram, expected, "callback answered", CALLBACK_GOAL_MS, telegram.answered)
    report("Slack", slack, expected, "first reply", FIRST_REPLY_GOAL_MS, slack.first)
    report("Slack", slack, expected, "block action acknowledged", CALLBACK_GOAL_MS, slack.answered)
    if args.telegram_rate > 30:
        floor = max(0.0, (args.chats - 5) / 25)
        print(
            f"bursts: note: with Telegram's flood limit (30/s) kept, {args.chats} first replies "
            f"need >= {floor:.1f} s whatever the handling (`--telegram-rate 30` measures it)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
