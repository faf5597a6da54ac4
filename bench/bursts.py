"""Benchmark: bursts of Telegram chats typing at the same instant, through the webhook.

``--chats`` requesters (50 by default) each post an update to the webhook at the same
instant (`/new`), then each clicks the first button of the question they got, again all at
once; ``--rounds`` times (each round ends with `/cancel`). The Bot API is answered in process
(the recording request of ``bench/telegram.py``, which notes the instant of every call).

Measured per chat: the first reply (POST sent → its first sendMessage) and the callback
answer (POST sent → its answerCallbackQuery). Goals: first-reply p99 <= 500 ms, callback
answered p99 <= 300 ms.

Run: ``python bench/bursts.py [--chats N] [--rounds N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

import httpx  # noqa: E402
from fastapi import FastAPI  # noqa: E402

from bot.channels.telegram.channel import TelegramChannel, build_application  # noqa: E402
from bot.channels.telegram.plugin import SECRET_HEADER, WEBHOOK_PATH, add_webhook  # noqa: E402
from bot.channels.telegram.ratelimit import Unlimited  # noqa: E402
from bot.channels.telegram.store import TelegramStore  # noqa: E402
from bot.db.engine import make_engine  # noqa: E402
from bot.settings import Settings  # noqa: E402
from handlers.core import entry  # noqa: E402

_spec = importlib.util.spec_from_file_location("bench_telegram", HERE / "telegram.py")
assert _spec is not None
assert _spec.loader is not None
bench_telegram = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_telegram)

FIRST_REPLY_GOAL_MS = 500.0
CALLBACK_GOAL_MS = 300.0


class StampingRequest(bench_telegram.RecordingRequest):  # type: ignore[misc,name-defined]
    """The in-process Bot API, noting when each chat got a message and each click an answer."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: dict[int, float] = {}
        self.answered: dict[str, float] = {}

    async def do_request(
        self, url: str, method: str, request_data: Any = None, *a: Any, **k: Any
    ) -> Any:
        """Answer, and stamp sendMessage per chat and answerCallbackQuery per query."""
        status, body = await super().do_request(url, method, request_data, *a, **k)
        name = url.rsplit("/", 1)[-1]
        params = request_data.json_parameters if request_data else {}
        now = time.perf_counter()
        if name == "sendMessage":
            self.sent.setdefault(int(params["chat_id"]), now)
        elif name == "answerCallbackQuery":
            self.answered.setdefault(str(params["callback_query_id"]), now)
        return status, body


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def _wait(done: Any, expected: int, limit: float = 60.0) -> None:
    deadline = time.perf_counter() + limit
    while len(done) < expected and time.perf_counter() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.002)


async def run(chats: int, rounds: int) -> tuple[list[float], list[float]]:
    """Play the bursts; the first-reply and callback latencies in ms."""
    first: list[float] = []
    clicks: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        url = bench_telegram.prepare_database(Path(tmp), chats)
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            database_url=url,
            telegram_token=bench_telegram.TOKEN,
            telegram_webhook_secret=bench_telegram.SECRET,
            telegram_base_url="http://x.invalid/bot",
        )
        recorder = StampingRequest()
        engine = make_engine(url)
        application = build_application(settings=settings, request=recorder)
        channel = TelegramChannel(
            settings=settings,
            store=TelegramStore(engine, payload_max_chars=settings.inbound_payload_max_chars),
            core=entry(engine=engine, settings=settings),
            application=application,
            limiter=Unlimited(),
        )
        app = FastAPI()
        add_webhook(app, channel, bench_telegram.SECRET)
        ids = iter(range(1, 10**9))
        users = [bench_telegram.FIRST_USER + i for i in range(chats)]
        headers = {SECRET_HEADER: bench_telegram.SECRET}
        transport = httpx.ASGITransport(app=app)
        async with (
            channel.running(),
            httpx.AsyncClient(transport=transport, base_url="http://bench") as client,
        ):

            def message(user: int, text: str) -> bytes:
                who = {"id": user, "is_bot": False, "first_name": "Bench", "language_code": "fr"}
                update = {
                    "update_id": next(ids),
                    "message": {
                        "message_id": 1,
                        "date": int(time.time()),
                        "chat": {"id": user, "type": "private", "first_name": "Bench"},
                        "from": who,
                        "text": text,
                    },
                }
                return json.dumps(update).encode()

            def click(user: int, query: str) -> bytes:
                last = recorder.message(user)
                data = last["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
                who = {"id": user, "is_bot": False, "first_name": "Bench", "language_code": "fr"}
                update = {
                    "update_id": next(ids),
                    "callback_query": {
                        "id": query,
                        "from": who,
                        "chat_instance": "ci",
                        "message": last,
                        "data": data,
                    },
                }
                return json.dumps(update).encode()

            async def post(body: bytes) -> float:
                started = time.perf_counter()
                response = await client.post(WEBHOOK_PATH, content=body, headers=headers)
                assert response.status_code == 200, response.text
                return started

            for round_ in range(rounds + 1):  # the first round warms up
                recorder.sent.clear()
                bodies = [message(user, "/new") for user in users]
                starts = await asyncio.gather(*(post(body) for body in bodies))
                await _wait(recorder.sent, chats)
                if round_:
                    first.extend(
                        (recorder.sent[u] - s) * 1000
                        for u, s in zip(users, starts, strict=True)
                        if u in recorder.sent
                    )
                await asyncio.sleep(0.2)  # the questions' edits settle
                queries = [f"q{round_}-{user}" for user in users]
                bodies = [click(user, q) for user, q in zip(users, queries, strict=True)]
                starts = await asyncio.gather(*(post(body) for body in bodies))
                await _wait(recorder.answered, len(recorder.answered) + chats)
                if round_:
                    clicks.extend(
                        (recorder.answered[q] - s) * 1000
                        for q, s in zip(queries, starts, strict=True)
                        if q in recorder.answered
                    )
                await asyncio.sleep(0.2)
                await asyncio.gather(*(post(message(user, "/cancel")) for user in users))
                await asyncio.sleep(0.5)
        engine.dispose()
    missing = rounds * chats - len(first)
    if missing:
        print(f"  {missing} chat(s) got no first reply within 60 s")
    return first, clicks


def main() -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    first, clicks = asyncio.run(run(args.chats, args.rounds))
    print(f"Telegram bursts: {args.chats} chats at once, {args.rounds} rounds")
    for name, values, goal in (
        ("first reply", first, FIRST_REPLY_GOAL_MS),
        ("callback answered", clicks, CALLBACK_GOAL_MS),
    ):
        if not values:
            print(f"bursts: Telegram {name}: no sample: NOT met")
            continue
        p50, p99 = _p(values, 0.5), _p(values, 0.99)
        met = p99 <= goal and len(values) == args.rounds * args.chats
        print(
            f"bursts: Telegram {name} p50 {p50:.0f} ms, p99 {p99:.0f} ms, n={len(values)} "
            f"(goal p99 <= {goal:.0f} ms): {'met' if met else 'NOT met'}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
