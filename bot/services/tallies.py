"""Ticket counts at volume, exact at any instant, without scanning every ticket.

`ticket_tallies` (kept by database triggers) counts tickets per contract, priority, status,
stored outcomes and UTC logging day; on PostgreSQL the triggers append deltas instead (no
writer waits on a shared counter row), which `fold` adds up and reads count meanwhile.
`counts` cuts logging time at given instants:

* whole days come from the tallies (a few rows per day, however many tickets);
* a day that an instant cuts in two is counted on its larger side from the tallies, and the
  tickets of its smaller side (at most twelve hours of them) are moved, counted from ranges of
  a covering index;
* stored outcomes become the outcomes at `now`, counted over the only tickets whose answer
  differs: targets open past their risk instant but not yet recorded at risk, and targets
  past their due instant but not yet recorded as breached (the dispatcher records both as
  they happen, so these are few however many tickets are at risk).

The three parts are one statement (one round trip) whatever the number of tickets (a second
names contracts met only in the edges of an `inside` count); each part reads ranges of a
covering index, and the Python work is per returned group.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    null,
    or_,
    text,
    true,
    union_all,
)
from sqlalchemy import select as sql_select
from sqlmodel import Session, col

from bot.db.models import (
    Contract,
    TargetOutcome,
    Tenant,
    Ticket,
    TicketStatus,
    TicketTally,
    TicketTallyDelta,
)
from bot.services import shapes
from bot.services.outcomes import STILL_OPEN

TARGETS = ("response", "resolution")
HALF_DAY = timedelta(hours=12)


class Scoped(Protocol):
    """What a report may count (`figures.Scope`)."""

    def where(self, *, contract_id: Any, tenant_id: Any) -> ColumnElement[bool]:
        """The scope as a SQL condition on rows with a contract and a tenant column."""
        ...


@dataclass(frozen=True)
class ContractRef:
    """A contract as reports name it: its tenant, its pack, its label."""

    contract_id: int
    tenant_id: int
    tenant: str
    pack_id: str
    label: str | None

    @property
    def sort_key(self) -> tuple[str, str, int]:
        """Reports list contracts by tenant name, pack, id."""
        return (self.tenant, self.pack_id, self.contract_id)


REF_COLUMNS = (
    col(Contract.id),
    col(Contract.tenant_id),
    col(Tenant.name),
    col(Contract.pack_id),
    col(Contract.label),
)


def ref_of(row: Any) -> ContractRef:
    """The contract named by a row of `ref_select`."""
    return ContractRef(
        contract_id=row.contract_id,
        tenant_id=row.tenant_id,
        tenant=row.tenant_name,
        pack_id=row.pack_id,
        label=row.label,
    )


def ref_select(*extra: Any) -> Any:
    """SELECT the contract's reference columns (join `Contract` and `Tenant`), then `extra`."""
    return sql_select(
        col(Contract.id).label("contract_id"),
        col(Contract.tenant_id).label("tenant_id"),
        col(Tenant.name).label("tenant_name"),
        col(Contract.pack_id).label("pack_id"),
        col(Contract.label).label("label"),
        *extra,
    )


def effective_outcome(target: str, now: datetime | ColumnElement[Any], source: Any = Ticket) -> Any:
    """A target's outcome at `now`, as SQL: the stored one, open when recorded at risk,
    breached once an open one is late; '' without a target (never NULL: a negated condition
    over it must stay true or false). `source` holds the ticket's columns (the table, or a
    subquery's `c`)."""
    outcome = col(getattr(source, f"{target}_outcome"))
    due = col(getattr(source, f"{target}_due"))
    return case(
        (
            and_(outcome.in_(STILL_OPEN), due.is_not(None), due < now),
            TargetOutcome.BREACHED.value,
        ),
        (outcome == TargetOutcome.AT_RISK.value, TargetOutcome.OPEN.value),
        else_=func.coalesce(outcome, ""),
    )


def at_risk(target: str, now: datetime | ColumnElement[Any], source: Any = Ticket) -> Any:
    """Whether a target is at risk at `now`, as SQL: recorded at risk, or open past its risk
    instant; not late."""
    outcome = col(getattr(source, f"{target}_outcome"))
    due = col(getattr(source, f"{target}_due"))
    risk = col(getattr(source, f"{target}_risk_at"))
    return and_(
        or_(
            outcome == TargetOutcome.AT_RISK.value,
            and_(outcome == TargetOutcome.OPEN.value, risk.is_not(None), risk <= now),
        ),
        or_(due.is_(None), due >= now),
    )


def _differs_at(now: datetime | ColumnElement[Any]) -> list[Any]:
    """Tickets whose outcome or risk at `now` is not what their stored outcome counts for
    (open: not at risk; recorded at risk: at risk), as disjoint conditions: a target open
    past its risk instant (not yet recorded at risk), open without one past its due instant,
    or recorded at risk past its due instant (a breach not yet recorded); the response's
    first, then the resolution's of tickets whose response does not differ. Each reads one
    range of a target's covering index (outcome, risk instant, due instant, ...) without the
    table's rows: only the targets whose mark is due, not every open or at-risk one. A
    stored risk instant is never after its due instant (both come from one clock: the risk
    share of its time, or the due instant itself), so a target past its due instant with a
    risk instant is past that too; a target recorded at risk has none."""
    branches: list[list[Any]] = []
    for target in TARGETS:
        outcome = col(getattr(Ticket, f"{target}_outcome"))
        risk, due = col(getattr(Ticket, f"{target}_risk_at")), col(getattr(Ticket, f"{target}_due"))
        is_open = outcome == TargetOutcome.OPEN.value
        recorded = outcome == TargetOutcome.AT_RISK.value
        branches.append(
            [
                and_(is_open, risk <= now),
                and_(is_open, risk.is_(None), due <= now),
                and_(recorded, risk.is_(None), due <= now),
            ]
        )
    response_differs = or_(*branches[0])
    return [*branches[0], *(and_(b, response_differs.is_not(true())) for b in branches[1])]


def counted_as(stored: str) -> tuple[str, bool]:
    """A stored outcome ('' without a target) as the tallies count it: the outcome and
    whether it is at risk (a target recorded at risk is open and at risk)."""
    if stored == TargetOutcome.AT_RISK.value:
        return TargetOutcome.OPEN.value, True
    return stored, False


@dataclass(frozen=True)
class Group:
    """Tickets alike at `now`: logged in one slice, one contract, priority and status, with
    the same outcome of each target ('' without one) and the same risk flags."""

    bucket: int  # how many of the cutting instants are at or before their logging instant
    contract_id: int
    priority: str
    status: TicketStatus
    response: str
    resolution: str
    response_risk: bool = False
    resolution_risk: bool = False

    @property
    def breached(self) -> bool:
        """Whether a target is missed."""
        return TargetOutcome.BREACHED.value in (self.response, self.resolution)

    @property
    def risky(self) -> bool:
        """Whether a target is at risk."""
        return self.response_risk or self.resolution_risk


@dataclass(frozen=True)
class Counts:
    """`counts`' answer: tickets per group, and the contracts they belong to."""

    groups: dict[Group, int]
    contracts: dict[int, ContractRef]


KEPT_NAMES = ("priority", "status", "response", "resolution")
TALLY_COLUMNS = (
    "contract_id",
    "tenant_id",
    "priority",
    "status",
    "response_outcome",
    "resolution_outcome",
    "day",
)


def _tally_rows() -> Any:
    """The tallies with their deltas not yet folded (one snapshot: a fold is atomic)."""
    folded = sql_select(*(getattr(TicketTally, c) for c in (*TALLY_COLUMNS, "n")))
    pending = sql_select(*(getattr(TicketTallyDelta, c) for c in (*TALLY_COLUMNS, "n")))
    return union_all(folded, pending).subquery("tally")


def fold(*, session: Session) -> int:
    """Add the deltas into the tallies (PostgreSQL's triggers append them; SQLite's update the
    tallies directly); returns how many tally rows changed.

    Deltas are taken with SKIP LOCKED and tally rows written in key order: two folds at once
    never wait on each other in a cycle, and no user transaction writes the tallies.
    """
    if session.get_bind().dialect.name != "postgresql":
        return 0
    names = ", ".join(TALLY_COLUMNS)
    statement = text(
        f"WITH moved AS (DELETE FROM ticket_tally_deltas WHERE id IN ("  # noqa: S608 - fixed names
        f"SELECT id FROM ticket_tally_deltas FOR UPDATE SKIP LOCKED) "
        f"RETURNING {names}, n) "
        f"INSERT INTO ticket_tallies ({names}, n) "
        f"SELECT {names}, sum(n) FROM moved GROUP BY {names} ORDER BY {names} "
        f"ON CONFLICT ({names}) DO UPDATE SET n = ticket_tallies.n + EXCLUDED.n"
    )
    result: Any = session.execute(statement)
    return int(result.rowcount or 0)


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _first_day(instant: datetime) -> date:
    """The first UTC day whose midday is at or after `instant`."""
    shifted = (instant - HALF_DAY).astimezone(UTC)
    if shifted.time() == time():
        return shifted.date()
    return shifted.date() + timedelta(days=1)


def _edges(cuts: Sequence[datetime]) -> list[tuple[datetime, datetime, date]]:
    """The logging ranges whose tickets a day's tally counts in the wrong slice, with that
    day: the smaller side of a day one instant cuts; the whole day when several do."""
    by_day: dict[date, list[datetime]] = defaultdict(list)
    for cut in cuts:
        utc = cut.astimezone(UTC)
        if utc.time() != time():
            by_day[utc.date()].append(utc)
    edges: list[tuple[datetime, datetime, date]] = []
    for day, inside in sorted(by_day.items()):
        start, end = _day_start(day), _day_start(day + timedelta(days=1))
        if len(inside) > 1:
            edges.append((start, end, day))
        elif inside[0] <= start + HALF_DAY:
            edges.append((start, inside[0], day))
        else:
            edges.append((inside[0], end, day))
    return edges


def _status(value: Any) -> TicketStatus:
    return value if isinstance(value, TicketStatus) else TicketStatus[str(value)]


#: Statements of `counts` built once per shape, with the instants as bound parameters.
_BUILT = shapes.BUILT
_built, _shape = shapes.built, shapes.shape


def _cut(i: int) -> Any:
    return bindparam(f"cut_{i}")


def _first(i: int) -> Any:
    return bindparam(f"first_{i}")


def _tallied_statement(
    scope: Scoped, n_cuts: int, status_names: tuple[str, ...] | None, inside: bool
) -> Any:
    """1. Whole days from the tallies, each in the slice holding its midday."""
    tally = _tally_rows()
    day = tally.c.day
    bucket = case(*((day >= _first(n_cuts - 1 - i), n_cuts - i) for i in range(n_cuts)), else_=0)
    where: list[Any] = [scope.where(contract_id=tally.c.contract_id, tenant_id=tally.c.tenant_id)]
    if status_names is not None:
        where.append(tally.c.status.in_(status_names))
    if inside and n_cuts:
        where += [day >= _first(0), day < _first(n_cuts - 1)]
    grouped = (
        tally.c.priority,
        tally.c.status,
        tally.c.response_outcome,
        tally.c.resolution_outcome,
    )
    return (
        ref_select(
            bucket.label("bucket"),
            *(column.label(name) for column, name in zip(grouped, KEPT_NAMES, strict=True)),
            func.sum(tally.c.n).label("n"),
        )
        .select_from(tally)
        .join(Contract, col(Contract.id) == tally.c.contract_id)
        .join(Tenant, col(Tenant.id) == col(Contract.tenant_id))
        .where(*where)
        .group_by(*REF_COLUMNS, bucket, *grouped)
    )


def _ticket_parts(
    scope: Scoped, n_cuts: int, status_names: tuple[str, ...] | None, as_text: bool
) -> tuple[list[Any], Any, Any, Any, tuple[Any, Any]]:
    """The tickets' scope and statuses, the contract column, the slice of the logging instant,
    the status as text and the stored outcomes, as the tickets' statements use them.

    PostgreSQL compares the status as the column is (its planner then estimates the rows
    kept, and counts them by hashing, not by sorting); SQLite as text (its planner would
    otherwise read the status's own index and the table's rows, not a covering index).
    """
    # `+ 0`: the scope must not lead planners to the contract's index (every ticket of it).
    ticket_where: list[Any] = [
        scope.where(contract_id=col(Ticket.contract_id) + 0, tenant_id=col(Ticket.tenant_id) + 0)
    ]
    status = col(Ticket.status)
    as_string = cast(status, String)
    if status_names is not None and as_text:
        ticket_where.append(as_string.in_(status_names))
    elif status_names is not None:
        ticket_where.append(status.in_([TicketStatus[name] for name in status_names]))
    logged = col(Ticket.logged_at)
    slice_of = case(*((logged >= _cut(n_cuts - 1 - i), n_cuts - i) for i in range(n_cuts)), else_=0)
    stored = (
        func.coalesce(col(Ticket.response_outcome), "").label("response"),
        func.coalesce(col(Ticket.resolution_outcome), "").label("resolution"),
    )
    # Grouped by the contract's id alone: the statements read no contract row per ticket
    # (its reference comes with the tallies' part).
    return ticket_where, col(Ticket.contract_id), slice_of, as_string, stored


def _edges_statement(
    scope: Scoped, n_cuts: int, status_names: tuple[str, ...] | None, n_edges: int, as_text: bool
) -> Any:
    """2. The tickets logged in the edges of cut days, per group and edge."""
    ticket_where, contract, slice_of, status, stored = _ticket_parts(
        scope, n_cuts, status_names, as_text
    )
    logged = col(Ticket.logged_at)
    # One grouped SELECT per edge (disjoint ranges), joined by UNION ALL: each reads one
    # range of the logging instant's covering index (an OR of ranges becomes a bitmap scan
    # of the table's rows on PostgreSQL).
    branches = [
        sql_select(
            contract.label("contract_id"),
            literal(i, Integer).label("edge"),
            slice_of.label("bucket"),
            col(Ticket.priority).label("priority"),
            status.label("status"),
            *stored,
            func.count().label("n"),
        )
        .where(
            logged >= bindparam(f"edge_start_{i}"),
            logged < bindparam(f"edge_end_{i}"),
            *ticket_where,
        )
        .group_by(contract, slice_of, col(Ticket.priority), status, *stored)
        for i in range(n_edges)
    ]
    return branches[0] if len(branches) == 1 else union_all(*branches)


def _late_statement(
    scope: Scoped, n_cuts: int, status_names: tuple[str, ...] | None, inside: bool, as_text: bool
) -> Any:
    """3. The tickets whose stored outcome or risk is out of date at `now`, per group."""
    ticket_where, contract, slice_of, status, stored = _ticket_parts(
        scope, n_cuts, status_names, as_text
    )
    now: ColumnElement[Any] = bindparam("now")
    changing = list(ticket_where)
    if inside and n_cuts:
        logged = col(Ticket.logged_at)
        changing += [logged >= _cut(0), logged < _cut(n_cuts - 1)]
    effective = [effective_outcome(target, now) for target in TARGETS]
    risks = [case((at_risk(target, now), 1), else_=0) for target in TARGETS]
    # One grouped SELECT per range (disjoint: a ticket counts once), joined by UNION ALL;
    # the same group from several adds up in `counts`.
    return union_all(
        *(
            sql_select(
                contract.label("contract_id"),
                slice_of.label("bucket"),
                col(Ticket.priority).label("priority"),
                status.label("status"),
                *stored,
                effective[0].label("response_now"),
                effective[1].label("resolution_now"),
                risks[0].label("response_risk"),
                risks[1].label("resolution_risk"),
                func.count().label("n"),
            )
            .where(differs, *changing)
            .group_by(contract, slice_of, col(Ticket.priority), status, *stored, *effective, *risks)
            for differs in _differs_at(now)
        )
    )


TALLIED, EDGES, LATE = 0, 1, 2
#: The columns of `counts`' one statement: each part fills its own, the others are NULL.
COUNTS_COLUMNS: tuple[tuple[str, Any], ...] = (
    ("contract_id", Integer),
    ("tenant_id", Integer),
    ("tenant_name", String),
    ("pack_id", String),
    ("label", String),
    ("edge", Integer),
    ("bucket", Integer),
    ("priority", String),
    ("status", String),
    ("response", String),
    ("resolution", String),
    ("response_now", String),
    ("resolution_now", String),
    ("response_risk", Integer),
    ("resolution_risk", Integer),
    ("n", Integer),
)


def _counts_statement(
    scope: Scoped,
    n_cuts: int,
    status_names: tuple[str, ...] | None,
    inside: bool,
    n_edges: int,
    as_text: bool,
) -> Any:
    """The three parts of `counts` (tallies, edges, late targets) as one statement, a row's
    `kind` saying its part: one round trip to the database."""
    parts = [(TALLIED, _tallied_statement(scope, n_cuts, status_names, inside))]
    if n_edges:
        parts.append((EDGES, _edges_statement(scope, n_cuts, status_names, n_edges, as_text)))
    parts.append((LATE, _late_statement(scope, n_cuts, status_names, inside, as_text)))
    selects = []
    for kind, part in parts:
        rows = part.subquery(f"part_{kind}")
        selects.append(
            sql_select(
                literal(kind, Integer).label("kind"),
                *(
                    rows.c[name].label(name) if name in rows.c else cast(null(), type_).label(name)
                    for name, type_ in COUNTS_COLUMNS
                ),
            )
        )
    return union_all(*selects)


def counts(
    *,
    session: Session,
    scope: Scoped,
    cuts: Sequence[datetime],
    now: datetime,
    statuses: Collection[TicketStatus] | None = None,
    inside: bool = False,
) -> Counts:
    """Tickets in `scope` per `Group` at `now`, their logging time cut at `cuts` (ascending):
    a group's `bucket` is how many cuts are at or before its tickets' logging instant.

    `statuses` keeps those statuses only; `inside` keeps buckets 1 to len(cuts) - 1 only
    (the slices between the first and the last cut) and reads only their rows.
    """
    groups: dict[Group, int] = defaultdict(int)
    refs: dict[int, ContractRef] = {}
    firsts = [_first_day(cut) for cut in cuts]
    n_cuts = len(cuts)
    status_names = None if statuses is None else tuple(sorted(s.name for s in statuses))
    # Built once per shape: the scope (its structure and values), the number of cuts, ...
    shape = (
        _shape(scope.where(contract_id=col(Ticket.contract_id), tenant_id=col(Ticket.tenant_id))),
        n_cuts,
        status_names,
        inside,
    )
    values: dict[str, Any] = {"now": now}
    values.update({f"cut_{i}": cut for i, cut in enumerate(cuts)})
    values.update({f"first_{i}": first for i, first in enumerate(firsts)})

    def day_bucket(day: date) -> int:
        return sum(1 for first in firsts if day >= first)

    edges = _edges(cuts)
    as_text = session.get_bind().dialect.name == "sqlite"
    statement = _built(
        ("counts", *shape, len(edges), as_text),
        lambda: _counts_statement(scope, n_cuts, status_names, inside, len(edges), as_text),
    )
    for i, (start, end, _) in enumerate(edges):
        values[f"edge_start_{i}"], values[f"edge_end_{i}"] = start, end
    for row in session.execute(statement, values):
        status, n = _status(row.status), int(row.n or 0)
        common = (int(row.bucket), row.contract_id, row.priority, status)
        (response, response_risk), (resolution, resolution_risk) = (
            counted_as(row.response),
            counted_as(row.resolution),
        )
        stored = Group(*common, response, resolution, response_risk, resolution_risk)
        if row.kind == TALLIED:  # 1. whole days from the tallies
            if row.contract_id not in refs:
                refs[row.contract_id] = ref_of(row)
            groups[stored] += n
        elif row.kind == EDGES:  # 2. from the slice of their day's tally to their own
            day = day_bucket(edges[row.edge][2])
            groups[replace(stored, bucket=day)] -= n
            groups[stored] += n
        else:  # 3. outcomes at `now`: the tickets whose stored outcome or risk is out of date
            groups[stored] -= n
            now_group = Group(
                *common,
                row.response_now,
                row.resolution_now,
                bool(row.response_risk),
                bool(row.resolution_risk),
            )
            groups[now_group] += n

    last = len(cuts)
    kept = {
        group: n for group, n in groups.items() if n and (not inside or 0 < group.bucket < last)
    }
    missing = {group.contract_id for group in kept} - set(refs)
    if missing:  # only tickets moved in from days the tallies' statement left out (`inside`)
        named = (
            ref_select()
            .select_from(Contract)
            .join(Tenant, col(Tenant.id) == col(Contract.tenant_id))
        )
        for row in session.execute(named.where(col(Contract.id).in_(missing))):
            refs[row.contract_id] = ref_of(row)
    return Counts(groups=kept, contracts=refs)


# --------------------------------------------------------------------------- bulk loads

#: The tally triggers of `tickets` (migration 0019): suspended during a bulk load.
TRIGGER_PREFIX = "tickets_tally"


@contextmanager
def bulk_load(*, session: Session) -> Iterator[None]:
    """Insert many tickets without the per-row tally triggers: the tallies of the tickets
    inserted inside are added once at the end, in the caller's transaction.

    The triggers are suspended by DDL inside that transaction (SQLite drops and re-creates
    them; PostgreSQL disables them, locking `tickets` until commit): no other writer runs
    without them and no reader sees the tallies before they are right. Only inserts belong
    inside (an update or delete of an older ticket would not be counted).
    """
    dialect = session.get_bind().dialect.name
    first = int(session.execute(text("SELECT coalesce(max(id), 0) + 1 FROM tickets")).scalar_one())
    if dialect == "postgresql":
        names = list(
            session.execute(
                text(
                    "SELECT tgname FROM pg_trigger WHERE tgrelid = 'tickets'::regclass "
                    "AND NOT tgisinternal AND tgname LIKE :prefix"
                ),
                {"prefix": f"{TRIGGER_PREFIX}%"},
            ).scalars()
        )
        for name in names:
            session.execute(text(f'ALTER TABLE tickets DISABLE TRIGGER "{name}"'))
    else:
        found = session.execute(
            text(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                "AND tbl_name = 'tickets' AND name LIKE :prefix"
            ),
            {"prefix": f"{TRIGGER_PREFIX}%"},
        ).all()
        for name, _sql in found:
            session.execute(text(f'DROP TRIGGER "{name}"'))
    yield
    _count_inserted(session=session, first_id=first, postgresql=dialect == "postgresql")
    if dialect == "postgresql":
        for name in names:
            session.execute(text(f'ALTER TABLE tickets ENABLE TRIGGER "{name}"'))
    else:
        for _name, ddl in found:
            session.execute(text(ddl))


def _count_inserted(*, session: Session, first_id: int, postgresql: bool) -> None:
    """Add the tickets from `first_id` on to the tallies, as the insert trigger would have."""
    names = ", ".join(TALLY_COLUMNS)
    if postgresql:
        status, day = "status::text", "(logged_at AT TIME ZONE 'UTC')::date"
    else:
        status, day = "status", "date(logged_at)"
    keys = (
        f"contract_id, tenant_id, priority, {status}, coalesce(response_outcome, ''), "
        f"coalesce(resolution_outcome, ''), {day}"
    )
    # `WHERE true`: SQLite's upsert after a SELECT needs it to parse ON CONFLICT.
    session.execute(
        text(
            f"INSERT INTO ticket_tallies ({names}, n) "  # noqa: S608 - fixed names
            f"SELECT {keys}, count(*) FROM tickets WHERE id >= :first AND true GROUP BY {keys} "
            f"ON CONFLICT ({names}) DO UPDATE SET n = ticket_tallies.n + excluded.n"
        ),
        {"first": first_id},
    )
