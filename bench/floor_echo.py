"""The framework floor: bare echo bots, as their libraries' own examples write them.

- Telegram: a python-telegram-bot `Application` without an updater, fed by a minimal Starlette
  webhook route through `Application.update_queue` (PTB's ``customwebhookbot`` example), with
  one `MessageHandler` answering each text with itself (`reply_text`), updates concurrent.
- Slack: a slack-bolt `AsyncApp` whose `message` listener says the text back (`say`), served
  by `AsyncSlackRequestHandler` on a Starlette route.

Run (by ``bench/floor.py``): ``python bench/floor_echo.py PORT TELEGRAM_BASE_URL SLACK_API_URL``.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

# Keep this folder off the import path (its modules' names are short and generic).
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

import uvicorn  # noqa: E402
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler  # noqa: E402
from slack_bolt.async_app import AsyncApp  # noqa: E402
from slack_sdk.web.async_client import AsyncWebClient  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import Response  # noqa: E402
from starlette.routing import Route  # noqa: E402
from telegram import Update  # noqa: E402
from telegram.ext import Application, ContextTypes, MessageHandler, filters  # noqa: E402

TELEGRAM_TOKEN = "123:BENCH"
SLACK_TOKEN = "xoxb-bench"
SLACK_SECRET = "bench-signing-secret"


def build(telegram_base_url: str, slack_api_url: str) -> Starlette:
    """The two echo bots behind one Starlette app."""
    application = (
        Application.builder()
        .token(TELEGRAM_TOKEN)
        .base_url(telegram_base_url)
        .updater(None)
        .concurrent_updates(True)
        .build()
    )

    async def echo(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        await update.message.reply_text(update.message.text or "?")

    application.add_handler(MessageHandler(filters.TEXT, echo))

    async def telegram_webhook(request: Request) -> Response:
        await application.update_queue.put(Update.de_json(await request.json(), application.bot))
        return Response()

    bolt = AsyncApp(
        client=AsyncWebClient(token=SLACK_TOKEN, base_url=slack_api_url),
        signing_secret=SLACK_SECRET,
    )

    @bolt.event("message")
    async def say_back(event: dict[str, Any], say: Any) -> None:
        await say(str(event.get("text") or "?"))

    handler = AsyncSlackRequestHandler(bolt)

    async def slack_events(request: Request) -> Response:
        return await handler.handle(request)

    async def healthz(_request: Request) -> Response:
        return Response("ok")

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async with application:
            await application.start()
            yield
            await application.stop()

    return Starlette(
        routes=[
            Route("/telegram/webhook", telegram_webhook, methods=["POST"]),
            Route("/slack/events", slack_events, methods=["POST"]),
            Route("/healthz", healthz),
        ],
        lifespan=lifespan,
    )


def main() -> None:
    """Serve on 127.0.0.1:PORT."""
    port, telegram_base_url, slack_api_url = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    app = build(telegram_base_url, slack_api_url)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    asyncio.run(uvicorn.Server(config).serve())


if __name__ == "__main__":
    main()
