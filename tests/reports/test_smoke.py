"""The figures services answer on the demo data."""

from __future__ import annotations

from sqlalchemy import Engine

from bot.db.engine import transaction
from bot.reports.periods import last_months, parse_period
from bot.services import figures
from tests.handlers.conftest import Chat, Clock
from tests.handlers.test_intake import express_incident


def test_figures_of_one_resolved_ticket(chat: type[Chat], seeded: Engine, clock: Clock) -> None:
    express_incident(chat("demo-requester"))
    agent = chat("demo-agent")
    agent.send("/ack TLN-2026-000001")
    agent.send("/resolve TLN-2026-000001 40")
    period = parse_period(text="2026-11", now=clock.now, zone="Europe/Brussels")
    with transaction(seeded) as session:
        scope = figures.Scope()
        sla = figures.sla_figures(session=session, scope=scope, period=period, now=clock.now)
        assert [(f.response.met, f.resolution.met) for f in sla] == [(1, 1)]
        months = last_months(now=clock.now, zone="Europe/Brussels")
        monthly = figures.monthly_compliance(
            session=session, scope=scope, months=months, now=clock.now
        )
        assert monthly[0].response[-1] == 100
        assert figures.backlog(session=session, scope=scope, now=clock.now) == []
        credits = figures.credit_figures(session=session, scope=scope, period=period)
        assert any(c.charged == 9 for c in credits)
        assert figures.satisfaction(session=session, scope=scope, period=period) is None
