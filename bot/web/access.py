"""Who is reading: the session cookie, the viewer it gives, the form token, the language."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qs

from fastapi import Request
from sqlmodel import Session

from bot.db.models import Tenant, User
from bot.i18n import Translator, normalize_language, translator
from bot.services import dashboard
from bot.services.actors import Actor, actor_for
from bot.services.users import language_of
from bot.settings import Settings

COOKIE = "supportbot_dashboard"
FORM_FIELD = "form_token"
MAX_FORM_BYTES = 4096
# User agents of the fetchers that preview a link posted in a chat (Telegram, Slack, and the
# common unfurlers); they get the welcome page, and the link stays unused.
PREVIEW_AGENTS = ("telegrambot", "slackbot", "twitterbot", "facebookexternalhit", "discordbot")


@dataclass(frozen=True)
class Viewer:
    """The signed-in reader of a page: user, actor, language, zone, session and form tokens."""

    user: User
    actor: Actor
    tenant: Tenant | None
    t: Translator
    zone: str
    token: str
    form_token: str

    @property
    def is_staff(self) -> bool:
        """Agents, provider managers and admins."""
        return self.actor.is_staff


def cookie_token(request: Request) -> str:
    """The session token the browser sent, or ""."""
    return request.cookies.get(COOKIE, "")


def viewer(
    *, session: Session, settings: Settings, request: Request, now: datetime
) -> Viewer | None:
    """The reader of this request if their session is live, else None."""
    token = cookie_token(request)
    if not token:
        return None
    user = dashboard.session_user(session=session, settings=settings, token=token, now=now)
    if user is None:
        return None
    tenant = session.get(Tenant, user.tenant_id) if user.tenant_id is not None else None
    lang = language_of(user=user, identity=None, tenant=tenant, default=settings.default_locale)
    key = dashboard.signing_key(session=session, settings=settings)
    return Viewer(
        user=user,
        actor=actor_for(session=session, user=user),
        tenant=tenant,
        t=translator(lang),
        zone=tenant.zone if tenant is not None else settings.zone,
        token=token,
        form_token=dashboard.form_token(key=key, session_token=token),
    )


def anonymous_translator(request: Request, settings: Settings) -> Translator:
    """The language of a reader without a session: `?lang=`, else the browser's, else default."""
    asked = normalize_language(request.query_params.get("lang"))
    if asked:
        return translator(asked)
    for part in request.headers.get("accept-language", "").split(","):
        lang = normalize_language(part.split(";", 1)[0].strip())
        if lang:
            return translator(lang)
    return translator(settings.default_locale)


def secure_cookie(request: Request, settings: Settings) -> bool:
    """Whether the cookie gets `Secure`: served over HTTPS, or published under an https URL."""
    return request.url.scheme == "https" or settings.dashboard_url().startswith("https://")


async def form_fields(request: Request) -> dict[str, str]:
    """The fields of a small url-encoded form (a larger body gives no fields)."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    parsed = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {name: values[0] for name, values in parsed.items() if values}


def is_link_preview(request: Request) -> bool:
    """Whether the request comes from a chat platform previewing a posted link."""
    agent = request.headers.get("user-agent", "").lower()
    return any(name in agent for name in PREVIEW_AGENTS)
