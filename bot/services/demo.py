"""Demo data: providers' staff and one customer holding a contract of each shipped pack."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlmodel import Session, select

from bot.db.models import Contract, Role, Tenant
from bot.services import contracts, ledger, tenants, users
from pricing.loader import load_packs
from pricing.schema import ContractPack
from pricing.terms import AccountKind, OptionError, validate_options

DEMO_TENANT = "demo-customer"
DEMO_CONTRACTS: dict[str, dict[str, str]] = {
    "telenet-hosting-cloud": {"credit_pack_size": "10"},
    "telenet-webhosting": {},
    "proximus-internet": {"service_level": "internet-pro-plus:premium", "monthly_fee": "150"},
    "alteo-hosting": {"service_level": "managed:plesk", "monthly_allowance_hours": "4"},
}
DEMO_CREDITS = Decimal(40)


@dataclass(frozen=True)
class DemoSummary:
    """What the seed created (False where it already existed)."""

    tenant_created: bool
    contracts_created: int
    users_created: int


def seed(*, session: Session, now: datetime) -> DemoSummary:
    """Create the demo tenant, its contracts and credits, and one user per role (idempotent)."""
    packs = load_packs()
    tenant = session.exec(select(Tenant).where(Tenant.slug == DEMO_TENANT)).first()
    tenant_created = tenant is None
    if tenant is None:
        tenant = tenants.add_tenant(
            session=session, slug=DEMO_TENANT, name="Demo Customer SA", default_locale="fr"
        )
    assert tenant.id is not None
    existing = {c.pack_id for c in tenants.active_contracts(session=session, tenant_id=tenant.id)}
    created = 0
    for pack_id, wanted in DEMO_CONTRACTS.items():
        if pack_id in existing or pack_id not in packs:
            continue
        options = _accepted(packs[pack_id], wanted)
        contract = tenants.add_contract(
            session=session, tenant=tenant, pack_id=pack_id, options=options
        )
        _fund(session=session, contract=contract, now=now)
        created += 1
    providers = sorted({pack.provider_code for pack in packs.values()})
    people = [
        ("demo-requester", "Demo Requester", Role.REQUESTER, tenant.id, []),
        ("demo-agent", "Demo Agent", Role.AGENT, None, providers),
        ("demo-manager", "Demo Manager", Role.MANAGER, None, providers),
        ("demo-admin", "Demo Admin", Role.ADMIN, None, providers),
    ]
    users_created = 0
    for handle, name, role, tenant_id, codes in people:
        user = users.get_user_by_handle(session=session, handle=handle)
        if user is None:
            user = users.add_user(
                session=session,
                handle=handle,
                display_name=name,
                role=role,
                tenant_id=tenant_id,
                provider_codes=codes,
            )
            users_created += 1
        users.link_identity(session=session, user=user, channel="console", external_id=handle)
    return DemoSummary(tenant_created, created, users_created)


def _accepted(pack: ContractPack, wanted: dict[str, str]) -> dict[str, str]:
    """The demo options this version of the pack accepts (a changed pack drops the others)."""
    accepted: dict[str, str] = {}
    for key, value in wanted.items():
        try:
            validate_options(pack, {key: value})
        except OptionError:
            continue
        accepted[key] = value
    return accepted


def _fund(*, session: Session, contract: Contract, now: datetime) -> None:
    terms = contracts.terms_of(session=session, contract=contract)
    assert contract.id is not None
    if terms.account is AccountKind.CREDITS:
        ledger.purchase(
            session=session,
            contract_id=contract.id,
            amount=DEMO_CREDITS,
            reason="demo credits",
            at=now,
        )
