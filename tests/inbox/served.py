"""`supportbot serve` as real processes, the fake platforms, and traffic with platform retries.

The traffic gives every event an effect that can be counted in the database: a customer's
`/comment REF <marker>` adds one `comment` event with that marker to the ticket. Telegram
updates are re-posted (same `update_id`) until answered 200, Slack events too (same
`event_id`, with `X-Slack-Retry-Num`), as the platforms do.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, func
from sqlalchemy.exc import OperationalError
from sqlmodel import col, select

from bot.db.engine import make_engine, transaction
from bot.db.models import InboundUpdate, TicketEvent
from bot.services import demo, tenants, users, workspaces
from tests.slack.conftest import SECRET as SLACK_SECRET
from tests.slack.conftest import signed_headers
from tests.slack.fake_slack import TEAM, FakeSlack
from tests.telegram.conftest import SECRET as TELEGRAM_SECRET
from tests.telegram.conftest import TOKEN as TELEGRAM_TOKEN
from tests.telegram.fake_api import FakeBotApi, chat_of
from tests.worker.conftest import open_ticket

TELEGRAM_USERS = (5101, 5102)
SLACK_USERS = ("UREQ00101", "UREQ00102")
PACK = "telenet-hosting-cloud"
SUPPORTBOT = Path(sys.executable).with_name("supportbot")


def free_port() -> int:
    """A free loopback port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(condition: Callable[[], bool], *, limit: float, what: str) -> None:
    """Until `condition` holds; a generous `limit` (seconds) only guards against a hang."""
    deadline = time.monotonic() + limit
    while True:
        try:
            if condition():
                return
        except OperationalError:  # SQLite busy beyond its timeout under load: ask again
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting: {what}")
        time.sleep(0.05)


def wait_draining(
    condition: Callable[[], bool], *, progress: Callable[[], int], stall: float, what: str
) -> None:
    """Until `condition` holds, as long as `progress` keeps growing: a backlog drains at the
    machine's pace, so only `stall` seconds without any progress count as a hang."""
    seen = -1
    deadline = time.monotonic() + stall
    while True:
        try:
            if condition():
                return
            now_seen = progress()
        except OperationalError:  # SQLite busy beyond its timeout under load: ask again
            now_seen = seen
        if now_seen != seen:
            seen, deadline = now_seen, time.monotonic() + stall
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting (no progress for {stall:.0f} s): {what}")
        time.sleep(0.05)


def effects_once_drained(
    engine: Engine, reference: str, acked: list[str], *, stall: float, what: str
) -> Counter[str]:
    """The effects per marker, once every acknowledged event is handled (see `wait_draining`)."""
    wait_draining(
        lambda: unhandled(engine) == 0 and sum(effects(engine, reference).values()) >= len(acked),
        progress=lambda: handled(engine),
        stall=stall,
        what=what,
    )
    return effects(engine, reference)


def handled(engine: Engine) -> int:
    """Inbox rows handled so far (the drain's progress)."""
    with transaction(engine) as session:
        return int(
            session.exec(
                select(func.count())
                .select_from(InboundUpdate)
                .where(col(InboundUpdate.processed_at).is_not(None))
            ).one()
        )


def reader(url: str) -> Engine:
    """The test's own engine (a long busy timeout: the servers write meanwhile)."""
    return make_engine(url, busy_timeout_ms=120_000)


def prepare(url: str) -> str:
    """The demo world, the customer's Telegram and Slack accounts, one open ticket."""
    engine = make_engine(url)
    try:
        now = datetime.now(UTC)
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
            user = users.get_user_by_handle(session=session, handle="demo-requester")
            assert user is not None
            for telegram_id in TELEGRAM_USERS:
                users.link_identity(
                    session=session, user=user, channel="telegram", external_id=str(telegram_id)
                )
            for slack_id in SLACK_USERS:
                users.link_identity(
                    session=session, user=user, channel="slack", external_id=slack_id
                )
        ticket = open_ticket(
            engine,
            pack_id=PACK,
            intervention="dedicated-server-manual-restart",
            priority="express",
            now=now,
        )
        return ticket.reference
    finally:
        engine.dispose()


def _quiet_resets(server: socketserver.BaseServer) -> None:
    """A client killed mid-request resets its connection: that is no error worth a traceback."""
    default = server.handle_error

    def handle_error(request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            default(request, client_address)

    server.handle_error = handle_error  # type: ignore[method-assign]


class Platforms:
    """The fake Telegram Bot API and the fake Slack Web API, each in its own thread."""

    def __init__(self) -> None:
        self.telegram = FakeBotApi().start()
        _quiet_resets(self.telegram.server)
        self.slack = FakeSlack()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.slack.start(), self._loop).result(timeout=30)

    def env(self) -> dict[str, str]:
        """The channels' settings pointing at the fakes."""
        return {
            "SUPPORTBOT_TELEGRAM_TOKEN": TELEGRAM_TOKEN,
            "SUPPORTBOT_TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
            "SUPPORTBOT_TELEGRAM_BASE_URL": self.telegram.base_url,
            "SUPPORTBOT_SLACK_BOT_TOKEN": self.slack.token,
            "SUPPORTBOT_SLACK_SIGNING_SECRET": SLACK_SECRET,
            "SUPPORTBOT_SLACK_API_URL": self.slack.base_url,
        }

    def stop(self) -> None:
        """Stop both."""
        asyncio.run_coroutine_threadsafe(self.slack.stop(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._loop.close()
        self.telegram.stop()


@dataclass
class Server:
    """One `supportbot serve` process (started, killed, started again)."""

    url: str
    port: int
    platforms: Platforms
    workdir: Path
    name: str = "serve"
    extra: dict[str, str] = field(default_factory=dict)
    args: list[str] = field(default_factory=list)
    #: Where the processes keep compiled modules when the environment forbids writing them
    #: beside the sources (PYTHONDONTWRITEBYTECODE): compiled once, not at every start.
    pycache: Path | None = None
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def log(self) -> Path:
        """Where the process writes (every start appends)."""
        return self.workdir / f"{self.name}.log"

    def start(self) -> None:
        """Start the process (it migrates nothing: the database is ready)."""
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("SUPPORTBOT_")},
            **self.platforms.env(),
            "SUPPORTBOT_DATABASE_URL": self.url,
            "SUPPORTBOT_HOST": "127.0.0.1",
            "SUPPORTBOT_PORT": str(self.port),
            "SUPPORTBOT_LOG_LEVEL": "WARNING",
            "SUPPORTBOT_INBOX_LEASE_SECONDS": "5",
            # The machine may be loaded (two CPU-bound processes run beside): SQLite writers
            # wait long for each other rather than fail.
            "SUPPORTBOT_SQLITE_BUSY_TIMEOUT_MS": "60000",
            **self.extra,
        }
        if self.pycache is not None and env.pop("PYTHONDONTWRITEBYTECODE", None):
            env["PYTHONPYCACHEPREFIX"] = str(self.pycache)
        self.workdir.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [str(SUPPORTBOT), "serve", *self.args],
                env=env,
                cwd=self.workdir,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.starts += 1

    def ready(self) -> bool:
        """The process answers its probe."""
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"serve exited with {self.process.returncode}: {self.tail()}")
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_ready(self) -> None:
        """Until the probe answers (generous limit: the machine may be loaded)."""
        wait_for(self.ready, limit=600, what=f"{self.name} to answer its probe")

    def kill(self) -> None:
        """SIGKILL: no shutdown of any kind."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        """A graceful stop (SIGTERM), then SIGKILL if it lingers."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.kill()

    def tail(self) -> str:
        """The end of the log."""
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


@dataclass
class Sender:
    """One chat sending events one after the other, each re-posted until answered 200."""

    kind: str  # "telegram" or "slack"
    who: str
    reference: str
    ports: Callable[[], list[int]]
    acked: list[str] = field(default_factory=list)
    refused: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    stop: threading.Event = field(default_factory=threading.Event)
    limit: int | None = None
    #: Seconds a post may take: long, the machine may be loaded (speed is for `bench/`).
    timeout: float = 60.0

    def run(self) -> None:
        """Send until stopped (or `limit` events), finishing the event in hand."""
        with httpx.Client(timeout=self.timeout) as client:
            n = 0
            while not self.stop.is_set() and (self.limit is None or n < self.limit):
                marker = f"{self.kind[:2]}-{self.who}-{n}"
                self._deliver(client, n, marker)
                self.acked.append(marker)
                n += 1

    def _deliver(self, client: httpx.Client, n: int, marker: str) -> None:
        text = f"/comment {self.reference} {marker}"
        attempt = 0
        while True:
            port = random.choice(self.ports())
            try:
                response = self._post(client, port, n, text, attempt)
            except httpx.HTTPError as exc:
                self.refused[type(exc).__name__] += 1
            else:
                if response.status_code == 200:
                    return
                self.refused[str(response.status_code)] += 1
            attempt += 1
            self.retries += 1
            time.sleep(0.05)

    def _post(self, client: httpx.Client, port: int, n: int, text: str, attempt: int) -> Any:
        base = f"http://127.0.0.1:{port}"
        if self.kind == "telegram":
            user_id = int(self.who)
            update = {
                "update_id": user_id * 100_000 + n,
                "message": {
                    "message_id": 10_000 + n,
                    "date": int(time.time()),
                    "chat": chat_of(user_id),
                    "from": {"id": user_id, "is_bot": False, "first_name": "Ana"},
                    "text": text,
                },
            }
            return client.post(
                f"{base}/telegram/webhook",
                content=json.dumps(update).encode(),
                headers={
                    "Content-Type": "application/json",
                    "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET,
                },
            )
        body = json.dumps(
            {
                "token": "verification",
                "team_id": TEAM,
                "api_app_id": "A0000001",
                "type": "event_callback",
                "event_id": f"Ev{self.who}{n:06d}",
                "event_time": int(time.time()),
                "event": {
                    "type": "message",
                    "user": self.who,
                    "channel": "D" + self.who[1:],
                    "channel_type": "im",
                    "text": text,
                    "ts": f"{time.time():.6f}",
                    "team": TEAM,
                },
            }
        )
        headers = {"Content-Type": "application/json", **signed_headers(body)}
        if attempt:
            headers.update(
                {"X-Slack-Retry-Num": str(min(attempt, 3)), "X-Slack-Retry-Reason": "http_error"}
            )
        return client.post(f"{base}/slack/events", content=body.encode(), headers=headers)


@dataclass
class Traffic:
    """Telegram and Slack customers writing at the same time."""

    senders: list[Sender]
    threads: list[threading.Thread] = field(default_factory=list)

    @classmethod
    def of(
        cls, reference: str, ports: Callable[[], list[int]], *, limit: int | None = None
    ) -> Traffic:
        """Two Telegram chats and two Slack users."""
        senders = [
            Sender("telegram", str(u), reference, ports, limit=limit) for u in TELEGRAM_USERS
        ]
        senders += [Sender("slack", u, reference, ports, limit=limit) for u in SLACK_USERS]
        return cls(senders)

    def start(self) -> None:
        """Start sending."""
        self.threads = [threading.Thread(target=s.run, daemon=True) for s in self.senders]
        for thread in self.threads:
            thread.start()

    def finish(self, *, limit: float) -> None:
        """Stop after each sender's event in hand is answered."""
        for sender in self.senders:
            sender.stop.set()
        self.join(limit=limit)

    def join(self, *, limit: float) -> None:
        """Wait for the senders to end."""
        wait_for(
            lambda: not any(t.is_alive() for t in self.threads), limit=limit, what="the senders"
        )

    @property
    def acked(self) -> list[str]:
        """Every event answered 200, by its marker."""
        return [marker for sender in self.senders for marker in sender.acked]

    @property
    def refused(self) -> Counter[str]:
        """Failed posts (connection errors, non-200 answers), by kind."""
        total: Counter[str] = Counter()
        for sender in self.senders:
            total.update(sender.refused)
        return total


def effects(engine: Engine, reference: str) -> Counter[str]:
    """How many times each marker's comment was added to the ticket."""
    with transaction(engine) as session:
        found = session.exec(select(TicketEvent.reason).where(TicketEvent.type == "comment")).all()
    return Counter(str(reason) for reason in found if reason)


def all_handled(engine: Engine, reference: str, acked: list[str]) -> bool:
    """No inbox row waits, and every acknowledged event has its effect."""
    if unhandled(engine):
        return False
    done = effects(engine, reference)
    return all(done[marker] for marker in acked)


def comment_order(engine: Engine) -> list[str]:
    """The markers of the comments, in the order they were written."""
    with transaction(engine) as session:
        found = session.exec(
            select(TicketEvent.reason)
            .where(TicketEvent.type == "comment")
            .order_by(col(TicketEvent.id))
        ).all()
    return [str(reason) for reason in found if reason]


def unhandled(engine: Engine) -> int:
    """Inbox rows neither handled nor parked."""
    with transaction(engine) as session:
        return int(
            session.exec(
                select(func.count())
                .select_from(InboundUpdate)
                .where(
                    col(InboundUpdate.processed_at).is_(None),
                    col(InboundUpdate.parked_at).is_(None),
                )
            ).one()
        )


def parked(engine: Engine) -> int:
    """Inbox rows parked."""
    with transaction(engine) as session:
        return int(
            session.exec(
                select(func.count())
                .select_from(InboundUpdate)
                .where(col(InboundUpdate.parked_at).is_not(None))
            ).one()
        )


def in_order(markers: list[str]) -> bool:
    """Each chat's markers appear in increasing order."""
    last: dict[str, int] = {}
    for marker in markers:
        chat, _sep, n = marker.rpartition("-")
        if int(n) <= last.get(chat, -1):
            return False
        last[chat] = int(n)
    return True


class Burners:
    """Two CPU-bound processes beside the test (the machine is busy)."""

    def __init__(self, count: int = 2) -> None:
        self.processes = [
            subprocess.Popen([sys.executable, "-c", "while True:\n    pass"]) for _ in range(count)
        ]

    def stop(self) -> None:
        """Kill them."""
        for process in self.processes:
            process.kill()
            process.wait()
