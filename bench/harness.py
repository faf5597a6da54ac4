"""What the burst, floor and scale-out benchmarks share: fake platforms that note when each
call arrived (and may answer after a fixed latency), `supportbot serve` as a real process, a
seeded database, and the updates and signed Slack requests real users would send.

The fakes are the tests' own (`tests/telegram/fake_api.py`, `tests/slack/fake_slack.py`),
each in a thread of the benchmark's process.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from slack_sdk.signature import SignatureVerifier  # noqa: E402
from sqlmodel import select  # noqa: E402

from tests.slack.fake_slack import TEAM, FakeSlack  # noqa: E402
from tests.telegram import fake_api  # noqa: E402

TELEGRAM_TOKEN = "123:BENCH"
TELEGRAM_SECRET = "bench-webhook-secret-0123456789"
SLACK_TOKEN = "xoxb-bench"
SLACK_SECRET = "bench-signing-secret"
FIRST_TELEGRAM = 900_000
AGENT_TELEGRAM = 800_000
SUPPORTBOT = Path(sys.executable).with_name("supportbot")


def percentile(values: list[float], q: float) -> float:
    """The `q` quantile (nearest rank) of `values`."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def verdict(met: bool) -> str:
    """How a goal reads."""
    return "met" if met else "NOT met"


def free_port() -> int:
    """A free loopback port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def load() -> str:
    """The machine's load average (1, 5, 15 min) and core count, for the printed figures."""
    one, five, fifteen = os.getloadavg()
    return f"load {one:.1f} {five:.1f} {fifteen:.1f} on {os.cpu_count()} cores"


# ---------------------------------------------------------------------- fake platforms


class Stamps:
    """When each platform call of interest first arrived, by key (thread-safe)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.first: dict[str, float] = {}
        self.counts: dict[str, int] = defaultdict(int)

    def note(self, key: str) -> None:
        """A call for `key` arrived now."""
        now = time.perf_counter()
        with self.lock:
            self.first.setdefault(key, now)
            self.counts[key] += 1

    def count(self, key: str) -> int:
        """Calls noted for `key`."""
        with self.lock:
            return self.counts.get(key, 0)

    def clear(self) -> None:
        """Forget the first instants (the counts stay)."""
        with self.lock:
            self.first.clear()


_telegram_hooks: dict[int, tuple[Stamps, float]] = {}
_original_answer = fake_api._answer


def _stamped_answer(state: Any, method: str, params: dict[str, Any]) -> tuple[int, Any]:
    hook = _telegram_hooks.get(id(state))
    if hook is not None:
        stamps, latency = hook
        if method == "sendMessage":
            stamps.note(f"tg-send:{params.get('chat_id')}")
        elif method == "answerCallbackQuery":
            stamps.note(f"tg-answer:{params.get('callback_query_id')}")
        if latency:
            time.sleep(latency)
    return _original_answer(state, method, params)


fake_api._answer = _stamped_answer  # the fake's handler looks the function up per call


class _Backlogged(fake_api.ThreadingHTTPServer):
    """The fake Bot API's server with a listen backlog for bursts (the standard library's 5
    drops the 6th simultaneous connection's SYN: a 1 s retransmit, not the bot's time)."""

    request_queue_size = 1024


fake_api.ThreadingHTTPServer = _Backlogged  # type: ignore[misc]


class StampingSlack(FakeSlack):
    """The fake Slack Web API, noting each chat.postMessage per channel, after a latency."""

    def __init__(self, stamps: Stamps, latency: float) -> None:
        super().__init__(token=SLACK_TOKEN)
        self.stamps = stamps
        self.latency = latency

    async def _api(self, request: Any) -> Any:
        method = request.match_info["method"]
        if method == "chat.postMessage":
            args = await self._args(request)
            channel = self._channel(str(args.get("channel", "")))
            self.stamps.note(f"sl-send:{channel}")
        if self.latency:
            await asyncio.sleep(self.latency)
        return await super()._api(request)


class Platforms:
    """The fake Bot API and the fake Slack Web API, answering after `latency` seconds."""

    def __init__(self, *, latency: float = 0.0) -> None:
        self.stamps = Stamps()
        self.latency = latency
        self.telegram = fake_api.FakeBotApi()
        _telegram_hooks[id(self.telegram.state)] = (self.stamps, latency)
        self.telegram.start()
        self.slack = StampingSlack(self.stamps, latency)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.slack.start(), self._loop).result(timeout=30)

    def env(self) -> dict[str, str]:
        """Settings pointing both channels at the fakes."""
        return {
            "SUPPORTBOT_TELEGRAM_TOKEN": TELEGRAM_TOKEN,
            "SUPPORTBOT_TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
            "SUPPORTBOT_TELEGRAM_BASE_URL": self.telegram.base_url,
            "SUPPORTBOT_SLACK_BOT_TOKEN": SLACK_TOKEN,
            "SUPPORTBOT_SLACK_SIGNING_SECRET": SLACK_SECRET,
            "SUPPORTBOT_SLACK_API_URL": self.slack.base_url,
        }

    def telegram_last(self, chat_id: int) -> dict[str, Any] | None:
        """The newest bot message with buttons in a Telegram chat."""
        with_buttons = [m for m in self.telegram.sent(chat_id) if m.get("reply_markup")]
        return with_buttons[-1] if with_buttons else None

    def slack_last(self, user: str) -> dict[str, Any] | None:
        """The newest bot message with buttons in a Slack user's DM."""
        channel = "D" + user[1:]
        for (where, _ts), message in reversed(list(self.slack.messages.items())):
            if where == channel and any(b.get("type") == "actions" for b in message["blocks"]):
                return message
        return None

    def stop(self) -> None:
        """Stop both."""
        asyncio.run_coroutine_threadsafe(self.slack.stop(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._loop.close()
        self.telegram.stop()
        _telegram_hooks.pop(id(self.telegram.state), None)


# ---------------------------------------------------------------------- the database


@dataclass
class World:
    """The seeded database: requesters on both platforms, an agent, open tickets."""

    url: str
    telegram: list[int]
    slack: list[str]
    tickets: list[str] = field(default_factory=list)


def prepare(
    url: str,
    *,
    telegram: int,
    slack: int,
    tickets: int = 0,
    agents: int = 1,
    one_requester: bool = False,
) -> World:
    """Migrate and seed: `telegram` + `slack` requesters of the demo customer (one user each,
    or all the demo requester's own accounts with `one_requester`), `agents` Telegram chats of
    the demo agent, and `tickets` open tickets of the demo requester."""
    from bot.channels import builtin
    from bot.db.engine import make_engine, transaction
    from bot.db.migrate import upgrade
    from bot.db.models import Contract, Role
    from bot.services import demo, tenants, users, workspaces
    from bot.services import tickets as ticket_service

    builtin.install()  # as the command line does: opening tickets routes notifications
    upgrade(url=url)
    engine = make_engine(url)
    world = World(
        url=url,
        telegram=[FIRST_TELEGRAM + i for i in range(telegram)],
        slack=[f"UBENCH{i:04d}" for i in range(slack)],
    )
    now = datetime.now(UTC)
    try:
        with transaction(engine) as session:
            demo.seed(session=session, now=now)
            tenant = tenants.get_tenant(session=session, slug=demo.DEMO_TENANT)
            workspaces.map_workspace(
                session=session,
                channel="slack",
                external_id=TEAM,
                tenant=tenant,
                provider_code=None,
            )
            people = [("telegram", str(i)) for i in world.telegram]
            people += [("slack", u) for u in world.slack]
            requester = users.get_user_by_handle(session=session, handle="demo-requester")
            assert requester is not None
            for index, (channel, external) in enumerate(people):
                user = requester
                if not one_requester:
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
                    channel=channel,
                    external_id=external,
                    platform_locale=("fr", "nl", "en")[index % 3],
                )
            agent = users.get_user_by_handle(session=session, handle="demo-agent")
            assert agent is not None
            for index in range(agents):
                users.link_identity(
                    session=session,
                    user=agent,
                    channel="telegram",
                    external_id=str(AGENT_TELEGRAM + index),
                )
            contract = session.exec(
                select(Contract).where(
                    Contract.pack_id == "telenet-hosting-cloud",
                    Contract.active == True,  # noqa: E712
                )
            ).one()
            actor = ticket_service.actor_for(session=session, user=requester)
            for n in range(tickets):
                ticket = ticket_service.open_ticket(
                    session=session,
                    actor=actor,
                    contract=contract,
                    intervention_id="dedicated-server-down-hardware",  # free: no credits held
                    kind="incident",
                    priority="express",
                    description=f"bench {n}",
                    now=now,
                )
                world.tickets.append(ticket.reference)
    finally:
        engine.dispose()
    return world


# ---------------------------------------------------------------------- serve processes


@dataclass
class Serve:
    """One `supportbot serve` process."""

    url: str
    platforms: Platforms
    workdir: Path
    extra: dict[str, str] = field(default_factory=dict)
    args: list[str] = field(default_factory=list)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    #: Save a CPU profile of every thread here on exit (yappi; `bench/profile_serve.py`).
    profile: Path | None = None

    def start(self) -> Serve:
        """Start it and wait for its probe."""
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("SUPPORTBOT_")},
            **self.platforms.env(),
            "SUPPORTBOT_DATABASE_URL": self.url,
            "SUPPORTBOT_HOST": "127.0.0.1",
            "SUPPORTBOT_PORT": str(self.port),
            "SUPPORTBOT_LOG_LEVEL": "WARNING",
            "SUPPORTBOT_DEFAULT_LOCALE": "fr",
            **self.extra,
        }
        self.workdir.mkdir(parents=True, exist_ok=True)
        with (self.workdir / f"serve-{self.port}.log").open("ab") as out:
            self.process = subprocess.Popen(
                self._command(),
                env=env,
                cwd=self.workdir,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"serve exited: {self.log_tail()}")
            try:
                if httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    self.settle()
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"serve did not answer its probe: {self.log_tail()}")

    def settle(self, *, limit: float = 300.0) -> float:
        """Wait until the process's start-up work (its worker sending a report that is due,
        say) is done: it uses under a tenth of a core over half a second. The seconds waited."""
        assert self.process is not None
        started = time.monotonic()
        while time.monotonic() - started < limit:
            before = self.cpu_seconds()
            time.sleep(0.5)
            if self.cpu_seconds() - before < 0.05:
                break
        return time.monotonic() - started

    def _command(self) -> list[str]:
        if self.profile is None:
            return [str(SUPPORTBOT), "serve", *self.args]
        runner = str(HERE / "profile_serve.py")
        return [sys.executable, runner, str(self.profile), "serve", *self.args]

    @property
    def base(self) -> str:
        """Its base URL."""
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self) -> str:
        """The end of its log."""
        path = self.workdir / f"serve-{self.port}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def errors(self) -> int:
        """Lines of its log at ERROR or worse (tracebacks counted once)."""
        path = self.workdir / f"serve-{self.port}.log"
        if not path.exists():
            return 0
        text = path.read_text(errors="replace")
        return sum(1 for line in text.splitlines() if " ERROR " in line or "CRITICAL" in line)

    def cpu_seconds(self) -> float:
        """CPU time (user and system, every thread) the process has used so far."""
        if self.process is None or self.process.poll() is not None:
            return 0.0
        return process_cpu_seconds(self.process.pid)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it lingers."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def process_cpu_seconds(pid: int) -> float:
    """CPU time (user and system, every thread) process `pid` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds every core of the machine has spent busy (not idle, not waiting on I/O)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------------- what users send

# Telegram numbers a bot's updates one by one (the inbox relies on it); message ids are apart.
_update_ids = itertools.count(1)
_message_ids = itertools.count(1)


def telegram_message(user: int, text: str, *, chat: int | None = None) -> bytes:
    """A webhook update: `user` writes `text` in their private chat (or `chat`)."""
    who = {"id": user, "is_bot": False, "first_name": "Bench", "language_code": "fr"}
    where = chat if chat is not None else user
    update = {
        "update_id": next(_update_ids),
        "message": {
            "message_id": next(_message_ids),
            "date": int(time.time()),
            "chat": fake_api.chat_of(where),
            "from": who,
            "text": text,
        },
    }
    return json.dumps(update).encode()


def telegram_click(user: int, query: str, message: dict[str, Any]) -> bytes:
    """A webhook update: `user` clicks the first button of `message`."""
    data = message["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    who = {"id": user, "is_bot": False, "first_name": "Bench", "language_code": "fr"}
    update = {
        "update_id": next(_update_ids),
        "callback_query": {
            "id": query,
            "from": who,
            "chat_instance": "ci",
            "message": message,
            "data": data,
        },
    }
    return json.dumps(update).encode()


TELEGRAM_HEADERS = {
    "Content-Type": "application/json",
    "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET,
}


def slack_signed(body: str, content_type: str) -> dict[str, str]:
    """Headers of a request Slack signed."""
    ts = str(int(time.time()))
    signature = SignatureVerifier(SLACK_SECRET).generate_signature(timestamp=ts, body=body)
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature,
    }


_slack_serial = itertools.count(1)


def slack_dm(user: str, text: str) -> tuple[str, dict[str, str]]:
    """A signed `message` event: `user` writes `text` in the app's DM."""
    body = json.dumps(
        {
            "token": "verification",
            "team_id": TEAM,
            "api_app_id": "A0000001",
            "type": "event_callback",
            "event_id": f"EvB{next(_slack_serial):09d}",
            "event_time": int(time.time()),
            "event": {
                "type": "message",
                "user": user,
                "channel": "D" + user[1:],
                "channel_type": "im",
                "text": text,
                "ts": f"{time.time():.6f}",
                "team": TEAM,
            },
        }
    )
    return body, slack_signed(body, "application/json")


def slack_command(user: str, text: str, command: str = "/support") -> tuple[str, dict[str, str]]:
    """A signed slash command."""
    body = urlencode(
        {
            "team_id": TEAM,
            "channel_id": "D" + user[1:],
            "user_id": user,
            "command": command,
            "text": text,
            "trigger_id": f"tb{next(_slack_serial)}",
            "response_url": "http://127.0.0.1:9/unused",
        }
    )
    return body, slack_signed(body, "application/x-www-form-urlencoded")


def slack_click(user: str, message: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """A signed block_actions interaction: `user` picks the first option of `message`."""
    element: dict[str, Any] | None = None
    for block in message["blocks"]:
        if block["type"] == "actions":
            element = block["elements"][0]
            break
    assert element is not None
    action: dict[str, Any] = {"action_id": element["action_id"], "type": element["type"]}
    if element["type"] == "static_select":
        action["selected_option"] = element["options"][0]
    else:
        action.update(value=element["value"], text=element["text"])
    payload = {
        "type": "block_actions",
        "user": {"id": user, "team_id": TEAM},
        "team": {"id": TEAM},
        "container": {
            "type": "message",
            "message_ts": message["ts"],
            "channel_id": "D" + user[1:],
        },
        "channel": {"id": "D" + user[1:]},
        "trigger_id": f"tb{next(_slack_serial)}",
        "message": message,
        "response_url": "http://127.0.0.1:9/unused",
        "actions": [action],
    }
    body = urlencode({"payload": json.dumps(payload)})
    return body, slack_signed(body, "application/x-www-form-urlencoded")


def client_limits(connections: int) -> httpx.Limits:
    """Connection limits of a load generator; idle connections are dropped before the servers
    drop them (uvicorn after 5 s), so a burst never writes to a closed one."""
    return httpx.Limits(
        max_connections=connections, max_keepalive_connections=connections, keepalive_expiry=2.0
    )


async def post(
    client: httpx.AsyncClient, url: str, body: bytes | str, headers: dict[str, str]
) -> tuple[float, float]:
    """POST until answered 200 (again on a broken connection: the platforms re-deliver the
    same update or event); when the first try was sent, and when the answer came."""
    started = time.perf_counter()
    for attempt in range(3):
        try:
            response = await client.post(url, content=body, headers=headers)
        except httpx.TransportError:
            if attempt == 2:
                raise
            continue
        if response.status_code != 200:
            raise RuntimeError(f"{url}: HTTP {response.status_code} {response.text[:200]}")
        break
    return started, time.perf_counter()


async def wait_until(condition: Any, *, limit: float) -> bool:
    """Poll `condition` until it holds (True) or `limit` seconds pass (False)."""
    deadline = time.perf_counter() + limit
    while time.perf_counter() < deadline:
        if condition():
            return True
        await asyncio.sleep(0.005)
    return bool(condition())
