"""The entry point of the bot: one inbound event in, a typed `Outcome` out, in one transaction.

Adapters hold a `Core` (from `entry`) and call it with each event; it identifies the
speaker once (`handlers.speaker`), enforces the workspace binding, expires idle
conversations, and routes commands (through the one table of `handlers.commands`), step
answers (`c:TOKEN:VALUE` payloads or typed text) and ticket buttons (`t:VERB:REF`) to the
handlers. `Core.home` and `Core.menus` compute the views a channel shows beyond replies.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine, bindparam
from sqlmodel import Session, col, select

from bot.db.engine import WriteNeeded, read_transaction, transaction
from bot.db.models import Conversation, TicketStatus
from bot.services.errors import (
    AccessDeniedError,
    InputError,
    InvalidStateError,
    InviteError,
    NotFoundError,
    ServiceError,
)
from bot.settings import Settings, using_settings
from handlers import agent, claims, commands, intake, talk, views
from handlers.context import NAV_BACK, NAV_CANCEL, Context, new_token
from handlers.edge import clean_event
from handlers.model import (
    Along,
    ClaimLostError,
    CommandMenu,
    HomeView,
    InboundEvent,
    Outcome,
    Refusal,
    RefusalReason,
    Seal,
    Text,
    echo,
)
from handlers.render import status_label
from handlers.speaker import (
    anonymous_translator,
    identify,
    unknown_user_refusal,
    workspace_refusal,
)
from handlers.states import State, parse_state, reset

log = logging.getLogger(__name__)

AGENT_STATES = agent.FLOW_STATES
FREE_TEXT_STATES = frozenset(
    {
        State.DESCRIBE_SEARCH,
        State.ASK_DETAIL,
        State.ASK_DESCRIPTION,
        State.RECLASSIFY_REASON,
        State.PAUSE_REASON,
        State.OPEN_LOGGED,
        *talk.FREE_TEXT,
    }
)

COMMAND_NAMES = commands.COMMAND_NAMES  # for channels that spell commands their own way
__all__ = ["COMMAND_NAMES", "Core", "clean_event", "entry", "handle_event", "process"]

CoreEntry = Callable[[InboundEvent], Outcome]


@dataclass(frozen=True)
class Core:
    """The core's entry points for a channel, bound to a database and settings.

    Calling it handles one event (it is a `CoreEntry`); `home` and `menus` compute the
    views a channel shows beyond replies.
    """

    engine: Engine
    settings: Settings

    def __call__(
        self,
        event: InboundEvent,
        seal: Seal | None = None,
        *,
        draw: bool = True,
        along: Along | None = None,
    ) -> Outcome:
        """Handle one event in its own transaction (which marks its inbox row, with `seal`,
        and runs the channel's `along` write); `draw=False` leaves its charts to
        `Outcome.drawn_files`, once the text is sent."""
        return process(
            engine=self.engine,
            event=event,
            settings=self.settings,
            seal=seal,
            draw=draw,
            along=along,
        )

    def home(self, event: InboundEvent) -> HomeView:
        """The home panel of the user behind `event` (a read-only transaction)."""
        with read_transaction(self.engine) as session, using_settings(self.settings):
            return views.home_view(session=session, event=event, settings=self.settings)

    def menus(self, channel: str) -> list[CommandMenu]:
        """The command menus of a channel: per language, per role, per staff member."""
        with read_transaction(self.engine) as session:
            return views.command_menus(session=session, channel=channel, settings=self.settings)


def entry(*, engine: Engine, settings: Settings) -> Core:
    """The core, as a channel adapter calls it."""
    return Core(engine=engine, settings=settings)


def process(
    *,
    engine: Engine,
    event: InboundEvent,
    settings: Settings,
    seal: Seal | None = None,
    draw: bool = True,
    along: Along | None = None,
) -> Outcome:
    """Handle one event in its own transaction; never raises for bad user input.

    With a `seal` (an event from the inbox), the event's row is marked handled in that same
    transaction, the outcome kept there as the reply to send (again, once its files are
    drawn), and a failure before the last attempt is raised for the inbox to retry.

    A command that only reads runs in a read transaction (no write lock on SQLite); its row
    is then marked in a short write transaction of its own (a read has no effect to share
    it with). Should it need to write after all (a first contact, a changed language), it
    runs again in a write transaction, nothing having been written.

    `along` is a channel's own write (forgetting the user's open question, say), run first
    in the event's write transaction: it commits with the event's effects and is rolled back
    with them, without a transaction of its own.

    Charts are drawn after the commit: here with `draw`, else by the channel once the text
    is sent (`Outcome.drawn_files`, which keeps them with the stored reply through `seal`).
    """
    try:
        outcome = _read(engine=engine, event=event, settings=settings, seal=seal, along=along)
        if outcome is None:
            with transaction(engine) as session:
                if along is not None:
                    along(session.connection())
                outcome = handle_event(session=session, event=event, settings=settings)
                if seal is not None:
                    seal(session, outcome)
    except ClaimLostError:
        raise
    except Exception as exc:
        log.exception("event handling failed: channel=%s chat=%s", event.channel, event.chat_id)
        if seal is not None:
            if not seal.final:
                raise
            seal.give_up(f"{type(exc).__name__}: {exc}")
        return _went_wrong(event, settings)
    deferred = outcome.deferred
    if not draw:
        if seal is not None and deferred:
            outcome.on_drawn = seal.record
        return outcome
    try:
        outcome.render_files()  # charts are drawn once committed: no lock held meanwhile
    except Exception:
        # The effects are committed and the event sealed: only the answer is lost.
        log.exception("answer files failed: channel=%s chat=%s", event.channel, event.chat_id)
        return _went_wrong(event, settings)
    if seal is not None and deferred:
        seal.record(outcome)  # the stored reply gets the drawn files (best effort)
    return outcome


def _read(
    *,
    engine: Engine,
    event: InboundEvent,
    settings: Settings,
    seal: Seal | None,
    along: Along | None,
) -> Outcome | None:
    """A read-only command's outcome from a read transaction, or None when it must write."""
    if not reads_only(event):
        return None
    try:
        with read_transaction(engine) as session:
            read = handle_event(session=session, event=event, settings=settings)
    except WriteNeeded:
        log.debug("read event needs a write: channel=%s", event.channel)
        return None
    if seal is not None or along is not None:
        with transaction(engine) as session:
            if along is not None:
                along(session.connection())
            if seal is not None:
                seal(session, read)
    return read


def _went_wrong(event: InboundEvent, settings: Settings) -> Outcome:
    t = anonymous_translator(event, settings)
    text = t.gettext("Something went wrong on our side. Please try again.")
    refusal = Refusal(text=text, reason=RefusalReason.ERROR)
    return Outcome(lang=t.lang, replies=[Text(text)], refusal=refusal)


def reads_only(event: InboundEvent) -> bool:
    """Whether the event is a command that, in the usual case, only reads."""
    if event.action is not None:
        return False
    command, _argument = _split_command(event.text)
    return command is not None and command in commands.READ_COMMANDS


def handle_event(*, session: Session, event: InboundEvent, settings: Settings) -> Outcome:
    """Handle one event inside the caller's transaction."""
    event = clean_event(event, default_locale=settings.default_locale)  # whatever the channel
    with using_settings(settings):
        return _handle(session=session, event=event, settings=settings)


def _handle(*, session: Session, event: InboundEvent, settings: Settings) -> Outcome:
    now = event.received_at
    speaker = identify(session=session, event=event, settings=settings, remember_locale=True)
    ctx = Context(
        session=session,
        event=event,
        settings=settings,
        now=now,
        t=anonymous_translator(event, settings) if speaker is None else speaker.t,
    )
    refused = workspace_refusal(session=session, event=event, speaker=speaker, t=ctx.t)
    if refused is not None:
        ctx.refuse(refused.text, refused.reason)
        return _finish(ctx)
    command, argument = _split_command(event.text)
    if speaker is None:
        if command == "start" and argument:
            _guarded(ctx, lambda: commands.start_command(ctx, argument))
        else:
            refusal = unknown_user_refusal(ctx.t)
            ctx.refuse(refusal.text, refusal.reason)
        return _finish(ctx)
    if not speaker.user.active:
        text = ctx._("Your access to the support service has ended. Contact your administrator.")
        ctx.refuse(text, RefusalReason.DEACTIVATED)
        return _finish(ctx)
    ctx.user, ctx.identity, ctx.tenant = speaker.user, speaker.identity, speaker.tenant
    ctx.actor = speaker.actor
    ctx.conversation, expired = _conversation(ctx)
    pending = talk.pending_files(ctx)
    _guarded(ctx, lambda: _route(ctx, command, argument))
    if pending and ctx.outcome.acted is not None and ctx.outcome.acted.verb == "open":
        opened = ctx.outcome.acted.reference
        _guarded(ctx, lambda: talk.attach_pending(ctx, opened, pending))
    if expired:  # said last-minute, in the language the event ends in (/lang may change it)
        note = ctx._(
            "Your unfinished request expired after %(minutes)d minutes without "
            "activity. Send /new to start again."
        ) % {"minutes": ctx.settings.conversation_idle_minutes}
        ctx.outcome.replies.insert(0, Text(note))
    conversation = ctx.require_conversation
    # Written only when it changed, or to keep an unfinished request alive: a read stays a read.
    if session.is_modified(conversation) or parse_state(conversation.state) is not State.IDLE:
        conversation.updated_at = now
        session.add(conversation)
    return _finish(ctx)


def _finish(ctx: Context) -> Outcome:
    ctx.outcome.lang = ctx.t.lang
    return ctx.outcome


def _guarded(ctx: Context, action: Callable[[], None]) -> None:
    """Run a handler; a refused operation leaves no partial write, only its explanation."""
    try:
        with ctx.session.begin_nested():
            action()
    except ServiceError as exc:
        log.info("refused: %s %s", type(exc).__name__, exc)
        ctx.refuse(service_error_text(ctx, exc), _reason(exc))


def _split_command(text: str | None) -> tuple[str | None, str]:
    if not text:
        return None, ""
    stripped = text.strip()
    if not stripped.startswith("/"):
        return None, stripped
    head, _sep, rest = stripped[1:].partition(" ")
    name = head.split("@", 1)[0].lower()  # Telegram appends @botname in groups
    return name, rest.strip()


def _conversation(ctx: Context) -> tuple[Conversation, bool]:
    """The user's conversation in this chat, and whether an unfinished one just expired."""
    user = ctx.require_user
    where = {"channel": ctx.event.channel, "chat_id": ctx.event.chat_id, "user_id": user.id}
    conversation = ctx.session.exec(_CONVERSATION, params=where).first()
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
        return conversation, False
    idle = timedelta(minutes=ctx.settings.conversation_idle_minutes)
    if (
        parse_state(conversation.state) is not State.IDLE
        and ctx.now - conversation.updated_at > idle
    ):
        reset(conversation)
        return conversation, True
    return conversation, False


# Every event reads its conversation: the statement is built once, with bound parameters.
_CONVERSATION = select(Conversation).where(
    col(Conversation.channel) == bindparam("channel"),
    col(Conversation.chat_id) == bindparam("chat_id"),
    col(Conversation.user_id) == bindparam("user_id"),
)


def _route(ctx: Context, command: str | None, argument: str) -> None:
    action = ctx.event.action
    if action is not None:
        _route_action(ctx, action)
        return
    if command is not None:
        found = commands.find(command)
        state = parse_state(ctx.require_conversation.state)
        if found is None and state in FREE_TEXT_STATES:
            # "/var is full" typed as a description is text, not an unknown command.
            _answer_step(ctx, state, (ctx.event.text or "").strip())
            return
        if found is None:
            text = ctx._("Unknown command /%(name)s. Send /help for the list.") % {
                "name": echo(command, 40)
            }
            ctx.refuse(text, RefusalReason.INVALID_INPUT)
            return
        if ctx.require_user.role not in found.roles:
            raise AccessDeniedError("role", command=command)
        found.handler(ctx, argument)
        return
    state = parse_state(ctx.require_conversation.state)
    if state is State.IDLE:
        if not talk.loose_message(ctx, argument):
            ctx.say(Text(ctx._("Send /new to open a ticket, or /help to see what I can do.")))
        return
    intake_step = state not in AGENT_STATES
    if ctx.event.attachments and intake_step and talk.keep_for_intake(ctx, state) and not argument:
        return  # a file alone at an intake step: kept with the request, the step asked again
    _answer_step(ctx, state, argument)


def _route_action(ctx: Context, action: str) -> None:
    kind, _sep, rest = action.partition(":")
    if kind == "t":
        verb, _sep, reference = rest.partition(":")
        if verb in talk.VERBS:
            talk.ticket_button(ctx, verb, reference)
        else:
            agent.ticket_button(ctx, verb, reference)
        return
    if kind == "r":  # a reminder's button (certificate renewal)
        claims.renewal_button(ctx, action)
        return
    if kind == "c":
        token, _sep, value = rest.partition(":")
        conversation = ctx.require_conversation
        state = parse_state(conversation.state)
        if token != conversation.token or state is State.IDLE:
            _expired(ctx)
            return
        _answer_step(ctx, state, value, chosen=True)
        return
    _expired(ctx)


def _expired(ctx: Context) -> None:
    ctx.refuse(ctx._("This choice has expired. Here is where we are now."), RefusalReason.EXPIRED)
    _reask(ctx)


def _answer_step(ctx: Context, state: State, value: str, *, chosen: bool = False) -> None:
    if value == NAV_CANCEL or (not chosen and value.strip().lower() in _cancel_words(ctx)):
        commands.cancel_command(ctx, "")
        return
    if value == NAV_BACK or (not chosen and value.strip().lower() in _back_words(ctx)):
        going_back = agent.go_back if state in AGENT_STATES else intake.go_back
        if going_back(ctx) is None:
            ctx.refuse(ctx._("There is no earlier step."), RefusalReason.INVALID_ANSWER)
            _reask(ctx)
        return
    if state in AGENT_STATES:
        agent.answer(ctx, state, value, chosen=chosen)
    elif state in talk.STATES:
        talk.answer(ctx, state, value, chosen=chosen)
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
    elif state in talk.STATES:
        talk.ask(ctx)
    else:
        intake.ask(ctx)


def service_error_text(ctx: Context, exc: ServiceError) -> str:
    """A refused operation in the user's words."""
    _ = ctx._
    params = exc.params
    if isinstance(exc, NotFoundError):
        if "handle" in params:
            return _("No agent with the handle %(handle)s.") % {
                "handle": echo(str(params["handle"]), 40)
            }
        reference = echo(str(params.get("reference", "")), 40)
        return _("No ticket %(ref)s that you can see.") % {"ref": reference}
    if isinstance(exc, AccessDeniedError):
        if "handle" in params:
            return _("%(handle)s is not an agent of this ticket's provider.") % {
                "handle": params["handle"]
            }
        if "command" in params:
            return _("The command /%(name)s is not available with your role.") % {
                "name": params["command"]
            }
        return _("You are not allowed to do that.")
    if isinstance(exc, InvalidStateError):
        if params.get("status") == TicketStatus.RESOLVED and params.get("reference"):
            return _("%(ref)s is already resolved.") % {"ref": params["reference"]}
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
            "revoked": _("This invite code was revoked. Ask for a new one."),
            "expired": _("This invite code has expired. Ask for a new one."),
        }.get(str(reason), _("This account is already linked."))
    if isinstance(exc, InputError):
        if "owner" in params:
            return _("%(name)s already owns this ticket.") % {"name": params["owner"]}
        if params.get("reason") == "future":
            return _("The logging instant cannot be in the future.")
        if params.get("reason") == "before_contract":
            return _("The logging instant cannot be before the contract's start.")
        if params.get("reason") in talk.REASONS:
            return talk.refusal_text(ctx, params)
        return _("That request is not valid here. Send /help for the right form.")
    return _("That did not work.")


def _reason(exc: ServiceError) -> RefusalReason:
    for kind, reason in (
        (NotFoundError, RefusalReason.NOT_FOUND),
        (AccessDeniedError, RefusalReason.ACCESS_DENIED),
        (InvalidStateError, RefusalReason.INVALID_STATE),
        (InviteError, RefusalReason.INVITE),
        (InputError, RefusalReason.INVALID_INPUT),
    ):
        if isinstance(exc, kind):
            return reason
    return RefusalReason.ERROR
