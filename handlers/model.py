"""The channel-neutral contract between the core and the channels.

Adapters turn a platform payload into an `InboundEvent`, call the core, and render the
typed `Outcome` it returns (or a `HomeView`, a list of `CommandMenu`s) without inferring
anything the core decided. Every reply fits both Slack Block Kit and Telegram inline keyboards:
callback payloads ≤ 64 bytes, ≤ 100 options per select, ≤ 4096 characters per message
(`check_limits` enforces it and the tests run it over every reply the core produces).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

MAX_PAYLOAD_BYTES = 64
MAX_OPTIONS = 100
MAX_TEXT = 4096
MAX_BUTTONS = 8
MAX_LABEL = 75  # Slack option text limit; Telegram buttons have no hard limit but must stay short

log = logging.getLogger(__name__)


MAX_ECHO = 200  # user input quoted back in a reply


def echo(text: str, limit: int = MAX_ECHO) -> str:
    """User input quoted back in a reply: at most `limit` characters, cut with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def short_label(text: str, limit: int = MAX_LABEL) -> str:
    """A label that fits every channel's option limit, cut on a word with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:-(") + "…"


class Channel(StrEnum):
    """The channels the bot speaks on."""

    CONSOLE = "console"
    TELEGRAM = "telegram"
    SLACK = "slack"


class AttachmentKind(StrEnum):
    """What kind of file a user sent."""

    PHOTO = "photo"
    DOCUMENT = "document"
    VOICE = "voice"
    VIDEO = "video"
    FILE = "file"  # a platform that does not say (Slack, the console)


@dataclass(frozen=True)
class Attachment:
    """A file sent with an event, kept by its platform id (never downloaded by the core)."""

    kind: AttachmentKind
    file_id: str
    name: str = ""
    size: int | None = None
    mime: str | None = None
    permalink: str | None = None


@dataclass(frozen=True)
class InboundEvent:
    """One thing a user did: typed text, or chose an option (its payload in `action`).

    `attachments` are the files sent with it; `reply_to` is the platform id of the bot
    message the user answered (a Telegram reply, the root of a Slack thread), if any.
    """

    channel: str
    chat_id: str
    user_external_id: str
    received_at: datetime
    text: str | None = None
    action: str | None = None
    platform_locale: str | None = None
    display_name: str | None = None
    workspace_id: str | None = None
    attachments: tuple[Attachment, ...] = ()
    reply_to: str | None = None


class OptionKind(StrEnum):
    """What choosing an option does."""

    ANSWER = "answer"  # answers the open question
    NAVIGATION = "navigation"  # « Back », « Cancel »: moves within the conversation
    TICKET_ACTION = "ticket_action"  # acts on a ticket (`t:VERB:REF`), outside any question


@dataclass(frozen=True)
class Option:
    """A button or list entry: what the user sees and the payload that comes back."""

    label: str
    payload: str
    kind: OptionKind = OptionKind.ANSWER


TICKET_ACTION_PREFIX = "t:"


def ticket_action_payload(verb: str, reference: str) -> str:
    """The payload of a button acting on a ticket."""
    return f"{TICKET_ACTION_PREFIX}{verb}:{reference}"


def parse_ticket_action(payload: str) -> tuple[str, str] | None:
    """(verb, reference) of a ticket-action payload, or None for any other payload."""
    if not payload.startswith(TICKET_ACTION_PREFIX):
        return None
    verb, _sep, reference = payload.removeprefix(TICKET_ACTION_PREFIX).partition(":")
    return (verb, reference) if verb and reference else None


def relayed_command(reference: str, text: str, note_prefix: str) -> str:
    """An agent's message in a ticket's thread (or reply to its ping) as the core's command.

    Starting with `note_prefix`, it is an internal note (`/note REF …`); otherwise a reply to
    the customer (`/reply REF …`).
    """
    stripped = text.strip()
    if stripped.lower().startswith(note_prefix.lower()):
        return f"/note {reference} {stripped[len(note_prefix) :].strip()}"
    return f"/reply {reference} {stripped}"


@dataclass(frozen=True)
class Text:
    """Plain text."""

    text: str


@dataclass(frozen=True)
class Choices:
    """A question with options: buttons when few, a single-select list when many."""

    text: str
    options: tuple[Option, ...]
    select_placeholder: str | None = None

    @property
    def as_select(self) -> bool:
        """Whether the options should render as a single-select list."""
        return len(self.options) > MAX_BUTTONS


@dataclass(frozen=True)
class Prompt:
    """A question answered with free text, optionally with shortcut buttons (back, cancel)."""

    text: str
    options: tuple[Option, ...] = ()


@dataclass(frozen=True)
class Confirm:
    """A yes/no question."""

    text: str
    yes: Option
    no: Option
    extra: tuple[Option, ...] = ()


@dataclass(frozen=True)
class TicketCard:
    """A ticket summary: title, labelled fields, and action buttons."""

    title: str
    fields: tuple[tuple[str, str], ...]
    actions: tuple[Option, ...] = ()
    footer: str | None = None


Reply = Text | Choices | Prompt | Confirm | TicketCard


@dataclass(frozen=True)
class Question:
    """The open question: its step token (stale buttons carry an older one) and its reply."""

    token: str
    reply: Choices | Prompt | Confirm

    @property
    def options(self) -> tuple[Option, ...]:
        """The options the question offers, each of its declared kind."""
        return reply_options(self.reply)


class RefusalReason(StrEnum):
    """Why the core refused what the user asked."""

    UNKNOWN_USER = "unknown_user"
    DEACTIVATED = "deactivated"  # an offboarded user
    WORKSPACE_NOT_CONNECTED = "workspace_not_connected"
    WORKSPACE_NOT_ALLOWED = "workspace_not_allowed"
    ACCESS_DENIED = "access_denied"
    NOT_FOUND = "not_found"
    INVALID_STATE = "invalid_state"
    INVALID_INPUT = "invalid_input"
    INVALID_ANSWER = "invalid_answer"  # an answer refused at a step, which is asked again
    INVITE = "invite"
    EXPIRED = "expired"  # a stale button
    ERROR = "error"


@dataclass(frozen=True)
class Refusal:
    """A refusal, in the user's words, and its reason."""

    text: str
    reason: RefusalReason


@dataclass(frozen=True)
class OutgoingFile:
    """A file the bot sends (a chart, an export): name, MIME type, bytes, a short caption.

    Channels send an image as a picture (`image/png`) and anything else as a document; the
    caption goes with it. The text replies carry the same facts for a channel without files.
    """

    name: str
    mime: str
    data: bytes = b""
    caption: str = ""
    #: Draws the bytes later (a chart): the core calls it once the event's transaction has
    #: committed, so no database lock is held while drawing.
    render: Callable[[], bytes] | None = field(default=None, compare=False, repr=False)

    @property
    def is_image(self) -> bool:
        """Whether the file is a picture to show inline."""
        return self.mime.startswith("image/")

    def rendered(self) -> OutgoingFile:
        """The file with its bytes (drawn now when they were deferred)."""
        if self.data or self.render is None:
            return self
        return replace(self, data=self.render(), render=None)


MAX_CAPTION = 1024  # Telegram's caption limit; Slack's initial comment is longer


@dataclass(frozen=True)
class Acted:
    """A ticket action carried out: what, on which ticket, and where the ticket now stands.

    `status` is the ticket's resulting status (a `TicketStatus` value); `actions` are the
    ticket-action verbs that make sense on it now (`ack`, `take`, `pause`, `resume`,
    `resolve`), and `options` the same as buttons (labels in the speaker's language), for a
    channel to put on the ticket's ping.
    """

    verb: str
    reference: str
    summary: str
    status: str
    actions: tuple[str, ...]
    options: tuple[Option, ...] = ()


@dataclass
class Outcome:
    """What the core answers to one event.

    `replies` are every message, in order (a refusal's or an action's summary among them,
    so a channel that only shows messages needs nothing more); `question`, `refusal` and
    `acted` say what those replies mean. `lang` is the language the core spoke. `ticket` is
    the reference of the one ticket the replies are about (a staff card, an action on it),
    for a channel that files its messages per ticket; `cancelled` says the user dropped an
    agent's question on a ticket and nothing changed (a room need not hear of it). `files`
    are sent after the replies (charts, exports), each with its caption.
    """

    lang: str
    replies: list[Reply] = field(default_factory=list)
    question: Question | None = None
    refusal: Refusal | None = None
    acted: Acted | None = None
    ticket: str | None = None
    cancelled: bool = False
    files: list[OutgoingFile] = field(default_factory=list)
    #: Called once the deferred files are drawn by `drawn_files` (the inbox keeps them with
    #: the stored reply, should it have to be sent again).
    on_drawn: Callable[[Outcome], None] | None = field(default=None, compare=False, repr=False)

    @property
    def deferred(self) -> bool:
        """Whether some of its files are still to be drawn."""
        return any(file.render is not None and not file.data for file in self.files)

    def render_files(self) -> None:
        """Draw the files whose bytes were deferred (after the event's transaction); a
        drawing with nothing to draw (empty bytes) leaves its file out."""
        drawn = [file.rendered() for file in self.files]
        self.files = [
            f for f, was in zip(drawn, self.files, strict=True) if f.data or not was.render
        ]

    def drawn_files(self) -> list[OutgoingFile]:
        """The files to send after the replies, drawn now when deferred (a channel calls it
        once the text is sent, off its event loop). A drawing that fails, or a file whose
        bytes were never drawn (a stored reply sent again after a stop), is left out with a
        log line: the text went already."""
        deferred = self.deferred
        drawn: list[OutgoingFile] = []
        for file in self.files:
            if file.data or file.render is not None:
                try:
                    file = file.rendered()
                except Exception:
                    log.exception("file %s not drawn: left out of the reply", file.name)
                    continue
                if file.data:  # empty: nothing to draw (a chart without figures)
                    drawn.append(file)
            else:
                log.warning("file %s has no bytes (never drawn): left out of the reply", file.name)
        self.files = drawn
        if deferred and self.on_drawn is not None:
            self.on_drawn(self)
        return list(drawn)

    def add(self, *replies: Reply) -> Outcome:
        """Append replies and return self."""
        self.replies.extend(replies)
        return self

    @property
    def before_question(self) -> list[Reply]:
        """The replies other than the open question."""
        question = self.question
        return [r for r in self.replies if question is None or r is not question.reply]


# --------------------------------------------------------------------------- views


@dataclass(frozen=True)
class TicketLine:
    """One ticket in a view: its reference, its words, and labelled due lines."""

    reference: str
    words: tuple[str, ...]  # intervention, priority, status
    dues: tuple[tuple[str, str], ...]  # (label, due instant and countdown)


@dataclass(frozen=True)
class HomeView:
    """A user's home panel: may they open a ticket, and their open tickets (or the queue)."""

    lang: str
    can_open: bool = False
    title: str = ""
    tickets: tuple[TicketLine, ...] = ()
    empty: str = ""  # what to show when there is no ticket
    refusal: Refusal | None = None


class MenuScope(StrEnum):
    """Where a command menu applies."""

    CUSTOMERS = "customers"  # every chat, by default
    AGENTS_GROUP = "agents_group"  # a provider's agents group
    USER = "user"  # one staff member's private chat


@dataclass(frozen=True)
class CommandMenu:
    """The commands a platform menu lists for a scope, in one language (None: the default)."""

    scope: MenuScope
    lang: str | None
    commands: tuple[tuple[str, str], ...]  # (name, description)
    chat_id: str | None = None  # for AGENTS_GROUP and USER


class LimitError(ValueError):
    """A reply would not fit a channel's limits."""


def reply_options(reply: Reply) -> tuple[Option, ...]:
    """Every option a reply carries."""
    match reply:
        case Choices(options=options) | Prompt(options=options):
            return options
        case Confirm(yes=yes, no=no, extra=extra):
            return (yes, no, *extra)
        case TicketCard(actions=actions):
            return actions
        case _:
            return ()


def reply_text(reply: Reply) -> str:
    """The main text of a reply, as a channel would show it."""
    match reply:
        case TicketCard(title=title, fields=fields, footer=footer):
            lines = [title, *(f"{label}: {value}" for label, value in fields)]
            if footer:
                lines.append(footer)
            return "\n".join(lines)
        case _:
            return reply.text


def check_limits(reply: Reply) -> None:
    """Raise `LimitError` unless the reply fits Slack and Telegram."""
    options = reply_options(reply)
    if len(options) > MAX_OPTIONS:
        raise LimitError(f"{len(options)} options (max {MAX_OPTIONS})")
    for option in options:
        size = len(option.payload.encode())
        if size > MAX_PAYLOAD_BYTES:
            raise LimitError(f"payload {option.payload!r} is {size} bytes")
        if not option.label or len(option.label) > MAX_LABEL:
            raise LimitError(f"option label {option.label!r} is empty or too long")
    if len(reply_text(reply)) > MAX_TEXT:
        raise LimitError(f"text of {len(reply_text(reply))} characters")


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Split a long text on line boundaries (or hard, for a single huge line) under `limit`."""
    if len(text) <= limit:
        return [text]
    parts: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while len(line) > limit:
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:limit])
            line = line[limit:]
        if len(current) + len(line) > limit:
            parts.append(current)
            current = ""
        current += line
    if current:
        parts.append(current)
    return [part.rstrip("\n") or part for part in parts]


class ClaimLostError(RuntimeError):
    """The inbound event being handled was taken over by another process: nothing is kept."""


#: A channel's own bookkeeping write (its open question, say), run on the connection of a
#: transaction the event already has: the core's (`Core.__call__`'s `along`) or the one that
#: marks the event replied (`Seal.after_reply`), instead of a transaction of its own.
Along = Callable[[Any], None]


class Seal(Protocol):
    """Marks an inbound event handled, inside the transaction of its effects, with its reply.

    The inbox hands one to the channel with each stored event; the channel passes it to the
    core, which calls it with its session and its outcome just before committing (raising
    `ClaimLostError` rolls the effects back when another process took the event over). The
    outcome stored there is the reply: should the process stop before the channel sent it,
    the next drainer hands it to the channel to send, without running the core again.
    """

    @property
    def final(self) -> bool:
        """The last attempt: a failure is answered to the user and the event is parked."""

    def __call__(self, session: Any, outcome: Outcome | None = None) -> None:
        """Mark the event handled inside `session`'s transaction, its reply `outcome` kept
        until it is sent."""

    def record(self, outcome: Outcome) -> None:
        """Keep the reply again once its files are drawn (after the commit)."""

    def give_up(self, error: str) -> None:
        """Park the event (its own transaction): it failed on its last attempt."""

    def release(self) -> None:
        """The channel is done with the event (replies sent): its chat's next one may go."""

    def after_reply(self, write: Along) -> None:
        """Run `write` in the transaction that marks the event replied (best effort: should
        it fail, the event is marked replied without it, with a log line)."""
