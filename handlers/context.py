"""What every handler receives: the event, who sent it, their conversation and language."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session

from bot.db.models import (
    ChannelIdentity,
    Contract,
    Conversation,
    Tenant,
    Ticket,
    User,
)
from bot.i18n import Translator
from bot.services.actions import ticket_actions
from bot.services.notify.templates import action_label
from bot.services.tickets import Actor
from bot.settings import Settings
from handlers.model import (
    Acted,
    Choices,
    Confirm,
    InboundEvent,
    Option,
    OptionKind,
    Outcome,
    Prompt,
    Question,
    Refusal,
    RefusalReason,
    Reply,
    Text,
    reply_options,
    short_label,
    ticket_action_payload,
)

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
    outcome: Outcome = field(default_factory=lambda: Outcome(lang=""))
    loaded: dict[int, Contract] = field(default_factory=dict)  # contracts read this event

    def _(self, message: str) -> str:
        """`message` in the user's language."""
        return self.t.gettext(message)

    def say(self, *replies: Reply) -> None:
        """Queue replies for the user."""
        self.outcome.add(*replies)

    def ask(self, question: Choices | Prompt | Confirm) -> None:
        """Say the question of the conversation's current step: it is the outcome's open one."""
        self.say(question)
        self.outcome.question = Question(token=self.require_conversation.token, reply=question)

    def refuse(self, text: str, reason: RefusalReason, *, say: bool = True) -> None:
        """Refuse, in the user's words (`say=False`: the question asked again says it)."""
        if say:
            self.say(Text(text))
        if self.outcome.refusal is None:
            self.outcome.refusal = Refusal(text=text, reason=reason)

    def acted(self, verb: str, ticket: Ticket, summary: str) -> None:
        """Say the one-line summary of a ticket action carried out, and record it."""
        self.say(Text(summary))
        verbs = ticket_actions(ticket)
        self.outcome.acted = Acted(
            verb=verb,
            reference=ticket.reference,
            summary=summary,
            status=ticket.status.value,
            actions=verbs,
            options=tuple(
                Option(
                    label=action_label(self.t, v),
                    payload=ticket_action_payload(v, ticket.reference),
                    kind=OptionKind.TICKET_ACTION,
                )
                for v in verbs
            ),
        )

    def payload(self, value: str) -> str:
        """A callback payload bound to the conversation's current step."""
        assert self.conversation is not None
        return f"c:{self.conversation.token}:{value}"

    def option(self, label: str, value: str) -> Option:
        """An option answering the current step (« Back » and « Cancel » navigate)."""
        kind = OptionKind.NAVIGATION if value in (NAV_BACK, NAV_CANCEL) else OptionKind.ANSWER
        return Option(label=short_label(label), payload=self.payload(value), kind=kind)

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
    saved, question = list(ctx.outcome.replies), ctx.outcome.question
    asker(ctx)
    asked = ctx.outcome.replies[len(saved) :]
    ctx.outcome.replies, ctx.outcome.question = saved, question
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
