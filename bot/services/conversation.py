"""The customer's conversation on a ticket: messages and files, solved or not, reopen, rating.

Messages (with their files) are ticket events and `ticket_attachments` rows; the other side
hears of them through the outbox (`notify.emit`, the files carried by the row for the sender
to forward by their platform id). Every state change starts with the ticket's row lock or a
conditional UPDATE, so two clicks (or two workers closing unanswered tickets) act once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, update
from sqlmodel import Session, col, select

from bot.db.dialect import insert_ignoring
from bot.db.models import (
    MessageRef,
    Ticket,
    TicketAttachment,
    TicketEvent,
    TicketSatisfaction,
    TicketStatus,
)
from bot.services import desk, notify
from bot.services.actors import Actor, ticket_visibility
from bot.services.contracts import contract_and_pack
from bot.services.errors import AccessDeniedError, InputError, InvalidStateError
from bot.services.tickets import lock_ticket, record_event, refresh_sla, reopen_round
from bot.settings import Settings, current_settings
from bot.sla.calendar import calendar_for
from pricing.schema import ContractPack

MAX_MESSAGE = 3000
MAX_REASON = 500
MAX_COMMENT = 1000
#: Tickets a customer may still talk on (a resolved one awaits their "solved?").
TALKABLE = (*TicketStatus.open_statuses(), TicketStatus.RESOLVED)
SCORES = range(1, 6)
SEARCH_LIMIT = 10


@dataclass(frozen=True)
class FileInfo:
    """A file as the services take it (the core's `Attachment`, without its enum)."""

    channel: str
    kind: str
    file_id: str
    name: str = ""
    size: int | None = None
    mime: str | None = None
    permalink: str | None = None

    def as_payload(self) -> dict[str, Any]:
        """The file as stored in a conversation draft."""
        return {
            "channel": self.channel,
            "kind": self.kind,
            "file_id": self.file_id,
            "name": self.name,
            "size": self.size,
            "mime": self.mime,
            "permalink": self.permalink,
        }

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> FileInfo:
        """A file kept in a conversation draft."""
        size = data.get("size")
        return cls(
            channel=str(data.get("channel") or ""),
            kind=str(data.get("kind") or "file"),
            file_id=str(data.get("file_id") or ""),
            name=str(data.get("name") or ""),
            size=int(size) if isinstance(size, int) else None,
            mime=data.get("mime") or None,
            permalink=data.get("permalink") or None,
        )


# --------------------------------------------------------------------------- files


def check_files(
    *, files: Sequence[FileInfo], already: int, settings: Settings | None = None
) -> None:
    """Refuse files over the size limit or beyond the count a ticket may carry."""
    settings = settings or current_settings()
    for file in files:
        if file.size is not None and file.size > settings.attachment_max_bytes:
            raise InputError(
                "file too large",
                reason="file_too_large",
                name=file.name,
                limit=settings.attachment_max_bytes,
            )
    if already + len(files) > settings.attachments_per_ticket:
        raise InputError(
            "too many files", reason="too_many_files", limit=settings.attachments_per_ticket
        )


def attachment_count(*, session: Session, ticket: Ticket) -> int:
    """How many files the ticket carries."""
    query = select(func.count()).select_from(TicketAttachment)
    return int(session.exec(query.where(TicketAttachment.ticket_id == ticket.id)).one())


def attachments_of(*, session: Session, ticket: Ticket) -> list[TicketAttachment]:
    """The ticket's files, oldest first."""
    query = select(TicketAttachment).where(TicketAttachment.ticket_id == ticket.id)
    return list(session.exec(query.order_by(col(TicketAttachment.id))).all())


def attachments_by_event(*, session: Session, ticket: Ticket) -> dict[int, list[TicketAttachment]]:
    """The ticket's files grouped by the timeline event that brought them."""
    grouped: dict[int, list[TicketAttachment]] = {}
    for attachment in attachments_of(session=session, ticket=ticket):
        if attachment.event_id is not None:
            grouped.setdefault(attachment.event_id, []).append(attachment)
    return grouped


def file_line(name: str, size: int | None, kind: str) -> str:
    """A file in one line: its name (or kind) and its size."""
    label = name or kind
    if size is None:
        return label
    if size >= 1_000_000:
        return f"{label} ({size / 1_000_000:.1f} MB)"
    return f"{label} ({max(1, round(size / 1000))} kB)"


# --------------------------------------------------------------------------- messages


def add_message(
    *,
    session: Session,
    actor: Actor,
    ticket: Ticket,
    text: str,
    files: Sequence[FileInfo] = (),
    now: datetime,
    settings: Settings | None = None,
) -> TicketEvent:
    """A message (text, files or both) on the ticket; the other side is told, files forwarded.

    A customer's message reaches the ticket's owner and the provider's agents (their room,
    in the ticket's thread); an agent's reaches the customer, signed with the agent's name.
    """
    text = text.strip()[:MAX_MESSAGE]
    if not text and not files:
        raise InputError("empty message")
    if ticket.status is TicketStatus.CLOSED:
        raise InvalidStateError(
            "ticket is closed", status=ticket.status.value, reference=ticket.reference
        )
    check_files(
        files=files, already=attachment_count(session=session, ticket=ticket), settings=settings
    )
    names = [file_line(f.name, f.size, f.kind) for f in files]
    event = record_event(
        session=session,
        ticket=ticket,
        actor=actor,
        type="comment",
        now=now,
        reason=text or None,
        changes={"files": names} if names else None,
    )
    session.flush()
    assert event.id is not None
    assert ticket.id is not None
    stored = [
        TicketAttachment(
            ticket_id=ticket.id,
            event_id=event.id,
            user_id=actor.id,
            channel=file.channel,
            kind=file.kind,
            file_id=file.file_id,
            name=file.name,
            size=file.size,
            mime=file.mime,
            permalink=file.permalink,
            at=now,
        )
        for file in files
    ]
    session.add_all(stored)
    ticket.updated_at = now
    session.add(ticket)
    session.flush()
    staff = actor.is_staff
    notify.emit(
        session=session,
        ticket=ticket,
        event="agent_comment" if staff else "customer_comment",
        now=now,
        key=f"t{ticket.id}:comment:{event.id}",
        params={"text": text, "name": actor.user.display_name, "files": "\n".join(names)},
        exclude_user_ids=[actor.id],
        attachments=[a.as_payload() for a in stored],
        settings=settings,
    )
    return event


def ticket_of_reply(
    *, session: Session, actor: Actor, channel: str, chat_id: str, message_id: str
) -> Ticket | None:
    """The ticket a bot message in this chat was about, if the actor may see it."""
    query = (
        select(Ticket)
        .join(MessageRef, col(MessageRef.ticket_id) == col(Ticket.id))
        .where(
            MessageRef.channel == channel,
            MessageRef.chat_id == chat_id,
            MessageRef.message_id == message_id,
            ticket_visibility(actor),
        )
    )
    return session.exec(query).first()


def recent_tickets(*, session: Session, actor: Actor, limit: int = 3) -> list[Ticket]:
    """The actor's own tickets still worth a message, the most recently active first."""
    query = (
        select(Ticket)
        .where(
            Ticket.requester_id == actor.id,
            Ticket.tenant_id == actor.user.tenant_id,
            col(Ticket.status).in_(TALKABLE),
        )
        .order_by(col(Ticket.updated_at).desc(), col(Ticket.id).desc())
        .limit(limit)
    )
    return list(session.exec(query).all())


# --------------------------------------------------------------------------- lifecycle


def _require_requester(actor: Actor, ticket: Ticket) -> None:
    if actor.is_staff or ticket.tenant_id != actor.user.tenant_id:
        raise AccessDeniedError("the ticket's customer only")


def confirm_solved(*, session: Session, actor: Actor, ticket: Ticket, now: datetime) -> Ticket:
    """The customer says the resolved ticket is solved: it closes."""
    _require_requester(actor, ticket)
    ticket = lock_ticket(session=session, ticket=ticket)
    if ticket.status is not TicketStatus.RESOLVED:
        raise InvalidStateError(
            "not resolved", status=ticket.status.value, reference=ticket.reference
        )
    _close(session=session, ticket=ticket, actor=actor, now=now, reason="confirmed")
    return ticket


def reopen(
    *,
    session: Session,
    actor: Actor,
    ticket: Ticket,
    reason: str,
    now: datetime,
    settings: Settings | None = None,
) -> Ticket:
    """Reopen a resolved ticket, or a closed one within the window; the agents are told.

    The SLA clocks run on from the original logging instant (no new targets); the first
    resolution's charge stands and a later resolution charges nothing more.
    """
    settings = settings or current_settings()
    reason = reason.strip()[:MAX_REASON]
    if not reason:
        raise InputError("no reason", reason="reopen_reason")
    ticket = lock_ticket(session=session, ticket=ticket)
    if ticket.status is TicketStatus.CLOSED:
        window = timedelta(days=settings.reopen_window_days)
        if ticket.closed_at is None or now - ticket.closed_at > window:
            raise InputError(
                "reopen window over", reason="reopen_window", days=settings.reopen_window_days
            )
    elif ticket.status is not TicketStatus.RESOLVED:
        raise InvalidStateError(
            "not resolved", status=ticket.status.value, reference=ticket.reference
        )
    _contract, pack = contract_and_pack(session=session, ticket=ticket)
    ticket.status = TicketStatus.RESPONDED if ticket.responded_at else TicketStatus.OPEN
    ticket.resolved_at = None
    ticket.closed_at = None
    refresh_sla(session=session, ticket=ticket, pack=pack, now=now)
    session.add(ticket)
    event = record_event(
        session=session, ticket=ticket, actor=actor, type="reopened", now=now, reason=reason
    )
    session.flush()
    notify.emit(
        session=session,
        ticket=ticket,
        event="reopened",
        now=now,
        key=f"t{ticket.id}:reopened:{event.id}",
        params={"reason": reason, "name": actor.user.display_name},
        exclude_user_ids=[actor.id],
        settings=settings,
    )
    desk.publish_state(
        session=session, ticket=ticket, now=now, by=actor.user.display_name, verb="reopen"
    )
    return ticket


def _close(
    *, session: Session, ticket: Ticket, actor: Actor | None, now: datetime, reason: str
) -> None:
    ticket.status = TicketStatus.CLOSED
    ticket.closed_at = now
    ticket.updated_at = now
    session.add(ticket)
    record_event(
        session=session, ticket=ticket, actor=actor, type="closed", now=now, changes={"how": reason}
    )
    session.flush()
    # The customer who confirmed is answered in place (with the rating question).
    notify.emit(
        session=session,
        ticket=ticket,
        event="closed",
        now=now,
        key=f"t{ticket.id}:closed{reopen_round(session=session, ticket=ticket)}",
        params={"reason": reason},
        exclude_user_ids=[] if actor is None else [actor.id],
    )
    by = "" if actor is None else actor.user.display_name
    desk.publish_state(session=session, ticket=ticket, now=now, by=by, verb="close")


def rate(
    *, session: Session, actor: Actor, ticket: Ticket, score: int, now: datetime
) -> TicketSatisfaction:
    """The customer's rating of a closed ticket (1–5); a second click changes the score."""
    _require_requester(actor, ticket)
    if score not in SCORES:
        raise InputError("score out of range", reason="score")
    if ticket.status is not TicketStatus.CLOSED:
        raise InvalidStateError(
            "not closed", status=ticket.status.value, reference=ticket.reference
        )
    assert ticket.id is not None
    table = TicketSatisfaction.__table__  # type: ignore[attr-defined]
    dialect = session.get_bind().dialect.name
    session.execute(
        insert_ignoring(
            dialect, table, ticket_id=ticket.id, user_id=actor.id, score=score, comment=None, at=now
        )
    )
    session.execute(
        update(TicketSatisfaction)
        .where(col(TicketSatisfaction.ticket_id) == ticket.id)
        .values(score=score, at=now, user_id=actor.id)
    )
    return session.exec(
        select(TicketSatisfaction)
        .where(TicketSatisfaction.ticket_id == ticket.id)
        .execution_options(populate_existing=True)
    ).one()


def rate_comment(*, session: Session, actor: Actor, ticket: Ticket, comment: str) -> None:
    """The optional comment that goes with the customer's rating."""
    _require_requester(actor, ticket)
    session.execute(
        update(TicketSatisfaction)
        .where(col(TicketSatisfaction.ticket_id) == ticket.id)
        .values(comment=comment.strip()[:MAX_COMMENT] or None)
    )


def satisfaction_of(*, session: Session, ticket: Ticket) -> TicketSatisfaction | None:
    """The customer's rating of the ticket, if given."""
    query = select(TicketSatisfaction).where(TicketSatisfaction.ticket_id == ticket.id)
    return session.exec(query).first()


# --------------------------------------------------------------------------- auto-close


def auto_close_at(*, pack: ContractPack, resolved_at: datetime, days: int) -> datetime:
    """When an unanswered resolved ticket closes: the end of its Nth business day after."""
    source = next(c for c in pack.calendars if c.id == pack.default_calendar)
    calendar = calendar_for(source)
    day = calendar.local_date(resolved_at)
    counted = 0
    for _ in range(days * 7 + 60):  # holidays and closures cannot stretch it further
        day += timedelta(days=1)
        if calendar.business_day(day):
            counted += 1
            if counted == days:
                break
    return calendar.close_of(day)


def close_unanswered(
    *, session: Session, now: datetime, settings: Settings, limit: int = 200
) -> int:
    """Close resolved tickets whose customer did not answer in time; tickets closed.

    Each close is a conditional UPDATE (`WHERE status = 'resolved'`): of several workers
    (or a worker and a customer's click) only one closes a ticket and tells the customer.
    """
    days = settings.auto_close_business_days
    earliest = now - timedelta(days=days)  # N business days are at least N calendar days
    query = (
        select(Ticket)
        .where(Ticket.status == TicketStatus.RESOLVED, col(Ticket.resolved_at) <= earliest)
        .order_by(col(Ticket.resolved_at), col(Ticket.id))
        .limit(limit)
    )
    closed = 0
    for ticket in session.exec(query).all():
        assert ticket.resolved_at is not None
        assert ticket.id is not None
        _contract, pack = contract_and_pack(session=session, ticket=ticket)
        if now < auto_close_at(pack=pack, resolved_at=ticket.resolved_at, days=days):
            continue
        won = session.execute(
            update(Ticket)
            .where(col(Ticket.id) == ticket.id, col(Ticket.status) == TicketStatus.RESOLVED)
            .values(status=TicketStatus.CLOSED, closed_at=now, updated_at=now)
        )
        if not won.rowcount:  # type: ignore[attr-defined]
            continue
        session.refresh(ticket)
        record_event(
            session=session,
            ticket=ticket,
            actor=None,
            type="closed",
            now=now,
            changes={"how": "auto"},
        )
        session.flush()
        notify.emit(
            session=session,
            ticket=ticket,
            event="closed",
            now=now,
            key=f"t{ticket.id}:closed{reopen_round(session=session, ticket=ticket)}",
            params={"reason": "auto", "days": str(days)},
            settings=settings,
        )
        desk.publish_state(session=session, ticket=ticket, now=now, by="", verb="close")
        closed += 1
    return closed


# --------------------------------------------------------------------------- search


def _like(words: Iterable[str]) -> list[str]:
    escaped = (w.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") for w in words)
    return [f"%{w.lower()}%" for w in escaped if w]


@dataclass(frozen=True)
class SearchTerm:
    """One searched word and the interventions whose labels contain it."""

    word: str
    interventions: tuple[str, ...] = ()


def search(
    *,
    session: Session,
    actor: Actor,
    terms: Sequence[SearchTerm],
    limit: int = SEARCH_LIMIT,
) -> list[Ticket]:
    """The actor's own tickets matching every word, newest first (SQL `LIKE`, `LIMIT`).

    A word matches the reference, the description, a message, or the label of the ticket's
    intervention (the caller gives the intervention ids whose labels contain it).
    """
    query = select(Ticket).where(
        Ticket.requester_id == actor.id, Ticket.tenant_id == actor.user.tenant_id
    )
    for term in terms:
        [pattern] = _like([term.word]) or ["%"]
        in_messages = (
            select(TicketEvent.id)
            .where(
                TicketEvent.ticket_id == Ticket.id,
                TicketEvent.type == "comment",
                func.lower(col(TicketEvent.reason)).like(pattern, escape="\\"),
            )
            .exists()
        )
        query = query.where(
            or_(
                func.lower(col(Ticket.reference)).like(pattern, escape="\\"),
                func.lower(col(Ticket.description)).like(pattern, escape="\\"),
                col(Ticket.intervention_id).in_(list(term.interventions)),
                in_messages,
            )
        )
    query = query.order_by(col(Ticket.logged_at).desc(), col(Ticket.id).desc()).limit(limit)
    return list(session.exec(query).all())
