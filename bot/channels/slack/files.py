"""Files on Slack: `files_upload_v2` (upload URL, bytes, completion) into a conversation."""

from __future__ import annotations

from typing import Any

from handlers.model import OutgoingFile


async def upload(
    client: Any, *, channel: str, file: OutgoingFile, thread_ts: str | None = None
) -> None:
    """Share one file in a conversation (a DM's `D…` id or a channel), with its caption."""
    await client.files_upload_v2(
        channel=channel,
        content=file.data,
        filename=file.name,
        title=file.name,
        initial_comment=file.caption or None,
        thread_ts=thread_ts,
    )
