"""Writing the outbox: one row per destination, idempotent by key, in the caller's transaction.

A COMMIT that wrote rows publishes the "outbox written" database signal (`bot.db.signals`),
which wakes in-process senders; nothing here talks to a platform or to the worker.

The rows of one event (one per destination) are written by one statement (`OutboxBatch.write`),
still ``ON CONFLICT DO NOTHING`` on the idempotency key. A caller that emits many events in
one transaction (the milestone dispatcher) passes its own `OutboxBatch`: the rows of all of
them are collected and written together, so what is sent does not change.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from bot.channels.sending import Audience
from bot.db import signals
from bot.db.dialect import insert_ignoring
from bot.db.models import Notification, NotificationFile, NotificationStatus, User
from bot.i18n import Translator, translator
from bot.services.notify.cache import contract_of
from bot.services.notify.facts import TicketFacts
from bot.services.notify.hold import next_opening
from bot.services.notify.routing import Destination, Recipient, destinations_for, user_destinations
from bot.services.notify.templates import actions_for, render
from bot.settings import Settings, current_settings
from pricing.loader import get_pack
from pricing.schema import ContractPack

_NOTIFICATIONS = Notification.__table__  # type: ignore[attr-defined]


def row_key(key: str, destination: Destination) -> str:
    """The idempotency key of `key`'s row for one destination."""
    return f"{key}|{destination.audience}|{destination.channel}|{destination.chat_id}"[:200]


def outbox_row(
    *,
    key: str,
    destination: Destination,
    event: str,
    text: str,
    now: datetime,
    ticket_id: int | None = None,
    actions: list[dict[str, str]] | None = None,
    status: NotificationStatus = NotificationStatus.PENDING,
    next_attempt_at: datetime | None = None,
    attachments: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The column values of one outbox row (every column but the id)."""
    return {
        "idempotency_key": row_key(key, destination),
        "ticket_id": ticket_id,
        "user_id": destination.user_id,
        "audience": str(destination.audience),
        "event": event,
        "channel": destination.channel,
        "chat_id": destination.chat_id,
        "lang": destination.lang,
        "text": text,
        "actions": actions or [],
        "mentions": list(destination.mentions),
        "attachments": attachments or [],
        "status": status,
        "attempts": 0,
        "next_attempt_at": next_attempt_at or now,
        "last_error": None,
        "external_id": None,
        "created_at": now,
        "sent_at": None,
    }


class OutboxBatch:
    """Outbox rows collected over one transaction, written by one statement."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}  # by idempotency key: the first one wins

    def add(self, row: dict[str, Any]) -> str:
        """Queue `row` (unless its key is queued already); returns its idempotency key."""
        key: str = row["idempotency_key"]
        self.rows.setdefault(key, row)
        return key

    def write(self, session: Session) -> set[str]:
        """Insert the queued rows whose key is new; returns the keys actually written."""
        if not self.rows:
            return set()
        dialect = session.get_bind().dialect.name
        statement = insert_ignoring(dialect, _NOTIFICATIONS).returning(
            _NOTIFICATIONS.c.idempotency_key
        )
        result = session.execute(statement, list(self.rows.values()))
        written = {key for (key,) in result}
        earliest = min(
            (self.rows[key]["next_attempt_at"] for key in written),
            default=None,
        )
        if earliest is not None:
            signals.outbox_written(session, earliest)
        self.rows.clear()
        return written


def emit(
    *,
    session: Session,
    ticket: TicketFacts,
    event: str,
    now: datetime,
    key: str,
    params: dict[str, str] | None = None,
    settings: Settings | None = None,
    exclude_user_ids: Iterable[int] = (),
    recipients: Collection[Recipient] | None = None,
    attachments: list[dict[str, Any]] | None = None,
    batch: OutboxBatch | None = None,
    pack: ContractPack | None = None,
) -> int:
    """Write one outbox row per destination of `event`; `key` makes the event idempotent.

    `attachments` are files the senders forward with the message (by their platform id).
    With `batch`, the rows are queued there (written by `batch.write`) and the count returned
    is of rows queued, not written; without, they are written here, by one statement.
    `pack` is the ticket's contract's, when the caller knows it.
    """
    settings = settings or current_settings()
    if pack is None:
        pack = get_pack(contract_of(session, ticket.contract_id).pack_id)
    excluded = set(exclude_user_ids)
    queued = 0
    rows = batch if batch is not None else OutboxBatch()
    opening: datetime | None | bool = False  # computed lazily, once
    # Readers of one language and audience read the same message: rendered once.
    texts: dict[tuple[str, str], tuple[str, list[dict[str, str]]]] = {}
    for destination in destinations_for(
        session=session,
        ticket=ticket,
        pack=pack,
        event=event,
        settings=settings,
        recipients=recipients,
    ):
        if destination.user_id is not None and destination.user_id in excluded:
            continue
        reader = (destination.lang, str(destination.audience))
        if reader not in texts:
            texts[reader] = (
                render(
                    event=event,
                    t=translator(destination.lang),
                    ticket=ticket,
                    pack=pack,
                    params={**(params or {}), "audience": destination.audience},
                ),
                actions_for(
                    event=event,
                    audience=destination.audience,
                    lang=destination.lang,
                    ticket=ticket,
                ),
            )
        text, actions = texts[reader]
        status = NotificationStatus.PENDING
        next_attempt = now
        if destination.hold_outside_hours:
            if opening is False:
                opening = next_opening(pack, now)
            if isinstance(opening, datetime):
                status, next_attempt = NotificationStatus.HELD, opening
        row = outbox_row(
            key=key,
            destination=destination,
            event=event,
            text=text,
            now=now,
            ticket_id=ticket.id,
            actions=[dict(action) for action in actions],
            status=status,
            next_attempt_at=next_attempt,
            attachments=attachments,
        )
        rows.add(row)
        queued += 1
    if batch is not None:
        return queued
    return len(rows.write(session))


def emit_to_user(
    *,
    session: Session,
    user: User,
    audience: str,
    event: str,
    now: datetime,
    key: str,
    text: Callable[[Translator], str],
    ticket_id: int | None = None,
    channels: Collection[str] | None = None,
    settings: Settings | None = None,
    actions: Callable[[Translator], list[dict[str, str]]] | None = None,
) -> int:
    """Write one outbox row per reachable identity of `user` (digests, alerts, reminders)."""
    settings = settings or current_settings()
    rows = OutboxBatch()
    for destination in user_destinations(
        session=session, user=user, audience=Audience(audience), settings=settings
    ):
        if channels is not None and destination.channel not in channels:
            continue
        rows.add(
            outbox_row(
                key=key,
                destination=destination,
                event=event,
                text=text(translator(destination.lang)),
                now=now,
                ticket_id=ticket_id,
                actions=None if actions is None else actions(translator(destination.lang)),
            )
        )
    return len(rows.write(session))


def unwritten_destinations(
    *, session: Session, user: User, audience: str, key: str, settings: Settings | None = None
) -> list[Destination]:
    """`user`'s destinations whose row of `key` is not written yet (one statement): what to
    build a message for, nothing once every row is written."""
    settings = settings or current_settings()
    destinations = user_destinations(
        session=session, user=user, audience=Audience(audience), settings=settings
    )
    keys = {destination: row_key(key, destination) for destination in destinations}
    if not keys:
        return []
    written = set(
        session.exec(
            select(Notification.idempotency_key).where(
                col(Notification.idempotency_key).in_(list(keys.values()))
            )
        ).all()
    )
    return [destination for destination in destinations if keys[destination] not in written]


@dataclass(frozen=True)
class RowWithFiles:
    """An outbox row and its (name, MIME type, bytes) files, built and not yet written."""

    row: dict[str, Any]
    files: list[tuple[str, str, bytes]]


def rows_with_files(
    *,
    session: Session,
    user: User,
    audience: str,
    event: str,
    now: datetime,
    key: str,
    build: Callable[[Translator], tuple[str, list[tuple[str, str, bytes]]]],
    settings: Settings | None = None,
) -> list[RowWithFiles]:
    """Rows for `user` with files, built and not yet written (reads only; `write_with_files`
    writes them): one per destination whose key is not written yet, `build` giving the text
    and the (name, MIME type, bytes) files once per language; a key written builds nothing."""
    destinations = unwritten_destinations(
        session=session, user=user, audience=audience, key=key, settings=settings
    )
    built: dict[str, tuple[str, list[tuple[str, str, bytes]]]] = {}
    rows: list[RowWithFiles] = []
    for destination in destinations:
        if destination.lang not in built:
            built[destination.lang] = build(translator(destination.lang))
        text, files = built[destination.lang]
        row = outbox_row(key=key, destination=destination, event=event, text=text, now=now)
        rows.append(RowWithFiles(row=row, files=files))
    return rows


def write_with_files(*, session: Session, rows: Iterable[RowWithFiles], now: datetime) -> int:
    """Write built rows and their files; a key written meanwhile writes nothing (no file)."""
    written = 0
    dialect = session.get_bind().dialect.name
    for built in rows:
        statement = insert_ignoring(dialect, _NOTIFICATIONS, **built.row).returning(
            _NOTIFICATIONS.c.id
        )
        inserted = session.execute(statement).first()
        if inserted is None:
            continue
        for name, mime, data in built.files:
            session.add(
                NotificationFile(notification_id=inserted[0], name=name, mime=mime, data=data)
            )
        written += 1
    if written:
        session.flush()
        signals.outbox_written(session, now)
    return written
