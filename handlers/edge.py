"""What a channel does to an event before the core sees it: bounded, printable, normalised.

NUL bytes (PostgreSQL refuses them in text), lone surrogates, control and bidirectional
override characters are removed; texts are capped with a visible « (truncated) » in the
sender's language; identifiers are capped to their column sizes; the platform locale is
kept only when it looks like one (`nl-BE`, `fr`), else dropped.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata

from bot.i18n import normalize_language, translator
from handlers.model import Attachment, InboundEvent

MAX_TEXT = 4000  # below every platform's message size, above any real answer
MAX_ACTION = 200  # payloads are ≤ 64 bytes; longer ones are forged and fail as such
MAX_ID = 120  # the identifier columns
MAX_NAME = 200
MAX_LOCALE = 10
MAX_ATTACHMENTS = 10  # files in one event (a Telegram album is several events)
MAX_FILE_ID = 300
MAX_FILE_NAME = 255
MAX_MIME = 120
MAX_LINK = 500

_LOCALE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})?", re.ASCII)
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_KEEP = frozenset("\n\t")


def printable(text: str) -> str:
    """`text` without NUL, control, surrogate or bidi-override characters (newlines kept)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if text.isprintable():
        return text
    return "".join(
        c
        for c in text
        if c in _KEEP or (unicodedata.category(c) not in ("Cc", "Cs") and c not in _BIDI)
    )


def capped(text: str, limit: int, marker: str) -> str:
    """`text` cut to at most `limit` characters, ending with `marker` when cut."""
    if len(text) <= limit:
        return text
    return text[: limit - len(marker) - 1].rstrip() + " " + marker


def locale_of(value: str | None) -> str | None:
    """A platform locale as stored (≤ 10 characters, letters and one region), or None."""
    if not value:
        return None
    value = value.strip()
    return value if len(value) <= MAX_LOCALE and _LOCALE.fullmatch(value) else None


def _ident(value: str) -> str:
    return printable(value).strip()[:MAX_ID]


def clean_event(event: InboundEvent, *, default_locale: str = "fr") -> InboundEvent:
    """The event with every field bounded and printable (idempotent)."""
    locale = locale_of(event.platform_locale)
    marker = translator(normalize_language(locale) or default_locale).gettext("(truncated)")
    text = None if event.text is None else capped(printable(event.text), MAX_TEXT, marker)
    action = None if event.action is None else printable(event.action)[:MAX_ACTION]
    name = None if event.display_name is None else printable(event.display_name)[:MAX_NAME]
    workspace = None if event.workspace_id is None else _ident(event.workspace_id) or None
    return dataclasses.replace(
        event,
        chat_id=_ident(event.chat_id),
        user_external_id=_ident(event.user_external_id),
        text=text,
        action=action,
        platform_locale=locale,
        display_name=name,
        workspace_id=workspace,
        attachments=tuple(_attachment(a) for a in event.attachments[:MAX_ATTACHMENTS]),
        reply_to=None if event.reply_to is None else _ident(event.reply_to) or None,
    )


def _attachment(attachment: Attachment) -> Attachment:
    """An attachment with its texts printable and capped to their column sizes."""
    size = attachment.size if attachment.size is None or attachment.size >= 0 else None
    mime = None if attachment.mime is None else printable(attachment.mime)[:MAX_MIME]
    link = None if attachment.permalink is None else printable(attachment.permalink)[:MAX_LINK]
    return dataclasses.replace(
        attachment,
        file_id=printable(attachment.file_id).strip()[:MAX_FILE_ID],
        name=printable(attachment.name).strip()[:MAX_FILE_NAME],
        size=size,
        mime=mime or None,
        permalink=link or None,
    )
