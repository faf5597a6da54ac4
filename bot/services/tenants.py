"""Tenants (customer companies) and their contracts."""

from __future__ import annotations

from sqlalchemy import bindparam, event
from sqlalchemy.orm import ORMExecuteState
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col, select

from bot.db.models import Contract, Tenant
from bot.services.errors import InputError, NotFoundError
from pricing.loader import UnknownPackError, get_pack
from pricing.schema import ContractPack
from pricing.terms import SERVICE_LEVEL, OptionError, validate_options


def add_tenant(
    *, session: Session, slug: str, name: str, default_locale: str = "fr", zone: str | None = None
) -> Tenant:
    """Create a tenant; the slug must be new."""
    if session.exec(select(Tenant).where(Tenant.slug == slug)).first() is not None:
        raise InputError(f"tenant {slug!r} already exists")
    tenant = Tenant(slug=slug, name=name, default_locale=default_locale)
    if zone:
        tenant.zone = zone
    session.add(tenant)
    session.flush()
    return tenant


def get_tenant(*, session: Session, slug: str) -> Tenant:
    """The tenant with this slug, or `NotFoundError`."""
    tenant = session.exec(select(Tenant).where(Tenant.slug == slug)).first()
    if tenant is None:
        raise NotFoundError(f"no tenant {slug!r}")
    return tenant


def all_tenants(*, session: Session) -> list[Tenant]:
    """Every tenant, by slug."""
    return list(session.exec(select(Tenant).order_by(col(Tenant.slug))).all())


def add_contract(
    *,
    session: Session,
    tenant: Tenant,
    pack_id: str,
    options: dict[str, str] | None = None,
    label: str | None = None,
) -> Contract:
    """Subscribe a tenant to a pack; each option is checked against the pack's declaration.

    A bad value raises `InputError` naming the option and the reason (unknown option, not a
    number, out of bounds); the service level is stored on the contract row, not in options.
    """
    try:
        pack = get_pack(pack_id)
    except UnknownPackError as exc:
        raise InputError(str(exc)) from exc
    options = dict(options or {})
    service_level = options.pop(SERVICE_LEVEL, None)
    try:
        validate_options(pack, options)
    except OptionError as exc:
        raise InputError(str(exc), option=exc.option, reason=exc.reason) from None
    if service_level is not None and service_level not in {s.id for s in pack.service_levels}:
        raise InputError(f"pack {pack_id!r} has no service level {service_level!r}")
    if service_level is None and pack.service_levels:
        defaults = [level.id for level in pack.service_levels if level.default]
        if len(defaults) != 1:
            # The SLA engine's rule: a pack default only when exactly one level is marked
            # default (Alteo). Proximus marks a default tier per formula, so a contract must
            # name its formula: a Pro+ customer read as Essential would lose every clock.
            known = ", ".join(level.id for level in pack.service_levels)
            raise InputError(
                f"pack {pack_id!r} needs a service level: --option service_level=… "
                f"(one of: {known})",
                option=SERVICE_LEVEL,
            )
        service_level = defaults[0]
    assert tenant.id is not None
    contract = Contract(
        tenant_id=tenant.id,
        pack_id=pack_id,
        options=options,
        service_level=service_level,
        label=label or pack.title.get(tenant.default_locale),
    )
    session.add(contract)
    session.flush()
    return contract


def active_contracts(*, session: Session, tenant_id: int) -> list[Contract]:
    """A tenant's active contracts, oldest first (read once per transaction until a contract
    is written in it: one event asks several times)."""
    key = (_ACTIVE_CONTRACTS, tenant_id)
    known = session.info.get(key)
    if known is not None:
        return list(known)
    found = list(session.exec(_ACTIVE, params={"tenant_id": tenant_id}).all())
    session.info[key] = tuple(found)
    return found


_ACTIVE_CONTRACTS = "supportbot.active_contracts"
# Built once, with a bound parameter: nearly every event reads them.
_ACTIVE = (
    select(Contract)
    .where(col(Contract.tenant_id) == bindparam("tenant_id"), col(Contract.active) == True)  # noqa: E712
    .order_by(col(Contract.id))
)


def _forget_active_contracts(session: OrmSession) -> None:
    for key in [k for k in session.info if isinstance(k, tuple) and k[0] == _ACTIVE_CONTRACTS]:
        del session.info[key]


@event.listens_for(OrmSession, "after_flush")
def _contracts_flushed(session: OrmSession, _context: object) -> None:
    if any(isinstance(row, Contract) for row in (*session.new, *session.dirty, *session.deleted)):
        _forget_active_contracts(session)


@event.listens_for(OrmSession, "do_orm_execute")
def _bulk_write(state: ORMExecuteState) -> None:
    if not state.is_select:  # a bulk UPDATE or DELETE may change contracts
        _forget_active_contracts(state.session)


@event.listens_for(OrmSession, "after_commit")
@event.listens_for(OrmSession, "after_rollback")
def _transaction_ended(session: OrmSession) -> None:
    # Another transaction may change them: the next one reads them again.
    _forget_active_contracts(session)


def pack_of(contract: Contract) -> ContractPack:
    """The pack a contract subscribes to."""
    return get_pack(contract.pack_id)
