"""The dispatcher: fires due SLA milestones into the outbox, exactly once.

Claiming. One transaction takes a batch of pending milestones with ``due_at <= now``
(oldest first, ``LIMIT worker_batch_size``, served by ``ix_milestones_status_due_at``) with
their tickets, re-checks each ticket, writes the notifications (`notify.emit`, idempotent by
key) and marks the rows done or cancelled, then commits. On SQLite every transaction is
``BEGIN IMMEDIATE``, so two dispatchers take turns; on PostgreSQL the claim is
``SELECT … FOR UPDATE SKIP LOCKED`` over the milestone and ticket rows, so concurrent
workers take disjoint batches and never wait for a ticket that a user transaction holds
(its milestones are simply taken by a later batch). A crash before the COMMIT leaves the
rows pending: they fire once, later. Nothing is reloaded at start.

One batch, few statements. Whatever the batch size, the claim, the batch's contracts and
people, its agents and managers (`notify.resolve_staff`), the breaches already on its
tickets' timelines, the outbox rows (one ``INSERT … ON CONFLICT DO NOTHING RETURNING``
statement, `notify.OutboxBatch`) and the closing of its rows are a fixed number of
statements; a message is rendered once per ticket, language and audience. The claim reads
the milestone and ticket columns the re-check and the messages need as plain values (one
statement built once); ORM tickets are loaded only for the breaches, which write them.
Milestones due at the same instant are taken a small first batch (``first_batch``), then
``worker_batch_size`` at a time, each batch committed as soon as it is written, so the first
of a burst are out after a few milliseconds and before the last are rendered.

Re-check. A milestone fires only when its generation is the ticket's current SLA
generation (every change of a clock input regenerates the rows), the ticket is open, its
target is not met, the due instant it announces is still the ticket's, and, for warnings
and the due instant, the clock is not stopped, and for a warning the target is not already due
(after downtime only the breach is told, not the warnings it overtook). Otherwise it is
cancelled.

Idempotency keys (per destination, suffixed ``|audience|channel|chat``):
``t{ticket}:{target}:at_risk:{percent}:{due}``, ``t{ticket}:{target}:due:{due}`` and
``t{ticket}:{target}:breached``: a breach is told once per ticket and target, even when a
later regeneration fires it again; a warning or due ping repeats only for a new due instant.

Reports. Each pass also records the open targets past their risk instant as at risk
(`outcomes.mark_risks`: a read finds none most of the time, and SQLite's write lock is then
not taken), and on PostgreSQL folds the ticket tallies' deltas (`tallies.fold`), the changes
that ticket writes append: the reports' counts read only what is not yet recorded.

Wake-up. `run` sleeps until the earliest pending ``due_at``; a COMMIT in this process that
writes milestone rows wakes it at once (`bot.db.signals`), and it never sleeps longer
than ``worker_max_sleep_seconds`` (real seconds), the bound within which rows written by
another process are noticed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from itertools import islice

from sqlalchemy import Engine, Integer, Select, Update, bindparam, func, update
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from bot.db.engine import read_transaction, transaction
from bot.db.models import (
    Contract,
    MilestoneRow,
    MilestoneStatus,
    Ticket,
    TicketEvent,
    TicketStatus,
    User,
)
from bot.services import notify, outcomes, tallies, tickets
from bot.services.notify.facts import TicketFacts
from bot.settings import Settings
from bot.sla.clock import BREACH_DELAY, MilestoneKind
from bot.worker import escalation
from bot.worker.clock import Clock
from pricing.loader import get_pack
from pricing.schema import ContractPack

log = logging.getLogger(__name__)

#: Pause before claiming again when due rows exist but were all locked by other transactions.
LOCKED_RETRY_SECONDS = 0.05
#: The first batch of a pass: small, so that the first rows of a burst commit early.
FIRST_BATCH = 50

_MILESTONES = MilestoneRow.__table__  # type: ignore[attr-defined]
_TICKETS = Ticket.__table__  # type: ignore[attr-defined]
_OPEN = frozenset(TicketStatus.open_statuses())


@dataclass(frozen=True, slots=True)
class ClaimedTicket:
    """A claimed milestone's ticket, as the claim read it (plain values, not an ORM object)."""

    id: int
    reference: str
    tenant_id: int
    contract_id: int
    requester_id: int
    owner_id: int | None
    intervention_id: str
    kind: str
    priority: str
    status: TicketStatus
    sla_generation: int
    response_due: datetime | None
    resolution_due: datetime | None
    responded_at: datetime | None
    resolved_at: datetime | None
    escalation_level: int | None


@dataclass(frozen=True, slots=True)
class Claimed:
    """One claimed milestone row (plain values) and its ticket."""

    id: int
    ticket_id: int
    target: str
    kind: str
    fraction: Decimal | None
    generation: int
    due_at: datetime
    ticket: ClaimedTicket


_MILESTONE_COLUMNS = ("id", "ticket_id", "target", "kind", "fraction", "generation", "due_at")
_TICKET_COLUMNS = tuple(ClaimedTicket.__dataclass_fields__)
_SPLIT = len(_MILESTONE_COLUMNS)


def _claim_statement(*, postgres: bool) -> Select[tuple[object, ...]]:
    """The claim, built once: due pending rows oldest first, with their tickets' columns."""
    query = (
        core_select(
            *(_MILESTONES.c[name] for name in _MILESTONE_COLUMNS),
            *(_TICKETS.c[name] for name in _TICKET_COLUMNS),
        )
        .select_from(_MILESTONES.join(_TICKETS, _TICKETS.c.id == _MILESTONES.c.ticket_id))
        .where(
            _MILESTONES.c.status == MilestoneStatus.PENDING,
            _MILESTONES.c.due_at <= bindparam("now", type_=_MILESTONES.c.due_at.type),
        )
        .order_by(_MILESTONES.c.due_at, _MILESTONES.c.id)
        .limit(bindparam("size", type_=Integer()))
    )
    if postgres:  # locks the milestone and the ticket rows; rows held elsewhere are skipped
        query = query.with_for_update(skip_locked=True)
    return query


_CLOSE: Update = (
    update(_MILESTONES)
    .where(_MILESTONES.c.id.in_(bindparam("ids", expanding=True)))
    .values(
        status=bindparam("status", type_=_MILESTONES.c.status.type),
        done_at=bindparam("done_at", type_=_MILESTONES.c.done_at.type),
        lease_until=None,
    )
)


@dataclass(frozen=True)
class Fired:
    """What became of one claimed milestone."""

    milestone_id: int
    ticket_id: int
    target: str
    kind: str
    due_at: datetime
    outcome: str
    messages: int = 0

    @property
    def fired(self) -> bool:
        """Whether notifications were written (rather than the row cancelled)."""
        return self.outcome == "fired"


@dataclass
class BatchResult:
    """One claim transaction: what it processed and when it committed."""

    fired: list[Fired] = field(default_factory=list)
    claimed_at: datetime | None = None
    committed_at: datetime | None = None

    @property
    def claimed(self) -> int:
        """How many milestone rows the batch took."""
        return len(self.fired)


@dataclass
class _Batch:
    """What one claim transaction gathers before writing: outbox rows, breaches told."""

    related: list[object]
    outbox: notify.OutboxBatch
    breaches: set[tuple[int, str]]
    stored: dict[int, Ticket]  # the tickets of the breaches to tell, loaded to be written
    keys: dict[int, list[str]] = field(default_factory=dict)  # milestone -> outbox keys


class Dispatcher:
    """Claims due milestone rows and turns them into outbox rows."""

    def __init__(
        self,
        *,
        engine: Engine,
        settings: Settings,
        clock: Clock,
        batch_size: int | None = None,
        first_batch: int = FIRST_BATCH,
        on_commit: Callable[[BatchResult], None] | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.batch_size = batch_size or settings.worker_batch_size
        self.first_batch = min(first_batch, self.batch_size)
        self.on_commit = on_commit
        self.fractions = tuple(sorted(Decimal(str(f)) for f in settings.sla_warning_fractions))
        self.postgres = engine.dialect.name == "postgresql"
        self._pack_ids: dict[int, str] = {}
        self._plans: dict[tuple[object, ...], tuple[ContractPack, escalation.Ping]] = {}
        self._claim_query = _claim_statement(postgres=self.postgres)
        #: The instant the running loop plans to wake up at (read by the wake-up listener).
        self.deadline: datetime | None = None

    # ------------------------------------------------------------------ one transaction

    def dispatch_batch(self, *, size: int | None = None) -> BatchResult:
        """Claim and process one batch of due milestones (`size` at most) in one transaction."""
        result = BatchResult(claimed_at=self.clock.now())
        now = result.claimed_at
        assert now is not None
        with transaction(self.engine) as session:
            notify.cache_destinations(session)  # one batch, one lookup per destination
            claimed = self._claim(session, now, size or self.batch_size)
            reasons = [self._recheck(c, now) for c in claimed]
            breaches = [c for c, reason in zip(claimed, reasons, strict=True) if reason is None]
            breaches = [c for c in breaches if c.kind == MilestoneKind.BREACH]
            related, stored = self._load_related(session, breaches)  # held: weak map
            notify.resolve_staff(  # who hears the batch: three statements, not per ticket
                session=session,
                settings=self.settings,
                providers={self._pack(session, c.ticket).provider_code for c in claimed},
                tenant_ids={c.ticket.tenant_id for c in claimed},
            )
            work = _Batch(
                related=related,
                outbox=notify.OutboxBatch(),
                breaches=self._breaches_told(session, breaches),
                stored=stored,
            )
            with session.no_autoflush:  # the rows are written once, at the COMMIT
                for milestone, reason in zip(claimed, reasons, strict=True):
                    result.fired.append(self._process(session, work, milestone, reason, now))
                written = work.outbox.write(session)
            result.fired = [
                replace(f, messages=sum(key in written for key in work.keys[f.milestone_id]))
                if f.fired
                else f
                for f in result.fired
            ]
            self._close(session, result.fired, now)
        result.committed_at = self.clock.now()
        if self.on_commit is not None and result.fired:
            self.on_commit(result)
        return result

    def dispatch_due(self, *, max_batches: int = 1000) -> int:
        """Process batches until nothing is due (or `max_batches`); returns the rows taken.

        The first batch is small (`first_batch`): when many rows fall due at once, the first
        of them commit after a few milliseconds instead of a whole batch's work.
        """
        total = 0
        size = self.first_batch
        for _ in range(max_batches):
            batch = self.dispatch_batch(size=size)
            total += batch.claimed
            if batch.claimed < size:
                break
            size = self.batch_size
        return total

    def fold_tallies(self) -> int:
        """Fold the ticket tallies' pending deltas (PostgreSQL) so that reports stay short."""
        with transaction(self.engine) as session:
            return tallies.fold(session=session)

    def mark_risks(self, *, max_batches: int = 20) -> int:
        """Record the open targets past their risk instant as at risk; returns how many."""
        now = self.clock.now()
        with read_transaction(self.engine) as session:
            if not outcomes.risks_due(session=session, now=now):
                return 0
        total = 0
        for _ in range(max_batches):
            with transaction(self.engine) as session:
                marked = outcomes.mark_risks(session=session, now=now)
            total += marked
            if marked < outcomes.MARK_BATCH:
                break
        return total

    def next_due(self) -> datetime | None:
        """The earliest pending milestone instant."""
        with Session(self.engine) as session:
            query = select(func.min(MilestoneRow.due_at)).where(
                col(MilestoneRow.status) == MilestoneStatus.PENDING
            )
            value: datetime | None = session.exec(query).one()
            return value

    def _claim(self, session: Session, now: datetime, size: int) -> list[Claimed]:
        rows = session.execute(self._claim_query, {"now": now, "size": size}).all()
        claimed = []
        for row in rows:
            milestone_id, ticket_id, target, kind, fraction, generation, due_at = row[:_SPLIT]
            ticket = ClaimedTicket(*row[_SPLIT:])
            claimed.append(
                Claimed(milestone_id, ticket_id, target, kind, fraction, generation, due_at, ticket)
            )
        return claimed

    @staticmethod
    def _load_related(
        session: Session, breaches: list[Claimed]
    ) -> tuple[list[object], dict[int, Ticket]]:
        """For the breaches to tell: their contracts (the remedies), tickets (written) and
        customers, in three statements (then found by id); nothing when there is none."""
        contract_ids = {c.ticket.contract_id for c in breaches}
        loaded: list[object] = []
        if contract_ids:
            for contract in session.exec(
                select(Contract).where(col(Contract.id).in_(contract_ids))
            ).all():
                notify.remember_contract(session, contract)
                loaded.append(contract)
        stored: dict[int, Ticket] = {}
        if breaches:
            ticket_ids = {c.ticket_id for c in breaches}
            for ticket in session.exec(select(Ticket).where(col(Ticket.id).in_(ticket_ids))).all():
                assert ticket.id is not None
                stored[ticket.id] = ticket
            user_ids = {c.ticket.requester_id for c in breaches}
            loaded += session.exec(select(User).where(col(User.id).in_(user_ids))).all()
        return loaded, stored

    @staticmethod
    def _breaches_told(session: Session, breaches: list[Claimed]) -> set[tuple[int, str]]:
        """(ticket, target) of the breaches already on the claimed tickets' timelines."""
        ids = {c.ticket_id for c in breaches}
        if not ids:
            return set()
        query = select(TicketEvent.ticket_id, TicketEvent.changes).where(
            col(TicketEvent.ticket_id).in_(ids), TicketEvent.type == tickets.BREACHED
        )
        return {
            (ticket_id, str(changes.get("target")))
            for ticket_id, changes in session.exec(query).all()
        }

    # ------------------------------------------------------------------ one milestone

    def _process(
        self, session: Session, work: _Batch, milestone: Claimed, reason: str | None, now: datetime
    ) -> Fired:
        messages = 0
        if reason is None:
            messages = self._fire(session, work, milestone, now)
            reason = "fired"
        return Fired(
            milestone_id=milestone.id,
            ticket_id=milestone.ticket_id,
            target=milestone.target,
            kind=milestone.kind,
            due_at=milestone.due_at,
            outcome=reason,
            messages=messages,
        )

    @staticmethod
    def _close(session: Session, fired: list[Fired], now: datetime) -> None:
        """Mark the batch's rows done or cancelled: one statement per outcome."""
        for status, ids in (
            (MilestoneStatus.DONE, [f.milestone_id for f in fired if f.fired]),
            (MilestoneStatus.CANCELLED, [f.milestone_id for f in fired if not f.fired]),
        ):
            if ids:
                session.execute(_CLOSE, {"ids": ids, "status": status, "done_at": now})

    @staticmethod
    def _target_due(ticket: ClaimedTicket, target: str) -> datetime | None:
        return ticket.response_due if target == "response" else ticket.resolution_due

    def _recheck(self, milestone: Claimed, now: datetime) -> str | None:
        """Why the milestone must not fire any more, or None when it must."""
        ticket = milestone.ticket
        kind = milestone.kind
        if milestone.generation != ticket.sla_generation:
            return "stale"
        if ticket.status not in _OPEN:
            return "closed"
        met = ticket.resolved_at
        if milestone.target == "response":
            met = ticket.responded_at or ticket.resolved_at
        if met is not None:
            return "met"
        due = self._target_due(ticket, milestone.target)
        if due is None:
            return "no-target"
        if kind == MilestoneKind.DUE and milestone.due_at != due:
            return "moved"
        if kind == MilestoneKind.BREACH and milestone.due_at != due + BREACH_DELAY:
            return "moved"
        if kind == MilestoneKind.WARNING and milestone.due_at > due:
            return "moved"
        if kind != MilestoneKind.BREACH and ticket.status is TicketStatus.PAUSED:
            return "paused"
        if kind == MilestoneKind.WARNING and now >= due:
            # Late (the workers were down): the target is already due, so only the due
            # ping and the breach are told, not the warnings that should have come before.
            return "overtaken"
        return None

    def _pack(self, session: Session, ticket: ClaimedTicket) -> ContractPack:
        pack_id = self._pack_ids.get(ticket.contract_id)
        if pack_id is None:
            contract = session.get(Contract, ticket.contract_id)
            assert contract is not None
            pack_id = self._pack_ids[ticket.contract_id] = contract.pack_id
        return get_pack(pack_id)

    def _plan(self, pack: ContractPack, milestone: Claimed) -> escalation.Ping:
        """`escalation.plan`, remembered per pack, priority, kind and fraction."""
        key = (pack.id, milestone.ticket.priority, milestone.kind, milestone.fraction)
        known = self._plans.get(key)
        if known is not None and known[0] is pack:
            return known[1]
        ping = escalation.plan(
            pack=pack,
            priority=milestone.ticket.priority,
            kind=MilestoneKind(milestone.kind),
            fraction=milestone.fraction,
            fractions=self.fractions,
        )
        self._plans[key] = (pack, ping)
        return ping

    def _fire(self, session: Session, work: _Batch, milestone: Claimed, now: datetime) -> int:
        facts = milestone.ticket
        pack = self._pack(session, facts)
        ping = self._plan(pack, milestone)
        target = milestone.target
        due = self._target_due(facts, target)
        assert due is not None
        due_iso = due.isoformat()
        params = {"target": target, "due": due_iso}
        if facts.escalation_level:
            # The level requested with /escalate, named in staff pings (never climbed here).
            params["escalation_level"] = str(facts.escalation_level)
        ticket: TicketFacts = facts
        if milestone.kind == MilestoneKind.WARNING:
            fraction = milestone.fraction or Decimal(0)
            percent = format((fraction * 100).normalize(), "f")
            params["percent"] = percent
            key = f"t{facts.id}:{target}:at_risk:{percent}:{due_iso}"
        elif milestone.kind == MilestoneKind.DUE:
            key = f"t{facts.id}:{target}:due:{due_iso}"
        else:
            key = f"t{facts.id}:{target}:breached"
            stored = ticket = work.stored[facts.id]
            if ping.phone:
                params["escalation_phone"] = "1"
            params.update(
                notify.remedy_params(
                    session=session, ticket=stored, pack=pack, target=target, at=milestone.due_at
                )
            )
            outcomes.store_breach(ticket=stored, target=target)
            told = (milestone.ticket_id, target)
            if told not in work.breaches:  # once per target on the timeline
                work.breaches.add(told)
                tickets.record_event(
                    session=session,
                    ticket=stored,
                    actor=None,
                    type=tickets.BREACHED,
                    now=due,
                    changes={"target": target},
                )
            stored.updated_at = now
            session.add(stored)
        before = len(work.outbox.rows)
        queued = notify.emit(
            session=session,
            ticket=ticket,
            event=ping.event,
            now=now,
            key=key,
            params=params,
            settings=self.settings,
            recipients=ping.recipients,
            batch=work.outbox,
            pack=pack,
        )
        # Keys queued by an earlier milestone of the batch are not this one's (not written twice).
        work.keys[milestone.id] = list(islice(work.outbox.rows, before, None))
        return queued

    # ------------------------------------------------------------------ the loop

    async def run(self, *, stop: asyncio.Event, wake: asyncio.Event) -> None:
        """Fire milestones as they fall due until `stop` is set."""
        bound = self.settings.worker_max_sleep_seconds
        while not stop.is_set():
            wake.clear()
            self.deadline = None  # awake: any wake-up counts until the next sleep is planned
            try:
                claimed = await asyncio.to_thread(self.dispatch_due, max_batches=20)
                await asyncio.to_thread(self.mark_risks)
                if self.postgres:
                    await asyncio.to_thread(self.fold_tallies)
                next_due = await asyncio.to_thread(self.next_due)
            except Exception:
                log.exception("milestone dispatch failed; retrying")
                await self.clock.sleep_until(None, wake=stop, at_most=min(bound, 1.0))
                continue
            now = self.clock.now()
            if next_due is not None and next_due <= now:
                if claimed == 0:  # due rows all locked by other transactions
                    await self.clock.sleep_until(None, wake=stop, at_most=LOCKED_RETRY_SECONDS)
                continue
            self.deadline = next_due
            await self.clock.sleep_until(next_due, wake=wake, at_most=bound)
        self.deadline = None

    def wants_wake(self, earliest: datetime) -> bool:
        """Whether a new row due at `earliest` is due before the planned wake-up."""
        deadline = self.deadline
        return deadline is None or earliest < deadline
