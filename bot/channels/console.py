"""The console channel: a terminal conversation, interactive or piped line by line.

Choices are shown as numbered lists; the user answers by number or by label. A number
that picks an option of the last question is sent as that option's payload, exactly as a
button click on Slack or Telegram would be.
"""

from __future__ import annotations

import mimetypes
import sys
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from sqlalchemy import Engine
from sqlmodel import col, select

from bot.channels.console_files import write_file
from bot.db.engine import transaction
from bot.db.models import Notification, NotificationFile, NotificationStatus
from bot.numbers import parse_int
from bot.settings import Settings
from handlers.core import clean_event, entry
from handlers.model import (
    Attachment,
    AttachmentKind,
    Choices,
    Confirm,
    InboundEvent,
    Option,
    OutgoingFile,
    Prompt,
    Reply,
    Text,
    TicketCard,
    reply_options,
)

CHANNEL = "console"


def render(reply: Reply) -> tuple[str, tuple[Option, ...]]:
    """A reply as terminal text, with the options it numbered."""
    options = reply_options(reply)
    match reply:
        case Text(text=text):
            body = text
        case Choices(text=text) | Prompt(text=text) | Confirm(text=text):
            body = text
        case TicketCard(title=title, fields=fields, footer=footer):
            width = max((len(label) for label, _value in fields), default=0)
            lines = [f"┌ {title}"]
            lines += [f"│ {label.ljust(width)}  {value}" for label, value in fields]
            if footer:
                lines += [f"│ {line}" for line in footer.splitlines()]
            lines.append("└")
            body = "\n".join(lines)
    if options:
        body += "\n" + "\n".join(f"  {i}. {o.label}" for i, o in enumerate(options, 1))
    return body, options


def attach_line(text: str) -> tuple[str, tuple[Attachment, ...]]:
    """`/attach REF PATH`: the command without the path, and the file as an attachment kept
    by its absolute path (an unreadable path attaches nothing: the core says how to)."""
    head, _sep, rest = text.partition(" ")
    if head.lower() != "/attach":
        return text, ()
    reference, _sep, raw_path = rest.strip().partition(" ")
    path = Path(raw_path.strip()).expanduser()
    if not raw_path.strip() or not path.is_file():
        return f"/attach {reference}".strip(), ()
    mime = mimetypes.guess_type(path.name)[0]
    kind = AttachmentKind.PHOTO if (mime or "").startswith("image/") else AttachmentKind.FILE
    attachment = Attachment(
        kind=kind,
        file_id=str(path.resolve()),
        name=path.name,
        size=path.stat().st_size,
        mime=mime,
    )
    return f"/attach {reference}", (attachment,)


def file_line(file: OutgoingFile, path: Path) -> str:
    """How the console shows a file it wrote: its caption and where it is."""
    caption = f"{file.caption} — " if file.caption else ""
    return f"📎 {caption}{path}"


class ConsoleSession:
    """One user's terminal conversation with the core."""

    def __init__(
        self,
        *,
        engine: Engine,
        settings: Settings,
        handle: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        locale: str | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.core = entry(engine=engine, settings=settings)
        self.handle = handle
        self.clock = clock
        self.locale = locale
        self.last_options: tuple[Option, ...] = ()

    def send(self, line: str) -> list[str]:
        """Send one typed line; returns the rendered replies."""
        text = line.strip()
        action = None
        picked = parse_int(text, low=1, high=len(self.last_options))
        if picked is not None:
            action = self.last_options[picked - 1].payload
            text = ""
        text, attachments = attach_line(text)
        event = InboundEvent(
            channel=CHANNEL,
            chat_id=self.handle,
            user_external_id=self.handle,
            received_at=self.clock(),
            text=text or None,
            action=action,
            platform_locale=self.locale,
            display_name=self.handle,
            attachments=attachments,
        )
        event = clean_event(event, default_locale=self.settings.default_locale)
        outcome = self.core(event)
        rendered: list[str] = []
        options: tuple[Option, ...] = ()
        for reply in outcome.replies:
            body, reply_opts = render(reply)
            rendered.append(body)
            if reply_opts:
                options = reply_opts
        for file in outcome.files:
            path = write_file(file, directory=self.settings.console_files_dir, handle=self.handle)
            rendered.append(file_line(file, path))
        self.last_options = options
        return rendered

    def inbox(self) -> list[str]:
        """Deliver this user's pending console notifications (marks them sent)."""
        now = self.clock()
        delivered: list[str] = []
        with transaction(self.engine) as session:
            query = (
                select(Notification)
                .where(
                    Notification.channel == CHANNEL,
                    Notification.chat_id == self.handle,
                    Notification.status == NotificationStatus.PENDING,
                    Notification.next_attempt_at <= now,
                )
                .order_by(Notification.id)  # type: ignore[arg-type]
            )
            for row in session.exec(query):
                note = f"📣 {row.text}"
                if row.actions and not self.last_options:
                    # A notification's buttons (a certificate reminder's renewal) are numbered
                    # like a question's options, unless a question is waiting for its answer.
                    self.last_options = tuple(Option(a["label"], a["payload"]) for a in row.actions)
                    note += "\n" + "\n".join(
                        f"  {i}. {o.label}" for i, o in enumerate(self.last_options, 1)
                    )
                delivered.append(note)
                attached = select(NotificationFile).where(
                    NotificationFile.notification_id == row.id
                )
                for stored in session.exec(attached.order_by(col(NotificationFile.id))):
                    file = OutgoingFile(name=stored.name, mime=stored.mime, data=stored.data)
                    path = write_file(
                        file, directory=self.settings.console_files_dir, handle=self.handle
                    )
                    delivered.append(file_line(file, path))
                row.status = NotificationStatus.SENT
                row.sent_at = now
                row.attempts += 1
                session.add(row)
        return delivered


def run(
    *, session: ConsoleSession, lines: Iterable[str], out: TextIO = sys.stdout, echo: bool
) -> None:
    """Feed lines to the session and print everything it answers."""
    for note in session.inbox():
        print(note, file=out)
    prompt = "> "
    for line in lines:
        if echo:
            print(f"{prompt}{line.rstrip()}", file=out)
        if line.strip() in ("/quit", "/exit"):
            break
        if not line.strip():
            continue
        for block in session.send(line):
            print(block, file=out)
            print(file=out)
        for note in session.inbox():
            print(note, file=out)
        out.flush()
