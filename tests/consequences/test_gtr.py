"""Issue 15, GTR (Alteo 5.2): an outage resolved beyond the guaranteed restoration time gives
its step of the monthly fee, under a cap of one monthly fee per month; the customer is told at
resolution and the claim register records it. Announced maintenance is not counted (5.5).
Christmas 2026 (the clock runs through holidays: 24/7) and January 2027, French and English.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine
from sqlmodel import select

from bot.db.engine import transaction
from bot.db.models import Claim
from bot.services import planned_works
from tests.consequences.outage import open_at, resolve_at, set_options, told
from tests.handlers.conftest import Chat, Clock

ALT = "alteo-hosting"


def _paris(*args: int) -> datetime:
    """A Paris wall-clock instant in winter time (UTC+1), as UTC."""
    year, month, day, hour, minute = args
    return datetime(year, month, day, hour, minute, tzinfo=UTC) - timedelta(hours=1)


def _outage(engine: Engine, start: datetime, end: datetime) -> str:
    ticket = open_at(
        engine, pack_id=ALT, intervention="service-outage", priority="critical", now=start
    )
    resolve_at(engine, ticket.reference, end)
    return ticket.reference


def _gtr_claims(engine: Engine) -> list[Claim]:
    with transaction(engine) as session:
        query = select(Claim).where(Claim.remedy_id == "gtr-overrun").order_by(Claim.id)  # type: ignore[arg-type]
        return list(session.exec(query).all())


def test_overruns_over_christmas_step_up_and_stop_at_the_monthly_cap(
    chat: type[Chat], seeded: Engine, clock: Clock
) -> None:
    set_options(seeded, ALT, monthly_fee="200")
    requester = chat("demo-requester")
    requester.send("/lang fr")
    # Christmas Eve 20:00 → Christmas Day 01:30: 5 h 30 for a 4 h GTR, 1 h 30 over: 30 %.
    first = _outage(seeded, _paris(2026, 12, 24, 20, 0), _paris(2026, 12, 25, 1, 30))
    text = next(t for t in told(seeded, "resolved", "demo-requester") if first in t)
    assert "Service rétabli en 5 h 30 min : 1 h 30 min au-delà de la garantie de 4 h" in text
    assert "30 % de la redevance mensuelle" in text
    assert "60,00" in text
    # Monday 28 December 10:00 → 17:30: 3 h 30 over, beyond the last step: 50 %.
    _outage(seeded, _paris(2026, 12, 28, 10, 0), _paris(2026, 12, 28, 17, 30))
    requester.send("/lang en")
    # Wednesday 30 December 08:00 → 14:30: 2 h 30 over: 40 % = 80, but only 40 left.
    third = _outage(seeded, _paris(2026, 12, 30, 8, 0), _paris(2026, 12, 30, 14, 30))
    text = next(t for t in told(seeded, "resolved", "demo-requester") if third in t)
    assert "2 h 30 min beyond the guaranteed 4 h" in text
    assert "40 % of the monthly fee" in text
    assert "Under the cap of one monthly fee, 40,00\xa0€ may be claimed" in text  # en_BE
    assert "200,00\xa0€ of 200,00\xa0€ at most" in text
    claims = _gtr_claims(seeded)
    assert [c.amount for c in claims] == [Decimal(60), Decimal(100), Decimal(40)]
    assert {c.period for c in claims} == {"2026-12"}
    assert all(c.status == "open" and c.clause.startswith("5.2") for c in claims)
    # Resolving records once: the register is keyed by ticket.
    assert claims[0].facts["overrun_minutes"] == "90"
    # The staff card's timeline says it too.
    agent = chat("demo-agent")
    agent.send("/lang fr")
    assert "GTR dépassée de 1 h 30 min" in agent.send(f"/ticket {first} full")


def test_announced_maintenance_is_not_counted_in_the_restoration_time(
    chat: type[Chat], seeded: Engine, clock: Clock
) -> None:
    set_options(seeded, ALT, monthly_fee="200")
    with transaction(seeded) as session:
        planned_works.announce(
            session=session,
            provider_code="ALT",
            starts_at=_paris(2027, 1, 5, 22, 0),
            minutes=120,
            services="Serveurs web",
            now=_paris(2026, 12, 24, 9, 0),
        )
    # 21:00 → 02:30: 5 h 30, of which 2 h are announced works: 3 h 30, within the 4 h.
    ref = _outage(seeded, _paris(2027, 1, 5, 21, 0), _paris(2027, 1, 6, 2, 30))
    text = next(t for t in told(seeded, "resolved", "demo-requester") if ref in t)
    assert "Service rétabli en 3 h 30 min, dans la garantie de 4 h" in text
    assert "La maintenance annoncée (2 h) n'est pas comptée." in text
    assert _gtr_claims(seeded) == []


def test_without_a_monthly_fee_the_percentage_is_told_and_nothing_recorded(
    chat: type[Chat], seeded: Engine, clock: Clock
) -> None:
    requester = chat("demo-requester")
    requester.send("/lang nl")
    ref = _outage(seeded, _paris(2026, 12, 31, 20, 0), _paris(2027, 1, 1, 0, 30))
    text = next(t for t in told(seeded, "resolved", "demo-requester") if ref in t)
    assert "30 min boven de gegarandeerde 4 u" in text
    assert "20 % van de maandelijkse vergoeding" in text
    assert _gtr_claims(seeded) == []
