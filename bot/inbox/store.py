"""The inbox's rows: claims in chat order under a lease, the handled mark, replies, retries,
parking.

A row goes through two steps: handled (its effects committed, with its reply stored in the
same transaction) and replied (the channel sent the reply, or gave it up). A row is claimable
when it is not replied, not parked, its lease (if any) has run out, it has waited the order
window since it was stored (or its channel's sequence is gap-free and complete up to it, see
`complete_through`), and no earlier unreplied row of its chat exists: so one chat's
rows are handled one at a time, in platform order (`seq`, then arrival), and its next row
waits until the previous reply is sent, across processes too. A handled row claimed again
(its process stopped before sending) is handed over "reply only". PostgreSQL claims with
``FOR UPDATE SKIP LOCKED``; SQLite's write transactions are ``BEGIN IMMEDIATE`` (one writer
at a time). Each claim is also a conditional ``UPDATE`` on the lease, and the handled and
replied marks conditional ``UPDATE``s on the claim token.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Integer, String, TextClause, bindparam, func, select, text, update
from sqlalchemy.sql.selectable import TextualSelect
from sqlmodel import Session, col

from bot.channels.inbox import InboxRow
from bot.db.engine import transaction
from bot.db.models import InboundUpdate
from bot.db.types import UTCDateTime
from bot.inbox.replies import ReplyFormatError, dump_outcome, load_outcome
from handlers.model import Along, ClaimLostError, Outcome

log = logging.getLogger(__name__)

ERROR_CHARS = 500
BACKOFF_BASE = 1.0  # seconds before the second attempt; doubles with each one
BACKOFF_MAX = 60.0


# The hot statements of the inbox are written once as SQL text: every event runs them, and
# building and cache-keying the equivalent expressions cost more than running them.
# A row claimed `max_claims` times without finishing: its process stopped every time.
_PARK_SQL = """
UPDATE inbound_updates{unreplied}
SET parked_at = :now, last_error = :error, claim_token = NULL, lease_until = NULL
WHERE replied_at IS NULL AND parked_at IS NULL AND attempts >= :max_claims
  AND channel IN :channels AND (lease_until IS NULL OR lease_until < :now)
"""
# Each chat's first unreplied row in platform order (`seq`, then arrival), unless a row of
# the chat is in hand (a live lease): one pass over the waiting rows, sorted per chat. (As
# two correlated NOT EXISTS, PostgreSQL's planner, misled by a young table's statistics, read
# every waiting row again for each candidate: 5-24 ms per claim with 100 rows waiting. The
# joins below go from the few rows picked to the table's primary key, whatever the estimates:
# their re-checks of a locked row are written as `coalesce(...) IS NULL`, which no index
# matches, so no planner reads the waiting rows' index again for each row picked.)
# Of those, the ones past their order window (or complete in a gap-free sequence) are picked
# once (a materialized CTE: as `WHERE id IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED)`,
# PostgreSQL may run the sub-select again for each row it updates, each time skipping the
# rows this statement updated already, and claim far more than `n` rows).
_CLAIM_SQL = """
WITH chats AS MATERIALIZED (
    SELECT r.id, r.channel, r.seq, r.received_at,
           row_number() OVER (PARTITION BY r.channel, r.chat_key ORDER BY r.seq, r.id)
               AS place,
           max(CASE WHEN r.claim_token IS NOT NULL AND r.lease_until >= :now THEN 1 ELSE 0 END)
               OVER (PARTITION BY r.channel, r.chat_key) AS busy
    FROM inbound_updates r{unreplied}
    WHERE r.channel IN :channels
      AND r.replied_at IS NULL AND r.parked_at IS NULL AND r.chat_key IS NOT NULL),
picked AS MATERIALIZED (
    SELECT t.id FROM chats r JOIN inbound_updates t ON t.id = r.id
    WHERE r.place = 1 AND r.busy = 0
      AND (r.received_at <= :settle_before{complete})
      AND coalesce(t.replied_at, t.parked_at) IS NULL
      AND (t.lease_until IS NULL OR t.lease_until < :now)
    ORDER BY t.id
    LIMIT :limit{lock})
UPDATE inbound_updates
SET attempts = attempts + 1, claim_token = :token, lease_until = :until
FROM picked
WHERE inbound_updates.id = picked.id
  AND coalesce(replied_at, parked_at) IS NULL
  AND (lease_until IS NULL OR lease_until < :now)
RETURNING inbound_updates.id, channel, external_key, chat_key, payload, attempts, failures,
    processed_at, reply
"""
_INSTANT = UTCDateTime()


def _instants(statement: TextClause, *names: str) -> TextClause:
    return statement.bindparams(*(bindparam(name, type_=_INSTANT) for name in names))


# A row of a gap-free channel inside its order window, whose predecessors are all stored.
_COMPLETE_TERM = """
               OR (r.channel = :gapless_{i} AND r.seq > :floor_{i} AND r.seq <= :through_{i})"""
# The channel's rows from the last one past the order window (highest sequence first among
# those) upwards: few, read from the (channel, seq) index.
_SEQUENCE_SQL = """
SELECT seq FROM inbound_updates{by_seq}
WHERE channel = :channel AND seq >= (
    SELECT s.seq FROM inbound_updates s{by_seq}
    WHERE s.channel = :channel AND s.received_at <= :settle_before
    ORDER BY s.seq DESC LIMIT 1)
ORDER BY seq
LIMIT :most
"""
#: Rows of a gap-free channel looked at above its floor (more: the rest wait their window).
SEQUENCE_LOOKED_AT = 1000


@dataclass(frozen=True)
class Complete:
    """A gap-free channel's sequence: every number above `floor` up to `through` is stored.

    `floor` is the highest number past the order window; a row numbered above it and up to
    `through` has no earlier event still in flight, so it need not wait its window."""

    channel: str
    floor: int
    through: int


@functools.cache
def _sequence_statement(dialect: str) -> TextClause:
    # SQLite's planner, without statistics, would read the channel's rows by their key.
    by_seq = " INDEXED BY ix_inbound_updates_channel_seq" if dialect == "sqlite" else ""
    return _instants(text(_SEQUENCE_SQL.format(by_seq=by_seq)), "settle_before")


def complete_through(*, connection: Any, channel: str, settle_before: datetime) -> Complete | None:
    """How far `channel`'s sequence is complete above its floor (None: no row past the order
    window yet, so nothing is known about what precedes the rows stored since).

    For a platform that numbers a bot's events one by one without gaps (Telegram's
    update_id): an event whose predecessors are all stored cannot be overtaken by one still
    in flight; only a gap (an update delivered concurrently, not stored yet) makes the rows
    after it wait their order window. A number below the floor (a late redelivery, a new
    bot's numbering) waits its window too."""
    found = [
        int(seq)
        for seq in connection.execute(
            _sequence_statement(connection.dialect.name),
            {"channel": channel, "settle_before": settle_before, "most": SEQUENCE_LOOKED_AT},
        ).scalars()
    ]
    if not found:
        return None
    floor = through = found[0]
    for seq in found[1:]:
        if seq != through + 1:
            break
        through = seq
    return Complete(channel=channel, floor=floor, through=through)


@functools.cache
def _claim_statements(dialect: str, gapless: int = 0) -> tuple[TextClause, TextualSelect]:
    """The park and claim statements for `dialect` (PostgreSQL skips rows others lock), the
    claim with the complete sequences of `gapless` channels."""
    lock = "\n    FOR UPDATE OF t SKIP LOCKED" if dialect == "postgresql" else ""
    # The inbox keeps replied rows for days: the claim must read only the few unreplied ones.
    # SQLite's planner, without statistics, preferred the (channel, key) index and read every
    # row of the channel.
    unreplied = " INDEXED BY ix_inbound_updates_unreplied" if dialect == "sqlite" else ""
    complete = "".join(_COMPLETE_TERM.format(i=i) for i in range(gapless))
    park = _instants(text(_PARK_SQL.format(unreplied=unreplied)), "now").bindparams(
        bindparam("channels", expanding=True)
    )
    claim = (
        _instants(
            text(_CLAIM_SQL.format(complete=complete, lock=lock, unreplied=unreplied)),
            "now",
            "until",
        )
        .bindparams(bindparam("settle_before", type_=_INSTANT))
        .bindparams(bindparam("channels", expanding=True))
        .columns(
            id=Integer(),
            channel=String(),
            external_key=String(),
            chat_key=String(),
            payload=String(),
            attempts=Integer(),
            failures=Integer(),
            processed_at=_INSTANT,
            reply=String(),
        )
    )
    return park, claim


def claim(
    *,
    engine: Engine,
    channels: Collection[str],
    now: datetime,
    limit: int,
    lease: timedelta,
    settle: timedelta,
    max_attempts: int,
    max_claims: int,
    park_stalled: bool = True,
    gapless: Collection[str] = (),
) -> tuple[list[tuple[InboxRow, str]], int]:
    """Claim up to `limit` rows (with their claim token); also how many were parked first
    (with `park_stalled`): claimed `max_claims` times without ever finishing (their process
    stopped each time).

    Rows of the `gapless` channels (their platform numbers events without gaps) whose
    predecessors are all stored are claimable inside their order window (`complete_through`).
    The claim with `max_attempts - 1` failures behind it is the last (`InboxRow.final`). A
    handled row comes with its stored reply (`InboxRow.handled`, `InboxRow.reply`)."""
    token = uuid.uuid4().hex
    names = sorted(channels)
    settle_before = now - settle
    parked = 0
    with engine.begin() as connection:
        completes: list[Complete] = []
        for channel in sorted(set(gapless) & set(names)) if settle else ():
            sequence = complete_through(
                connection=connection, channel=channel, settle_before=settle_before
            )
            if sequence is not None:
                completes.append(sequence)
        park, take = _claim_statements(engine.dialect.name, len(completes))
        sequences: dict[str, Any] = {}
        for i, complete in enumerate(completes):
            sequences[f"gapless_{i}"] = complete.channel
            sequences[f"floor_{i}"] = complete.floor
            sequences[f"through_{i}"] = complete.through
        if park_stalled:
            parked = _count(
                connection.execute(
                    park,
                    {
                        "now": now,
                        "error": f"not finished after {max_claims} claims (the process stopped)",
                        "max_claims": max_claims,
                        "channels": names,
                    },
                )
            )
        found = connection.execute(
            take,
            {
                "token": token,
                "until": now + lease,
                "now": now,
                "settle_before": settle_before,
                "limit": limit,
                "channels": names,
                **sequences,
            },
        ).all()
    claimed = [
        (
            InboxRow(
                id=row.id,
                channel=row.channel,
                key=row.external_key,
                chat_key=row.chat_key or "",
                payload=row.payload,
                attempts=row.attempts,
                final=row.failures + 1 >= max_attempts,
                handled=row.processed_at is not None,
                reply=_stored_reply(
                    channel=row.channel,
                    row_id=row.id,
                    handled=row.processed_at is not None,
                    reply=row.reply,
                ),
            ),
            token,
        )
        for row in sorted(found, key=lambda found_row: int(found_row.id))
    ]
    return claimed, parked


def _stored_reply(*, channel: str, row_id: int, handled: bool, reply: str | None) -> Outcome | None:
    """The reply a handled row keeps, with the files it can still send (None: nothing to
    send, or unreadable, which the log says)."""
    if not handled or reply is None:
        return None
    try:
        outcome = load_outcome(reply)
    except ReplyFormatError as exc:
        log.error("inbox: %s row %s: its stored reply is given up (%s)", channel, row_id, exc)
        return None
    drawn = [file for file in outcome.files if file.data]
    if len(drawn) < len(outcome.files):
        log.warning(
            "inbox: %s row %s: %d file(s) of its reply were never drawn and are left out",
            channel,
            row_id,
            len(outcome.files) - len(drawn),
        )
        outcome.files = drawn
    return outcome


def _count(result: Any) -> int:
    """Rows an UPDATE changed."""
    return int(result.rowcount)


def _held(row_id: int, token: str) -> tuple[Any, ...]:
    """A row of ours (claimed with `token`) not replied yet."""
    return (
        col(InboundUpdate.id) == row_id,
        col(InboundUpdate.claim_token) == token,
        col(InboundUpdate.replied_at).is_(None),
    )


_HANDLED_SQL = _instants(
    text(
        """
UPDATE inbound_updates
SET processed_at = :now, last_error = NULL, failures = 0, reply = :reply, replied_at = :replied
WHERE id = :row_id AND claim_token = :token AND replied_at IS NULL AND processed_at IS NULL
"""
    ),
    "now",
    "replied",
)


def mark_handled(
    *, session: Session, row_id: int, token: str, now: datetime, reply: str | None = None
) -> None:
    """Mark a claimed row handled inside the caller's transaction, keeping `reply` (the
    stored outcome) until it is sent; without one, nothing is left to send. `ClaimLostError`
    if the claim is no longer ours (its lease ran out and another process took the row)."""
    # failures start again: sending the reply has its own tries
    done = session.connection().execute(
        _HANDLED_SQL,
        {
            "now": now,
            "reply": reply,
            "replied": None if reply is not None else now,
            "row_id": row_id,
            "token": token,
        },
    )
    if not _count(done):
        raise ClaimLostError(f"inbox row {row_id} is no longer ours")


def keep_reply(*, engine: Engine, row_id: int, token: str, reply: str) -> bool:
    """Replace the stored reply of a handled row of ours (its files drawn); False if the row
    is no longer ours or already replied."""
    with transaction(engine) as session:
        done = session.execute(
            update(InboundUpdate)
            .where(*_held(row_id, token), col(InboundUpdate.processed_at).is_not(None))
            .values(reply=reply)
        )
        return bool(_count(done))


# A handled row is replied (its stored reply dropped); an unhandled one is only let go.
_RELEASE_SQL = _instants(
    text(
        """
UPDATE inbound_updates
SET replied_at = CASE WHEN processed_at IS NOT NULL THEN :now ELSE replied_at END,
    reply = CASE WHEN processed_at IS NOT NULL THEN NULL ELSE reply END,
    claim_token = NULL, lease_until = NULL
WHERE id = :row_id AND claim_token = :token
"""
    ),
    "now",
)


def release(*, engine: Engine, row_id: int, token: str, now: datetime) -> None:
    """The handler of a row is done: a handled row is replied (its stored reply dropped), and
    the next row of its chat may go; an unhandled one is only let go."""
    release_many(engine=engine, rows=[(row_id, token)], now=now)


def release_many(
    *,
    engine: Engine,
    rows: Collection[tuple[int, str]],
    now: datetime,
    writes: Sequence[Along] = (),
) -> None:
    """`release` several rows (id, claim token) in one transaction, with the channels'
    `writes` to run once their replies are sent (`Seal.after_reply`). Should one of those
    fail, the rows are released first, then each write tried in a transaction of its own (a
    failing one is logged and lost: a reply sent again would be worse)."""
    if not rows:
        return
    marks = [{"now": now, "row_id": row_id, "token": token} for row_id, token in rows]
    if writes:
        try:
            with engine.begin() as connection:
                connection.execute(_RELEASE_SQL, marks)
                for write in writes:
                    write(connection)
            return
        except Exception:
            log.warning("inbox: writes after replies failed together: tried one by one")
    with engine.begin() as connection:
        connection.execute(_RELEASE_SQL, marks)
    for write in writes:
        try:
            with engine.begin() as connection:
                write(connection)
        except Exception:
            log.exception("inbox: a write after replies not kept")


def failed(
    *,
    engine: Engine,
    row_id: int,
    token: str,
    error: str,
    now: datetime,
    park: bool,
    attempts: int,
    at_least: float = 0.0,
) -> None:
    """A claimed row failed (handling it, or sending its reply): parked (last attempt), else
    offered again after a backoff, `at_least` seconds (a handled row, to send its reply)."""
    values: dict[str, Any] = {
        "last_error": error[:ERROR_CHARS],
        "claim_token": None,
        "failures": InboundUpdate.failures + 1,
    }
    if park:
        values.update(parked_at=now, lease_until=None)
    else:
        wait = max(min(BACKOFF_BASE * 2 ** max(attempts - 1, 0), BACKOFF_MAX), at_least)
        values["lease_until"] = now + timedelta(seconds=wait)
    with transaction(engine) as session:
        session.execute(update(InboundUpdate).where(*_held(row_id, token)).values(**values))


def renew(*, engine: Engine, held: dict[int, str], until: datetime) -> int:
    """Extend the leases of the rows in hand; how many are still ours."""
    kept = 0
    with transaction(engine) as session:
        for row_id, token in held.items():
            done = session.execute(
                update(InboundUpdate)
                .where(col(InboundUpdate.id) == row_id, col(InboundUpdate.claim_token) == token)
                .values(lease_until=until)
            )
            kept += _count(done)
    return kept


def waiting(*, engine: Engine, channels: Collection[str]) -> tuple[int, datetime | None]:
    """How many rows of `channels` are not replied and not parked, and the soonest lease end."""
    query = select(func.count(), func.min(col(InboundUpdate.lease_until))).where(
        col(InboundUpdate.channel).in_(list(channels)),
        col(InboundUpdate.replied_at).is_(None),
        col(InboundUpdate.parked_at).is_(None),
        col(InboundUpdate.chat_key).is_not(None),
    )
    with transaction(engine) as session:
        count, soonest = session.execute(query).one()
    return int(count), soonest


@dataclass
class RowSeal:
    """The `Seal` of one claimed row: marks it handled in the core's transaction, with the
    reply to send."""

    engine: Engine
    row: InboxRow
    token: str
    clock: Callable[[], datetime]
    sealed: bool = field(default=False)
    #: Writes to run when the row is marked replied (`after_reply`).
    after: list[Along] = field(default_factory=list)

    @property
    def final(self) -> bool:
        """The last attempt: a failure is answered to the user and the row parked."""
        return self.row.final

    def __call__(self, session: Any, outcome: Outcome | None = None) -> None:
        """Mark the row handled inside `session`'s transaction, keeping `outcome` to send."""
        reply = None if outcome is None else dump_outcome(outcome)
        mark_handled(
            session=session, row_id=self.row.id, token=self.token, now=self.clock(), reply=reply
        )
        self.sealed = True

    def record(self, outcome: Outcome) -> None:
        """Keep the reply again, its files drawn (best effort: a failure only loses the
        files should the reply have to be sent again)."""
        try:
            keep_reply(
                engine=self.engine,
                row_id=self.row.id,
                token=self.token,
                reply=dump_outcome(outcome),
            )
        except Exception:
            log.exception("inbox: %s row %s: drawn files not kept", self.row.channel, self.row.id)

    def done(self) -> None:
        """Mark the row handled in its own transaction (an event without effects)."""
        with transaction(self.engine) as session:
            self(session)

    def release(self) -> None:
        """The channel is done with the row (its reply sent or given up): the next row of
        its chat may go."""
        writes, self.after = self.after, []
        release_many(
            engine=self.engine,
            rows=[(self.row.id, self.token)],
            now=self.clock(),
            writes=writes,
        )

    def after_reply(self, write: Along) -> None:
        """Run `write` in the transaction that marks the row replied."""
        self.after.append(write)

    def give_up(self, error: str) -> None:
        """Park the row now: it failed on its last attempt (the user is told)."""
        failed(
            engine=self.engine,
            row_id=self.row.id,
            token=self.token,
            error=error,
            now=self.clock(),
            park=True,
            attempts=self.row.attempts,
        )
        self.sealed = True


# --------------------------------------------------------------------------- operators


@dataclass(frozen=True)
class Parked:
    """A parked row, as operators see it (never its payload)."""

    id: int
    channel: str
    key: str
    chat_key: str
    attempts: int
    received_at: datetime
    parked_at: datetime
    error: str


def list_parked(*, session: Session, limit: int = 200) -> list[Parked]:
    """The parked rows, oldest first."""
    rows = session.scalars(
        select(InboundUpdate)
        .where(col(InboundUpdate.parked_at).is_not(None))
        .order_by(col(InboundUpdate.id))
        .limit(limit)
    ).all()
    return [
        Parked(
            id=row.id or 0,
            channel=row.channel,
            key=row.external_key,
            chat_key=row.chat_key or "",
            attempts=row.attempts,
            received_at=row.received_at,
            parked_at=row.parked_at or row.received_at,
            error=row.last_error or "",
        )
        for row in rows
    ]


def retry(*, session: Session, row_id: int) -> bool:
    """Offer a parked row again (attempts from zero); False when no such parked row."""
    done = session.execute(
        update(InboundUpdate)
        .where(col(InboundUpdate.id) == row_id, col(InboundUpdate.parked_at).is_not(None))
        .values(
            parked_at=None,
            reported_at=None,
            attempts=0,
            failures=0,
            claim_token=None,
            lease_until=None,
        )
    )
    return bool(_count(done))


def unreported(*, session: Session) -> list[InboundUpdate]:
    """Parked rows no admin was told about yet."""
    query = (
        select(InboundUpdate)
        .where(
            col(InboundUpdate.parked_at).is_not(None),
            col(InboundUpdate.reported_at).is_(None),
        )
        .order_by(col(InboundUpdate.id))
        .limit(100)
    )
    return list(session.scalars(query).all())
