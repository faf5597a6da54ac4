"""The database tables, one SQLModel family per entity.

Instants are `UTCDateTime` (aware UTC), amounts `DecimalText` (exact). Ticket events and
ledger entries are append-only: the code never updates or deletes them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, LargeBinary, UniqueConstraint, event
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Field, SQLModel

from bot.db.types import DecimalText, UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION


def utcnow() -> datetime:
    """The current instant, timezone-aware UTC."""
    return datetime.now(UTC)


class Role(StrEnum):
    """What a user may do."""

    REQUESTER = "requester"
    AGENT = "agent"
    MANAGER = "manager"
    ADMIN = "admin"


class TicketStatus(StrEnum):
    """Where a ticket is in its life."""

    OPEN = "open"
    RESPONDED = "responded"
    PAUSED = "paused"
    RESOLVED = "resolved"
    CLOSED = "closed"

    @classmethod
    def open_statuses(cls) -> tuple[TicketStatus, ...]:
        """The statuses of a ticket whose work is not finished (its clocks may still run)."""
        return (cls.OPEN, cls.RESPONDED, cls.PAUSED)


class TargetOutcome(StrEnum):
    """Where one SLA target of a ticket stands, stored on the ticket when it changes."""

    OPEN = "open"  # still running or stopped, not yet met nor missed
    #: Open and past its risk instant, recorded as such (`outcomes.mark_risks`, or when the
    #: clocks are stored after it): reports then count it from the tallies, not per ticket.
    #: Its risk instant is cleared (None) when it is recorded; figures show it as open.
    AT_RISK = "at_risk"
    MET = "met"
    BREACHED = "breached"


class LedgerEntryType(StrEnum):
    """Why an amount entered or left a customer's account."""

    PURCHASE = "purchase"
    TOP_UP = "top_up"
    HOLD = "hold"
    RELEASE = "release"
    CHARGE = "charge"
    WAIVER = "waiver"
    ADJUSTMENT = "adjustment"
    ALLOWANCE = "allowance"
    EXPIRY = "expiry"


class Tenant(SQLModel, table=True):
    """A customer company."""

    __tablename__ = "tenants"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=60, unique=True, index=True)
    name: str = Field(max_length=200)
    default_locale: str = Field(default="fr", max_length=5)
    zone: str = Field(default="Europe/Brussels", max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Contract(SQLModel, table=True):
    """A tenant's subscription to a contract pack, with its options."""

    __tablename__ = "contracts"

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenants.id", index=True)
    pack_id: str = Field(max_length=60)
    label: str | None = Field(default=None, max_length=200)
    service_level: str | None = Field(default=None, max_length=80)
    options: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    #: Maintained by `ledger.append_entry` under the account lock: the sum of every entry
    #: except holds and releases (`ledger_balance`), and of every entry (`ledger_available`).
    ledger_balance: Decimal = Field(default=Decimal(0), sa_type=DecimalText)
    ledger_available: Decimal = Field(default=Decimal(0), sa_type=DecimalText)


class User(SQLModel, table=True):
    """A person: a customer's requester or manager, a provider's agent or manager, an admin."""

    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    handle: str = Field(max_length=80, unique=True, index=True)
    display_name: str = Field(max_length=200)
    locale: str | None = Field(default=None, max_length=5)
    role: Role = Field(default=Role.REQUESTER, max_length=20)
    tenant_id: int | None = Field(default=None, foreign_key="tenants.id", index=True)
    notify_outside_hours: bool = True
    on_duty: bool = True
    active: bool = True  # False once offboarded: refused, and sent nothing
    deactivated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AgentProvider(SQLModel, table=True):
    """A provider (by pack provider code) that an agent or provider manager serves."""

    __tablename__ = "agent_providers"
    __table_args__ = (UniqueConstraint("user_id", "provider_code"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    provider_code: str = Field(max_length=5)


class ChannelIdentity(SQLModel, table=True):
    """An account on a channel (console, Slack, Telegram) that belongs to a user."""

    __tablename__ = "channel_identities"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=20)
    external_id: str = Field(max_length=120)
    user_id: int = Field(foreign_key="users.id", index=True)
    platform_locale: str | None = Field(default=None, max_length=10)
    reachable: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Ticket(SQLModel, table=True):
    """A request logged under a contract; its logging instant starts the SLA clocks."""

    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_status_resolution_due", "status", "resolution_due"),
        Index("ix_tickets_status_logged_at", "status", "logged_at"),
        # The queue's order to the last key (the id): a page reads only its LIMIT of rows.
        Index("ix_tickets_queue_due_logged_at_id", "queue_due", "logged_at", "id"),
        Index("ix_tickets_owner_id_queue_due_id", "owner_id", "queue_due", "logged_at", "id"),
        Index("ix_tickets_tenant_id_logged_at", "tenant_id", "logged_at"),
        Index("ix_tickets_requester_id_logged_at", "requester_id", "logged_at"),
        Index("ix_tickets_contract_logged", "contract_id", "logged_at"),
        # Tallies' exact edges and the few targets still open past their risk or due instant.
        Index(
            "ix_tickets_logged_at_tally",
            "logged_at",
            "contract_id",
            "tenant_id",
            "priority",
            "status",
            "response_outcome",
            "resolution_outcome",
        ),
        Index(
            "ix_tickets_response_outcome_cover",
            "response_outcome",
            "response_risk_at",
            "response_due",
            "resolution_outcome",
            "resolution_risk_at",
            "resolution_due",
            "logged_at",
            "contract_id",
            "tenant_id",
            "priority",
            "status",
        ),
        Index(
            "ix_tickets_resolution_outcome_cover",
            "resolution_outcome",
            "resolution_risk_at",
            "resolution_due",
            "response_outcome",
            "response_risk_at",
            "response_due",
            "logged_at",
            "contract_id",
            "tenant_id",
            "priority",
            "status",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(max_length=30, unique=True, index=True)
    tenant_id: int = Field(foreign_key="tenants.id", index=True)
    contract_id: int = Field(foreign_key="contracts.id", index=True)
    requester_id: int = Field(foreign_key="users.id", index=True)
    intervention_id: str = Field(max_length=60)
    kind: str = Field(max_length=30)
    priority: str = Field(max_length=30)
    service_level: str | None = Field(default=None, max_length=80)
    status: TicketStatus = Field(default=TicketStatus.OPEN, max_length=20)
    logged_at: datetime = Field(sa_type=UTCDateTime)
    description: str = ""
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    estimate_minutes: int | None = None
    units: int | None = None
    #: A request on quote: the price the desk proposed (in the balance unit, or "eur"), its
    #: text, and the customer's answer (proposed → accepted | declined).
    quote_amount: Decimal | None = Field(default=None, sa_type=DecimalText)
    quote_unit: str | None = Field(default=None, max_length=10)
    quote_text: str | None = None
    quote_status: str | None = Field(default=None, max_length=12)
    response_due: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolution_due: datetime | None = Field(default=None, sa_type=UTCDateTime)
    responded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    response_breached: bool = False
    resolution_breached: bool = False
    sla_generation: int = 0
    #: Each target's stored outcome (None: the contract sets no time for it) and the instant
    #: it is at risk (the report's risk fraction of its business time used; None once met,
    #: missed, stopped or recorded at risk): reports count these, they never rebuild clocks.
    response_outcome: str | None = Field(default=None, max_length=12)  # a TargetOutcome value
    resolution_outcome: str | None = Field(default=None, max_length=12)
    response_risk_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolution_risk_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    #: The agent working the ticket (None: unassigned).
    owner_id: int | None = Field(default=None, foreign_key="users.id", index=True)
    #: Who logged it when not the requester (an agent opening it for a customer).
    created_by_id: int | None = Field(default=None, foreign_key="users.id")
    #: The escalation level requested (None: the desk, level 0; Proximus 002).
    escalation_level: int | None = None
    #: The queue's sort key, kept by `keep_queue_due` at every flush: the nearest pending due
    #: instant of an open ticket (`NO_PENDING_DUE` without one), NULL once resolved or closed.
    queue_due: datetime | None = Field(default=None, sa_type=UTCDateTime)


class TicketTally(SQLModel, table=True):
    """How many tickets share a contract, priority, status, both stored outcomes and a logging
    day (UTC): kept by database triggers on `tickets` (migration 0019), never by the code, so
    every write path keeps it exact. Reports sum these rows instead of scanning tickets.
    """

    __tablename__ = "ticket_tallies"
    __table_args__ = (
        Index("ix_ticket_tallies_status_day", "status", "day"),
        Index("ix_ticket_tallies_day", "day"),
    )

    contract_id: int = Field(primary_key=True, foreign_key="contracts.id")
    tenant_id: int = Field(primary_key=True, foreign_key="tenants.id")
    priority: str = Field(primary_key=True, max_length=30)
    status: str = Field(primary_key=True, max_length=20)  # a TicketStatus name, as stored
    response_outcome: str = Field(primary_key=True, max_length=12)  # '' without a target
    resolution_outcome: str = Field(primary_key=True, max_length=12)
    day: date = Field(primary_key=True)
    n: int = 0


class TicketTallyDelta(SQLModel, table=True):
    """A change of one tally row not yet folded into `ticket_tallies` (PostgreSQL): its
    triggers append these rather than lock a shared counter row, so concurrent writers never
    wait on each other; `tallies.fold` adds them up. Reads count both tables."""

    __tablename__ = "ticket_tally_deltas"

    id: int | None = Field(default=None, primary_key=True)
    contract_id: int
    tenant_id: int
    priority: str = Field(max_length=30)
    status: str = Field(max_length=20)
    response_outcome: str = Field(max_length=12)
    resolution_outcome: str = Field(max_length=12)
    day: date
    n: int


class TicketPause(SQLModel, table=True):
    """A stop-clock interval; open while `ended_at` is None."""

    __tablename__ = "ticket_pauses"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="tickets.id", index=True)
    started_at: datetime = Field(sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reason: str
    resume_reason: str | None = None
    #: The contract's stop-clock cause and the targets it stops ("response,resolution");
    #: None on older rows: both targets.
    cause: str | None = Field(default=None, max_length=40)
    stops: str | None = Field(default=None, max_length=40)


class TicketEvent(SQLModel, table=True):
    """Append-only audit of a ticket: who, when, what changed, why."""

    __tablename__ = "ticket_events"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="tickets.id", index=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    actor_id: int | None = Field(default=None, foreign_key="users.id")
    type: str = Field(max_length=40)
    changes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    reason: str | None = None
    minutes: int | None = None


class TicketCounter(SQLModel, table=True):
    """The last reference number used per (prefix, year)."""

    __tablename__ = "ticket_counters"
    __table_args__ = (UniqueConstraint("prefix", "year"),)

    id: int | None = Field(default=None, primary_key=True)
    prefix: str = Field(max_length=5)
    year: int
    last: int = 0


class LedgerEntry(SQLModel, table=True):
    """Append-only movement on a contract's account; the balance is their sum."""

    __tablename__ = "ledger_entries"
    __table_args__ = (Index("ix_ledger_entries_contract_id_at", "contract_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenants.id", index=True)
    contract_id: int = Field(foreign_key="contracts.id", index=True)
    unit: str = Field(max_length=10)
    type: LedgerEntryType = Field(max_length=20)
    amount: Decimal = Field(sa_type=DecimalText)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    ticket_id: int | None = Field(default=None, foreign_key="tickets.id", index=True)
    actor_id: int | None = Field(default=None, foreign_key="users.id")
    reason: str | None = None
    invoice_line: str | None = None
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    related_id: int | None = Field(default=None, foreign_key="ledger_entries.id")


class Conversation(SQLModel, table=True):
    """The explicit state of one (channel, chat, user) conversation and its intake draft."""

    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("channel", "chat_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=20)
    chat_id: str = Field(max_length=120)
    user_id: int = Field(foreign_key="users.id", index=True)
    state: str = Field(default="idle", max_length=40)
    token: str = Field(default="", max_length=12)
    back_stack: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    contract_id: int | None = Field(default=None, foreign_key="contracts.id")
    category_id: str | None = Field(default=None, max_length=60)
    intervention_id: str | None = Field(default=None, max_length=60)
    kind: str | None = Field(default=None, max_length=30)
    priority: str | None = Field(default=None, max_length=30)
    details: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    description: str | None = None
    search_query: str | None = None
    candidates: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    ticket_id: int | None = Field(default=None, foreign_key="tickets.id")
    estimate_minutes: int | None = None
    units: int | None = None
    #: Staff opening a ticket for a customer: the customer's representative, the logging instant.
    requester_id: int | None = Field(default=None, foreign_key="users.id")
    logged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: Work time an agent gave while resolving, until confirmed.
    work_minutes: int | None = None
    #: Files sent while the draft or a message waits (attachments joining the ticket later).
    attachments: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]")
    )
    #: The detail question the intake draft is at (answers stay when « Back » is used).
    detail_at: str | None = Field(default=None, max_length=60)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Invite(SQLModel, table=True):
    """A one-time code that links a channel identity to a new or existing user."""

    __tablename__ = "invites"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True, index=True)
    tenant_id: int | None = Field(default=None, foreign_key="tenants.id")
    role: Role = Field(max_length=20)
    provider_codes: str = Field(default="", max_length=100)
    display_name: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    used_by_user_id: int | None = Field(default=None, foreign_key="users.id")
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class MilestoneStatus(StrEnum):
    """Where a milestone row is in its life."""

    PENDING = "pending"
    DONE = "done"
    CANCELLED = "cancelled"


class MilestoneRow(SQLModel, table=True):
    """A future SLA event of a ticket (warning, due, breach): the database is the scheduler."""

    __tablename__ = "milestones"
    __table_args__ = (Index("ix_milestones_status_due_at", "status", "due_at"),)

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="tickets.id", index=True)
    target: str = Field(max_length=20)
    kind: str = Field(max_length=20)
    fraction: Decimal | None = Field(default=None, sa_type=DecimalText)
    generation: int = 0
    due_at: datetime = Field(sa_type=UTCDateTime)
    status: MilestoneStatus = Field(default=MilestoneStatus.PENDING, max_length=12)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class NotificationStatus(StrEnum):
    """Where an outbox message is in its life."""

    PENDING = "pending"
    HELD = "held"
    SENT = "sent"
    DEAD = "dead"
    DROPPED = "dropped"  # its recipient was deactivated, unlinked or moved before it went out


class Notification(SQLModel, table=True):
    """The outbox: one message to one destination, sent at least once, recorded exactly once."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_status_next", "status", "channel", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=200, unique=True)
    ticket_id: int | None = Field(default=None, foreign_key="tickets.id", index=True)
    user_id: int | None = Field(default=None, foreign_key="users.id")
    audience: str = Field(max_length=20)
    event: str = Field(max_length=40)
    channel: str = Field(max_length=20)
    chat_id: str = Field(max_length=120)
    lang: str = Field(default="fr", max_length=5)
    text: str
    actions: list[dict[str, str]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    mentions: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    #: Files the message carries (`TicketAttachment.as_payload`), forwarded by the sender.
    attachments: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]")
    )
    status: NotificationStatus = Field(default=NotificationStatus.PENDING, max_length=12)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_error: str | None = None
    external_id: str | None = Field(default=None, max_length=120)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class NotificationFile(SQLModel, table=True):
    """A file sent with an outbox message (a report's chart or export), in order."""

    __tablename__ = "notification_files"

    id: int | None = Field(default=None, primary_key=True)
    notification_id: int = Field(foreign_key="notifications.id", index=True)
    name: str = Field(max_length=120)
    mime: str = Field(max_length=60)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class InboundUpdate(SQLModel, table=True):
    """A raw platform update stored before it is answered; the unique key dedupes retries."""

    __tablename__ = "inbound_updates"
    __table_args__ = (
        UniqueConstraint("channel", "external_key"),
        Index("ix_inbound_updates_pending", "processed_at", "parked_at", "chat_key"),
        Index("ix_inbound_updates_unreplied", "replied_at", "parked_at", "chat_key"),
        # Where a gap-free platform sequence is complete (`bot.inbox.store.complete_through`).
        Index("ix_inbound_updates_channel_seq", "channel", "seq", "received_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=20)
    external_key: str = Field(max_length=120)
    payload: str
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    processed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The inbox: rows of one chat are handled one at a time, in platform order (`seq`, then
    # `id`); a claim holds a lease (`claim_token` until `lease_until`); `attempts` counts
    # claims and `failures` the failed ones: a row failing too often (or claimed very often
    # without ever finishing) is parked (`parked_at`) and reported to admins.
    chat_key: str | None = Field(default=None, max_length=160)
    seq: int = Field(default=0, sa_type=BigInteger)
    attempts: int = 0
    failures: int = 0
    claim_token: str | None = Field(default=None, max_length=40)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    parked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=500)
    reported_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The reply: the core's outcome, stored (`bot.inbox.replies`) in the transaction that
    # marks the row handled; `replied_at` once the channel sent it (or gave it up), when the
    # stored reply is cleared. A handled row not replied is claimed again to send it.
    reply: str | None = Field(default=None)
    replied_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class OpenQuestion(SQLModel, table=True):
    """The message carrying a user's live buttons in a chat: they go once a newer one is asked."""

    __tablename__ = "open_questions"
    __table_args__ = (UniqueConstraint("channel", "chat_id", "user_key"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=20)
    chat_id: str = Field(max_length=120)
    user_key: str = Field(max_length=120)
    message_id: str = Field(max_length=120)
    #: What the channel needs to take the buttons off (its own JSON).
    body: str = ""
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Workspace(SQLModel, table=True):
    """A Slack workspace (or other multi-tenant space) mapped to a tenant or provider."""

    __tablename__ = "workspaces"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=20)
    external_id: str = Field(max_length=120)
    tenant_id: int | None = Field(default=None, foreign_key="tenants.id")
    provider_code: str | None = Field(default=None, max_length=5)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class MessageRef(SQLModel, table=True):
    """Where a ticket's message lives on a channel (agent ping, thread root), to edit it."""

    __tablename__ = "message_refs"
    __table_args__ = (UniqueConstraint("ticket_id", "channel", "chat_id", "purpose"),)

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="tickets.id", index=True)
    channel: str = Field(max_length=20)
    chat_id: str = Field(max_length=120)
    purpose: str = Field(max_length=20)
    message_id: str = Field(max_length=120)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class TicketAttachment(SQLModel, table=True):
    """A file sent on a ticket (photo, document, voice note, video), kept by its platform id."""

    __tablename__ = "ticket_attachments"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="tickets.id", index=True)
    event_id: int | None = Field(default=None, foreign_key="ticket_events.id")
    user_id: int | None = Field(default=None, foreign_key="users.id")
    channel: str = Field(max_length=20)
    kind: str = Field(max_length=20)
    file_id: str = Field(max_length=300)
    name: str = Field(default="", max_length=255)
    size: int | None = None
    mime: str | None = Field(default=None, max_length=120)
    permalink: str | None = Field(default=None, max_length=500)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    def as_payload(self) -> dict[str, Any]:
        """What a notification carries of it (a sender forwards it by `file_id`)."""
        return {
            "channel": self.channel,
            "kind": self.kind,
            "file_id": self.file_id,
            "name": self.name,
            "size": self.size,
            "mime": self.mime,
            "permalink": self.permalink,
        }


class TicketSatisfaction(SQLModel, table=True):
    """The customer's rating of a closed ticket (1–5) and an optional comment; reports join it."""

    __tablename__ = "ticket_satisfaction"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="tickets.id", unique=True)
    user_id: int | None = Field(default=None, foreign_key="users.id")
    score: int
    comment: str | None = None
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


# --------------------------------------------------------------------------- contract consequences


class ClaimStatus(StrEnum):
    """Where a remedy claim is: open (claimable), claimed (sent), granted, expired."""

    OPEN = "open"
    CLAIMED = "claimed"
    GRANTED = "granted"
    EXPIRED = "expired"


class Claim(SQLModel, table=True):
    """A remedy the customer may claim from the provider, or one applied automatically."""

    __tablename__ = "claims"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, unique=True)
    tenant_id: int = Field(foreign_key="tenants.id", index=True)
    contract_id: int = Field(foreign_key="contracts.id", index=True)
    ticket_id: int | None = Field(default=None, foreign_key="tickets.id", index=True)
    remedy_id: str = Field(max_length=40)
    remedy_type: str = Field(max_length=40)
    clause: str
    period: str = Field(max_length=20)
    event_day: date
    amount: Decimal = Field(sa_type=DecimalText)
    unit: str = Field(max_length=10)
    facts: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    deadline: date | None = None
    status: str = Field(default=ClaimStatus.OPEN.value, max_length=12)
    reminders: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class MaintenanceWindow(SQLModel, table=True):
    """Planned works announced by a provider: excluded from availability and restoration."""

    __tablename__ = "maintenance_windows"

    id: int | None = Field(default=None, primary_key=True)
    provider_code: str = Field(max_length=5, index=True)
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    services: str
    tenant_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    emergency: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by: int | None = Field(default=None, foreign_key="users.id")
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    notices: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class Certificate(SQLModel, table=True):
    """An SSL certificate of a customer's domain, with the reminders already sent."""

    __tablename__ = "certificates"
    __table_args__ = (UniqueConstraint("tenant_id", "domain"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenants.id", index=True)
    domain: str = Field(max_length=253)
    expires_on: date
    reminders: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    renewal_ticket_id: int | None = Field(default=None, foreign_key="tickets.id")


# --------------------------------------------------------------------------- the queue's sort key

#: The queue key of an open ticket with no pending target: after every real instant.
NO_PENDING_DUE = datetime(9999, 12, 31, tzinfo=UTC)


def queue_due_of(ticket: Ticket) -> datetime | None:
    """The response's due instant until it is met, then the resolution's; NULL when not open."""
    if ticket.status not in TicketStatus.open_statuses():
        return None
    if ticket.responded_at is None and ticket.response_due is not None:
        return ticket.response_due
    return ticket.resolution_due or NO_PENDING_DUE


@event.listens_for(OrmSession, "before_flush")
def keep_queue_due(session: OrmSession, _context: Any, _instances: Any) -> None:
    """Every ticket written through the ORM carries its current queue key."""
    for instance in (*session.new, *session.dirty):
        if isinstance(instance, Ticket):
            due = queue_due_of(instance)
            if instance.queue_due != due:
                instance.queue_due = due


# --------------------------------------------------------------------------- web dashboard


class DashboardLink(SQLModel, table=True):
    """A one-time login link to the dashboard, bound to one user; only its hash is stored."""

    __tablename__ = "dashboard_links"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class DashboardSession(SQLModel, table=True):
    """A dashboard session opened by a login link; the cookie carries the token, not its hash."""

    __tablename__ = "dashboard_sessions"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class DashboardKey(SQLModel, table=True):
    """The dashboard's signing key when no setting gives one (generated once, shared)."""

    __tablename__ = "dashboard_keys"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=40, unique=True)
    secret: str = Field(max_length=128)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
