"""Files on Telegram: what a message carries (as the core's `Attachment`s), sending a file
again by its `file_id` (Telegram keeps it; nothing is downloaded), and uploading the bot's
own files (a picture goes as `sendPhoto`, anything else as `sendDocument`)."""

from __future__ import annotations

from typing import Any

from telegram import InputFile, Message, ReplyParameters

from handlers.model import MAX_CAPTION, Attachment, AttachmentKind, OutgoingFile

CAPTION_LIMIT = MAX_CAPTION


def attachments_of(message: Message) -> tuple[Attachment, ...]:
    """The photo (its largest size), document, voice note or video of a message."""
    found: list[Attachment] = []
    if message.photo:
        largest = message.photo[-1]
        found.append(
            Attachment(
                kind=AttachmentKind.PHOTO,
                file_id=largest.file_id,
                name="photo.jpg",
                size=largest.file_size,
                mime="image/jpeg",
            )
        )
    if message.document is not None:
        document = message.document
        found.append(
            Attachment(
                kind=AttachmentKind.DOCUMENT,
                file_id=document.file_id,
                name=document.file_name or "document",
                size=document.file_size,
                mime=document.mime_type,
            )
        )
    if message.voice is not None:
        voice = message.voice
        found.append(
            Attachment(
                kind=AttachmentKind.VOICE,
                file_id=voice.file_id,
                name="voice.ogg",
                size=voice.file_size,
                mime=voice.mime_type,
            )
        )
    if message.video is not None:
        video = message.video
        found.append(
            Attachment(
                kind=AttachmentKind.VIDEO,
                file_id=video.file_id,
                name=video.file_name or "video.mp4",
                size=video.file_size,
                mime=video.mime_type,
            )
        )
    return tuple(found)


async def send_file(
    bot: Any,
    *,
    chat_id: int,
    file: dict[str, Any],
    reply_to: int | None = None,
    caption: str | None = None,
) -> Message | None:
    """Send a Telegram file again by its id (photo, document, voice, video); None for a file
    of another platform, which the message's text already names."""
    if file.get("channel") != "telegram" or not file.get("file_id"):
        return None
    parameters = ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None
    common: dict[str, Any] = {
        "chat_id": chat_id,
        "caption": caption[:CAPTION_LIMIT] if caption else None,
        "reply_parameters": parameters,
    }
    kind, file_id = file.get("kind"), str(file["file_id"])
    if kind == "photo":
        return await bot.send_photo(photo=file_id, **common)  # type: ignore[no-any-return]
    if kind == "voice":
        return await bot.send_voice(voice=file_id, **common)  # type: ignore[no-any-return]
    if kind == "video":
        return await bot.send_video(video=file_id, **common)  # type: ignore[no-any-return]
    return await bot.send_document(document=file_id, **common)  # type: ignore[no-any-return]


async def upload_file(
    bot: Any, chat_id: int | str, file: OutgoingFile, *, thread_id: int | None = None
) -> Message:
    """Send one file of the bot's own with its caption (plain text, cut to Telegram's limit)."""
    upload = InputFile(file.data, filename=file.name)
    caption = file.caption[:MAX_CAPTION] or None
    if file.is_image:
        return await bot.send_photo(  # type: ignore[no-any-return]
            chat_id=chat_id, photo=upload, caption=caption, message_thread_id=thread_id
        )
    return await bot.send_document(  # type: ignore[no-any-return]
        chat_id=chat_id, document=upload, caption=caption, message_thread_id=thread_id
    )
