"""The inbox's rows: claims in chat order under a lease, the handled mark, replies, retries,
parking.

A row goes through two steps: handled (its effects committed, with its reply stored in the
same transaction) and replied (the channel sent the reply, or gave it up). A row is claimable
when it is not replied, not parked, its lease (if any) has run out, it has waited the order
window since it was stored, and no earlier unreplied row of its chat exists: so one chat's
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
_UNREPLIED_HEAD = """
    r.channel IN :channels
    AND r.replied_at IS NULL AND r.parked_at IS NULL AND r.chat_key IS NOT NULL
    AND (r.lease_until IS NULL OR r.lease_until < :now)
    AND r.received_at <= :settle_before
    AND NOT EXISTS (
        SELECT 1 FROM inbound_updates e
        WHERE e.channel = r.channel AND e.chat_key = r.chat_key
          AND e.replied_at IS NULL AND e.parked_at IS NULL
          AND (e.seq < r.seq OR (e.seq = r.seq AND e.id < r.id)))
    AND NOT EXISTS (
        SELECT 1 FROM inbound_updates e
        WHERE e.channel = r.channel AND e.chat_key = r.chat_key AND e.id <> r.id
          AND e.replied_at IS NULL AND e.claim_token IS NOT NULL AND e.lease_until >= :now)
"""
# A row claimed `max_claims` times without finishing: its process stopped every time.
_PARK_SQL = """
UPDATE inbound_updates
SET parked_at = :now, last_error = :error, claim_token = NULL, lease_until = NULL
WHERE replied_at IS NULL AND parked_at IS NULL AND attempts >= :max_claims
  AND channel IN :channels AND (lease_until IS NULL OR lease_until < :now)
"""
_CLAIM_SQL = """
UPDATE inbound_updates
SET attempts = attempts + 1, claim_token = :token, lease_until = :until
WHERE id IN (
    SELECT r.id FROM inbound_updates r
    WHERE {head}
    ORDER BY r.id
    LIMIT :limit{lock})
  AND replied_at IS NULL AND parked_at IS NULL
  AND (lease_until IS NULL OR lease_until < :now)
RETURNING id, channel, external_key, chat_key, payload, attempts, failures, processed_at, reply
"""
_INSTANT = UTCDateTime()


def _instants(statement: TextClause, *names: str) -> TextClause:
    return statement.bindparams(*(bindparam(name, type_=_INSTANT) for name in names))


@functools.cache
def _claim_statements(dialect: str) -> tuple[TextClause, TextualSelect]:
    """The park and claim statements for `dialect` (PostgreSQL skips rows others lock)."""
    lock = "\n    FOR UPDATE OF r SKIP LOCKED" if dialect == "postgresql" else ""
    park = _instants(text(_PARK_SQL), "now").bindparams(bindparam("channels", expanding=True))
    claim = (
        _instants(text(_CLAIM_SQL.format(head=_UNREPLIED_HEAD, lock=lock)), "now", "until")
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
) -> tuple[list[tuple[InboxRow, str]], int]:
    """Claim up to `limit` rows (with their claim token); also how many were parked first
    (with `park_stalled`): claimed `max_claims` times without ever finishing (their process
    stopped each time).

    The claim with `max_attempts - 1` failures behind it is the last (`InboxRow.final`). A
    handled row comes with its stored reply (`InboxRow.handled`, `InboxRow.reply`)."""
    park, take = _claim_statements(engine.dialect.name)
    token = uuid.uuid4().hex
    names = sorted(channels)
    parked = 0
    with engine.begin() as connection:
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
                "settle_before": now - settle,
                "limit": limit,
                "channels": names,
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
