"""What every handler receives: the event, who sent it, their conversation and language."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session

from bot.db.models import ChannelIdentity, Contract, Conversation, Tenant, User
from bot.i18n import Translator
from bot.services.tickets import Actor
from bot.settings import Settings
from handlers.model import InboundEvent, Option, Outcome, Reply, reply_options, short_label

NAV_BACK = "~back"
NAV_CANCEL = "~cancel"


@dataclass
class Context:
    """One event being handled, inside one database transaction."""

    session: Session
    event: InboundEvent
    settings: Settings
    now: datetime
    t: Translator
    user: User | None = None
    identity: ChannelIdentity | None = None
    tenant: Tenant | None = None
    actor: Actor | None = None
    conversation: Conversation | None = None
    outcome: Outcome = field(default_factory=Outcome)
    loaded: dict[int, Contract] = field(default_factory=dict)  # contracts read this event

    def _(self, message: str) -> str:
        """`message` in the user's language."""
        return self.t.gettext(message)

    def say(self, *replies: Reply) -> None:
        """Queue replies for the user."""
        self.outcome.add(*replies)

    def payload(self, value: str) -> str:
        """A callback payload bound to the conversation's current step."""
        assert self.conversation is not None
        return f"c:{self.conversation.token}:{value}"

    def option(self, label: str, value: str) -> Option:
        """An option answering the current step."""
        return Option(label=short_label(label), payload=self.payload(value))

    def nav_options(self, *, back: bool = True) -> tuple[Option, ...]:
        """The back and cancel buttons of a step."""
        options = []
        if back:
            options.append(self.option("« " + self._("Back"), NAV_BACK))
        options.append(self.option("✕ " + self._("Cancel"), NAV_CANCEL))
        return tuple(options)

    @property
    def require_user(self) -> User:
        """The user (handlers behind the access check only)."""
        assert self.user is not None
        return self.user

    @property
    def require_actor(self) -> Actor:
        """The actor (handlers behind the access check only)."""
        assert self.actor is not None
        return self.actor

    @property
    def require_conversation(self) -> Conversation:
        """The conversation (handlers behind the access check only)."""
        assert self.conversation is not None
        return self.conversation


def typed_choice(ctx: Context, asker: Callable[[Context], None], text: str) -> str | None:
    """The value of the current question's option the user typed (its number or its label).

    The question is asked again into a scratch list, so typed answers read exactly the
    options the buttons carry.
    """
    wanted = text.strip().lower()
    if not wanted:
        return None
    saved = list(ctx.outcome.replies)
    asker(ctx)
    asked = ctx.outcome.replies[len(saved) :]
    ctx.outcome.replies = saved
    options = [option for reply in asked for option in reply_options(reply)]
    prefix = ctx.payload("")
    values = [option.payload.removeprefix(prefix) for option in options]
    if wanted.isdigit():
        index = int(wanted) - 1
        return values[index] if 0 <= index < len(values) else None
    for option, value in zip(options, values, strict=True):
        if option.label.strip("«✕ ").lower() == wanted:
            return value
    return None


def new_token() -> str:
    """A short random step token: stale buttons carry an old one."""
    return secrets.token_urlsafe(6)[:8]
