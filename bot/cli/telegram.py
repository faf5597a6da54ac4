"""`supportbot telegram poll` and `supportbot telegram set-webhook URL`."""

from __future__ import annotations

import asyncio
import logging

import typer

from bot.redact import configure_logging
from bot.settings import Settings, get_settings

app = typer.Typer(help="The Telegram channel.", no_args_is_help=True)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def _settings_with_token() -> tuple[Settings, str]:
    from bot.channels.telegram.channel import configured_token

    settings = get_settings()
    token = configured_token(settings)
    if token is None:
        raise _fail("SUPPORTBOT_TELEGRAM_TOKEN is not set")
    return settings, token


@app.command("poll")
def poll(
    worker: bool = typer.Option(True, help="Also run the worker (SLA milestones, outbox)."),
) -> None:
    """Run the bot with long polling (development: no public URL; removes any webhook)."""
    from bot.channels.registry import ChannelRuntime
    from bot.channels.telegram.plugin import make_channel, make_sender
    from bot.db.engine import get_engine
    from bot.db.migrate import DatabaseNotReadyError, check_ready
    from bot.i18n import check_catalogs

    settings, _token = _settings_with_token()
    configure_logging(settings)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    check_catalogs()
    engine = get_engine()
    try:
        check_ready(engine=engine, url=settings.database_url)
    except DatabaseNotReadyError as exc:
        raise _fail(str(exc)) from None
    channel = make_channel(runtime=ChannelRuntime(settings=settings, engine=engine), polling=True)

    async def run() -> None:
        from bot.channels.telegram.store import CHANNEL
        from bot.inbox.drainer import draining
        from bot.worker.runner import Worker, default_senders

        handlers = {CHANNEL: channel.handle_row}
        async with (
            channel.running(),
            draining(engine=engine, settings=settings, handlers=handlers, gapless=[CHANNEL]),
        ):
            background = None
            if worker:
                senders = [make_sender(channel), *default_senders(settings)]
                background = Worker(engine=engine, settings=settings, senders=senders)
            task = asyncio.create_task(background.run()) if background is not None else None
            typer.echo("polling Telegram; press Ctrl-C to stop")
            try:
                await asyncio.Event().wait()
            finally:
                if background is not None and task is not None:
                    background.stop()
                    await task

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        typer.echo("stopped")


@app.command("set-webhook")
def set_webhook(
    url: str = typer.Argument(..., help="Public HTTPS URL of this server's /telegram/webhook."),
    drop_pending: bool = typer.Option(False, help="Discard updates Telegram still holds."),
) -> None:
    """Register the webhook with Telegram, with the secret and the update types the bot uses."""
    from telegram import Bot
    from telegram.error import TelegramError

    from bot.channels.telegram.channel import ALLOWED_UPDATES
    from bot.channels.telegram.plugin import secret_problem

    settings, token = _settings_with_token()
    given = settings.telegram_webhook_secret
    secret = "" if given is None else given.get_secret_value()
    problem = secret_problem(secret or None)
    if problem is not None:
        raise _fail(f"SUPPORTBOT_TELEGRAM_WEBHOOK_SECRET {problem}")

    async def register() -> None:
        bot = Bot(token, base_url=settings.telegram_base_url)
        async with bot:
            await bot.set_webhook(
                url=url,
                secret_token=secret,
                allowed_updates=list(ALLOWED_UPDATES),
                drop_pending_updates=drop_pending,
            )

    try:
        asyncio.run(register())
    except TelegramError as exc:
        raise _fail(f"Telegram refused the webhook: {exc}") from None
    typer.echo(f"webhook set: {url} ({', '.join(ALLOWED_UPDATES)})")
