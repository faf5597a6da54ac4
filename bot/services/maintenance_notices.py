"""Telling the affected customers of planned maintenance: on creation, the day before, at the end.

The affected customers are the tenants with an active contract of the provider (only those
listed on the window, when it lists some); every active person of theirs is told in their
language. Each notice is one outbox row per person with an idempotency key
(`maint:<window>:<stage>:u<user>`), so several workers passing at once write it once; the
window's `notices` list records the stages done so they are not looked at again.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from bot.db.models import Contract, MaintenanceWindow, User
from bot.i18n import Translator
from bot.services import notify
from pricing.loader import load_packs
from pricing.schema import ContractPack
from pricing.terms import pack_zone

CREATED, DAY_BEFORE, ENDED, CANCELLED = "created", "day_before", "ended", "cancelled"
#: How long before the start the reminder goes.
REMINDER_BEFORE = timedelta(days=1)


def provider_packs(provider_code: str) -> list[ContractPack]:
    """The packs of a provider."""
    return [p for p in load_packs().values() if p.provider_code == provider_code]


def affected_users(*, session: Session, window: MaintenanceWindow) -> list[User]:
    """The active people of the customers a window affects."""
    packs = [p.id for p in provider_packs(window.provider_code)]
    tenants = select(Contract.tenant_id).where(
        col(Contract.pack_id).in_(packs), col(Contract.active).is_(True)
    )
    query = select(User).where(col(User.tenant_id).in_(tenants), col(User.active).is_(True))
    if window.tenant_ids:
        query = query.where(col(User.tenant_id).in_(window.tenant_ids))
    return list(session.exec(query.order_by(col(User.id))).all())


def notice_text(t: Translator, window: MaintenanceWindow, stage: str) -> str:
    """A notice of one stage in the reader's language."""
    _ = t.gettext
    packs = provider_packs(window.provider_code)
    zone = pack_zone(packs[0]) if packs else "UTC"
    notice = next((p.maintenance_notice for p in packs if p.maintenance_notice), None)
    values = {
        "provider": packs[0].provider if packs else window.provider_code,
        "services": window.services,
        "start": t.datetime(window.starts_at, zone),
        "end": t.datetime(window.ends_at, zone),
        "duration": t.duration(window.ends_at - window.starts_at),
        "days": notice.notice_days if notice else 0,
        "clause": (notice.clause or "") if notice else "",
    }
    if stage == ENDED:
        return _("The planned maintenance by %(provider)s (%(services)s) has ended.") % values
    if stage == CANCELLED:
        return (
            _("The planned maintenance by %(provider)s (%(services)s) on %(start)s is cancelled.")
            % values
        )
    if stage == DAY_BEFORE:
        head = _(
            "Reminder: planned maintenance by %(provider)s tomorrow, from %(start)s to %(end)s "
            "(%(duration)s): %(services)s."
        )
    elif window.emergency:
        head = _(
            "Emergency maintenance by %(provider)s from %(start)s to %(end)s (%(duration)s): "
            "%(services)s. Urgent works, announced with less notice than the contract's."
        )
    else:
        head = _(
            "Planned maintenance by %(provider)s from %(start)s to %(end)s (%(duration)s): "
            "%(services)s."
        )
    lines = [head % values]
    if any(excluded_from_sla(p) for p in packs):
        lines.append(
            _("This window is not counted in your availability or your restoration times.")
        )
    return " ".join(lines)


def excluded_from_sla(pack: ContractPack) -> bool:
    """Whether the pack takes announced maintenance out of its SLA (availability, GTR, clocks)."""
    notice = pack.maintenance_notice
    if notice is not None and notice.excluded_from_sla:
        return True
    return any(cause.planned_maintenance for cause in pack.stop_clock.causes)


def announce(*, session: Session, window: MaintenanceWindow, stage: str, now: datetime) -> int:
    """Tell every affected person of one stage of a window, once; returns rows written."""
    assert window.id is not None
    written = 0
    for user in affected_users(session=session, window=window):
        written += notify.emit_to_user(
            session=session,
            user=user,
            audience="customer",
            event=f"maintenance_{stage}",
            now=now,
            key=f"maint:{window.id}:{stage}:u{user.id}",
            text=lambda t: notice_text(t, window, stage),
        )
    if stage not in window.notices:
        window.notices = [*window.notices, stage]
        session.add(window)
    return written


def due_notices(*, session: Session, now: datetime) -> int:
    """Send the reminders and end notices that are due (the worker calls this); rows written."""
    query = (
        select(MaintenanceWindow)
        .where(
            col(MaintenanceWindow.cancelled_at).is_(None),
            col(MaintenanceWindow.starts_at) <= now + REMINDER_BEFORE,
            col(MaintenanceWindow.ends_at) > now - timedelta(days=7),
        )
        .order_by(col(MaintenanceWindow.starts_at))
        .with_for_update(skip_locked=True)
    )
    written = 0
    for window in session.exec(query).all():
        if window.ends_at <= now:
            if ENDED not in window.notices:
                written += announce(session=session, window=window, stage=ENDED, now=now)
            continue
        # A window announced less than a day ahead has had its notice: no reminder on top.
        late = window.created_at > window.starts_at - REMINDER_BEFORE
        if now < window.starts_at and DAY_BEFORE not in window.notices and not late:
            written += announce(session=session, window=window, stage=DAY_BEFORE, now=now)
    return written


def local_zone(window: MaintenanceWindow) -> ZoneInfo:
    """The zone the provider's contracts show instants in."""
    packs = provider_packs(window.provider_code)
    return ZoneInfo(pack_zone(packs[0]) if packs else "UTC")
