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

import logging
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, func, or_, select, update
from sqlmodel import Session, col

from bot.channels.inbox import InboxRow
from bot.db.engine import transaction
from bot.db.models import InboundUpdate
from bot.inbox.replies import ReplyFormatError, dump_outcome, load_outcome
from handlers.model import ClaimLostError, Outcome

log = logging.getLogger(__name__)

ERROR_CHARS = 500
BACKOFF_BASE = 1.0  # seconds before the second attempt; doubles with each one
BACKOFF_MAX = 60.0


def claimable(now: datetime, channels: Collection[str], settle_before: datetime) -> Any:
    """The rows of `channels` a drainer may claim now (a select of their ids, oldest first)."""
    row = InboundUpdate.__table__.alias("r")  # type: ignore[attr-defined]
    other = InboundUpdate.__table__.alias("e")  # type: ignore[attr-defined]
    earlier = (
        select(other.c.id)
        .where(
            other.c.channel == row.c.channel,
            other.c.chat_key == row.c.chat_key,
            other.c.replied_at.is_(None),
            other.c.parked_at.is_(None),
            or_(other.c.seq < row.c.seq, and_(other.c.seq == row.c.seq, other.c.id < row.c.id)),
        )
        .exists()
    )
    # Another row of the chat in hand (a later one, claimed before this earlier one was
    # stored): the chat waits for it.
    busy = (
        select(other.c.id)
        .where(
            other.c.channel == row.c.channel,
            other.c.chat_key == row.c.chat_key,
            other.c.id != row.c.id,
            other.c.claim_token.is_not(None),
            other.c.lease_until >= now,
        )
        .exists()
    )
    return (
        select(row.c.id, row.c.attempts, row.c.failures)
        .where(
            row.c.channel.in_(list(channels)),
            row.c.replied_at.is_(None),
            row.c.parked_at.is_(None),
            row.c.chat_key.is_not(None),
            or_(row.c.lease_until.is_(None), row.c.lease_until < now),
            row.c.received_at <= settle_before,
            ~earlier,
            ~busy,
        )
        .order_by(row.c.id)
    ), row


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
) -> tuple[list[tuple[InboxRow, str]], int]:
    """Claim up to `limit` rows (with their claim tokens); also how many were parked instead,
    claimed `max_claims` times without ever finishing (their process stopped each time).

    The claim with `max_attempts - 1` failures behind it is the last (`InboxRow.final`). A
    handled row comes with its stored reply (`InboxRow.handled`, `InboxRow.reply`)."""
    query, row = claimable(now, channels, now - settle)
    query = query.limit(limit)
    if engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=row)
    claimed: list[tuple[InboxRow, str]] = []
    parked = 0
    with transaction(engine) as session:
        for found in session.execute(query).all():
            still_free = (
                col(InboundUpdate.id) == found.id,
                col(InboundUpdate.replied_at).is_(None),
                col(InboundUpdate.parked_at).is_(None),
                or_(
                    col(InboundUpdate.lease_until).is_(None),
                    col(InboundUpdate.lease_until) < now,
                ),
            )
            if found.attempts >= max_claims:  # it never finished: a crash every time
                error = f"not finished after {found.attempts} claims (the process stopped)"
                done = session.execute(
                    update(InboundUpdate)
                    .where(*still_free)
                    .values(parked_at=now, last_error=error, claim_token=None, lease_until=None)
                )
                parked += _count(done)
                continue
            token = uuid.uuid4().hex
            done = session.execute(
                update(InboundUpdate)
                .where(*still_free)
                .values(
                    attempts=InboundUpdate.attempts + 1,
                    claim_token=token,
                    lease_until=now + lease,
                )
            )
            if not _count(done):
                continue
            stored = session.get(InboundUpdate, found.id)
            assert stored is not None
            assert stored.id is not None
            session.refresh(stored)
            claimed.append(
                (
                    InboxRow(
                        id=stored.id,
                        channel=stored.channel,
                        key=stored.external_key,
                        chat_key=stored.chat_key or "",
                        payload=stored.payload,
                        attempts=stored.attempts,
                        final=stored.failures + 1 >= max_attempts,
                        handled=stored.processed_at is not None,
                        reply=_stored_reply(stored),
                    ),
                    token,
                )
            )
    return claimed, parked


def _stored_reply(row: InboundUpdate) -> Outcome | None:
    """The reply a handled row keeps, with the files it can still send (None: nothing to
    send, or unreadable, which the log says)."""
    if row.processed_at is None or row.reply is None:
        return None
    try:
        outcome = load_outcome(row.reply)
    except ReplyFormatError as exc:
        log.error("inbox: %s row %s: its stored reply is given up (%s)", row.channel, row.id, exc)
        return None
    drawn = [file for file in outcome.files if file.data]
    if len(drawn) < len(outcome.files):
        log.warning(
            "inbox: %s row %s: %d file(s) of its reply were never drawn and are left out",
            row.channel,
            row.id,
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


def mark_handled(
    *, session: Session, row_id: int, token: str, now: datetime, reply: str | None = None
) -> None:
    """Mark a claimed row handled inside the caller's transaction, keeping `reply` (the
    stored outcome) until it is sent; without one, nothing is left to send. `ClaimLostError`
    if the claim is no longer ours (its lease ran out and another process took the row)."""
    done = session.execute(
        update(InboundUpdate)
        .where(*_held(row_id, token), col(InboundUpdate.processed_at).is_(None))
        .values(
            processed_at=now,
            last_error=None,
            failures=0,  # sending the reply has its own tries
            reply=reply,
            replied_at=None if reply is not None else now,
        )
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


def release(*, engine: Engine, row_id: int, token: str, now: datetime) -> None:
    """The handler of a row is done: a handled row is replied (its stored reply dropped), and
    the next row of its chat may go; an unhandled one is only let go."""
    ours = (col(InboundUpdate.id) == row_id, col(InboundUpdate.claim_token) == token)
    with transaction(engine) as session:
        session.execute(
            update(InboundUpdate)
            .where(*ours, col(InboundUpdate.processed_at).is_not(None))
            .values(replied_at=now, reply=None, claim_token=None, lease_until=None)
        )
        session.execute(
            update(InboundUpdate).where(*ours).values(claim_token=None, lease_until=None)
        )


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
        release(engine=self.engine, row_id=self.row.id, token=self.token, now=self.clock())

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
