"""Who speaks: identity → user → tenant → actor and language, resolved once per event.

Every entry of the core (conversation, views) starts here, and so does the workspace
binding: an event from a shared workspace (`InboundEvent.workspace_id`) is refused unless
the workspace is mapped and the user may act from it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from bot.db.models import ChannelIdentity, Tenant, User
from bot.i18n import Translator, normalize_language, translator
from bot.services import users, workspaces
from bot.services.tickets import Actor, actor_for
from bot.settings import Settings
from handlers.model import InboundEvent, Refusal, RefusalReason


@dataclass(frozen=True)
class Speaker:
    """A linked user, as the core sees them for one event."""

    identity: ChannelIdentity
    user: User
    tenant: Tenant | None
    actor: Actor
    t: Translator


def anonymous_translator(event: InboundEvent, settings: Settings) -> Translator:
    """The language for someone the core does not know (yet): the platform's, else the default."""
    return translator(normalize_language(event.platform_locale) or settings.default_locale)


def identify(
    *, session: Session, event: InboundEvent, settings: Settings, remember_locale: bool = False
) -> Speaker | None:
    """The linked user behind an event, with their language (`users.language_of`), or None.

    `remember_locale` stores a changed platform language on the identity.
    """
    found = users.find_speaker(
        session=session, channel=event.channel, external_id=event.user_external_id
    )
    if found is None:
        return None
    identity, user, tenant, providers = found
    if (
        remember_locale
        and normalize_language(event.platform_locale)
        and identity.platform_locale != event.platform_locale
    ):
        identity.platform_locale = event.platform_locale
        session.add(identity)
    lang = users.language_of(
        user=user,
        identity=identity,
        tenant=tenant,
        default=settings.default_locale,
        platform_locale=event.platform_locale,
    )
    actor = actor_for(session=session, user=user, providers=providers)
    return Speaker(identity=identity, user=user, tenant=tenant, actor=actor, t=translator(lang))


def unknown_user_refusal(t: Translator) -> Refusal:
    """How an unknown user is told to get access."""
    text = t.gettext(
        "I don't know you yet. Ask your company's administrator or your provider for an "
        "invite code, then send /start followed by the code."
    )
    return Refusal(text=text, reason=RefusalReason.UNKNOWN_USER)


def workspace_refusal(
    *, session: Session, event: InboundEvent, speaker: Speaker | None, t: Translator
) -> Refusal | None:
    """Why an event from a shared workspace is refused, or None when it may go on.

    An unmapped workspace is refused to anyone; a linked user may act only from the
    workspace bound to their tenant or to a provider they serve (administrators anywhere).
    """
    if not event.workspace_id:
        return None
    workspace = workspaces.find_workspace(
        session=session, channel=event.channel, external_id=event.workspace_id
    )
    if workspace is None:
        text = t.gettext(
            "This Slack workspace is not connected to the support service yet. "
            "Ask your administrator to connect it."
        )
        return Refusal(text=text, reason=RefusalReason.WORKSPACE_NOT_CONNECTED)
    if speaker is None or workspaces.may_act_from(
        workspace=workspace, user=speaker.user, providers=speaker.actor.providers
    ):
        return None
    text = t.gettext(
        "This workspace is not connected to your company or to a provider you work for. "
        "Use the workspace your administrator connected."
    )
    return Refusal(text=text, reason=RefusalReason.WORKSPACE_NOT_ALLOWED)
