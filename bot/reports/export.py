"""The tickets export: one row per ticket logged in a period, as CSV in the reader's language.

Columns: reference, contract, intervention, kind, priority, requester, logged, responded,
resolved, closed, each target's due instant and outcome, paused minutes, recorded minutes,
charged, waived, satisfaction. Five statements at most, however many tickets.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy import select as sql_select
from sqlmodel import Session, col

from bot.db.models import (
    Contract,
    LedgerEntry,
    LedgerEntryType,
    TargetOutcome,
    Ticket,
    TicketEvent,
    TicketPause,
    TicketSatisfaction,
    User,
)
from bot.i18n import Translator
from bot.reports.periods import Period
from bot.services.figures import Scope
from bot.services.outcomes import outcome_now
from bot.wording import contract_title, intervention_label, kind_label, priority_label
from pricing.loader import load_packs


@dataclass(frozen=True)
class TicketRow:
    """One ticket of the export, with raw values (worded by `to_csv`)."""

    reference: str
    pack_id: str
    contract_label: str | None
    intervention_id: str
    kind: str
    priority: str
    requester: str
    logged_at: datetime
    responded_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    response_due: datetime | None
    response_outcome: str | None
    resolution_due: datetime | None
    resolution_outcome: str | None
    paused_minutes: int
    recorded_minutes: int
    charged: Decimal
    waived: Decimal
    satisfaction: int | None


def ticket_rows(
    *, session: Session, scope: Scope, period: Period, now: datetime
) -> list[TicketRow]:
    """The tickets logged in `period` within `scope`, oldest first."""
    query = (
        sql_select(Ticket, col(Contract.pack_id), col(Contract.label), col(User.display_name))
        .join(Contract, col(Contract.id) == col(Ticket.contract_id))
        .join(User, col(User.id) == col(Ticket.requester_id))
        .where(
            col(Ticket.logged_at) >= period.start,
            col(Ticket.logged_at) < period.end,
            scope.tickets(),
        )
        .order_by(col(Ticket.logged_at), col(Ticket.id))
    )
    found = list(session.execute(query))
    ids = sql_select(col(Ticket.id)).where(
        col(Ticket.logged_at) >= period.start, col(Ticket.logged_at) < period.end, scope.tickets()
    )
    paused: dict[int, int] = defaultdict(int)
    pauses = sql_select(TicketPause).where(col(TicketPause.ticket_id).in_(ids))
    for (pause,) in session.execute(pauses):
        end = pause.ended_at or now
        paused[pause.ticket_id] += max(0, int((end - pause.started_at).total_seconds() // 60))
    minutes = sql_select(col(TicketEvent.ticket_id), func.sum(col(TicketEvent.minutes))).where(
        col(TicketEvent.ticket_id).in_(ids), col(TicketEvent.minutes).is_not(None)
    )
    recorded = {
        ticket_id: int(total or 0)
        for ticket_id, total in session.execute(minutes.group_by(col(TicketEvent.ticket_id)))
    }
    charged: dict[int, Decimal] = defaultdict(Decimal)
    waived: dict[int, Decimal] = defaultdict(Decimal)
    entries = sql_select(
        col(LedgerEntry.ticket_id), col(LedgerEntry.type), col(LedgerEntry.amount)
    ).where(
        col(LedgerEntry.ticket_id).in_(ids),
        col(LedgerEntry.type).in_((LedgerEntryType.CHARGE, LedgerEntryType.WAIVER)),
    )
    for ticket_id, kind, amount in session.execute(entries):
        if kind is LedgerEntryType.CHARGE:
            charged[ticket_id] -= amount
        else:
            waived[ticket_id] += amount
    rated = sql_select(col(TicketSatisfaction.ticket_id), col(TicketSatisfaction.score)).where(
        col(TicketSatisfaction.ticket_id).in_(ids)
    )
    scores = {int(ticket_id): int(score) for ticket_id, score in session.execute(rated)}
    result: list[TicketRow] = []
    for ticket, pack_id, label, requester in found:
        assert ticket.id is not None
        result.append(
            TicketRow(
                reference=ticket.reference,
                pack_id=pack_id,
                contract_label=label,
                intervention_id=ticket.intervention_id,
                kind=ticket.kind,
                priority=ticket.priority,
                requester=requester,
                logged_at=ticket.logged_at,
                responded_at=ticket.responded_at,
                resolved_at=ticket.resolved_at,
                closed_at=ticket.closed_at,
                response_due=ticket.response_due,
                response_outcome=outcome_now(ticket.response_outcome, ticket.response_due, now),
                resolution_due=ticket.resolution_due,
                resolution_outcome=outcome_now(
                    ticket.resolution_outcome, ticket.resolution_due, now
                ),
                paused_minutes=paused[ticket.id],
                recorded_minutes=recorded.get(ticket.id, 0),
                charged=charged[ticket.id],
                waived=waived[ticket.id],
                satisfaction=scores.get(ticket.id),
            )
        )
    return result


def outcome_word(t: Translator, outcome: str | None) -> str:
    """A target's outcome in words."""
    if outcome == TargetOutcome.MET:
        return t.gettext("met")
    if outcome == TargetOutcome.BREACHED:
        return t.gettext("missed")
    if outcome == TargetOutcome.OPEN:
        return t.gettext("in progress")
    return t.gettext("no target")


def header(t: Translator) -> list[str]:
    """The CSV's column names in the reader's language."""
    return [
        t.gettext("reference"),
        t.gettext("contract"),
        t.gettext("intervention"),
        t.gettext("kind"),
        t.gettext("priority"),
        t.gettext("requester"),
        t.gettext("logged"),
        t.gettext("responded"),
        t.gettext("resolved"),
        t.gettext("closed"),
        t.gettext("response due"),
        t.gettext("response outcome"),
        t.gettext("resolution due"),
        t.gettext("resolution outcome"),
        t.gettext("paused minutes"),
        t.gettext("recorded minutes"),
        t.gettext("charged"),
        t.gettext("waived"),
        t.gettext("satisfaction"),
    ]


def to_csv(rows: list[TicketRow], *, t: Translator, zone: str) -> bytes:
    """The rows as UTF-8 CSV (with a BOM, so spreadsheets read the accents), header first.

    Instants are local ISO 8601 with their offset; amounts plain decimals with a dot, so
    every spreadsheet reads them as numbers.
    """
    tz = ZoneInfo(zone)
    packs = load_packs()

    def instant(value: datetime | None) -> str:
        return "" if value is None else value.astimezone(tz).isoformat(timespec="minutes")

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header(t))
    for row in rows:
        pack = packs[row.pack_id]
        writer.writerow(
            [
                row.reference,
                contract_title(row.contract_label, pack, t.lang),
                intervention_label(pack, row.intervention_id, t.lang),
                kind_label(pack, row.kind, t.lang),
                priority_label(pack, row.priority, t.lang),
                row.requester,
                instant(row.logged_at),
                instant(row.responded_at),
                instant(row.resolved_at),
                instant(row.closed_at),
                instant(row.response_due),
                outcome_word(t, row.response_outcome),
                instant(row.resolution_due),
                outcome_word(t, row.resolution_outcome),
                row.paused_minutes,
                row.recorded_minutes,
                format(row.charged.normalize(), "f"),
                format(row.waived.normalize(), "f"),
                "" if row.satisfaction is None else row.satisfaction,
            ]
        )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
