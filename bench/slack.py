"""Benchmark: Slack slash commands and button clicks, end to end, on SQLite.

Each request is signed and posted to the real FastAPI app (slack-bolt `AsyncApp`, request
verification on); the clock stops when the adapter has finished the work the request
started: the core's transaction and every Web API call (`chat.postMessage`, `chat.update`)
to a fake Slack Web API on 127.0.0.1. Slack's own network is thus excluded, the loopback
HTTP round trips are not. The workload repeats a guided intake: `/support new`, then clicks
on the contract, the category, the intervention and the priority, then « Cancel ».

Run: ``python bench/slack.py [--requests N] [--profile]``. Prints p50/p95/p99 per kind and
overall, the acknowledgement latency, and the share of the time spent in the core.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
from slack_sdk.signature import SignatureVerifier  # noqa: E402

from tests.slack.fake_slack import TEAM, FakeSlack  # noqa: E402

TOKEN = "xoxb-bench"
SECRET = "bench-signing-secret"
REQUESTER = "UBENCH001"
AGENTS = "CBENCH001"


def percentile(sorted_ms: list[float], fraction: float) -> float:
    """The value below which `fraction` of the samples fall (nearest rank)."""
    index = max(0, min(len(sorted_ms) - 1, round(fraction * len(sorted_ms)) - 1))
    return sorted_ms[index]


class Bench:
    """The app, the fake Web API and a user clicking through intakes."""

    def __init__(self, fake: FakeSlack, directory: Path) -> None:
        self.fake = fake
        self.url = f"sqlite:///{directory / 'bench.db'}"
        self.serial = 0
        self.core_seconds = 0.0
        self.timings: dict[str, list[float]] = defaultdict(list)
        self.acks: list[float] = []

    def setup(self) -> None:
        """Migrate, seed, map the workspace, link the user, build the app."""
        os.environ.update(
            {
                "SUPPORTBOT_DATABASE_URL": self.url,
                "SUPPORTBOT_SLACK_BOT_TOKEN": TOKEN,
                "SUPPORTBOT_SLACK_SIGNING_SECRET": SECRET,
                "SUPPORTBOT_SLACK_API_URL": self.fake.base_url,
                "SUPPORTBOT_SLACK_AGENTS_CHANNELS": json.dumps({"TLN": AGENTS}),
                "SUPPORTBOT_DEFAULT_LOCALE": "fr",
            }
        )
        from bot.app import create_app
        from bot.channels.slack import adapter as slack_adapter
        from bot.channels.slack import slack_plugin, store
        from bot.db.engine import make_engine, transaction
        from bot.db.migrate import upgrade
        from bot.services import demo, tenants, users
        from bot.settings import get_settings

        get_settings.cache_clear()
        settings = get_settings()
        upgrade(url=self.url)
        self.engine = make_engine(self.url)
        with transaction(self.engine) as session:
            demo.seed(session=session, now=datetime.now(UTC))
            tenant = tenants.get_tenant(session=session, slug=demo.DEMO_TENANT)
            store.map_workspace(session=session, team_id=TEAM, tenant=tenant, provider_code=None)
            user = users.get_user_by_handle(session=session, handle="demo-requester")
            assert user is not None
            users.link_identity(session=session, user=user, channel="slack", external_id=REQUESTER)
        self.fake.locales[REQUESTER] = "fr-BE"
        self.app = create_app(settings=settings, engine=self.engine, plugins=[slack_plugin])
        self.adapter = self.app.state.slack
        original = slack_adapter.process

        def timed(**kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(**kwargs)
            finally:
                self.core_seconds += time.perf_counter() - start

        slack_adapter.process = timed  # type: ignore[assignment]
        self.verifier = SignatureVerifier(SECRET)

    async def post(self, kind: str, body: str, *, measure: bool) -> None:
        """Sign and post one request; wait for the work it started."""
        ts = str(int(time.time()))
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": self.verifier.generate_signature(timestamp=ts, body=body),
        }
        start = time.perf_counter()
        response = await self.http.post("/slack/events", content=body.encode(), headers=headers)
        acked = time.perf_counter()
        await self.adapter.drain()
        done = time.perf_counter()
        if response.status_code != 200:
            raise RuntimeError(f"{kind}: HTTP {response.status_code} {response.text}")
        if measure:
            self.timings[kind].append((done - start) * 1000)
            self.acks.append((acked - start) * 1000)

    async def command(self, text: str, *, measure: bool) -> None:
        self.serial += 1
        body = urlencode(
            {
                "team_id": TEAM,
                "channel_id": "D" + REQUESTER[1:],
                "user_id": REQUESTER,
                "command": "/support",
                "text": text,
                "trigger_id": f"t{self.serial}",
                "response_url": self.fake.response_url("bench"),
            }
        )
        await self.post(f"command /support {text}", body, measure=measure)

    def last_question(self) -> dict[str, Any]:
        """The newest message with buttons in the user's DM."""
        channel = "D" + REQUESTER[1:]
        for (where, _ts), message in reversed(self.fake.messages.items()):
            if where == channel and any(b.get("type") == "actions" for b in message["blocks"]):
                return message
        raise RuntimeError("no question")

    async def click(self, kind: str, pick: int | str, *, measure: bool) -> None:
        """Click an option of the last question: by index among the non-nav ones, or value."""
        message = self.last_question()
        entries: list[tuple[dict[str, Any], dict[str, Any]]] = []
        for block in message["blocks"]:
            if block["type"] != "actions":
                continue
            for element in block["elements"]:
                for entry in element.get("options", [element]):
                    entries.append((element, entry))
        if isinstance(pick, str):
            element, entry = next((e, o) for e, o in entries if o["value"].endswith(pick))
        else:
            plain = [(e, o) for e, o in entries if not o["value"].endswith(("~back", "~cancel"))]
            element, entry = plain[pick]
        action: dict[str, Any] = {"action_id": element["action_id"], "type": element["type"]}
        if element["type"] == "static_select":
            action["selected_option"] = entry
        else:
            action.update(value=entry["value"], text=entry["text"])
        self.serial += 1
        payload = {
            "type": "block_actions",
            "user": {"id": REQUESTER, "team_id": TEAM},
            "team": {"id": TEAM},
            "container": {
                "type": "message",
                "message_ts": message["ts"],
                "channel_id": "D" + REQUESTER[1:],
            },
            "channel": {"id": "D" + REQUESTER[1:]},
            "trigger_id": f"t{self.serial}",
            "message": message,
            "response_url": self.fake.response_url("bench"),
            "actions": [action],
        }
        await self.post(kind, urlencode({"payload": json.dumps(payload)}), measure=measure)

    async def cycle(self, *, measure: bool) -> None:
        """One intake up to the priority question's answer, then « Cancel »."""
        await self.command("new", measure=measure)
        await self.click("click contract", 0, measure=measure)
        await self.click("click category", 0, measure=measure)
        await self.click("click intervention", 0, measure=measure)
        await self.click("click priority/kind", 0, measure=measure)
        await self.click("click cancel", "~cancel", measure=measure)

    async def run(self, requests: int) -> None:
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as self.http:
            await self.adapter.start()
            try:
                for _ in range(10):
                    await self.cycle(measure=False)
                self.core_seconds = 0.0
                self.fake.calls.clear()
                while sum(len(v) for v in self.timings.values()) < requests:
                    await self.cycle(measure=True)
                    self.fake.calls.clear()
            finally:
                await self.adapter.close()

    def report(self) -> float:
        """Print the figures; returns the overall p99 in ms."""
        every = sorted(ms for values in self.timings.values() for ms in values)
        print(f"Slack requests end to end on SQLite (fake Web API on loopback), n={len(every)}")
        for kind, values in self.timings.items():
            ordered = sorted(values)
            print(
                f"  {kind:24s} n={len(ordered):5d}  p50 {percentile(ordered, 0.50):6.2f} ms  "
                f"p95 {percentile(ordered, 0.95):6.2f} ms  p99 {percentile(ordered, 0.99):6.2f} ms"
            )
        p99 = percentile(every, 0.99)
        print(
            f"  {'all':24s} n={len(every):5d}  p50 {percentile(every, 0.50):6.2f} ms  "
            f"p95 {percentile(every, 0.95):6.2f} ms  p99 {p99:6.2f} ms  "
            f"mean {statistics.fmean(every):6.2f} ms"
        )
        acks = sorted(self.acks)
        print(
            f"  acknowledgement (HTTP response): p50 {percentile(acks, 0.5):.2f} ms  "
            f"p99 {percentile(acks, 0.99):.2f} ms"
        )
        share = 100 * self.core_seconds * 1000 / sum(every)
        print(f"  core (handlers.core.process): {share:.0f}% of the time")
        print(f"  goal p99 <= 25 ms: {'met' if p99 <= 25 else 'NOT met'}")
        return p99


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1200, help="measured requests (>= 1000)")
    parser.add_argument("--profile", action="store_true", help="print the top functions")
    args = parser.parse_args()
    fake = await FakeSlack(token=TOKEN).start()
    try:
        with tempfile.TemporaryDirectory() as directory:
            bench = Bench(fake, Path(directory))
            bench.setup()
            profile = cProfile.Profile() if args.profile else None
            if profile is not None:
                profile.enable()
            await bench.run(args.requests)
            if profile is not None:
                profile.disable()
            bench.report()
            bench.engine.dispose()
            if profile is not None:
                pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
    finally:
        await fake.stop()


if __name__ == "__main__":
    asyncio.run(main())
