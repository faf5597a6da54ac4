"""One dispatcher batch: many tickets and readers, one outbox statement, the same messages.

Texts are rendered once per ticket, language and audience, and the batch's rows are written
by one statement: each reader must still get their own ticket's message in their language,
and the idempotency keys must still write a row once. SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot.channels.sending import Audience
from bot.db.engine import make_engine, transaction
from bot.db.models import Notification, Role, Ticket
from bot.i18n import translator
from bot.services import notify, users
from bot.services.notify.outbox import outbox_row
from bot.settings import Settings
from bot.worker.clock import ManualClock
from bot.worker.dispatcher import Dispatcher
from pricing.loader import get_pack, load_packs
from tests.worker.conftest import milestones, notifications, open_ticket

RESTART = "dedicated-server-manual-restart"  # Telenet
PACK = "telenet-hosting-cloud"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, db_url: str) -> Iterator[Engine]:
    """The per-test database: the SQLite file, or a fresh PostgreSQL database."""
    url = (
        db_url if request.param == "sqlite" else request.getfixturevalue("postgres").new_database()
    )
    engine = make_engine(url)
    yield engine
    engine.dispose()


def add_agents(engine: Engine, *people: tuple[str, str]) -> None:
    """Agents of every provider, each reading in the given language on the console."""
    providers = sorted({pack.provider_code for pack in load_packs().values()})
    with transaction(engine) as session:
        for handle, locale in people:
            user = users.add_user(
                session=session,
                handle=handle,
                display_name=handle,
                role=Role.AGENT,
                locale=locale,
                provider_codes=providers,
            )
            users.link_identity(session=session, user=user, channel="console", external_id=handle)


def test_one_batch_gives_each_reader_their_tickets_message_in_their_language(
    seeded: Engine, settings: Settings, clock: ManualClock, start: datetime
) -> None:
    add_agents(seeded, ("agent-fr-1", "fr"), ("agent-fr-2", "fr"), ("agent-nl", "nl"))
    opened = [
        open_ticket(seeded, pack_id=PACK, intervention=RESTART, priority="express", now=start)
        for _ in range(3)
    ]
    first_warnings = []
    for ticket in opened:
        assert ticket.id is not None
        first_warnings.append(milestones(seeded, ticket.id)[0])
    clock.set(max(m.due_at for m in first_warnings))
    batch = Dispatcher(engine=seeded, settings=settings, clock=clock).dispatch_batch()
    fired = [f for f in batch.fired if f.kind == "warning" and f.fired]
    assert {f.ticket_id for f in fired} == {t.id for t in opened}  # one batch, three tickets

    rows = notifications(seeded, event="at_risk")
    with transaction(seeded) as session:
        stored = {t.id: session.get(Ticket, t.id) for t in opened}
        pack = get_pack(PACK)
        for row in rows:
            ticket = stored[row.ticket_id]
            assert ticket is not None
            assert ticket.reference in row.text
            assert ticket.response_due is not None
            # What rendering for this one reader alone gives, word for word.
            expected = notify.render(
                event="at_risk",
                t=translator(row.lang),
                ticket=ticket,
                pack=pack,
                params={
                    "target": "response",
                    "due": ticket.response_due.isoformat(),
                    "percent": "50",
                    "audience": row.audience,
                },
            )
            assert row.text == expected
            assert [a["payload"].rsplit(":", 1)[1] for a in row.actions] == [
                ticket.reference
            ] * len(row.actions)
    readers = {(row.ticket_id, row.chat_id): row.lang for row in rows}
    for ticket in opened:  # every agent hears of every ticket, in their own language
        assert readers[(ticket.id, "agent-fr-1")] == "fr"
        assert readers[(ticket.id, "agent-fr-2")] == "fr"
        assert readers[(ticket.id, "agent-nl")] == "nl"
        assert (ticket.id, "demo-agent") in readers
    by_reader = {(row.ticket_id, row.chat_id): row.text for row in rows}
    for ticket in opened:
        assert by_reader[(ticket.id, "agent-fr-1")] == by_reader[(ticket.id, "agent-fr-2")]
        assert by_reader[(ticket.id, "agent-fr-1")] != by_reader[(ticket.id, "agent-nl")]
    assert len({row.text for row in rows if row.lang == "fr"}) == len(opened)
    assert sum(f.messages for f in fired if f.target == "response") == len(
        [r for r in rows if ":response:" in r.idempotency_key]
    )


def test_the_batch_writes_a_key_once_and_tells_which_rows_are_new(
    seeded: Engine, start: datetime
) -> None:
    ticket = open_ticket(seeded, pack_id=PACK, intervention=RESTART, priority="express", now=start)
    destination = notify.Destination(
        audience=Audience.CUSTOMER,
        channel="console",
        chat_id="demo-requester",
        lang="en",
    )

    def row(key: str, text: str) -> dict[str, Any]:
        return outbox_row(
            key=key,
            destination=destination,
            event="due",
            text=text,
            now=start,
            ticket_id=ticket.id,
        )

    with transaction(seeded) as session:
        batch = notify.OutboxBatch()
        first = batch.add(row("k1", "one"))
        assert batch.add(row("k1", "again")) == first  # queued once: the first one wins
        batch.add(row("k2", "two"))
        assert batch.write(session) == {first, "k2|customer|console|demo-requester"}
    with transaction(seeded) as session:
        batch = notify.OutboxBatch()
        batch.add(row("k2", "two, again"))
        batch.add(row("k3", "three"))
        assert batch.write(session) == {"k3|customer|console|demo-requester"}
        assert batch.write(session) == set()  # nothing queued any more
    with transaction(seeded) as session:
        texts = session.exec(
            select(Notification.text).where(Notification.event == "due")  # type: ignore[call-overload]
        ).all()
    assert sorted(texts) == ["one", "three", "two"]


def test_a_pass_commits_a_small_first_batch_then_full_ones_each_row_once(
    seeded: Engine, settings: Settings, clock: ManualClock, start: datetime
) -> None:
    opened = [
        open_ticket(seeded, pack_id=PACK, intervention=RESTART, priority="express", now=start)
        for _ in range(4)
    ]
    first_warnings = []
    for ticket in opened:
        assert ticket.id is not None
        first_warnings.append(milestones(seeded, ticket.id)[0])
    clock.set(max(m.due_at for m in first_warnings))
    sizes: list[int] = []
    dispatcher = Dispatcher(
        engine=seeded,
        settings=settings,
        clock=clock,
        batch_size=3,
        first_batch=1,
        on_commit=lambda result: sizes.append(result.claimed),
    )
    assert dispatcher.dispatch_due() == 4
    assert sizes == [1, 3]  # the first row committed alone, then full batches
    assert dispatcher.dispatch_due() == 0  # nothing claimed twice
    keys = [row.idempotency_key for row in notifications(seeded, event="at_risk")]
    assert len(keys) == len(set(keys))
    assert {int(key.split(":", 1)[0][1:]) for key in keys} == {t.id for t in opened}
