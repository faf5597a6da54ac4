"""Login by one-time link: cookie, redirect, single use, expiry, sign-out, CSRF, CLI, chat."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from bot.db.engine import transaction
from bot.services import dashboard, users
from tests.web.conftest import World


def test_the_link_sets_a_session_cookie_and_opens_a_page_naming_the_customer(
    world: World, client: TestClient
) -> None:
    response = client.get(world.link("demo-boss"))
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard"
    cookie = response.headers["set-cookie"]
    assert "supportbot_dashboard=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # served over plain HTTP here
    assert "Path=/dashboard" in cookie
    page = client.get("/dashboard")
    assert page.status_code == 200
    assert "Demo Customer SA" in page.text
    assert "Other Company NV" not in page.text


def test_a_second_use_of_the_link_is_refused(world: World, client: TestClient) -> None:
    link = world.link("demo-boss")
    assert client.get(link).status_code == 303
    second = TestClient(client.app, follow_redirects=False)
    refused = second.get(link, headers={"accept-language": "en"})
    assert refused.status_code == 403
    assert "already used" in refused.text
    assert "set-cookie" not in refused.headers
    assert second.get("/dashboard").status_code == 303


def test_a_link_expires_after_15_minutes(world: World, client: TestClient) -> None:
    link = world.link("demo-boss")
    world.clock.advance(minutes=15, seconds=1)
    refused = client.get(link, headers={"accept-language": "fr"})
    assert refused.status_code == 403
    assert "expiré" in refused.text


def test_a_forged_or_altered_link_is_refused(world: World, client: TestClient) -> None:
    link = world.link("demo-boss")
    nonce, _dot, signature = link.rpartition("/")[2].partition(".")
    altered = f"/dashboard/login/{nonce[:-1]}{'A' if nonce[-1] != 'A' else 'B'}.{signature}"
    assert client.get(altered).status_code == 403
    assert client.get("/dashboard/login/nothing").status_code == 403
    assert client.get(link).status_code == 303  # the genuine link still works


def test_without_a_cookie_the_dashboard_redirects_to_the_page_explaining_the_link(
    client: TestClient,
) -> None:
    for path in ("/dashboard", "/dashboard/tickets", "/dashboard/sla", "/dashboard/credits"):
        response = client.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"] == "/dashboard/welcome"
    page = client.get("/dashboard/welcome", headers={"accept-language": "nl-BE,nl;q=0.9"})
    assert page.status_code == 200
    assert "/dashboard" in page.text
    assert "15 minuten" in page.text
    assert 'href="/dashboard/welcome?lang=fr"' in page.text  # the reader can switch
    english = client.get("/dashboard/welcome?lang=en")
    assert "Send /dashboard to the support bot" in english.text


def test_a_forged_cookie_is_no_session(client: TestClient) -> None:
    client.cookies.set("supportbot_dashboard", "abc.def", path="/dashboard")
    assert client.get("/dashboard").status_code == 303


def test_a_session_expires_after_the_setting(
    world: World, signed_in: Callable[[str], TestClient]
) -> None:
    browser = signed_in("demo-boss")
    world.clock.advance(hours=world.settings.dashboard_session_hours, seconds=1)
    assert browser.get("/dashboard").status_code == 303


def test_a_deactivated_user_loses_the_session(
    world: World, signed_in: Callable[[str], TestClient]
) -> None:
    browser = signed_in("demo-boss")
    with transaction(world.engine) as session:
        user = users.get_user_by_handle(session=session, handle="demo-boss")
        assert user is not None
        user.active = False
        session.add(user)
    assert browser.get("/dashboard").status_code == 303


def _form_token(page: str) -> str:
    marker = 'name="form_token" value="'
    start = page.index(marker) + len(marker)
    return page[start : page.index('"', start)]


def test_sign_out_needs_the_form_token_and_ends_the_session(
    signed_in: Callable[[str], TestClient],
) -> None:
    browser = signed_in("demo-boss")
    page = browser.get("/dashboard").text
    forged = browser.post("/dashboard/logout", data={"form_token": "forged"})
    assert forged.status_code == 403
    assert browser.get("/dashboard").status_code == 200
    done = browser.post("/dashboard/logout", data={"form_token": _form_token(page)})
    assert done.status_code == 303
    assert browser.get("/dashboard").status_code == 303


def test_changing_language_needs_the_form_token(
    signed_in: Callable[[str], TestClient],
) -> None:
    browser = signed_in("demo-boss")  # English
    page = browser.get("/dashboard").text
    assert "open tickets" in page
    refused = browser.post("/dashboard/language", data={"lang": "nl", "form_token": ""})
    assert refused.status_code == 403
    done = browser.post("/dashboard/language", data={"lang": "nl", "form_token": _form_token(page)})
    assert done.status_code == 303
    dutch = browser.get("/dashboard").text
    assert '<html lang="nl">' in dutch
    assert "openstaande tickets" in dutch


def test_requesters_get_no_link(world: World) -> None:
    with transaction(world.engine) as session:
        user = users.get_user_by_handle(session=session, handle="demo-requester")
        assert user is not None
        try:
            dashboard.issue_link(
                session=session, settings=world.settings, user=user, now=world.clock.now
            )
        except dashboard.AccessDeniedError:
            pass
        else:
            raise AssertionError("a requester got a dashboard link")


def test_the_cookie_is_secure_under_an_https_base_url(world: World, client: TestClient) -> None:
    secure = world.settings.model_copy(update={"dashboard_base_url": "https://support.example"})
    with transaction(world.engine) as session:
        user = users.get_user_by_handle(session=session, handle="demo-boss")
        assert user is not None
        url = dashboard.issue_link(session=session, settings=secure, user=user, now=world.clock.now)
    assert url.startswith("https://support.example/dashboard/login/")
    from bot.app import create_app
    from bot.web.pages import dashboard_plugin

    app = create_app(settings=secure, engine=world.engine, plugins=[dashboard_plugin(world.clock)])
    with TestClient(app, follow_redirects=False) as browser:
        response = browser.get(url.removeprefix("https://support.example"))
    assert response.status_code == 303
    assert "Secure" in response.headers["set-cookie"]


def test_the_cli_prints_a_link_that_logs_in(
    world: World, client: TestClient, monkeypatch: object
) -> None:
    import pytest

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    from bot.cli.main import app as cli
    from bot.db import engine as engine_module
    from bot.settings import get_settings

    url = str(world.engine.url)
    monkeypatch.setenv("SUPPORTBOT_DATABASE_URL", url)
    monkeypatch.setenv("SUPPORTBOT_DASHBOARD_BASE_URL", "http://testserver")
    monkeypatch.setenv("SUPPORTBOT_DASHBOARD_SECRET_KEY", "k" * 40)
    get_settings.cache_clear()
    engine_module.engine_for.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["dashboard", "link", "--as", "demo-manager"])
        refused = CliRunner().invoke(cli, ["dashboard", "link", "--as", "demo-requester"])
        unknown = CliRunner().invoke(cli, ["dashboard", "link", "--as", "nobody"])
    finally:
        get_settings.cache_clear()
        engine_module.engine_for.cache_clear()
    assert result.exit_code == 0, result.output
    printed = result.output.strip()
    assert printed.startswith("http://testserver/dashboard/login/")
    assert client.get(printed.removeprefix("http://testserver")).status_code == 303
    assert client.get("/dashboard").status_code == 200
    assert refused.exit_code == 2
    assert "may not use the dashboard" in refused.output
    assert unknown.exit_code == 2
    assert "no user" in unknown.output


def test_dashboard_in_chat_answers_with_a_link(world: World, client: TestClient) -> None:
    from handlers.core import handle_event
    from handlers.model import InboundEvent, Text

    with transaction(world.engine) as session:
        user = users.get_user_by_handle(session=session, handle="demo-agent")
        assert user is not None
    event = InboundEvent(
        channel="console",
        chat_id="demo-agent",
        user_external_id="demo-agent",
        received_at=world.clock.now,
        text="/dashboard",
    )
    with transaction(world.engine) as session:
        outcome = handle_event(session=session, event=event, settings=world.settings)
    reply = outcome.replies[0]
    assert isinstance(reply, Text)
    assert "15 minutes" in reply.text
    url = reply.text.split()[-1]
    assert url.startswith("http://testserver/dashboard/login/")
    assert client.get(url.removeprefix("http://testserver")).status_code == 303
    assert client.get("/dashboard").status_code == 200


def test_without_a_key_setting_one_is_generated_once_and_shared(world: World) -> None:
    from bot.db.models import DashboardKey
    from bot.settings import Settings

    keyless = Settings(_env_file=None)  # type: ignore[call-arg]
    with transaction(world.engine) as session:
        first = dashboard.signing_key(session=session, settings=keyless)
    with transaction(world.engine) as session:
        second = dashboard.signing_key(session=session, settings=keyless)
        rows = session.exec(dashboard.select(DashboardKey)).all()
    assert first == second
    assert len(first) >= 32
    assert len(rows) == 1
    assert first.decode() not in keyless.masked().values()


def test_a_login_link_is_masked_in_logs(world: World) -> None:
    from bot.redact import redact

    link = world.link("demo-boss")
    line = f'127.0.0.1:5000 - "GET {link} HTTP/1.1" 303'
    token = link.rsplit("/", 1)[1]
    assert token not in redact(line)
    assert "/dashboard/login/" in redact(line)


def test_links_and_sessions_ended_a_day_ago_are_forgotten(
    world: World, signed_in: Callable[[str], TestClient]
) -> None:
    from sqlmodel import func, select

    from bot.db.models import DashboardLink, DashboardSession

    signed_in("demo-boss")  # one used link, one live session
    world.link("demo-boss")  # one unused link
    world.clock.advance(hours=world.settings.dashboard_session_hours + 25)
    world.link("demo-agent")  # issuing a link prunes what ended a day ago
    with transaction(world.engine) as session:
        links = session.exec(select(func.count()).select_from(DashboardLink)).one()
        sessions = session.exec(select(func.count()).select_from(DashboardSession)).one()
    assert links == 1
    assert sessions == 0


def test_a_chat_link_preview_does_not_use_the_link(world: World, client: TestClient) -> None:
    link = world.link("demo-boss")
    for agent in (
        "TelegramBot (like TwitterBot)",
        "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    ):
        preview = client.get(link, headers={"user-agent": agent})
        assert preview.status_code == 200
        assert "set-cookie" not in preview.headers
    assert client.get(link).status_code == 303  # the person's click still opens the session
