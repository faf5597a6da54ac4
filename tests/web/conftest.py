"""Dashboard fixtures: two customers, their managers, agents of two providers, a clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import select

from bot.app import create_app
from bot.db.engine import transaction
from bot.db.models import Contract, Role, Ticket
from bot.services import dashboard, demo, ledger, tenants, tickets, users
from bot.settings import Settings
from bot.web.pages import dashboard_plugin

# Monday 23 November 2026, 09:00 in Brussels: inside every pack's window.
MONDAY_0900 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
OTHER = "other-co"


@dataclass
class Clock:
    """The dashboard's clock, moved by the test."""

    now: datetime = MONDAY_0900

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        """Move time forward."""
        self.now += timedelta(**delta)


@dataclass(frozen=True)
class World:
    """The seeded database, the settings and clock of the app, and its tickets."""

    engine: Engine
    settings: Settings
    clock: Clock
    demo_ticket: str  # demo customer, Telenet hosting, Express incident
    demo_tickets: tuple[str, ...]
    other_ticket: str  # the other customer's ticket

    def link(self, handle: str) -> str:
        """A fresh one-time login link for a user (the path of its URL)."""
        with transaction(self.engine) as session:
            user = users.get_user_by_handle(session=session, handle=handle)
            assert user is not None
            url = dashboard.issue_link(
                session=session, settings=self.settings, user=user, now=self.clock.now
            )
        return url.removeprefix(self.settings.dashboard_url())


def _open(engine: Engine, *, handle: str, tenant: str, priority: str, now: datetime) -> str:
    with transaction(engine) as session:
        user = users.get_user_by_handle(session=session, handle=handle)
        assert user is not None
        owner = tenants.get_tenant(session=session, slug=tenant)
        contract = session.exec(
            select(Contract).where(
                Contract.tenant_id == owner.id, Contract.pack_id == "telenet-hosting-cloud"
            )
        ).one()
        ticket = tickets.open_ticket(
            session=session,
            actor=tickets.actor_for(session=session, user=user),
            contract=contract,
            intervention_id="dedicated-server-down-not-hardware",
            kind="incident",
            priority=priority,
            description="server down",
            now=now,
        )
        return ticket.reference


@pytest.fixture
def clock() -> Clock:
    """The test clock."""
    return Clock()


@pytest.fixture
def settings() -> Settings:
    """Settings without .env, with a fixed public base URL and signing key."""
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        dashboard_base_url="http://testserver",
        dashboard_secret_key="k" * 40,
    )


@pytest.fixture
def world(engine: Engine, settings: Settings, clock: Clock) -> World:
    """Demo data, a second customer with its manager, agents of one provider each, tickets."""
    with transaction(engine) as session:
        demo.seed(session=session, now=clock.now)
        demo_tenant = tenants.get_tenant(session=session, slug=demo.DEMO_TENANT)
        other = tenants.add_tenant(session=session, slug=OTHER, name="Other Company NV")
        contract = tenants.add_contract(
            session=session,
            tenant=other,
            pack_id="telenet-hosting-cloud",
            options={"credit_pack_size": "10"},
        )
        assert contract.id is not None
        ledger.purchase(
            session=session,
            contract_id=contract.id,
            amount=Decimal(20),
            reason="credit pack",
            at=clock.now,
        )
        people = [
            ("demo-boss", "Demo Boss", Role.MANAGER, demo_tenant.id, None, "en"),
            ("other-boss", "Other Boss", Role.MANAGER, other.id, None, "nl"),
            ("other-requester", "Other Requester", Role.REQUESTER, other.id, None, None),
            ("pxs-agent", "Proximus Agent", Role.AGENT, None, ["PXS"], "fr"),
        ]
        for handle, name, role, tenant_id, codes, locale in people:
            users.add_user(
                session=session,
                handle=handle,
                display_name=name,
                role=role,
                tenant_id=tenant_id,
                provider_codes=codes,
                locale=locale,
            )
    refs = tuple(
        _open(
            engine,
            handle="demo-requester",
            tenant=demo.DEMO_TENANT,
            priority=priority,
            now=clock.now + timedelta(minutes=i),
        )
        for i, priority in enumerate(("express", "standard", "standard"))
    )
    other_ref = _open(
        engine, handle="other-requester", tenant=OTHER, priority="standard", now=clock.now
    )
    clock.advance(minutes=10)
    return World(
        engine=engine,
        settings=settings,
        clock=clock,
        demo_ticket=refs[0],
        demo_tickets=refs,
        other_ticket=other_ref,
    )


@pytest.fixture
def app(world: World) -> FastAPI:
    """The HTTP app with the dashboard only."""
    return create_app(
        settings=world.settings, engine=world.engine, plugins=[dashboard_plugin(world.clock)]
    )


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """A test client that does not follow redirects."""
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


@pytest.fixture
def signed_in(world: World, app: FastAPI) -> Callable[[str], TestClient]:
    """A factory: `signed_in("demo-boss")` gives a client holding that user's session."""
    made: list[TestClient] = []

    def make(handle: str) -> TestClient:
        test_client = TestClient(app, follow_redirects=False)
        made.append(test_client)
        response = test_client.get(world.link(handle))
        assert response.status_code == 303, response.text
        return test_client

    yield make  # type: ignore[misc]
    for test_client in made:
        test_client.close()


def ticket_id(engine: Engine, reference: str) -> int:
    """A ticket's id."""
    with transaction(engine) as session:
        ticket = session.exec(select(Ticket).where(Ticket.reference == reference)).one()
        assert ticket.id is not None
        return ticket.id
