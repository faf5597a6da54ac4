"""Managers' charts and exports on Slack: shared in the DM with `files_upload_v2`."""

from __future__ import annotations

from sqlmodel import select

from bot.channels.sending import Delivery, OutboxMessage
from bot.db.engine import transaction
from bot.db.models import Role, Tenant
from bot.services import users
from handlers.model import OutgoingFile
from tests.slack.conftest import text_of
from tests.worker.conftest import open_ticket

MANAGER = "UMGR00001"


def _customer_manager(world) -> None:
    with transaction(world.engine) as session:
        tenant = session.exec(select(Tenant).where(Tenant.slug == "demo-customer")).one()
        user = users.add_user(
            session=session,
            handle="acme-manager",
            display_name="Customer Manager",
            role=Role.MANAGER,
            tenant_id=tenant.id,
        )
        users.link_identity(session=session, user=user, channel="slack", external_id=MANAGER)


async def test_status_posts_the_summary_then_shares_the_chart_in_the_dm(make_world):
    world = await make_world("en")
    _customer_manager(world)
    world.fake.locales[MANAGER] = "en-GB"
    open_ticket(
        world.engine,
        pack_id="telenet-hosting-cloud",
        intervention="dedicated-server-manual-restart",
        priority="express",
        now=world.clock.now(),
    )
    await world.say(MANAGER, "/status")
    [summary] = world.dm(MANAGER)
    assert "Open tickets:" in text_of(summary)
    assert "Express" in text_of(summary)  # the pack's label, never its id
    [shared] = world.fake.files
    assert shared["channel"] == "D" + MANAGER[1:]
    assert shared["name"] == "backlog.png"
    assert shared["data"].startswith(b"\x89PNG")
    assert shared["initial_comment"] == "Open tickets by priority and age"


async def test_an_outbox_message_with_files_is_followed_by_its_uploads(make_world):
    world = await make_world("en")
    message = OutboxMessage(
        id=1,
        idempotency_key="report:2026-11:u1:t1",
        channel="slack",
        chat_id=MANAGER,
        lang="en",
        text="Monthly report, November 2026",
        event="monthly_report",
        audience="manager",
        files=(
            OutgoingFile(name="sla-2026-11.png", mime="image/png", data=b"\x89PNG fake"),
            OutgoingFile(name="tickets-2026-11.csv", mime="text/csv", data=b"reference\r\n"),
        ),
    )
    result = await world.sender().send(message)
    assert result.outcome is Delivery.DELIVERED
    assert [f["name"] for f in world.fake.files] == ["sla-2026-11.png", "tickets-2026-11.csv"]
    assert {f["channel"] for f in world.fake.files} == {"D" + MANAGER[1:]}
    assert world.fake.files[1]["data"] == b"reference\r\n"


async def test_the_summary_is_posted_before_the_chart_is_drawn(make_world, monkeypatch, caplog):
    """The text never waits for a drawing; a drawing that fails leaves the text complete."""
    from bot.reports import render

    world = await make_world("en")
    _customer_manager(world)
    open_ticket(
        world.engine,
        pack_id="telenet-hosting-cloud",
        intervention="dedicated-server-manual-restart",
        priority="express",
        now=world.clock.now(),
    )
    posted_when_drawing: list[int] = []
    draw = render.backlog_png

    def watched(*args):
        posted_when_drawing.append(len(world.dm(MANAGER)))
        return draw(*args)

    monkeypatch.setattr(render, "backlog_png", watched)
    await world.say(MANAGER, "/status")
    assert posted_when_drawing == [1]  # the summary was in the DM before the drawing began
    [shared] = world.fake.files
    assert shared["data"].startswith(b"\x89PNG")

    def broken(*_args):
        raise RuntimeError("no fonts")

    monkeypatch.setattr(render, "backlog_png", broken)
    await world.say(MANAGER, "/status")
    assert len(world.dm(MANAGER)) == 2  # the second summary went; its chart is left out
    assert len(world.fake.files) == 1
    assert "backlog.png not drawn" in caplog.text
