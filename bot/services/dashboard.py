"""Dashboard access: one-time login links and sessions, signed, bound to one user.

A link or session token is `NONCE.SIGNATURE`: the nonce is random, the signature an HMAC
of it under the dashboard key, and the database keeps only the nonce's SHA-256. A link is
consumed by one conditional UPDATE (`… WHERE used_at IS NULL AND expires_at > now`), so two
clicks racing each other open one session.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, update
from sqlmodel import Session, col, select

from bot.db.dialect import insert_ignoring
from bot.db.models import DashboardKey, DashboardLink, DashboardSession, Role, User
from bot.services.errors import AccessDeniedError, ServiceError
from bot.settings import Settings

LINK_MINUTES = 15
KEEP_ENDED = timedelta(days=1)
KEY_NAME = "signing"
DASHBOARD_ROLES = frozenset({Role.AGENT, Role.MANAGER, Role.ADMIN})


class LinkRefusedError(ServiceError):
    """A login link that does not open a session: `reason` is invalid, used or expired."""

    code = "link_refused"


@dataclass(frozen=True)
class Opened:
    """A session opened by a link: its user and the cookie's token."""

    user: User
    token: str
    expires_at: datetime


def signing_key(*, session: Session, settings: Settings) -> bytes:
    """The key signing links, sessions and form tokens: the setting, else the stored one."""
    if settings.dashboard_secret_key is not None:
        return settings.dashboard_secret_key.get_secret_value().encode()
    query = select(DashboardKey.secret).where(DashboardKey.name == KEY_NAME)
    stored = session.exec(query).first()
    if stored is None:
        dialect = session.get_bind().dialect.name
        session.execute(
            insert_ignoring(dialect, DashboardKey, name=KEY_NAME, secret=secrets.token_urlsafe(48))
        )
        stored = session.exec(query).one()
    return stored.encode()


def _sign(key: bytes, purpose: str, nonce: str) -> str:
    digest = hmac.new(key, f"{purpose}:{nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode().rstrip("=")


def _new_token(key: bytes, purpose: str) -> tuple[str, str]:
    """A fresh signed token and the hash stored for it."""
    nonce = secrets.token_urlsafe(24)
    return f"{nonce}.{_sign(key, purpose, nonce)}", _hash(nonce)


def _hash(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


def _verified_hash(key: bytes, purpose: str, token: str) -> str | None:
    """The stored hash of a well-signed token, else None (nothing is looked up)."""
    nonce, _dot, signature = token.partition(".")
    if not nonce or not signature or len(token) > 200:
        return None
    if not hmac.compare_digest(_sign(key, purpose, nonce), signature):
        return None
    return _hash(nonce)


def may_use(user: User) -> bool:
    """Whether this user may open the dashboard (active managers, agents, admins)."""
    return user.active and user.role in DASHBOARD_ROLES


def prune(*, session: Session, now: datetime) -> None:
    """Forget links and sessions that ended more than a day ago (they open nothing)."""
    cutoff = now - KEEP_ENDED
    session.execute(delete(DashboardLink).where(col(DashboardLink.expires_at) < cutoff))
    session.execute(
        delete(DashboardSession).where(
            or_(
                col(DashboardSession.expires_at) < cutoff,
                col(DashboardSession.ended_at) < cutoff,
            )
        )
    )


def issue_link(*, session: Session, settings: Settings, user: User, now: datetime) -> str:
    """A one-time login URL for `user`, valid LINK_MINUTES minutes."""
    if not may_use(user):
        raise AccessDeniedError("the dashboard is for managers and agents")
    assert user.id is not None
    prune(session=session, now=now)
    key = signing_key(session=session, settings=settings)
    token, digest = _new_token(key, "link")
    session.add(
        DashboardLink(
            token_hash=digest,
            user_id=user.id,
            created_at=now,
            expires_at=now + timedelta(minutes=LINK_MINUTES),
        )
    )
    session.flush()
    return f"{settings.dashboard_url()}/dashboard/login/{token}"


def redeem_link(*, session: Session, settings: Settings, token: str, now: datetime) -> Opened:
    """Consume a login link once and open a session for its user, or `LinkRefusedError`."""
    key = signing_key(session=session, settings=settings)
    digest = _verified_hash(key, "link", token)
    if digest is None:
        raise LinkRefusedError("bad signature", reason="invalid")
    consumed = session.execute(
        update(DashboardLink)
        .where(
            col(DashboardLink.token_hash) == digest,
            col(DashboardLink.used_at).is_(None),
            col(DashboardLink.expires_at) > now,
        )
        .values(used_at=now)
        .returning(col(DashboardLink.user_id))
    ).first()
    if consumed is None:
        link = session.exec(select(DashboardLink).where(DashboardLink.token_hash == digest)).first()
        reason = "invalid" if link is None else "used" if link.used_at else "expired"
        raise LinkRefusedError("link not usable", reason=reason)
    user = session.get(User, consumed[0])
    if user is None or not may_use(user):
        raise LinkRefusedError("user may not use the dashboard", reason="invalid")
    assert user.id is not None
    session_token, session_digest = _new_token(key, "session")
    expires = now + timedelta(hours=settings.dashboard_session_hours)
    session.add(
        DashboardSession(
            token_hash=session_digest, user_id=user.id, created_at=now, expires_at=expires
        )
    )
    session.flush()
    return Opened(user=user, token=session_token, expires_at=expires)


def session_user(*, session: Session, settings: Settings, token: str, now: datetime) -> User | None:
    """The user of a live session token (signed, not ended, not expired, user active)."""
    digest = _verified_hash(signing_key(session=session, settings=settings), "session", token)
    if digest is None:
        return None
    row = session.exec(
        select(DashboardSession).where(
            DashboardSession.token_hash == digest,
            col(DashboardSession.ended_at).is_(None),
            DashboardSession.expires_at > now,
        )
    ).first()
    if row is None:
        return None
    user = session.get(User, row.user_id)
    return user if user is not None and may_use(user) else None


def end_session(*, session: Session, settings: Settings, token: str, now: datetime) -> None:
    """Close a session (log out); an unknown token changes nothing."""
    digest = _verified_hash(signing_key(session=session, settings=settings), "session", token)
    if digest is None:
        return
    session.execute(
        update(DashboardSession)
        .where(col(DashboardSession.token_hash) == digest, col(DashboardSession.ended_at).is_(None))
        .values(ended_at=now)
    )


def form_token(*, key: bytes, session_token: str) -> str:
    """The CSRF token of a session's forms (an HMAC of the session token)."""
    return _sign(key, "form", session_token)


def form_token_ok(*, key: bytes, session_token: str, given: str) -> bool:
    """Whether a submitted form carries its session's CSRF token."""
    return bool(given) and hmac.compare_digest(
        form_token(key=key, session_token=session_token), given
    )
