"""Migration 0014 fills the stored outcomes of existing tickets; `db upgrade` their risk."""

from __future__ import annotations

import importlib.util
from datetime import timedelta
from pathlib import Path
from types import ModuleType

from sqlalchemy import text
from sqlmodel import select

import bot.db
from bot.db.engine import make_engine, transaction
from bot.db.migrate import upgrade
from bot.db.models import Ticket, utcnow
from bot.services import demo, outcomes, tickets
from tests.worker.conftest import open_ticket, staff

MIGRATION = "0014_stored_outcomes_reports.py"


def migration() -> ModuleType:
    """The migration module (its file name is not an importable name)."""
    path = Path(bot.db.__file__).parent / "migrations" / "versions" / MIGRATION
    spec = importlib.util.spec_from_file_location("migration_0014", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_outcomes_of_existing_tickets_are_filled_in(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url=url)
    engine = make_engine(url)
    now = utcnow() - timedelta(days=3)
    with transaction(engine) as session:
        demo.seed(session=session, now=now)
    plans = [
        ("telenet-hosting-cloud", "dedicated-server-manual-restart", "express"),
        ("telenet-hosting-cloud", "dedicated-server-manual-restart", "standard"),
        ("proximus-internet", "no-internet", "p3"),
    ]
    opened = [
        open_ticket(engine, pack_id=p, intervention=i, priority=r, now=now) for p, i, r in plans
    ]
    agent = staff(engine)
    with transaction(engine) as session:
        first = session.get(Ticket, opened[0].id)
        assert first is not None
        tickets.acknowledge(session=session, actor=agent, ticket=first, now=now)
        second = session.get(Ticket, opened[1].id)
        assert second is not None
        tickets.pause(session=session, actor=agent, ticket=second, reason="waiting", now=now)
    with transaction(engine) as session:
        before = {
            t.reference: (t.response_outcome, t.resolution_outcome, t.resolution_risk_at)
            for t in session.exec(select(Ticket)).all()
        }
    assert {outcome for row in before.values() for outcome in row[:2]} >= {"met", "open"}
    # The columns as migration 0014 finds them on existing rows, then its backfill.
    with engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE tickets SET response_outcome = NULL, resolution_outcome = NULL, "
                "response_risk_at = NULL, resolution_risk_at = NULL"
            )
        )
        for statement in migration().OUTCOME_BACKFILL:
            connection.execute(text(statement))
    with transaction(engine) as session:
        migrated = {
            t.reference: (t.response_outcome, t.resolution_outcome, t.resolution_risk_at)
            for t in session.exec(select(Ticket)).all()
        }
        # Telenet's stop-clock holds the resolution target: no due instant to read yet.
        paused = opened[1].reference
        assert migrated[paused][:2] == ("open", None)
        assert before[paused][:2] == ("open", "open")
        assert {k: v[:2] for k, v in migrated.items() if k != paused} == {
            k: v[:2] for k, v in before.items() if k != paused
        }
        assert all(v[2] is None for v in migrated.values())
        assert outcomes.backfill(session=session, now=now) == len(plans)
    with transaction(engine) as session:
        filled = {
            t.reference: (t.response_outcome, t.resolution_outcome, t.resolution_risk_at)
            for t in session.exec(select(Ticket)).all()
        }
        assert filled == before
        assert outcomes.backfill(session=session, now=now) == 0
    engine.dispose()
