"""The core's replies as Telegram messages: HTML text and inline keyboards.

Pure functions, no I/O: the channel and the outbox sender both render through here.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from telegram import ForceReply, InlineKeyboardButton, InlineKeyboardMarkup

from handlers.model import (
    MAX_OPTIONS,
    MAX_PAYLOAD_BYTES,
    MAX_TEXT,
    Choices,
    Confirm,
    Option,
    Prompt,
    Reply,
    TicketCard,
    parse_ticket_action,
    reply_options,
    reply_text,
    split_text,
)

log = logging.getLogger(__name__)

# Short labels share a row (yes / no, back / cancel); long ones get a row each.
ROW_CHARS = 32
ROW_BUTTONS = 3
PICKED_MARK = "→"
DONE_MARK = "✔"

Markup = InlineKeyboardMarkup | ForceReply


@dataclass(frozen=True)
class Outgoing:
    """One Telegram message to send: HTML text and an optional keyboard."""

    text: str
    markup: Markup | None = None


def escape(text: str) -> str:
    """Text safe inside HTML parse mode (user text may contain <, > and &)."""
    return html.escape(text, quote=False)


def keyboard(
    options: Sequence[Option], *, one_per_row: bool = False
) -> InlineKeyboardMarkup | None:
    """Options as inline keyboard rows; callback data that Telegram would refuse is left out."""
    buttons: list[InlineKeyboardButton] = []
    for option in options[:MAX_OPTIONS]:
        if len(option.payload.encode()) > MAX_PAYLOAD_BYTES:
            log.error("option %r left out: payload over %d bytes", option.label, MAX_PAYLOAD_BYTES)
            continue
        buttons.append(InlineKeyboardButton(option.label, callback_data=option.payload))
    if not buttons:
        return None
    return InlineKeyboardMarkup(_rows(buttons, one_per_row=one_per_row))


def _rows(
    buttons: list[InlineKeyboardButton], *, one_per_row: bool
) -> list[list[InlineKeyboardButton]]:
    if one_per_row:
        return [[button] for button in buttons]
    rows: list[list[InlineKeyboardButton]] = []
    for button in buttons:
        last = rows[-1] if rows else None
        if (
            last is not None
            and len(last) < ROW_BUTTONS
            and sum(len(b.text) for b in last) + len(button.text) <= ROW_CHARS
        ):
            last.append(button)
        else:
            rows.append([button])
    return rows


def _card_html(card: TicketCard) -> str:
    lines = [f"<b>{escape(card.title)}</b>"]
    lines += [f"{escape(label)}: {escape(value)}" for label, value in card.fields]
    if card.footer:
        lines.append(f"<i>{escape(card.footer)}</i>")
    return "\n".join(lines)


def render_text(text: str, markup: Markup | None = None, *, room: int = 0) -> list[Outgoing]:
    """Plain text as one or more messages under Telegram's limit, less `room` characters kept
    for a prefix (a mention); the keyboard goes last."""
    parts = split_text(text, MAX_TEXT - room)
    last = len(parts) - 1
    return [Outgoing(escape(part), markup if i == last else None) for i, part in enumerate(parts)]


def render(reply: Reply, *, group: bool = False, mention: str | None = None) -> list[Outgoing]:
    """One core reply as Telegram messages.

    In a group a free-text question forces a reply from the person it addresses (`mention`,
    HTML, is put in front of questions), so that their answer reaches the bot even when the
    bot does not read the group's other messages (privacy mode).
    """
    options = reply_options(reply)
    markup: Markup | None
    match reply:
        case Prompt() if group:
            markup = ForceReply(selective=True)
        case Choices() as choices:
            markup = keyboard(options, one_per_row=choices.as_select)
        case _:
            markup = keyboard(options)
    if isinstance(reply, TicketCard) and len(reply_text(reply)) <= MAX_TEXT:
        return [Outgoing(_card_html(reply), markup)]
    mentioned = mention is not None and isinstance(reply, Choices | Prompt | Confirm)
    # The mention and its space count in the 4,096 characters of the first message.
    room = visible_length(mention) + 1 if mention is not None and mentioned else 0
    messages = render_text(reply_text(reply), markup, room=room)
    if mention is not None and mentioned:
        first = messages[0]
        messages[0] = Outgoing(f"{mention} {first.text}", first.markup)
    return messages


def render_all(
    replies: Iterable[Reply], *, group: bool = False, mention: str | None = None
) -> list[Outgoing]:
    """Every reply of an outcome, in order."""
    return [m for reply in replies for m in render(reply, group=group, mention=mention)]


def mention_html(user_id: int, name: str) -> str:
    """A mention of a user by id (works for users without a username)."""
    return f'<a href="tg://user?id={user_id}">{escape(name)}</a>'


def button_label(markup: InlineKeyboardMarkup | None, payload: str) -> str | None:
    """The label of the button carrying `payload` in a keyboard."""
    if markup is None:
        return None
    for row in markup.inline_keyboard:
        for button in row:
            if button.callback_data == payload:
                return button.text
    return None


def without(
    markup: InlineKeyboardMarkup | None, payloads: Iterable[str]
) -> InlineKeyboardMarkup | None:
    """The keyboard minus the buttons carrying `payloads` (None when nothing is left)."""
    if markup is None:
        return None
    dropped = set(payloads)
    rows = [
        [button for button in row if button.callback_data not in dropped]
        for row in markup.inline_keyboard
    ]
    kept = [row for row in rows if row]
    return InlineKeyboardMarkup(kept) if kept else None


def keeping_actions(
    markup: InlineKeyboardMarkup | None, verbs: Iterable[str]
) -> InlineKeyboardMarkup | None:
    """The keyboard keeping, of its ticket-action buttons, only those whose verb is in `verbs`."""
    if markup is None:
        return None
    allowed = set(verbs)
    dropped: list[str] = []
    for row in markup.inline_keyboard:
        for button in row:
            data = button.callback_data
            if not isinstance(data, str):
                continue
            action = parse_ticket_action(data)
            if action is not None and action[0] not in allowed:
                dropped.append(data)
    return without(markup, dropped)


_TAG = re.compile(r"<[^>]+>")


def visible_length(message_html: str) -> int:
    """How many characters Telegram counts for an HTML text (tags and escapes removed)."""
    return len(html.unescape(_TAG.sub("", message_html)))


def with_line(message_html: str, line_html: str) -> str | None:
    """A message's HTML with one more line, or None when it would exceed Telegram's limit."""
    text = f"{message_html}\n\n{line_html}"
    return text if visible_length(text) <= MAX_TEXT else None


def picked_line(label: str) -> str:
    """The line that replaces a keyboard once an option was picked."""
    return f"{PICKED_MARK} <b>{escape(label)}</b>"


def done_line(who: str, what: str) -> str:
    """The line added to an agent ping once someone acted on it."""
    return f"{DONE_MARK} <b>{escape(who)}</b>: {escape(what)}"
