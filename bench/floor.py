"""Benchmark: the framework floor — our handling against bare echo bots of the same libraries,
in the same run, on the same fake platform servers, under the same bursts.

Bare bots (``bench/floor_echo.py``): a python-telegram-bot `Application` fed by a webhook
route through `update_queue`, answering each text with itself; a slack-bolt `AsyncApp`
saying each DM back. Ours: `supportbot serve` (SQLite, default settings, the Telegram flood
limit raised as in ``bench/bursts.py``: the fake Bot API has none and the bare bot keeps none).

Each round, ``--chats`` chats post a message at the same instant (Telegram: `/new` to the
webhook; Slack: a DM `message` event with `new`), first to the bare bot, then to ours (then
ours gets `/cancel`); the latency is POST sent → the fake platform receives the chat's first
sendMessage / chat.postMessage. The first round warms up. Goal: our p99 / the bare bot's p99
<= 2.5, on each platform.

Run: ``python bench/floor.py [--chats N] [--rounds N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402
import httpx  # noqa: E402

GOAL = 2.5
WAIT_LIMIT = 120.0


class Echo:
    """The bare echo bots' process."""

    def __init__(self, platforms: harness.Platforms, workdir: Path) -> None:
        self.port = harness.free_port()
        self.log = workdir / "echo.log"
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    str(harness.HERE / "floor_echo.py"),
                    str(self.port),
                    platforms.telegram.base_url,
                    platforms.slack.base_url,
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"echo bots exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("echo bots did not answer")

    @property
    def base(self) -> str:
        """Its base URL."""
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        """Stop it."""
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


async def burst(
    client: httpx.AsyncClient,
    base: str,
    platforms: harness.Platforms,
    chats: list[int],
    users: list[str],
    text: str,
) -> tuple[list[float], list[float]]:
    """Every chat writes `text` at once, on Telegram then on Slack; first-reply latencies."""
    stamps = platforms.stamps
    out: tuple[list[float], list[float]] = ([], [])
    stamps.clear()
    bodies = [harness.telegram_message(chat, text) for chat in chats]
    starts = await asyncio.gather(
        *(
            harness.post(client, f"{base}/telegram/webhook", b, harness.TELEGRAM_HEADERS)
            for b in bodies
        )
    )
    keys = [f"tg-send:{chat}" for chat in chats]
    await harness.wait_until(lambda: all(k in stamps.first for k in keys), limit=WAIT_LIMIT)
    out[0].extend(
        (stamps.first[k] - s) * 1000
        for k, (s, _e) in zip(keys, starts, strict=True)
        if k in stamps.first
    )
    stamps.clear()
    slack_text = text.lstrip("/")
    requests = [harness.slack_dm(user, slack_text) for user in users]
    starts = await asyncio.gather(
        *(harness.post(client, f"{base}/slack/events", b, h) for b, h in requests)
    )
    keys = [f"sl-send:D{user[1:]}" for user in users]
    await harness.wait_until(lambda: all(k in stamps.first for k in keys), limit=WAIT_LIMIT)
    out[1].extend(
        (stamps.first[k] - s) * 1000
        for k, (s, _e) in zip(keys, starts, strict=True)
        if k in stamps.first
    )
    return out


async def run(
    chats: int, rounds: int
) -> tuple[dict[str, dict[str, list[float]]], dict[str, float]]:
    """Play the bursts; latencies by platform, then by bot ("bare", "ours"); and each bot's CPU
    seconds during its measured bursts (ours: `/new` only)."""
    figures: dict[str, dict[str, list[float]]] = {
        "Telegram": {"bare": [], "ours": []},
        "Slack": {"bare": [], "ours": []},
    }
    cpu = {"bare": 0.0, "ours": 0.0}
    with tempfile.TemporaryDirectory(prefix="bench-floor-") as tmp:
        work = Path(tmp)
        world = harness.prepare(f"sqlite:///{work / 'bench.db'}", telegram=chats, slack=chats)
        platforms = harness.Platforms()
        serve = harness.Serve(
            url=world.url,
            platforms=platforms,
            workdir=work,
            extra={"SUPPORTBOT_TELEGRAM_MESSAGES_PER_SECOND": "1000"},
        )
        echo: Echo | None = None
        limits = harness.client_limits(4 * chats)
        try:
            serve.start()
            echo = Echo(platforms, work)
            async with httpx.AsyncClient(timeout=WAIT_LIMIT, limits=limits) as client:
                for round_ in range(rounds + 1):  # the first round warms up
                    before = harness.process_cpu_seconds(echo.process.pid)
                    bare = await burst(
                        client, echo.base, platforms, world.telegram, world.slack, "/new"
                    )
                    bare_cpu = harness.process_cpu_seconds(echo.process.pid) - before
                    before = serve.cpu_seconds()
                    ours = await burst(
                        client, serve.base, platforms, world.telegram, world.slack, "/new"
                    )
                    ours_cpu = serve.cpu_seconds() - before
                    await burst(
                        client, serve.base, platforms, world.telegram, world.slack, "/cancel"
                    )
                    if round_:
                        cpu["bare"] += bare_cpu
                        cpu["ours"] += ours_cpu
                        for index, name in enumerate(("Telegram", "Slack")):
                            figures[name]["bare"].extend(bare[index])
                            figures[name]["ours"].extend(ours[index])
        except Exception:
            print(serve.log_tail(), file=sys.stderr)
            raise
        finally:
            if echo is not None:
                echo.stop()
            serve.stop()
            platforms.stop()
    return figures, cpu


def main() -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--chats", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"floor: {args.chats} chats at once, {args.rounds} rounds, {harness.load()}")
    figures, cpu = asyncio.run(run(args.chats, args.rounds))
    expected = args.chats * args.rounds
    events = 2 * expected  # a Telegram and a Slack burst each round
    ours_ms, bare_ms = cpu["ours"] * 1000 / events, cpu["bare"] * 1000 / events
    print(
        f"floor: CPU per event (the whole process): ours {ours_ms:.1f} ms, bare echo "
        f"{bare_ms:.1f} ms ({ours_ms / bare_ms if bare_ms else 0:.1f}x)"
    )
    for name, bots in figures.items():
        bare, ours = bots["bare"], bots["ours"]
        if not bare or not ours:
            print(f"floor: {name}: no sample: NOT met")
            continue
        bare99, ours99 = harness.percentile(bare, 0.99), harness.percentile(ours, 0.99)
        ratio = ours99 / bare99 if bare99 else float("inf")
        complete = len(ours) == expected  # the bare bot's losses are its own
        print(
            f"floor: {name} first reply p99: ours {ours99:.0f} ms (p50 "
            f"{harness.percentile(ours, 0.5):.0f}), bare echo {bare99:.0f} ms (p50 "
            f"{harness.percentile(bare, 0.5):.0f}), n={len(ours)}/{len(bare)}/{expected}: "
            f"{ratio:.1f}x (goal <= {GOAL}x): {harness.verdict(ratio <= GOAL and complete)}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
