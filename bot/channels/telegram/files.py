"""Files on Telegram: a picture goes as `sendPhoto`, anything else as `sendDocument`."""

from __future__ import annotations

from typing import Any

from telegram import InputFile, Message

from handlers.model import MAX_CAPTION, OutgoingFile


async def send_file(
    bot: Any, chat_id: int | str, file: OutgoingFile, *, thread_id: int | None = None
) -> Message:
    """Send one file with its caption (plain text, cut to Telegram's limit)."""
    upload = InputFile(file.data, filename=file.name)
    caption = file.caption[:MAX_CAPTION] or None
    if file.is_image:
        return await bot.send_photo(  # type: ignore[no-any-return]
            chat_id=chat_id, photo=upload, caption=caption, message_thread_id=thread_id
        )
    return await bot.send_document(  # type: ignore[no-any-return]
        chat_id=chat_id, document=upload, caption=caption, message_thread_id=thread_id
    )
