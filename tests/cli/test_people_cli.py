"""Offboarding from the command line: users and invites, and what the people then see."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import select
from typer.testing import CliRunner, Result

from bot.cli.main import app
from bot.db.engine import engine_for, transaction
from bot.db.models import Invite, Notification, NotificationStatus, Role
from bot.services import demo, tenants, users
from bot.settings import get_settings
from handlers.core import process
from handlers.model import InboundEvent, RefusalReason, reply_text

NOW = datetime(2026, 11, 20, 16, 30, tzinfo=UTC)


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), terminal_width=200)


@pytest.fixture
def database(db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """The per-test database, configured, with the demo data and a second tenant."""
    monkeypatch.setenv("SUPPORTBOT_DATABASE_URL", db_url)
    get_settings.cache_clear()
    with transaction(engine) as session:
        demo.seed(session=session, now=NOW)
        tenants.add_tenant(session=session, slug="acme", name="Acme SA", default_locale="en")
    yield engine
    get_settings.cache_clear()
    engine_for(db_url).dispose()


def say(engine: Engine, handle: str, text: str) -> tuple[str, RefusalReason | None]:
    event = InboundEvent(
        channel="console", chat_id=handle, user_external_id=handle, received_at=NOW, text=text
    )
    outcome = process(engine=engine, event=event, settings=get_settings())
    body = "\n".join(reply_text(r) for r in outcome.replies)
    return body, None if outcome.refusal is None else outcome.refusal.reason


def test_user_list_filters_by_tenant_and_provider(database: Engine) -> None:
    listed = run("user", "list", "--tenant", "demo-customer")
    assert listed.exit_code == 0, listed.output
    assert "demo-requester\trequester\tdemo-customer" in listed.stdout
    assert "demo-agent" not in listed.stdout
    staff = run("user", "list", "--provider", "TLN")
    assert "demo-agent\tagent\t" in staff.stdout
    assert "demo-requester" not in staff.stdout


def test_a_deactivated_user_is_refused_and_sent_nothing(database: Engine) -> None:
    with transaction(database) as session:
        user = users.get_user_by_handle(session=session, handle="demo-requester")
        assert user is not None
        session.add(
            Notification(
                idempotency_key="waiting-1",
                user_id=user.id,
                audience="customer",
                event="comment",
                channel="console",
                chat_id="demo-requester",
                text="an agent's comment",
            )
        )
    result = run("user", "deactivate", "demo-requester")
    assert result.exit_code == 0, result.output
    assert "1 waiting notification(s) dropped" in result.stdout
    text, reason = say(database, "demo-requester", "/tickets")
    assert reason is RefusalReason.DEACTIVATED
    assert "administrat" in text
    with transaction(database) as session:
        row = session.exec(select(Notification).where(Notification.idempotency_key == "waiting-1"))
        assert row.one().status is NotificationStatus.DROPPED
    assert "deactivated" in run("user", "list").stdout
    again = run("user", "deactivate", "demo-requester")
    assert again.exit_code == 2
    assert again.stderr.startswith("error: ")
    assert run("user", "reactivate", "demo-requester").exit_code == 0
    assert say(database, "demo-requester", "/help")[1] is None


def test_a_moved_user_sees_only_the_new_tenant(database: Engine) -> None:
    say(database, "demo-requester", "/new")  # a draft on the old tenant's contract
    result = run("user", "move", "demo-requester", "--tenant", "acme")
    assert result.exit_code == 0, result.output
    with transaction(database) as session:
        user = users.get_user_by_handle(session=session, handle="demo-requester")
        assert user is not None
        assert user.tenant_id == tenants.get_tenant(session=session, slug="acme").id
    text, _reason = say(database, "demo-requester", "/tickets all")
    assert "TLN-" not in text
    agent = run("user", "move", "demo-agent", "--tenant", "acme")
    assert agent.exit_code == 2
    assert "customer" in agent.stderr


def test_unlink_detaches_one_channel(database: Engine) -> None:
    result = run("user", "unlink", "demo-requester", "--channel", "console")
    assert result.exit_code == 0, result.output
    _text, reason = say(database, "demo-requester", "/help")
    assert reason is RefusalReason.UNKNOWN_USER
    assert run("user", "unlink", "demo-requester", "--channel", "console").exit_code == 2
    assert run("user", "unlink", "demo-requester", "--channel", "fax").exit_code == 2


def test_invites_list_revoke_and_role_rules(database: Engine) -> None:
    created = run("invite", "--role", "requester", "--tenant", "acme")
    assert created.exit_code == 0, created.output
    code = created.stdout.strip()
    assert f"{code}\trequester\tacme\tpending" in run("invite", "list").stdout
    assert run("invite", "revoke", code).exit_code == 0
    assert f"{code}\trequester\tacme\trevoked" in run("invite", "list").stdout
    assert run("invite", "revoke", code).exit_code == 2
    text, reason = say(database, "newcomer", f"/start {code}")
    assert reason is RefusalReason.INVITE
    assert "revoked" in text or "révoqué" in text
    refused = {
        ("--role", "manager", "--tenant", "acme", "--provider", "TLN"): "not both",
        ("--role", "agent", "--provider", "XYZ"): "unknown provider code XYZ",
        ("--role", "agent", "--tenant", "acme", "--provider", "TLN"): "no tenant",
        (
            "--role",
            "admin",
        ): "--admin",
        ("--admin", "--tenant", "acme"): "neither",
        (): "--role",
    }
    for args, words in refused.items():
        result = run("invite", *args)
        assert result.exit_code == 2, args
        assert words in result.stderr, (args, result.stderr)
    admin = run("invite", "--admin")
    assert admin.exit_code == 0, admin.output
    with transaction(database) as session:
        invite = session.exec(select(Invite).where(Invite.code == admin.stdout.strip())).one()
        assert invite.role is Role.ADMIN


def test_managers_list_their_people(database: Engine) -> None:
    with transaction(database) as session:
        acme = tenants.get_tenant(session=session, slug="acme")
        boss = users.add_user(
            session=session,
            handle="acme-boss",
            display_name="Ada Boss",
            role=Role.MANAGER,
            tenant_id=acme.id,
        )
        users.add_user(
            session=session,
            handle="acme-ann",
            display_name="Ann Acme",
            role=Role.REQUESTER,
            tenant_id=acme.id,
        )
        users.link_identity(session=session, user=boss, channel="console", external_id="acme-boss")
    text, reason = say(database, "acme-boss", "/people")
    assert reason is None
    assert "Acme SA" in text
    assert "Ann Acme" in text
    assert "Demo Requester" not in text  # another tenant's people
    provider_side, _reason = say(database, "demo-manager", "/people")
    assert "Demo Agent" in provider_side
    assert "Ann Acme" not in provider_side
    refused, reason = say(database, "demo-requester", "/people")
    assert reason is RefusalReason.ACCESS_DENIED


@pytest.mark.parametrize(
    "args",
    [
        ("user", "list"),
        ("invite", "list"),
        ("tenant", "list"),
        ("ledger", "show", "--tenant", "acme"),
        ("notifications", "list"),
        ("db", "current"),
    ],
)
def test_every_command_on_a_missing_database_says_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]
) -> None:
    url = f"sqlite:///{tmp_path / 'nowhere' / 'bot.db'}"
    monkeypatch.setenv("SUPPORTBOT_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        result = run(*args)
    finally:
        get_settings.cache_clear()
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code != 0
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ")
    assert "supportbot db upgrade" in lines[0]
    assert not (tmp_path / "nowhere").exists()  # nothing created silently


def test_an_unreachable_server_is_one_line_without_the_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "SUPPORTBOT_DATABASE_URL", "postgresql+psycopg://bot:hunter2@127.0.0.1:1/bot"
    )
    get_settings.cache_clear()
    try:
        result = run("user", "list")
    finally:
        get_settings.cache_clear()
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert "cannot reach the database" in lines[0]
    assert "hunter2" not in result.output
