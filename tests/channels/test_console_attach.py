"""The console's `/attach REF PATH`: the file joins the ticket, kept by its path."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import select

from bot.channels.console import ConsoleSession, attach_line
from bot.db.engine import transaction
from bot.db.models import Notification, TicketAttachment
from bot.services import demo
from bot.settings import Settings
from handlers.model import AttachmentKind
from tests.worker.conftest import open_ticket

START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def test_attach_line_keeps_the_file_by_its_path(tmp_path: Path) -> None:
    screen = tmp_path / "screen.png"
    screen.write_bytes(b"\x89PNG" + b"0" * 996)
    text, [attachment] = attach_line(f"/attach TLN-2026-000001 {screen}")
    assert text == "/attach TLN-2026-000001"
    assert attachment.kind is AttachmentKind.PHOTO
    assert (attachment.name, attachment.size, attachment.mime) == ("screen.png", 1000, "image/png")
    assert attachment.file_id == str(screen.resolve())
    # A missing file attaches nothing: the core explains how to attach.
    assert attach_line(f"/attach TLN-2026-000001 {tmp_path / 'none.pdf'}") == (
        "/attach TLN-2026-000001",
        (),
    )
    assert attach_line("/ticket TLN-2026-000001") == ("/ticket TLN-2026-000001", ())


def test_console_attach_reaches_the_agents(engine: Engine, tmp_path: Path) -> None:
    with transaction(engine) as session:
        demo.seed(session=session, now=START)
    ticket = open_ticket(
        engine,
        pack_id="telenet-hosting-cloud",
        intervention="dedicated-server-down-not-hardware",
        priority="express",
        now=START,
    )
    report = tmp_path / "error.log"
    report.write_text("disk full\n")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    console = ConsoleSession(
        engine=engine, settings=settings, handle="demo-requester", clock=lambda: START, locale="en"
    )
    console.send("/lang en")
    answer = console.send(f"/attach {ticket.reference} {report}")
    assert answer == [f"Added to {ticket.reference} with 1 file; the support team is told."]
    answer = console.send(f"/attach {ticket.reference} {tmp_path / 'missing.log'}")
    assert "/attach REF followed by the file's path" in answer[0]
    with transaction(engine) as session:
        [stored] = session.exec(select(TicketAttachment)).all()
        assert (stored.channel, stored.name, stored.size) == ("console", "error.log", 10)
        rows = session.exec(
            select(Notification).where(Notification.event == "customer_comment")
        ).all()
        assert rows
        assert all("error.log" in row.text for row in rows)
