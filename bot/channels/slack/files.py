"""Files on Slack: a `file_share` message's files as the core's `Attachment`s (id, name,
size, type, permalink; `files:read`), the links a message shares for Slack files, and
`files_upload_v2` (upload URL, bytes, completion) of the bot's own files into a conversation."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from handlers.model import Attachment, AttachmentKind, OutgoingFile

_KINDS = {
    "image": AttachmentKind.PHOTO,
    "video": AttachmentKind.VIDEO,
    "audio": AttachmentKind.VOICE,
}


def attachments_of(event: dict[str, Any]) -> tuple[Attachment, ...]:
    """The files of a Slack message event (a `file_share`), kept by id and permalink."""
    found: list[Attachment] = []
    for file in event.get("files") or ():
        if not isinstance(file, dict) or not file.get("id"):
            continue
        mime = str(file.get("mimetype") or "") or None
        kind = _KINDS.get((mime or "").partition("/")[0], AttachmentKind.FILE)
        size = file.get("size")
        found.append(
            Attachment(
                kind=kind,
                file_id=str(file["id"]),
                name=str(file.get("name") or file.get("title") or "file"),
                size=size if isinstance(size, int) else None,
                mime=mime,
                permalink=str(file.get("permalink") or "") or None,
            )
        )
    return tuple(found)


def file_links(files: Iterable[dict[str, Any]]) -> str:
    """Slack links to the Slack files of a message (others are named by its text)."""
    links = [
        f"<{file['permalink']}|{file.get('name') or 'file'}>"
        for file in files
        if file.get("channel") == "slack" and file.get("permalink")
    ]
    return "\n".join(links)


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
