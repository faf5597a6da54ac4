"""Concurrent actors on shared counters and one-time codes, on SQLite and PostgreSQL.

Ten requesters open tickets at the same instant: ten distinct references (the counter is one
atomic ``INSERT … ON CONFLICT DO UPDATE … RETURNING``). Six accounts redeem one invite at the
same instant: one user (the code is claimed by ``UPDATE … WHERE used_at IS NULL``). On
PostgreSQL the actors are held behind a third transaction's lock on the shared row until all
of them wait on it, so they really collide; SQLite serialises them (``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import datetime

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot.db.engine import make_engine, transaction
from bot.db.models import ChannelIdentity, Invite, Role, Tenant, Ticket, User
from bot.services import demo, users
from bot.services.errors import InviteError
from tests.worker.conftest import PostgresServer, open_ticket
from tests.worker.races import run_behind_lock

OPENERS = 10
REDEEMERS = 6
PACK = "telenet-hosting-cloud"


@pytest.fixture
def pg(postgres: PostgresServer) -> Iterator[Engine]:
    """A fresh PostgreSQL database."""
    engine = make_engine(postgres.new_database())
    yield engine
    engine.dispose()


def _race(
    engine: Engine, actors: list[Callable[[], object]], *, lock: tuple[str, dict[str, object]]
) -> tuple[list[object], list[BaseException]]:
    """Run `actors` at once; what each returned, and what each raised."""
    results: list[object] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(actors) + 1)

    def run(actor: Callable[[], object]) -> None:
        barrier.wait()
        try:
            results.append(actor())
        except BaseException as exc:  # counted by the test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(actor,)) for actor in actors]
    hold = engine.dialect.name == "postgresql"
    run_behind_lock(engine=engine, lock=lock, threads=threads, barrier=barrier, hold=hold)
    return results, errors


def _requesters(engine: Engine, count: int) -> list[str]:
    with transaction(engine) as session:
        tenant = session.exec(select(Tenant).where(Tenant.slug == demo.DEMO_TENANT)).one()
        handles = [f"requester-{n}" for n in range(count)]
        for handle in handles:
            users.add_user(
                session=session,
                handle=handle,
                display_name=handle,
                role=Role.REQUESTER,
                tenant_id=tenant.id,
            )
    return handles


def _openings(engine: Engine, start: datetime) -> None:
    with transaction(engine) as session:
        demo.seed(session=session, now=start)
    first = open_ticket(
        engine, pack_id=PACK, intervention="dedicated-server-down-not-hardware",
        priority="express", now=start,
    )  # fmt: skip
    handles = _requesters(engine, OPENERS)

    def opener(handle: str) -> Callable[[], object]:
        return lambda: (
            open_ticket(
                engine,
                pack_id=PACK,
                intervention="dedicated-server-down-not-hardware",
                priority="express",
                now=start,
                handle=handle,
            ).reference
        )

    results, errors = _race(
        engine,
        [opener(handle) for handle in handles],
        lock=("SELECT id FROM ticket_counters FOR UPDATE", {}),
    )
    assert errors == []
    assert len(set(results)) == OPENERS
    prefix = first.reference.rsplit("-", 1)[0]
    expected = {f"{prefix}-{n:06d}" for n in range(2, OPENERS + 2)}
    assert set(results) == expected
    with transaction(engine) as session:
        references = session.exec(select(Ticket.reference)).all()
    assert len(references) == len(set(references)) == OPENERS + 1


def test_ten_openings_at_once_on_sqlite(engine: Engine, start: datetime) -> None:
    _openings(engine, start)


@pytest.mark.postgres
def test_ten_openings_at_once_on_postgres(pg: Engine, start: datetime) -> None:
    _openings(pg, start)


def _redemptions(engine: Engine, start: datetime) -> None:
    with transaction(engine) as session:
        demo.seed(session=session, now=start)
        tenant = session.exec(select(Tenant).where(Tenant.slug == demo.DEMO_TENANT)).one()
        code = users.create_invite(
            session=session, role=Role.MANAGER, now=start, valid_days=7, tenant=tenant
        ).code
    before = _count_users(engine)

    def redeemer(n: int) -> Callable[[], object]:
        def redeem() -> object:
            with transaction(engine) as session:
                return users.redeem_invite(
                    session=session,
                    code=code,
                    channel="console",
                    external_id=f"account-{n}",
                    display_name=f"Account {n}",
                    platform_locale=None,
                    now=start,
                ).handle

        return redeem

    results, errors = _race(
        engine,
        [redeemer(n) for n in range(REDEEMERS)],
        lock=("SELECT id FROM invites WHERE code = :code FOR UPDATE", {"code": code}),
    )
    assert len(results) == 1
    assert len(errors) == REDEEMERS - 1
    assert all(isinstance(e, InviteError) and e.params["reason"] == "used" for e in errors), errors
    assert _count_users(engine) == before + 1
    with transaction(engine) as session:
        invite = session.exec(select(Invite).where(Invite.code == code)).one()
        winner = session.exec(select(User).where(User.handle == results[0])).one()
        links = session.exec(
            select(ChannelIdentity).where(ChannelIdentity.user_id == winner.id)
        ).all()
    assert invite.used_by_user_id == winner.id
    assert winner.role is Role.MANAGER
    assert [link.external_id for link in links] == [results[0].removeprefix("console-")]


def _count_users(engine: Engine) -> int:
    with transaction(engine) as session:
        return len(session.exec(select(User)).all())


def test_six_redemptions_of_one_code_on_sqlite(engine: Engine, start: datetime) -> None:
    _redemptions(engine, start)


@pytest.mark.postgres
def test_six_redemptions_of_one_code_on_postgres(pg: Engine, start: datetime) -> None:
    _redemptions(pg, start)
