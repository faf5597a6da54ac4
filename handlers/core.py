"""The entry point of the bot: one inbound event in, replies out, in one transaction.

Adapters call `process`; it identifies the sender, expires idle conversations, and routes
commands (`/new`, `/ack REF`…), step answers (`c:TOKEN:VALUE` payloads or typed text) and
ticket buttons (`t:VERB:REF`) to the handlers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.db.engine import transaction
from bot.db.models import Conversation, Role, Tenant, TicketStatus, User
from bot.i18n import normalize_language, translator
from bot.services import users
from bot.services.errors import (
    AccessDeniedError,
    InputError,
    InvalidStateError,
    InviteError,
    NotFoundError,
    ServiceError,
)
from bot.services.tickets import actor_for
from bot.settings import Settings, using_settings
from handlers import agent, intake, manager, requester
from handlers.context import NAV_BACK, NAV_CANCEL, Context, new_token
from handlers.model import InboundEvent, Outcome, Text
from handlers.render import status_label
from handlers.states import State, parse_state, reset

log = logging.getLogger(__name__)

AGENT_STATES = frozenset(
    {
        State.RECLASSIFY_WHAT,
        State.RECLASSIFY_INTERVENTION,
        State.RECLASSIFY_PRIORITY,
        State.RECLASSIFY_REASON,
        State.PAUSE_REASON,
    }
)
FREE_TEXT_STATES = frozenset(
    {
        State.DESCRIBE_SEARCH,
        State.ASK_DETAIL,
        State.ASK_DESCRIPTION,
        State.RECLASSIFY_REASON,
        State.PAUSE_REASON,
    }
)

Command = Callable[[Context, str], None]

COMMANDS: dict[str, tuple[Command, frozenset[Role]]] = {}
ANYONE = frozenset(Role)
CUSTOMERS = frozenset({Role.REQUESTER, Role.MANAGER, Role.ADMIN})
STAFF = frozenset({Role.AGENT, Role.MANAGER, Role.ADMIN})
MANAGERS = frozenset({Role.MANAGER, Role.ADMIN})


def _register() -> None:
    COMMANDS.update(
        {
            "help": (requester.help_command, ANYONE),
            "start": (requester.start_command, ANYONE),
            "lang": (requester.lang_command, ANYONE),
            "notify": (requester.notify_command, ANYONE),
            "cancel": (_cancel_command, ANYONE),
            "new": (intake.new_command, CUSTOMERS),
            "tickets": (requester.tickets_command, ANYONE),
            "ticket": (requester.ticket_command, ANYONE),
            "comment": (requester.comment_command, ANYONE),
            "balance": (requester.balance_command, CUSTOMERS),
            "queue": (agent.queue_command, STAFF),
            "duty": (agent.duty_command, STAFF),
            "ack": (agent.ack_command, STAFF),
            "reclassify": (agent.reclassify_command, STAFF),
            "pause": (agent.pause_command, STAFF),
            "resume": (agent.resume_command, STAFF),
            "log": (agent.log_command, STAFF),
            "resolve": (agent.resolve_command, STAFF),
            "close": (agent.close_command, STAFF),
            "status": (manager.status_command, MANAGERS),
            "sla": (manager.sla_command, MANAGERS),
            "credits": (manager.credits_command, MANAGERS),
        }
    )


def process(*, engine: Engine, event: InboundEvent, settings: Settings) -> Outcome:
    """Handle one event in its own transaction; never raises for bad user input."""
    try:
        with transaction(engine) as session:
            return handle_event(session=session, event=event, settings=settings)
    except Exception:
        log.exception("event handling failed: channel=%s chat=%s", event.channel, event.chat_id)
        t = translator(normalize_language(event.platform_locale) or settings.default_locale)
        return Outcome([Text(t.gettext("Something went wrong on our side. Please try again."))])


def handle_event(*, session: Session, event: InboundEvent, settings: Settings) -> Outcome:
    """Handle one event inside the caller's transaction."""
    with using_settings(settings):
        return _handle(session=session, event=event, settings=settings)


def _handle(*, session: Session, event: InboundEvent, settings: Settings) -> Outcome:
    now = event.received_at
    identity = users.find_identity(
        session=session, channel=event.channel, external_id=event.user_external_id
    )
    platform_lang = normalize_language(event.platform_locale)
    ctx = Context(
        session=session,
        event=event,
        settings=settings,
        now=now,
        t=translator(platform_lang or settings.default_locale),
    )
    command, argument = _split_command(event.text)
    if identity is None:
        if command == "start" and argument:
            _guarded(ctx, lambda: requester.start_command(ctx, argument))
        else:
            _refuse_unknown(ctx)
        return ctx.outcome
    user = session.get(User, identity.user_id)
    assert user is not None
    if platform_lang and identity.platform_locale != event.platform_locale:
        identity.platform_locale = event.platform_locale
        session.add(identity)
    tenant = session.get(Tenant, user.tenant_id) if user.tenant_id else None
    ctx.user, ctx.identity, ctx.tenant = user, identity, tenant
    ctx.t = translator(
        users.language_of(
            user=user,
            identity=identity,
            tenant=tenant,
            default=settings.default_locale,
            platform_locale=event.platform_locale,
        )
    )
    ctx.actor = actor_for(session=session, user=user)
    ctx.conversation = _conversation(ctx)
    _guarded(ctx, lambda: _route(ctx, command, argument))
    ctx.require_conversation.updated_at = now
    session.add(ctx.require_conversation)
    return ctx.outcome


def _guarded(ctx: Context, action: Callable[[], None]) -> None:
    """Run a handler; a refused operation leaves no partial write, only its explanation."""
    try:
        with ctx.session.begin_nested():
            action()
    except ServiceError as exc:
        log.info("refused: %s %s", type(exc).__name__, exc)
        ctx.say(Text(service_error_text(ctx, exc)))


def _split_command(text: str | None) -> tuple[str | None, str]:
    if not text:
        return None, ""
    stripped = text.strip()
    if not stripped.startswith("/"):
        return None, stripped
    head, _sep, rest = stripped[1:].partition(" ")
    name = head.split("@", 1)[0].lower()  # Telegram appends @botname in groups
    return name, rest.strip()


def _conversation(ctx: Context) -> Conversation:
    user = ctx.require_user
    query = select(Conversation).where(
        Conversation.channel == ctx.event.channel,
        Conversation.chat_id == ctx.event.chat_id,
        Conversation.user_id == user.id,
    )
    conversation = ctx.session.exec(query).first()
    if conversation is None:
        assert user.id is not None
        conversation = Conversation(
            channel=ctx.event.channel,
            chat_id=ctx.event.chat_id,
            user_id=user.id,
            token=new_token(),
            updated_at=ctx.now,
        )
        ctx.session.add(conversation)
        ctx.session.flush()
        return conversation
    idle = timedelta(minutes=ctx.settings.conversation_idle_minutes)
    if (
        parse_state(conversation.state) is not State.IDLE
        and ctx.now - conversation.updated_at > idle
    ):
        reset(conversation)
        ctx.say(
            Text(
                ctx._(
                    "Your unfinished request expired after %(minutes)d minutes without "
                    "activity. Send /new to start again."
                )
                % {"minutes": ctx.settings.conversation_idle_minutes}
            )
        )
    return conversation


def _refuse_unknown(ctx: Context) -> None:
    ctx.say(
        Text(
            ctx._(
                "I don't know you yet. Ask your company's administrator or your provider for an "
                "invite code, then send /start followed by the code."
            )
        )
    )


def _route(ctx: Context, command: str | None, argument: str) -> None:
    action = ctx.event.action
    if action is not None:
        _route_action(ctx, action)
        return
    if command is not None:
        entry = COMMANDS.get(command)
        state = parse_state(ctx.require_conversation.state)
        if entry is None and state in FREE_TEXT_STATES:
            # "/var is full" typed as a description is text, not an unknown command.
            _answer_step(ctx, state, (ctx.event.text or "").strip())
            return
        if entry is None:
            ctx.say(
                Text(
                    ctx._("Unknown command /%(name)s. Send /help for the list.") % {"name": command}
                )
            )
            return
        handler, roles = entry
        if ctx.require_user.role not in roles:
            raise AccessDeniedError("role", command=command)
        handler(ctx, argument)
        return
    state = parse_state(ctx.require_conversation.state)
    if state is State.IDLE:
        ctx.say(Text(ctx._("Send /new to open a ticket, or /help to see what I can do.")))
        return
    _answer_step(ctx, state, argument)


def _route_action(ctx: Context, action: str) -> None:
    kind, _sep, rest = action.partition(":")
    if kind == "t":
        verb, _sep, reference = rest.partition(":")
        agent.ticket_button(ctx, verb, reference)
        return
    if kind == "c":
        token, _sep, value = rest.partition(":")
        conversation = ctx.require_conversation
        state = parse_state(conversation.state)
        if token != conversation.token or state is State.IDLE:
            ctx.say(Text(ctx._("This choice has expired. Here is where we are now.")))
            _reask(ctx)
            return
        _answer_step(ctx, state, value, chosen=True)
        return
    ctx.say(Text(ctx._("This choice has expired. Here is where we are now.")))
    _reask(ctx)


def _answer_step(ctx: Context, state: State, value: str, *, chosen: bool = False) -> None:
    if value == NAV_CANCEL or (not chosen and value.strip().lower() in _cancel_words(ctx)):
        _cancel_command(ctx, "")
        return
    if value == NAV_BACK or (not chosen and value.strip().lower() in _back_words(ctx)):
        if intake.go_back(ctx) is None:
            ctx.say(Text(ctx._("There is no earlier step.")))
            _reask(ctx)
        return
    if state in AGENT_STATES:
        agent.answer(ctx, state, value, chosen=chosen)
    else:
        intake.answer(ctx, state, value, chosen=chosen)


def _cancel_words(ctx: Context) -> set[str]:
    return {"cancel", "annuler", "annuleren", ctx._("cancel").lower()}


def _back_words(ctx: Context) -> set[str]:
    return {"back", "retour", "terug", ctx._("back").lower()}


def _reask(ctx: Context) -> None:
    state = parse_state(ctx.require_conversation.state)
    if state is State.IDLE:
        ctx.say(Text(ctx._("Send /new to open a ticket, or /help to see what I can do.")))
    elif state in AGENT_STATES:
        agent.ask(ctx)
    else:
        intake.ask(ctx)


def _cancel_command(ctx: Context, _argument: str) -> None:
    conversation = ctx.require_conversation
    if parse_state(conversation.state) is State.IDLE:
        ctx.say(Text(ctx._("Nothing to cancel.")))
        return
    reset(conversation)
    ctx.say(Text(ctx._("Cancelled. Nothing was sent. Send /new to start again.")))


def service_error_text(ctx: Context, exc: ServiceError) -> str:
    """A refused operation in the user's words."""
    _ = ctx._
    params = exc.params
    if isinstance(exc, NotFoundError):
        return _("No ticket %(ref)s that you can see.") % {"ref": params.get("reference", "")}
    if isinstance(exc, AccessDeniedError):
        if "command" in params:
            return _("The command /%(name)s is not available with your role.") % {
                "name": params["command"]
            }
        return _("You are not allowed to do that.")
    if isinstance(exc, InvalidStateError):
        try:
            status = status_label(ctx.t, TicketStatus(str(params.get("status"))))
        except ValueError:
            return _("Not possible in the ticket's current state.")
        return _("Not possible now: the ticket is %(status)s.") % {"status": status}
    if isinstance(exc, InviteError):
        reason = params.get("reason")
        return {
            "unknown": _("This invite code is unknown. Check it, or ask for a new one."),
            "used": _("This invite code was already used. Ask for a new one."),
            "expired": _("This invite code has expired. Ask for a new one."),
        }.get(str(reason), _("This account is already linked."))
    if isinstance(exc, InputError):
        return _("That request is not valid here. Send /help for the right form.")
    return _("That did not work.")


_register()
