"""The managers' figures against an independent computation over generated tickets.

Tickets are opened, acknowledged, paused and resumed, reclassified, resolved late (waived)
or left open across two contracts and two months; the dispatcher records the breaches.
The test then recomputes every figure from the tickets' history alone — rebuilding each
clock at `NOW` and classifying and counting in plain Python — and compares with the SQL
aggregates over the stored outcomes (`bot.services.figures`) and with the CSV export.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.db.engine import transaction
from bot.db.models import (
    Contract,
    LedgerEntry,
    LedgerEntryType,
    Role,
    Tenant,
    Ticket,
    TicketSatisfaction,
    TicketStatus,
)
from bot.reports import export
from bot.reports.periods import parse_period
from bot.services import demo, figures, ledger, tickets, users
from bot.services.ticket_sla import ticket_clocks
from bot.settings import Settings
from bot.sla.clock import ClockState, SlaClock
from bot.worker.clock import ManualClock
from bot.worker.dispatcher import Dispatcher

ZONE = "Europe/Brussels"
START = datetime(2026, 10, 1, 7, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)  # Friday 15:00 in Brussels
TELENET, PROXIMUS = "telenet-hosting-cloud", "proximus-internet"
PLANS = {
    TELENET: ("dedicated-server-manual-restart", ("express", "standard")),
    PROXIMUS: ("no-internet", ("p1", "p2", "p3", "p4")),
}
RISK = Decimal("0.75")


@pytest.fixture
def settings() -> Settings:
    """Default settings, no .env."""
    return Settings(_env_file=None)  # type: ignore[call-arg]


def _staff(session: Session) -> tickets.Actor:
    agent = users.get_user_by_handle(session=session, handle="demo-agent")
    assert agent is not None
    return tickets.actor_for(session=session, user=agent)


def generate(
    engine: Engine, settings: Settings, *, count: int = 40, seed: int = 16, mark: bool = False
) -> None:
    """Tickets in October and November with every kind of history; `mark`: the worker has
    also recorded the targets past their risk instant (the figures are the same either way)."""
    rng = random.Random(seed)
    with transaction(engine) as session:
        demo.seed(session=session, now=START)
        telenet = session.exec(select(Contract).where(Contract.pack_id == TELENET)).one()
        assert telenet.id is not None
        ledger.purchase(session=session, contract_id=telenet.id, amount=Decimal(300), at=START)
    for number in range(count):
        pack_id = (TELENET, PROXIMUS)[number % 2]
        intervention, priorities = PLANS[pack_id]
        if number % 5 < 3:  # spread over the two months
            logged = START + timedelta(
                days=rng.randrange(0, 57), hours=rng.randrange(0, 10), minutes=rng.randrange(60)
            )
            logged = min(logged, NOW - timedelta(hours=1))
        else:  # the last days: targets still running, some at risk
            logged = NOW - timedelta(minutes=rng.randrange(20, 60 * 50))
        with transaction(engine) as session:
            requester = users.get_user_by_handle(session=session, handle="demo-requester")
            assert requester is not None
            contract = session.exec(select(Contract).where(Contract.pack_id == pack_id)).one()
            ticket = tickets.open_ticket(
                session=session,
                actor=tickets.actor_for(session=session, user=requester),
                contract=contract,
                intervention_id=intervention,
                kind="incident",
                priority=rng.choice(priorities),
                description=f"generated {number}",
                now=logged,
            )
            reference = ticket.reference
        at = logged

        def step(at: datetime, hours: float) -> datetime | None:
            later = at + timedelta(hours=hours)
            return later if later < NOW else None

        actions = rng.sample(["ack", "pause", "reclassify", "resolve"], k=rng.randrange(0, 5))
        for action in ("ack", "pause", "reclassify", "resolve"):
            if action not in actions:
                continue
            moment = step(at, rng.choice((0.2, 1, 3, 20, 50, 120)))
            if moment is None:
                break
            at = moment
            with transaction(engine) as session:
                actor = _staff(session)
                found = tickets.find_ticket(session=session, actor=actor, reference=reference)
                if found.status not in TicketStatus.open_statuses():
                    break
                if action == "ack" and found.responded_at is None:
                    tickets.acknowledge(session=session, actor=actor, ticket=found, now=at)
                elif action == "pause":
                    tickets.pause(
                        session=session,
                        actor=actor,
                        ticket=found,
                        reason="waiting for the customer",
                        now=at,
                        cause=None if pack_id == TELENET else "customer-delay",
                    )
                    resumed = step(at, rng.choice((0.5, 4, 30, 400)))
                    if resumed is not None:
                        at = resumed
                        tickets.resume(session=session, actor=actor, ticket=found, now=at)
                elif action == "reclassify":
                    others = [p for p in priorities if p != found.priority]
                    tickets.reclassify(
                        session=session,
                        actor=actor,
                        ticket=found,
                        now=at,
                        reason="re-assessed",
                        priority=rng.choice(others),
                    )
                elif action == "resolve":
                    tickets.resolve(session=session, actor=actor, ticket=found, now=at, minutes=30)
    # The worker records the breaches of targets still open.
    dispatcher = Dispatcher(engine=engine, settings=settings, clock=ManualClock(NOW))
    dispatcher.dispatch_due()
    if mark:
        assert dispatcher.mark_risks() > 0
        assert dispatcher.mark_risks() == 0


# --------------------------------------------------------------------------- the reference


@dataclass
class Expected:
    """One target's counts over a set of tickets."""

    met: int = 0
    breached: int = 0
    in_progress: int = 0
    at_risk: int = 0


def classify(clock: SlaClock | None, met_at: datetime | None) -> tuple[str | None, bool]:
    """(outcome, at risk) of one target at NOW, from its rebuilt clock alone."""
    if clock is None or clock.target is None:
        return None, False
    if met_at is not None:
        return ("met" if clock.due_at is not None and met_at <= clock.due_at else "breached"), False
    if clock.due_at is not None and clock.due_at < NOW:
        return "breached", False
    running = clock.state is ClockState.RUNNING
    risky = running and clock.elapsed >= clock.target * float(RISK)
    return "open", risky


def reference_figures(session: Session) -> dict[str, object]:
    """Every figure, recomputed from the tickets' history and the ledger rows."""
    november = parse_period(text="2026-11", now=NOW, zone=ZONE)
    october = november.previous()
    sla: dict[tuple[str, int], dict[str, Expected]] = defaultdict(
        lambda: {"response": Expected(), "resolution": Expected()}
    )
    backlog: dict[tuple[int, str], Counter[str]] = defaultdict(Counter)
    outcomes: dict[str, tuple[str | None, str | None]] = {}
    for ticket in session.exec(select(Ticket)).all():
        clocks = ticket_clocks(session=session, ticket=ticket, now=NOW)
        response = classify(clocks.response, ticket.responded_at or ticket.resolved_at)
        resolution = classify(clocks.resolution, ticket.resolved_at)
        outcomes[ticket.reference] = (response[0], resolution[0])
        for name, period in (("november", november), ("october", october)):
            if not period.start <= ticket.logged_at < period.end:
                continue
            for target, (outcome, risky) in (("response", response), ("resolution", resolution)):
                counts = sla[(name, ticket.contract_id)][target]
                if outcome == "met":
                    counts.met += 1
                elif outcome == "breached":
                    counts.breached += 1
                elif outcome == "open":
                    counts.in_progress += 1
                    counts.at_risk += int(risky)
        if ticket.status in TicketStatus.open_statuses():
            line = backlog[(ticket.contract_id, ticket.priority)]
            line["open"] += 1
            missed = "breached" in (response[0], resolution[0])
            line["breached"] += int(missed)
            line["at_risk"] += int(not missed and (response[1] or resolution[1]))
            line["paused"] += int(ticket.status is TicketStatus.PAUSED)
            age = NOW - ticket.logged_at
            line[
                f"age{0 if age <= timedelta(days=1) else 1 if age <= timedelta(days=7) else 2}"
            ] += 1
    money: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    balance: dict[int, Decimal] = defaultdict(Decimal)
    for entry in session.exec(select(LedgerEntry)).all():
        if entry.at < november.end:
            balance[entry.contract_id] += entry.amount
        if november.start <= entry.at < november.end:
            money[(entry.contract_id, entry.type.value)] += entry.amount
    return {
        "sla": sla,
        "backlog": backlog,
        "money": money,
        "balance": balance,
        "outcomes": outcomes,
    }


def _counts(target: figures.TargetFigures) -> Expected:
    return Expected(target.met, target.breached, target.in_progress, target.at_risk)


# --------------------------------------------------------------------------- the checks


@pytest.mark.parametrize("mark", [False, True], ids=["risks-unmarked", "risks-marked"])
@pytest.mark.parametrize("seed", [16, 5])
def test_figures_match_an_independent_computation(
    engine: Engine, settings: Settings, seed: int, mark: bool
) -> None:
    generate(engine, settings, seed=seed, mark=mark)
    november = parse_period(text="2026-11", now=NOW, zone=ZONE)
    with transaction(engine) as session:
        expected = reference_figures(session)
        scope = figures.Scope()
        sla = figures.sla_figures(session=session, scope=scope, period=november, now=NOW)
        got_sla = {
            ("november", row.contract.contract_id): {
                "response": _counts(row.response),
                "resolution": _counts(row.resolution),
            }
            for row in sla
        }
        got_sla.update(
            {
                ("october", row.contract.contract_id): {
                    "response": _counts(row.previous.response),
                    "resolution": _counts(row.previous.resolution),
                }
                for row in sla
                if row.previous is not None
            }
        )
        assert got_sla == dict(expected["sla"])  # type: ignore[call-overload]
        # The generated history covers every case the figures distinguish.
        every = [c for by_target in got_sla.values() for c in by_target.values()]
        assert sum(c.met for c in every)
        assert sum(c.breached for c in every)
        assert sum(c.in_progress for c in every)
        assert sum(c.at_risk for c in every)
        statuses = Counter(t.status for t in session.exec(select(Ticket)).all())
        assert statuses[TicketStatus.PAUSED]
        assert statuses[TicketStatus.RESOLVED]
        assert statuses[TicketStatus.OPEN] + statuses[TicketStatus.RESPONDED]

        got_backlog: dict[tuple[int, str], Counter[str]] = {}
        for contract in figures.backlog(session=session, scope=scope, now=NOW):
            for line in contract.priorities:
                counter: Counter[str] = Counter(
                    open=line.open, breached=line.breached, at_risk=line.at_risk, paused=line.paused
                )
                for index, n in enumerate(line.by_age):
                    counter[f"age{index}"] += n
                got_backlog[(contract.contract.contract_id, line.priority)] = +counter
        assert got_backlog == {k: +v for k, v in expected["backlog"].items()}  # type: ignore[attr-defined]

        money = expected["money"]
        balance = expected["balance"]
        assert isinstance(money, dict)
        assert isinstance(balance, dict)
        credits = figures.credit_figures(session=session, scope=scope, period=november)
        assert credits
        for row in credits:
            cid = row.contract.contract_id
            assert row.charged == -money.get((cid, LedgerEntryType.CHARGE.value), 0)
            assert row.waived == money.get((cid, LedgerEntryType.WAIVER.value), 0)
            assert row.bought == money.get((cid, LedgerEntryType.PURCHASE.value), 0)
            assert row.topped_up == money.get((cid, LedgerEntryType.TOP_UP.value), 0)
            assert row.balance == balance[cid]
        telenet = next(r for r in credits if r.contract.pack_id == TELENET)
        assert telenet.waived > 0  # late resolutions were waived
        assert telenet.charged > telenet.waived  # and timely ones charged

        rows = export.ticket_rows(session=session, scope=scope, period=november, now=NOW)
        outcomes = expected["outcomes"]
        assert isinstance(outcomes, dict)
        logged = [
            t
            for t in session.exec(select(Ticket)).all()
            if november.start <= t.logged_at < november.end
        ]
        assert sorted(r.reference for r in rows) == sorted(t.reference for t in logged)
        for row in rows:
            assert (row.response_outcome, row.resolution_outcome) == outcomes[row.reference]


def test_scopes_never_merge_contracts_or_tenants(engine: Engine, settings: Settings) -> None:
    generate(engine, settings, count=16, seed=3)
    november = parse_period(text="2026-11", now=NOW, zone=ZONE)
    with transaction(engine) as session:
        tenant = session.exec(select(Tenant).where(Tenant.slug == "demo-customer")).one()
        other = Tenant(slug="other", name="Other SA")
        session.add(other)
        session.flush()
        manager = users.add_user(
            session=session,
            handle="other-manager",
            display_name="Other Manager",
            role=Role.MANAGER,
            tenant_id=other.id,
        )
        outsider = figures.Scope(actor=tickets.actor_for(session=session, user=manager))
        assert figures.sla_figures(session=session, scope=outsider, period=november, now=NOW) == []
        assert figures.backlog(session=session, scope=outsider, now=NOW) == []
        everything = figures.sla_figures(
            session=session, scope=figures.Scope(tenant_id=tenant.id), period=november, now=NOW
        )
        assert {r.contract.pack_id for r in everything} == {TELENET, PROXIMUS}
        proximus = figures.sla_figures(
            session=session, scope=figures.Scope(provider_code="PXS"), period=november, now=NOW
        )
        assert [r.contract.pack_id for r in proximus] == [PROXIMUS]
        whole = next(r for r in everything if r.contract.pack_id == PROXIMUS)
        assert _counts(proximus[0].response) == _counts(whole.response)


def test_satisfaction_reads_the_customers_ratings(engine: Engine, settings: Settings) -> None:
    """The ratings customers give after closing (`ticket_satisfaction`) reach the figures and
    the CSV: only tickets logged in the period and in scope count."""
    generate(engine, settings, count=16, seed=5)
    november = parse_period(text="2026-11", now=NOW, zone=ZONE)
    with transaction(engine) as session:
        tenant = session.exec(select(Tenant).where(Tenant.slug == "demo-customer")).one()
        ordered = sorted(session.exec(select(Ticket)).all(), key=lambda t: t.logged_at)
        inside = [t for t in ordered if november.start <= t.logged_at < november.end][:3]
        before = [t for t in ordered if t.logged_at < november.start][:1]
        assert len(inside) == 3
        assert len(before) == 1
        for ticket, score in zip([*inside, *before], (5, 4, 2, 1), strict=True):
            assert ticket.id is not None
            session.add(TicketSatisfaction(ticket_id=ticket.id, score=score, at=NOW))
        session.flush()
        scope = figures.Scope(tenant_id=tenant.id)
        rated = figures.satisfaction(session=session, scope=scope, period=november)
        assert rated == figures.Satisfaction(answers=3, average=Decimal("3.7"))
        rows = export.ticket_rows(session=session, scope=scope, period=november, now=NOW)
        scores = {r.reference: r.satisfaction for r in rows}
        assert [scores[t.reference] for t in inside] == [5, 4, 2]
        assert sum(s is not None for s in scores.values()) == 3
        other = Tenant(slug="other", name="Other SA")
        session.add(other)
        session.flush()
        outsider = figures.Scope(tenant_id=other.id)
        nothing = figures.satisfaction(session=session, scope=outsider, period=november)
        assert nothing == figures.Satisfaction(answers=0, average=None)
