"""Benchmark: one Telegram webhook update handled end to end, without Telegram's network.

Each sample is one POST to the webhook (secret check, parse, store in `inbound_updates`,
queue) followed by its handling (the core's transaction in a worker thread, rendering, the
Bot API calls: sendMessage, answerCallbackQuery, editMessageText…), on a migrated SQLite
database with the demo data. The Bot API is answered in process by a recording request
(`--loopback` runs the tests' fake Bot API server in another process on 127.0.0.1 and talks
HTTP to it, so its own CPU time is not counted against the adapter's). The updates
mix commands (/help, /tickets, /new) and the clicks and typed answers of guided intakes, from
several requesters in turn; one intake in ten opens its ticket, the others cancel it.

Prints p50, p95, p99 and max latencies over the measured updates, and the share spent in the
core. Run: ``python bench/telegram.py [--updates N] [--requesters K] [--loopback] [--profile]``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import itertools
import json
import multiprocessing
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

# This file is named like the `telegram` package: keep its folder off the import path.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

import httpx  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from sqlmodel import select  # noqa: E402
from telegram.request import BaseRequest, HTTPXRequest, RequestData  # noqa: E402

from bot.channels.telegram.channel import TelegramChannel, build_application  # noqa: E402
from bot.channels.telegram.plugin import SECRET_HEADER, WEBHOOK_PATH, add_webhook  # noqa: E402
from bot.channels.telegram.ratelimit import Unlimited  # noqa: E402
from bot.channels.telegram.store import TelegramStore  # noqa: E402
from bot.db.engine import make_engine, transaction  # noqa: E402
from bot.db.migrate import upgrade  # noqa: E402
from bot.db.models import Role, Tenant  # noqa: E402
from bot.services import demo, users  # noqa: E402
from bot.services.demo import DEMO_TENANT  # noqa: E402
from bot.settings import Settings  # noqa: E402
from handlers.core import entry  # noqa: E402
from tests.telegram.fake_api import FakeBotApi, FakeState, _answer, _decode  # noqa: E402

SECRET = "bench-secret"
TOKEN = "123:BENCH"
FIRST_USER = 900_000


class RecordingRequest(BaseRequest):
    """Answers Bot API calls in process, as the fake server would (no sockets)."""

    def __init__(self) -> None:
        self.state = FakeState()
        self.messages: dict[int, dict[str, Any]] = {}

    @property
    def read_timeout(self) -> float | None:
        """No network, no timeout."""
        return None

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        """One Bot API call, answered from memory."""
        body = urlencode(request_data.json_parameters) if request_data else ""
        params = _decode(body, "application/x-www-form-urlencoded")
        name = url.rsplit("/", 1)[-1]
        status, answer = _answer(self.state, name, params)
        if name == "sendMessage" and status == 200:
            self.messages[answer["result"]["chat"]["id"]] = answer["result"]
        return status, json.dumps(answer).encode()

    def message(self, chat_id: int) -> dict[str, Any]:
        """The newest message sent to a chat."""
        return self.messages[chat_id]


class TapRequest(HTTPXRequest):
    """The real HTTP request class, keeping the newest message sent to each chat."""

    def __init__(self) -> None:
        super().__init__(connection_pool_size=16)
        self.messages: dict[int, dict[str, Any]] = {}

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        """Call the server; note what sendMessage returned."""
        status, body = await super().do_request(
            url, method, request_data, read_timeout, write_timeout, connect_timeout, pool_timeout
        )
        if status == 200 and url.endswith("/sendMessage"):
            message = json.loads(body)["result"]
            self.messages[message["chat"]["id"]] = message
        return status, body

    def message(self, chat_id: int) -> dict[str, Any]:
        """The newest message sent to a chat."""
        return self.messages[chat_id]


def _serve(urls: Any) -> None:
    server = FakeBotApi().start()
    urls.put(server.base_url)
    server.thread.join()


def start_fake_server() -> tuple[str, Any]:
    """The fake Bot API in a child process: its base URL and the process."""
    context = multiprocessing.get_context("spawn")
    urls = context.Queue()
    process = context.Process(target=_serve, args=(urls,), daemon=True)
    process.start()
    return str(urls.get(timeout=30)), process


def prepare_database(directory: Path, requesters: int) -> str:
    """A migrated SQLite file with the demo data and `requesters` Telegram requesters."""
    url = f"sqlite:///{directory / 'bench.db'}"
    upgrade(url=url)
    engine = make_engine(url)
    now = datetime.now(UTC)
    with transaction(engine) as session:
        demo.seed(session=session, now=now)
        tenant = session.exec(select(Tenant).where(Tenant.slug == DEMO_TENANT)).one()
        for index in range(requesters):
            user = users.add_user(
                session=session,
                handle=f"bench-{index}",
                display_name=f"Bench {index}",
                role=Role.REQUESTER,
                tenant_id=tenant.id,
            )
            users.link_identity(
                session=session,
                user=user,
                channel="telegram",
                external_id=str(FIRST_USER + index),
                platform_locale=("fr", "nl", "en")[index % 3],
            )
    engine.dispose()
    return url


class Script:
    """Plays intakes for one requester: yields the next update given the bot's last message."""

    def __init__(self, user_id: int, lang: str, round_robin: Iterator[int]) -> None:
        self.user = {"id": user_id, "is_bot": False, "first_name": "Bench", "language_code": lang}
        self.round = round_robin
        self.steps = self._steps()

    def _message(self, text: str) -> dict[str, Any]:
        return {
            "message_id": 1,
            "date": int(time.time()),
            "chat": {"id": self.user["id"], "type": "private", "first_name": "Bench"},
            "from": self.user,
            "text": text,
        }

    def _click(self, message: dict[str, Any], data: str) -> dict[str, Any]:
        return {
            "id": "cb",
            "from": self.user,
            "chat_instance": "ci",
            "message": message,
            "data": data,
        }

    def _steps(self) -> Iterator[Callable[[dict[str, Any] | None], dict[str, Any]]]:
        while True:
            opening = next(self.round) % 10 == 0
            yield lambda _last: {"message": self._message("/help")}
            yield lambda _last: {"message": self._message("/tickets")}
            yield lambda _last: {"message": self._message("/new")}
            planned = ["1", "dedicated-servers", "dedicated-server-down-not-hardware", "express"]
            typed = ["web01.example.be", "web01 answers no ping since 17:00"]
            for _ in range(9):
                yield lambda last, p=planned, t=typed, o=opening: self._answer(last, p, t, o)

    def _answer(
        self, last: dict[str, Any] | None, planned: list[str], typed: list[str], opening: bool
    ) -> dict[str, Any]:
        assert last is not None
        datas = [
            button["callback_data"]
            for row in last.get("reply_markup", {}).get("inline_keyboard", [])
            for button in row
        ]

        def find(value: str) -> str | None:
            return next((d for d in datas if d.endswith(":" + value)), None)

        if planned and find(planned[0]):
            return {"callback_query": self._click(last, find(planned.pop(0)) or "")}
        if find("~open"):
            choice = "~open" if opening else "~cancel"
            return {"callback_query": self._click(last, find(choice) or "")}
        if find("30"):
            return {"callback_query": self._click(last, find("30") or "")}
        if typed:
            return {"message": self._message(typed.pop(0))}
        return {"message": self._message("/cancel")}


async def run(args: argparse.Namespace) -> None:
    """Prepare, warm up, measure, print."""
    with tempfile.TemporaryDirectory() as tmp:
        url = prepare_database(Path(tmp), args.requesters)
        base_url, server = start_fake_server() if args.loopback else ("http://x.invalid/bot", None)
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            database_url=url,
            telegram_token=TOKEN,
            telegram_webhook_secret=SECRET,
            telegram_base_url=base_url,
        )
        recorder: RecordingRequest | TapRequest = TapRequest() if server else RecordingRequest()
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
        add_webhook(app, channel, SECRET)
        core_seconds: list[float] = []
        core = channel.core

        core_profiler = cProfile.Profile() if args.profile_core else None

        class TimedCore:
            """The channel's core, timing each event it handles."""

            def __call__(self, event: Any) -> Any:
                start = time.perf_counter()
                if core_profiler is not None:
                    core_profiler.enable()
                try:
                    return core(event)
                finally:
                    if core_profiler is not None:
                        core_profiler.disable()
                    core_seconds.append(time.perf_counter() - start)

            def __getattr__(self, name: str) -> Any:
                return getattr(core, name)

        channel.core = TimedCore()  # type: ignore[assignment]
        ids = itertools.count(1)
        rounds = itertools.count()
        scripts = [
            Script(FIRST_USER + i, ("fr", "nl", "en")[i % 3], rounds)
            for i in range(args.requesters)
        ]
        last: dict[int, dict[str, Any] | None] = {s.user["id"]: None for s in scripts}

        transport = httpx.ASGITransport(app=app)
        latencies: list[float] = []
        by_kind: dict[str, list[float]] = {}
        profiler = cProfile.Profile() if args.profile else None
        async with (
            channel.running(),
            httpx.AsyncClient(transport=transport, base_url="http://bench") as client,
        ):
            total = args.warmup + args.updates
            for index in range(total):
                script = scripts[index % len(scripts)]
                update = next(script.steps)(last[script.user["id"]])
                update["update_id"] = next(ids)
                body = json.dumps(update).encode()
                if index == args.warmup:
                    core_seconds.clear()
                    if profiler is not None:
                        profiler.enable()
                start = time.perf_counter()
                response = await client.post(
                    WEBHOOK_PATH, content=body, headers={SECRET_HEADER: SECRET}
                )
                await channel.drain()
                elapsed = time.perf_counter() - start
                assert response.status_code == 200, response.text
                last[script.user["id"]] = recorder.message(script.user["id"])
                if index >= args.warmup:
                    latencies.append(elapsed)
                    kind = "click" if "callback_query" in update else "text"
                    if kind == "text" and update["message"]["text"].startswith("/"):
                        kind = update["message"]["text"].split()[0]
                    by_kind.setdefault(kind, []).append(elapsed)
            if profiler is not None:
                profiler.disable()
        engine.dispose()
        if server is not None:
            server.terminate()
        report(latencies, core_seconds, loopback=args.loopback)
        for kind, samples in sorted(by_kind.items()):
            ms = sorted(x * 1000 for x in samples)
            print(
                f"    {kind:10} n={len(ms):4}  p50 {statistics.median(ms):6.2f} ms  "
                f"max {ms[-1]:6.2f} ms  p95 {ms[int(0.95 * (len(ms) - 1))]:6.2f} ms"
            )
        for found in (profiler, core_profiler):
            if found is not None:
                pstats.Stats(found).sort_stats("cumulative").print_stats(args.profile_lines)


def report(latencies: list[float], core: list[float], *, loopback: bool) -> None:
    """Print the percentiles."""
    ms = sorted(x * 1000 for x in latencies)
    cuts = statistics.quantiles(ms, n=100, method="inclusive")
    core_ms = sum(core) * 1000
    api = "loopback fake server" if loopback else "in-process Bot API"
    print(f"Telegram webhook update, end to end ({api})")
    print(f"  updates measured : {len(ms)}")
    print(
        f"  p50 {cuts[49]:6.2f} ms   p95 {cuts[94]:6.2f} ms   p99 {cuts[98]:6.2f} ms   "
        f"max {ms[-1]:6.2f} ms   mean {statistics.fmean(ms):6.2f} ms"
    )
    print(
        f"  core (handlers.core.process): {core_ms / len(ms):.2f} ms per update, "
        f"{100 * core_ms / sum(ms):.0f}% of the total"
    )
    print(f"  goal p99 <= 25 ms: {'met' if cuts[98] <= 25 else 'NOT met'}")


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=1200, help="measured updates")
    parser.add_argument("--warmup", type=int, default=60, help="updates before measuring")
    parser.add_argument("--requesters", type=int, default=12, help="requesters taking turns")
    parser.add_argument("--loopback", action="store_true", help="fake Bot API on 127.0.0.1")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the run")
    parser.add_argument(
        "--profile-core", action="store_true", help="print a cProfile of the core's calls"
    )
    parser.add_argument("--profile-lines", type=int, default=40)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
