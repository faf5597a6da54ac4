"""The console channel's registry entry and its delivery, one of two modes (`console_delivery`).

``inbox`` (default): the worker leaves console messages in the outbox; the console session
(`supportbot chat`, `ConsoleSession.inbox`) shows its user's pending messages and marks
them sent in the same transaction, so each is shown exactly once. The worker only
releases held ones at their time.

``log``: the worker's `ConsoleLogSender` appends each message as one JSON line (with its
idempotency key) to ``console_log_path`` and the row is marked sent. A line is written
with a single ``write(2)`` on a file opened in append mode, so a killed worker leaves no
half line; after a crash, `confirm` looks the key up in the log so that a message whose
outcome was lost is not written twice.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

from bot.channels.console_files import write_file
from bot.channels.registry import BuiltChannel, ChannelEntry, ChannelRuntime, PlatformLimits
from bot.channels.sending import OutboxMessage, RateLimit, SendResult
from bot.settings import Settings

CHANNEL = "console"
RATE = RateLimit(per_second=10_000, per_chat_per_second=10_000, burst=1000)


class ConsoleLogSender:
    """Appends console messages to a JSON-lines file."""

    channel = CHANNEL
    limits = RATE

    def __init__(self, path: Path, *, files_dir: Path | None = None) -> None:
        self.path = path
        self.files_dir = files_dir or path.parent / "files"

    async def send(self, notification: OutboxMessage) -> SendResult:
        """Append the message to the log."""
        await asyncio.to_thread(self._append, notification)
        return SendResult.delivered()

    async def confirm(self, notification: OutboxMessage) -> bool | None:
        """Whether the log already holds this message's key."""
        return await asyncio.to_thread(self._contains, notification.idempotency_key)

    def _append(self, notification: OutboxMessage) -> None:
        record = {
            "key": notification.idempotency_key,
            "id": notification.id,
            "chat": notification.chat_id,
            "event": notification.event,
            "lang": notification.lang,
            "text": notification.text,
        }
        if notification.files:  # a report's chart and CSV: written beside, named in the line
            record["files"] = [
                str(write_file(f, directory=self.files_dir, handle=notification.chat_id))
                for f in notification.files
            ]
        data = (json.dumps(record, ensure_ascii=False) + "\n").encode()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)

    def _contains(self, key: str) -> bool:
        if not self.path.exists():
            return False
        with self.path.open(encoding="utf-8") as handle:
            for line in handle:
                if key in line and json.loads(line).get("key") == key:
                    return True
        return False


def read_log(path: Path) -> list[dict[str, str]]:
    """Every message in a console log, oldest first."""
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def log_sender(settings: Settings) -> ConsoleLogSender | None:
    """The log sender when console messages go to a log, else None (they wait in the inbox)."""
    if settings.console_delivery == "log":
        return ConsoleLogSender(settings.console_log_path, files_dir=settings.console_files_dir)
    return None


def _build(runtime: ChannelRuntime) -> BuiltChannel:
    return BuiltChannel(name=CHANNEL, sender=log_sender(runtime.settings))


def _always(_settings: Settings) -> bool:
    return True


ENTRY = ChannelEntry(
    name=CHANNEL,
    settings_section="console",
    enabled=_always,
    limits=PlatformLimits(max_text=100_000, max_buttons=100, rate=RATE),
    build=_build,
)
