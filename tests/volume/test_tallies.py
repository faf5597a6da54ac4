"""Ticket tallies: kept exact by the database's triggers whatever writes the tickets (ORM,
bulk statements, concurrent transactions on PostgreSQL), and cut exactly at any instants."""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, delete, insert, text, update
from sqlmodel import col, select

from bot.db.engine import transaction
from bot.db.models import (
    Contract,
    TargetOutcome,
    Ticket,
    TicketStatus,
    TicketTally,
    TicketTallyDelta,
    User,
)
from bot.services import demo_volume, tallies
from bot.services.figures import Scope
from tests.volume.conftest import SEEDED_AT
from tests.worker.conftest import open_ticket

NOW = SEEDED_AT
OUTCOMES = (None, *(outcome.value for outcome in TargetOutcome))
PRIORITIES = ("p1", "p2", "p3")


def recount(engine: Engine) -> Counter[tuple[Any, ...]]:
    """The tallies as they must be: every ticket counted once, from the tickets table."""
    found: Counter[tuple[Any, ...]] = Counter()
    with transaction(engine) as session:
        for ticket in session.exec(select(Ticket)).all():
            found[
                (
                    ticket.contract_id,
                    ticket.tenant_id,
                    ticket.priority,
                    ticket.status.name,
                    ticket.response_outcome or "",
                    ticket.resolution_outcome or "",
                    ticket.logged_at.astimezone(UTC).date(),
                )
            ] += 1
    return found


def tallied(engine: Engine) -> Counter[tuple[Any, ...]]:
    """The tallies the triggers kept (rows counting nobody any more left out)."""
    found: Counter[tuple[Any, ...]] = Counter()
    with transaction(engine) as session:
        rows: list[Any] = [
            *session.exec(select(TicketTally)),
            *session.exec(select(TicketTallyDelta)),
        ]
        for row in rows:
            if row.n:
                key = (row.contract_id, row.tenant_id, row.priority, row.status)
                found[(*key, row.response_outcome, row.resolution_outcome, row.day)] += row.n
    return found


def _raw_tickets(engine: Engine, count: int, rng: random.Random, first_id: int) -> list[int]:
    """`count` tickets with random logging instants, statuses, outcomes and instants."""
    with transaction(engine) as session:
        contracts = session.exec(select(Contract)).all()
        requester = session.exec(select(User).where(User.handle == "demo-requester")).one()
    rows = []
    for n in range(count):
        contract = contracts[n % len(contracts)]
        row: dict[str, Any] = {
            "id": first_id + n,
            "reference": f"TAL-{first_id + n:07d}",
            "tenant_id": contract.tenant_id,
            "contract_id": contract.id,
            "requester_id": requester.id,
            "intervention_id": "x",
            "kind": "incident",
            "priority": rng.choice(PRIORITIES),
            "status": rng.choice(list(TicketStatus)),
            "logged_at": NOW - timedelta(seconds=rng.randrange(0, 40 * 86400)),
            "description": "",
            "details": {},
            "updated_at": NOW,
        }
        for target in tallies.TARGETS:
            due = NOW + timedelta(hours=rng.uniform(-72, 72)) if rng.random() < 0.9 else None
            outcome = rng.choice(OUTCOMES)
            row[f"{target}_outcome"] = outcome
            row[f"{target}_due"] = due
            row[f"{target}_risk_at"] = (
                due - timedelta(hours=rng.uniform(0, 24))
                if due and rng.random() < 0.8 and outcome != TargetOutcome.AT_RISK.value
                else None  # a target recorded at risk has its risk instant cleared
            )
        rows.append(row)
    with engine.begin() as connection:
        connection.execute(insert(Ticket), rows)
    return [row["id"] for row in rows]


def test_the_triggers_exist_after_migrating(engine: Engine) -> None:
    with engine.connect() as connection:
        names = connection.execute(
            text("SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
        ).scalars()
        assert {"tickets_tally_insert", "tickets_tally_update", "tickets_tally_delete"} <= set(
            names
        )


def _every_kind_of_write(engine: Engine) -> None:
    rng = random.Random(3)
    opened = [
        open_ticket(
            engine,
            pack_id="proximus-internet",
            intervention="no-internet",
            priority=priority,
            now=NOW - timedelta(hours=hours),
        )
        for priority, hours in (("p1", 1), ("p2", 30), ("p3", 200))
    ]
    with transaction(engine) as session:  # through the ORM
        first = session.get(Ticket, opened[0].id)
        assert first is not None
        first.status = TicketStatus.RESPONDED
        first.response_outcome = TargetOutcome.MET.value
        first.priority = "p2"
        second = session.get(Ticket, opened[1].id)
        assert second is not None
        second.logged_at -= timedelta(days=3)
        second.resolution_outcome = TargetOutcome.BREACHED.value
        session.add_all([first, second])
    with transaction(engine) as session:  # bulk demo tickets: multi-row INSERT statements
        demo_volume.seed_open_tickets(session=session, count=40, now=NOW)
    ids = _raw_tickets(engine, 60, rng, first_id=100_000)
    with transaction(engine) as session:  # one UPDATE over many rows, and a DELETE
        session.execute(
            update(Ticket)
            .where(col(Ticket.id).in_(ids[:30]))
            .values(status=TicketStatus.CLOSED, resolution_outcome=TargetOutcome.MET.value)
        )
        session.execute(delete(Ticket).where(col(Ticket.id).in_(ids[30:40])))
        session.execute(  # a change of a column the tallies do not count: no move
            update(Ticket).where(col(Ticket.id).in_(ids[40:])).values(description="edited")
        )


def test_the_tallies_equal_a_recount_after_every_kind_of_write(seeded: Engine) -> None:
    _every_kind_of_write(seeded)
    assert sum(recount(seeded).values()) > 90
    assert tallied(seeded) == recount(seeded)


def _expected(
    engine: Engine,
    *,
    cuts: list[datetime],
    now: datetime,
    statuses: set[TicketStatus] | None,
    inside: bool,
) -> Counter[tuple[Any, ...]]:
    """What `tallies.counts` must answer, ticket by ticket."""
    found: Counter[tuple[Any, ...]] = Counter()
    with transaction(engine) as session:
        for t in session.exec(select(Ticket)).all():
            if statuses is not None and t.status not in statuses:
                continue
            bucket = sum(1 for cut in cuts if cut <= t.logged_at)
            if inside and not 0 < bucket < len(cuts):
                continue
            now_outcomes, risks = [], []
            for target in tallies.TARGETS:
                stored = getattr(t, f"{target}_outcome") or ""
                due = getattr(t, f"{target}_due")
                risk = getattr(t, f"{target}_risk_at")
                recorded = stored == TargetOutcome.AT_RISK.value
                is_open = recorded or stored == TargetOutcome.OPEN.value
                late = is_open and due is not None and due < now
                if late:
                    now_outcomes.append(TargetOutcome.BREACHED.value)
                else:
                    now_outcomes.append(TargetOutcome.OPEN.value if is_open else stored)
                past_risk = recorded or (is_open and risk is not None and risk <= now)
                risks.append(past_risk and not late)
            key = (bucket, t.contract_id, t.priority, t.status, *now_outcomes, *risks)
            found[key] += 1
    return found


def _cut_sets(rng: random.Random) -> Iterator[list[datetime]]:
    midnight = NOW.replace(hour=0, minute=0, second=0, microsecond=0)
    yield [midnight - timedelta(days=10), midnight]  # whole UTC days: no edge
    yield [NOW - timedelta(days=7), NOW - timedelta(days=1)]  # the backlog's ages
    yield [midnight - timedelta(days=3, hours=12), midnight - timedelta(days=2, hours=12)]
    yield [NOW - timedelta(days=5, hours=3), NOW - timedelta(days=5, hours=1)]  # one day, twice
    for _ in range(12):
        instants = [NOW - timedelta(seconds=rng.randrange(0, 45 * 86400)) for _ in range(4)]
        yield sorted(instants[: rng.randint(1, 4)])


def test_counts_are_exact_at_any_cut(seeded: Engine) -> None:
    _exact_at_any_cut(seeded)


def test_counts_are_exact_at_any_cut_on_postgresql(pg: Engine) -> None:
    _exact_at_any_cut(pg)


def _exact_at_any_cut(seeded: Engine) -> None:
    rng = random.Random(11)
    _raw_tickets(seeded, 400, rng, first_id=200_000)
    now = NOW - timedelta(hours=5)  # some open targets are late, some at risk, some neither
    scope = Scope()
    checked = 0
    for cuts in _cut_sets(rng):
        for statuses in (None, set(TicketStatus.open_statuses())):
            for inside in (False, True):
                if inside and len(cuts) < 2:
                    continue
                with transaction(seeded) as session:
                    found = tallies.counts(
                        session=session,
                        scope=scope,
                        cuts=cuts,
                        now=now,
                        statuses=statuses,
                        inside=inside,
                    )
                got = Counter(
                    {
                        (
                            g.bucket,
                            g.contract_id,
                            g.priority,
                            g.status,
                            g.response,
                            g.resolution,
                            g.response_risk,
                            g.resolution_risk,
                        ): n
                        for g, n in found.groups.items()
                    }
                )
                want = _expected(seeded, cuts=cuts, now=now, statuses=statuses, inside=inside)
                assert got == want, (cuts, statuses, inside)
                assert set(found.contracts) >= {key[1] for key in want}
                checked += sum(want.values())
    assert checked > 5000


def _grouped(found: tallies.Counts) -> Counter[tuple[Any, ...]]:
    return Counter(
        {
            (
                g.bucket,
                g.contract_id,
                g.priority,
                g.status,
                g.response,
                g.resolution,
                g.response_risk,
                g.resolution_risk,
            ): n
            for g, n in found.groups.items()
        }
    )


def test_statements_built_once_per_shape_stay_exact_at_any_now_and_scope(seeded: Engine) -> None:
    """`counts` builds its statements once per shape (scope, number of cuts, statuses) and
    binds the instants: later calls at other instants, or in another scope, answer exactly."""
    rng = random.Random(5)
    _raw_tickets(seeded, 400, rng, first_id=300_000)
    with transaction(seeded) as session:
        tenants = {c.id: c.tenant_id for c in session.exec(select(Contract)).all()}
    statuses = set(TicketStatus.open_statuses())
    for hours in (-80, -30, -5, 0, 7, 40, 90):  # before, among and after the due instants
        now = NOW + timedelta(hours=hours)
        cuts = [now - timedelta(days=7), now - timedelta(days=1)]
        want = _expected(seeded, cuts=cuts, now=now, statuses=statuses, inside=False)
        built = len(tallies._BUILT)
        for scope in (Scope(), *(Scope(tenant_id=t) for t in sorted(set(tenants.values())))):
            with transaction(seeded) as session:
                found = tallies.counts(
                    session=session, scope=scope, cuts=cuts, now=now, statuses=statuses
                )
            expected = Counter(
                {
                    key: n
                    for key, n in want.items()
                    if scope.tenant_id is None or tenants[key[1]] == scope.tenant_id
                }
            )
            assert _grouped(found) == expected, (hours, scope)
        if hours != -80:  # the same shapes again: nothing built
            assert len(tallies._BUILT) == built


def test_postgresql_tallies_stay_exact_under_concurrent_moves(pg: Engine) -> None:
    """Writers move tickets between the same tally rows in opposite directions at once:
    every transaction commits (no deadlock between tally rows) and the tallies stay exact."""
    _every_kind_of_write(pg)
    ids = _raw_tickets(pg, 80, random.Random(5), first_id=300_000)
    with pg.begin() as connection:  # one tally row per status: all writers collide
        connection.execute(
            update(Ticket)
            .where(col(Ticket.id).in_(ids))
            .values(
                logged_at=NOW - timedelta(days=1),
                priority="p1",
                response_outcome=None,
                resolution_outcome=None,
                contract_id=select(Ticket.contract_id)
                .where(col(Ticket.id) == ids[0])
                .scalar_subquery(),
                tenant_id=select(Ticket.tenant_id)
                .where(col(Ticket.id) == ids[0])
                .scalar_subquery(),
            )
        )
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def writer(number: int) -> None:
        mine = ids[number::4]
        states = [TicketStatus.OPEN, TicketStatus.PAUSED]
        if number % 2:
            states.reverse()
        try:
            start.wait()
            for round_ in range(6):
                with transaction(pg) as session:
                    for ticket_id in mine:
                        ticket = session.get(Ticket, ticket_id)
                        assert ticket is not None
                        ticket.status = states[round_ % 2]
                        session.add(ticket)
                        session.flush()  # one row at a time: the tally rows interleave
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert tallied(pg) == recount(pg)
    with transaction(pg) as session:
        assert tallies.fold(session=session) > 0
    with transaction(pg) as session:
        assert not session.exec(select(TicketTallyDelta)).all()  # all folded
        assert tallies.fold(session=session) == 0
    assert tallied(pg) == recount(pg)


def _trigger_names(engine: Engine) -> set[str]:
    query = (
        "SELECT tgname FROM pg_trigger WHERE tgrelid = 'tickets'::regclass AND NOT tgisinternal "
        "AND tgenabled <> 'D'"
        if engine.dialect.name == "postgresql"
        else "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'tickets'"
    )
    with engine.connect() as connection:
        return {name for name in connection.execute(text(query)).scalars() if "tally" in name}


def _bulk_seeds_keep_the_tallies_exact(engine: Engine) -> None:
    triggers = _trigger_names(engine)
    assert len(triggers) >= 2
    open_ticket(  # counted by its trigger before the bulk loads
        engine, pack_id="proximus-internet", intervention="no-internet", priority="p2", now=NOW
    )
    for count in (150, 90):  # the second load adds to tally rows the first one made
        with transaction(engine) as session:
            demo_volume.seed_open_tickets(session=session, count=count, now=NOW)
        assert _trigger_names(engine) == triggers  # suspended inside the load only
        assert tallied(engine) == recount(engine)

    def failed_load() -> None:
        with transaction(engine) as session, tallies.bulk_load(session=session):
            demo_volume.seed_open_tickets(session=session, count=10, now=NOW)
            raise RuntimeError("stop")

    with pytest.raises(RuntimeError):
        failed_load()
    assert _trigger_names(engine) == triggers
    _every_kind_of_write(engine)  # the triggers count every later write again
    assert sum(recount(engine).values()) > 300
    assert tallied(engine) == recount(engine)


def test_a_bulk_seed_counts_its_tickets_once_at_the_end(seeded: Engine) -> None:
    _bulk_seeds_keep_the_tallies_exact(seeded)


def test_a_bulk_seed_counts_its_tickets_once_at_the_end_on_postgresql(pg: Engine) -> None:
    _bulk_seeds_keep_the_tallies_exact(pg)
