"""The Telegram channel: updates in, core replies out as messages with inline keyboards.

A python-telegram-bot `Application` without an updater receives updates from the webhook
route (or from long polling in development) and hands each one to `TelegramChannel.handle`,
which translates it into an `InboundEvent`, runs the synchronous core in a worker thread and
renders the outcome. No database transaction is open while Telegram is called. Updates come
from the inbox (`handle_row`); the outcome is stored with the update's effects, so an update
whose reply was not sent (the process stopped) is answered later from the stored outcome.

The channel only translates: it holds a `TelegramStore` for its own rows and the core's
entry points; what to say, whether an action was carried out and which buttons of a ping
still apply all come from the core's `Outcome`.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import anyio.to_thread
from telegram import (
    CallbackQuery,
    Chat,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
    Update,
    User,
)
from telegram.constants import ChatMemberStatus, MessageEntityType, ParseMode
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseUpdateProcessor,
    ContextTypes,
    TypeHandler,
)
from telegram.request import BaseRequest

from bot.channels.core_threads import run_core
from bot.channels.group_commit import GroupCommit
from bot.channels.inbox import InboxRow, SendLater, after_reply, hub
from bot.channels.telegram import commands, render
from bot.channels.telegram.files import attachments_of, upload_file
from bot.channels.telegram.ratelimit import FloodLimiter
from bot.channels.telegram.store import CHANNEL, TelegramStore, is_truncated
from bot.settings import Settings
from handlers.core import Core, clean_event
from handlers.model import (
    Along,
    Attachment,
    InboundEvent,
    Outcome,
    OutgoingFile,
    Reply,
    Seal,
    Text,
    parse_ticket_action,
    relayed_command,
)

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ("message", "callback_query", "my_chat_member")
RELAYED_REACTION = "👍"  # an agent's message in a group was handled
CALLBACK_TEXT_LIMIT = 200
MAX_RETRY_AFTER = 30.0  # seconds an interactive reply may wait after a flood-control answer
#: Tries of one interactive call facing transient errors (5xx, timeouts, short retry_after),
#: and the waits between them.
INTERACTIVE_ATTEMPTS = 3
TRANSIENT_BACKOFF = (0.5, 2.0)
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
GROUP_TYPES = frozenset({Chat.GROUP, Chat.SUPERGROUP})
START_RETRY_SECONDS = 5.0
START_RETRY_MAX_SECONDS = 300.0
EARLY_ANSWERS_KEPT = 10_000  # ids of clicks answered at intake, remembered for their handling
PARSED_KEPT = 1_000  # updates stored by this webhook kept parsed until handled

TgApplication = Application[Any, Any, Any, Any, Any, Any]
T = TypeVar("T")

#: The seal of the inbox row being handled (set per row task by `handle_row`).
_seal: contextvars.ContextVar[Seal | None] = contextvars.ContextVar("telegram_seal", default=None)
#: The stored reply of a row handled already, sent without running the core again.
_stored: contextvars.ContextVar[Outcome | None] = contextvars.ContextVar(
    "telegram_stored", default=None
)


class MalformedUpdateError(ValueError):
    """A webhook body that is not a Telegram update."""


class ChannelUnavailableError(RuntimeError):
    """The channel is not running (Telegram unreachable at start-up, or a refused token)."""


class ChatOrderedProcessor(BaseUpdateProcessor):
    """Updates run concurrently, except that one chat's updates run one at a time, in order."""

    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Run `coroutine` once the chat's earlier updates are done."""
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await coroutine
            return
        key = chat.id
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                await coroutine
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key], self._locks[key]

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to free."""


def configured_token(settings: Settings) -> str | None:
    """The bot token, or None when it is unset or blank (the channel is then off)."""
    token = settings.telegram_token
    value = token.get_secret_value().strip() if token is not None else ""
    return value or None


def build_application(
    *,
    settings: Settings,
    request: BaseRequest | None = None,
    polling: bool = False,
    max_concurrent_updates: int = 32,
) -> TgApplication:
    """The PTB application: no JobQueue, no persistence, an updater only for long polling."""
    token = configured_token(settings)
    assert token is not None
    builder = (
        ApplicationBuilder()
        .token(token)
        .base_url(settings.telegram_base_url)
        .job_queue(None)
        .concurrent_updates(ChatOrderedProcessor(max_concurrent_updates))
    )
    if request is not None:
        builder = builder.request(request)
    if not polling:
        builder = builder.updater(None)
    return builder.build()


def retry_after_seconds(error: RetryAfter) -> float:
    """The wait a flood-control answer asks for, in seconds."""
    value: object = error.retry_after
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)  # type: ignore[arg-type]


class TelegramChannel:
    """Translates Telegram updates to core events and the core's replies to messages."""

    def __init__(
        self,
        *,
        settings: Settings,
        store: TelegramStore,
        core: Core,
        application: TgApplication,
        limiter: FloodLimiter | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        claim_updates: bool = False,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.settings = settings
        self.sleep = sleep
        self.store = store
        self.core = core
        self.application = application
        self.limiter = limiter or FloodLimiter()
        self.clock = clock
        # Webhook updates are stored by the route; polled ones reach `handle`, which stores
        # them. Either way the inbox drainer hands them to `handle_row`.
        self.claim_updates = claim_updates
        # Clicks answered as soon as they were stored (their handling does not answer again).
        self._answered: set[str] = set()
        self._early: set[asyncio.Task[None]] = set()
        # Updates arriving together are stored in one transaction.
        self._storing = GroupCommit(store.store_updates)
        # Updates this process stored, as parsed then: handling them does not parse again.
        self._parsed = ParsedUpdates()
        application.add_handler(TypeHandler(Update, self.handle))
        application.add_error_handler(self._on_error)

    @property
    def bot(self) -> Any:
        """The application's bot."""
        return self.application.bot

    # ------------------------------------------------------------------ lifecycle

    @asynccontextmanager
    async def running(self) -> AsyncIterator[TelegramChannel]:
        """Run the application (and the long-polling updater if it has one) inside the block.

        When Telegram cannot be reached at start-up the app starts anyway and the channel
        keeps trying in the background (webhook calls get 503 meanwhile, which Telegram
        retries); a refused token turns the channel off.
        """
        retry: asyncio.Task[None] | None = None
        try:
            try:
                await self._start()
            except InvalidToken as exc:
                log.error("Telegram channel off: the token was refused (%s)", exc)
            except TelegramError as exc:
                log.error("Telegram unreachable at start-up (%s); retrying in the background", exc)
                retry = asyncio.create_task(self._start_later())
            yield self
        finally:
            if retry is not None:
                retry.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await retry
            await self._stop()

    async def _start(self) -> None:
        application = self.application
        await application.initialize()
        await self.register_commands()
        await application.start()
        if application.updater is not None:
            await application.updater.start_polling(allowed_updates=list(ALLOWED_UPDATES))
        username = self.bot.username
        log.info(
            "Telegram channel on as @%s (invite links: https://t.me/%s?start=CODE)",
            username,
            username,
        )

    async def _start_later(self) -> None:
        delay = START_RETRY_SECONDS
        while True:
            await asyncio.sleep(delay)
            try:
                await self._start()
            except InvalidToken as exc:
                log.error("Telegram channel off: the token was refused (%s)", exc)
                return
            except TelegramError as exc:
                delay = min(delay * 2, START_RETRY_MAX_SECONDS)
                log.warning("Telegram still unreachable (%s); next try in %.0f s", exc, delay)
            else:
                return

    async def _stop(self) -> None:
        await self._answered_early()
        application = self.application
        if application.updater is not None and application.updater.running:
            await application.updater.stop()
        if application.running:
            await application.stop()
        await application.shutdown()

    async def drain(self) -> None:
        """Wait until every update stored so far is handled (or parked)."""
        await hub.settled(CHANNEL)
        await self._answered_early()

    async def _answered_early(self) -> None:
        """Wait for the answers of clicks sent at intake."""
        while self._early:
            await asyncio.gather(*list(self._early), return_exceptions=True)

    async def register_commands(self) -> None:
        """Set the command menus the core computes from its command table: customers' by
        default, agents' in the agents groups, each staff member's in their private chat."""
        try:
            menus = await anyio.to_thread.run_sync(self.core.menus, CHANNEL)
        except Exception:  # the database is busy or away: the menus wait for the next start
            log.exception("Telegram command menus not computed")
            return
        groups = sorted(set(self.settings.telegram_agents_groups.values()))
        try:
            for menu in menus:
                for scope in commands.scopes(menu, groups):
                    await self.bot.set_my_commands(
                        commands.bot_commands(menu), scope=scope, language_code=menu.lang
                    )
        except TelegramError as exc:
            log.warning("Telegram command menus not set: %s", exc)

    # ------------------------------------------------------------------ webhook intake

    async def ingest(self, body: bytes) -> bool:
        """Store a webhook body in the inbox; False for a redelivered update_id.

        Raises `MalformedUpdateError` (nothing stored) when the body is not an update, and
        `ChannelUnavailableError` (nothing stored; Telegram retries) when not running.
        """
        if not self.application.running:
            raise ChannelUnavailableError("the Telegram channel is not running")
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise MalformedUpdateError("body is not JSON") from exc
        update_id = data.get("update_id") if isinstance(data, dict) else None
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            raise MalformedUpdateError("no update_id")
        try:
            update = Update.de_json(data, self.bot)
        except (TypeError, KeyError, ValueError) as exc:
            raise MalformedUpdateError("not a Telegram update") from exc
        payload = body.decode("utf-8", errors="replace")
        self._parsed.keep(update.update_id, update)  # before the drainer may claim it
        fresh = await self._keep(update, payload)
        if not fresh:  # a redelivery: its first delivery's row is handled from its payload
            self._parsed.take(str(update.update_id))
        return fresh

    async def _keep(self, update: Update, payload: str) -> bool:
        """Store an update under its chat (with the others arriving at once) and ring the
        drainer; False for a redelivery."""
        row = self.store.inbound(
            update_id=update.update_id, payload=payload, now=self.clock(), chat_key=chat_key(update)
        )
        fresh = await self._storing(row)
        if fresh:
            hub.ring()
            self._answer_early(update)
        return fresh

    def _answer_early(self, update: Update) -> None:
        """Stop the spinner of a stored click at once, when its answer carries no text (a step
        button, not an agent's ticket button, whose toast is the core's answer)."""
        query = update.callback_query
        if query is None or (query.data and parse_ticket_action(query.data) is not None):
            return
        if len(self._answered) >= EARLY_ANSWERS_KEPT:
            self._answered.clear()  # a forgotten id is answered twice at worst (refused quietly)
        self._answered.add(query.id)
        task = asyncio.get_running_loop().create_task(self._quietly(query.answer()))
        self._early.add(task)
        task.add_done_callback(self._early.discard)

    def _unanswered(self, query: CallbackQuery) -> bool:
        """Whether the click still needs its answer (not answered when it was stored)."""
        if query.id in self._answered:
            self._answered.discard(query.id)
            return False
        return True

    # ------------------------------------------------------------------ update handling

    async def handle(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """A polled update (the application's only handler): stored in the inbox."""
        if self.claim_updates:
            await self._keep(update, json.dumps(update.to_dict(), ensure_ascii=False))

    async def handle_row(self, row: InboxRow, seal: Seal) -> None:
        """Handle one stored update, claimed by the inbox drainer; `seal` marks it handled in
        the transaction of its effects, with its reply (the drainer marks an update without
        effects). A row handled already (`row.handled`) is answered with its stored reply,
        the core not run again. A send Telegram refuses for good (a 4xx: a blocked bot, a
        deleted chat) is given up; a transient failure is raised for the inbox to retry."""
        if is_truncated(row.payload):
            log.warning("Telegram update %s was stored truncated: parked", row.key)
            await anyio.to_thread.run_sync(seal.give_up, "stored truncated (too large)")
            return
        update = self._parsed.take(row.key) or Update.de_json(json.loads(row.payload), self.bot)
        _seal.set(seal)
        _stored.set(row.reply if row.handled else None)
        try:
            await self.dispatch(update)
        except RetryAfter as exc:
            raise SendLater(str(exc), after=retry_after_seconds(exc)) from exc
        except TelegramError as exc:
            if transient(exc):
                raise
            log.warning("Telegram update %s: its reply is given up: %s", row.key, exc)

    async def dispatch(self, update: Update) -> None:
        """Translate one update and answer it."""
        if update.callback_query is not None:
            await self._on_callback(update.update_id, update.callback_query)
        elif update.message is not None:
            await self._on_message(update.update_id, update.message)
        elif update.my_chat_member is not None:
            await self._on_membership(update)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        update_id = update.update_id if isinstance(update, Update) else None
        log.error("Telegram update %s failed", update_id, exc_info=context.error)

    def _event(
        self,
        *,
        chat_id: int,
        user: User,
        text: str | None = None,
        action: str | None = None,
        attachments: tuple[Attachment, ...] = (),
        reply_to: int | None = None,
    ) -> InboundEvent:
        event = InboundEvent(
            channel=CHANNEL,
            chat_id=str(chat_id),
            user_external_id=str(user.id),
            received_at=self.clock(),
            text=text,
            action=action,
            platform_locale=user.language_code,
            display_name=user.full_name,
            attachments=attachments,
            reply_to=None if reply_to is None else str(reply_to),
        )
        return clean_event(event, default_locale=self.settings.default_locale)

    async def _process(
        self, event: InboundEvent, update_id: int, *, along: Along | None = None
    ) -> Outcome:
        """The core's answer, computed in a worker thread (its transaction ends there, with
        the `along` write); the stored one when the update was handled already."""
        stored = _stored.get()
        if stored is not None:
            return stored
        seal = _seal.get()
        # The text goes first; `_reply` draws the charts after it, in a worker thread.
        return await run_core(
            lambda: self.core(event, seal, draw=False, along=along),
            threads=self.settings.core_threads,
        )

    async def _process_taking(
        self, event: InboundEvent, update_id: int, *, user_id: int, keep: int | None
    ) -> tuple[Outcome, tuple[int, int] | None]:
        """The core's answer, the user's open question in the chat (not `keep`) forgotten in
        the same transaction; with that question (chat, message), whose buttons are stale.
        (An update handled before a stop had its question taken then.)"""
        chat_id = int(event.chat_id)
        take = self.store.open_question_take(chat_id=chat_id, user_id=user_id, keep=keep)
        outcome = await self._process(event, update_id, along=take)
        return outcome, None if take.found is None else (chat_id, take.found)

    async def _set_reachable(self, external_id: str, *, reachable: bool) -> None:
        changed = await anyio.to_thread.run_sync(
            lambda: self.store.set_reachable(external_id=external_id, reachable=reachable)
        )
        if changed:
            log.info("Telegram account %s reachable=%s", external_id, reachable)

    def _addressed(self, message: Message, text: str) -> bool:
        """In a group, only commands for this bot and replies to its messages are for it."""
        if text.startswith("/"):
            head = text.split(maxsplit=1)[0]
            _name, at, target = head.partition("@")
            return not at or target.lower() == (self.bot.username or "").lower()
        replied = message.reply_to_message
        return (
            replied is not None
            and replied.from_user is not None
            and replied.from_user.id == self.bot.id
        )

    async def _on_message(self, update_id: int, message: Message) -> None:
        if message.migrate_to_chat_id is not None:
            self.migrate_group(message.chat.id, message.migrate_to_chat_id)
            return
        user = message.from_user
        text = message.text or message.caption or ""
        files = attachments_of(message)
        group = message.chat.type in GROUP_TYPES
        if (
            user is None
            or user.is_bot
            or not (text or files)
            or (group and not self._addressed(message, text))
        ):
            return
        if group and not text.startswith("/") and message.reply_to_message is not None:
            reference = await anyio.to_thread.run_sync(
                lambda: self.store.ticket_of_message(
                    chat_id=str(message.chat.id),
                    message_id=message.reply_to_message.message_id,  # type: ignore[union-attr]
                )
            )
            if reference is not None:
                await self._relay(update_id, message, user, reference, text, files)
                return
        event = self._event(
            chat_id=message.chat.id,
            user=user,
            text=text or None,
            attachments=files,
            reply_to=replied_bot_message(message, self.bot.id),
        )
        # A typed answer makes the buttons of the question it answers stale: they go while
        # the answer is sent.
        outcome, stale = await self._process_taking(event, update_id, user_id=user.id, keep=None)
        closing = asyncio.ensure_future(self._strip(stale))
        try:
            if group and outcome.cancelled:
                await self._react(message)  # seen; the room hears nothing of it
            else:
                await self._reply(message.chat.id, user, outcome, group, reply_to=message)
        finally:
            await closing

    def migrate_group(self, old: int, new: int) -> list[str]:
        """A group became a supergroup with a new id: the agents-group mapping follows it (in
        this process; the operator is told to update the setting). Providers moved."""
        groups = self.settings.telegram_agents_groups
        moved = sorted(code for code, chat in groups.items() if chat == old)
        for code in moved:
            groups[code] = new
        if moved:
            log.warning(
                "Telegram agents group of %s moved from %s to %s (now a supergroup); "
                "set SUPPORTBOT_TELEGRAM_AGENTS_GROUPS accordingly",
                ", ".join(moved),
                old,
                new,
            )
        else:
            log.info("Telegram group %s moved to %s (not an agents group)", old, new)
        return moved

    async def _relay(
        self,
        update_id: int,
        message: Message,
        user: User,
        reference: str,
        text: str,
        files: tuple[Attachment, ...] = (),
    ) -> None:
        """A reply to a ticket's ping (or another bot message about it) in an agents group:
        a reply to the customer, or an internal note with the note prefix. A reaction says
        it reached the ticket; a refusal is answered in the group, to that agent."""
        command = relayed_command(reference, text, self.settings.note_prefix)
        event = self._event(chat_id=message.chat.id, user=user, text=command, attachments=files)
        outcome = await self._process(event, update_id)
        if outcome.acted is not None:
            await self._react(message)
            return
        await self._reply(message.chat.id, user, outcome, True, reply_to=message)

    async def _react(self, message: Message) -> None:
        """Mark an agent's message in a group as handled (a reaction, not a post)."""
        await self._quietly(
            self.bot.set_message_reaction(
                chat_id=message.chat.id, message_id=message.message_id, reaction=RELAYED_REACTION
            )
        )

    async def _on_callback(self, update_id: int, query: CallbackQuery) -> None:
        data = query.data
        message = query.message if isinstance(query.message, Message) else None
        if not data:
            if self._unanswered(query):
                await self._quietly(query.answer())
            return
        chat = query.message.chat if query.message is not None else None
        chat_id = chat.id if chat is not None else query.from_user.id
        group = chat is not None and chat.type in GROUP_TYPES
        event = self._event(chat_id=chat_id, user=query.from_user, action=data)
        if parse_ticket_action(data) is not None:
            await self._on_ticket_button(query, message, event, update_id, group=group)
            return
        label = render.button_label(_keyboard(message), data)
        # In a group, only the person a question addresses closes it; a bystander's click
        # is answered by the core (the choice is not theirs) and leaves the buttons.
        mine = not group or (message is not None and addresses(message, query.from_user.id))
        keep = message.message_id if message is not None else None
        # Answering the click and closing its question do not depend on the core's answer:
        # they run while the core works and while its answer is sent; an older question's
        # stale buttons go once the core has taken it.
        work = asyncio.ensure_future(
            self._process_taking(event, update_id, user_id=query.from_user.id, keep=keep)
        )
        answer = query.answer() if self._unanswered(query) else asyncio.sleep(0)
        closing = asyncio.gather(
            self._quietly(answer),
            self._quietly(self._close_question(message if mine else None, label)),
        )
        stripping: asyncio.Future[None] | None = None
        try:
            outcome, stale = await work
            stripping = asyncio.ensure_future(self._strip(stale))
            await self._reply(chat_id, query.from_user, outcome, group, within=message)
        finally:
            await closing
            if stripping is not None:
                await stripping

    async def _close_question(self, message: Message | None, label: str | None) -> None:
        """Replace the question's keyboard by the option picked, so no stale button stays."""
        if message is None or message.reply_markup is None:
            return
        text = None
        if label is not None and message.text:
            text = render.with_line(message.text_html, render.picked_line(label))
        await self._edit(message, text, None)

    async def _strip(self, stale: tuple[int, int] | None) -> None:
        """Remove the keyboard of a stale question (chat, message) (best effort)."""
        if stale is None:
            return
        chat_id, message_id = stale

        async def attempt() -> object:
            await self.limiter.acquire_global()
            return await self.bot.edit_message_reply_markup(
                chat_id=chat_id, message_id=message_id, reply_markup=None
            )

        await self._quietly(self._with_retry_after(attempt, str(chat_id)))

    async def _take_open_question(
        self, chat_id: int, user_id: int, *, keep: int | None
    ) -> tuple[int, int] | None:
        """The last question with buttons asked to this user in this chat (not `keep`), as
        (chat, message), forgotten now (the database keeps it: restarts and other processes
        see it too)."""
        found = await anyio.to_thread.run_sync(
            lambda: self.store.take_open_question(chat_id=chat_id, user_id=user_id, keep=keep)
        )
        return None if found is None else (chat_id, found)

    async def _reply(
        self,
        chat_id: int,
        user: User,
        outcome: Outcome,
        group: bool,
        *,
        replies: Sequence[Reply] | None = None,
        reply_to: Message | None = None,
        within: Message | None = None,
    ) -> None:
        """Answer a user (the outcome's replies, or `replies` of it) in the forum topic of
        the message answered (`reply_to` or `within`); the open question's message with
        buttons is remembered, to close it later. A question dropped in a group posts
        nothing: its closed keyboard already shows the choice."""
        if group and outcome.cancelled:
            return
        sent = await self._send_all(
            chat_id,
            outcome.replies if replies is None else replies,
            group=group,
            mention=render.mention_html(user.id, user.first_name) if group else None,
            reply_to=reply_to.message_id if group and reply_to is not None else None,
            thread_id=topic_of(reply_to or within),
        )
        files = await anyio.to_thread.run_sync(outcome.drawn_files) if outcome.files else []
        for file in files:
            await self._send_file(chat_id, file, thread_id=topic_of(reply_to or within))
        question = outcome.question
        if outcome.ticket is not None:
            # A reply to any of these reaches the ticket, like a reply to its ping (in a
            # group) or a customer's reply to a notification; a question is not among them:
            # a reply to it is its answer.
            about = [m.message_id for r, m in sent if question is None or r is not question.reply]
            if about:
                await self._remember_answer(chat_id, outcome.ticket, about)
        asked = [
            message
            for reply, message in sent
            if question is not None
            and reply is question.reply
            and isinstance(message.reply_markup, InlineKeyboardMarkup)
        ]
        if asked:
            message_id, now = asked[-1].message_id, self.clock()
            await self._after_reply(
                self.store.open_question_keeper(
                    chat_id=chat_id, user_id=user.id, message_id=message_id, now=now
                )
            )

    async def _remember_answer(self, chat_id: int, reference: str, ids: list[int]) -> None:
        # the answers are sent; should this fail, only later relays of replies to them suffer
        await self._after_reply(
            self.store.answer_keeper(reference=reference, chat_id=str(chat_id), message_ids=ids)
        )

    async def _after_reply(self, write: Along) -> None:
        await after_reply(_seal.get(), write, run=self.store.run)

    async def _on_ticket_button(
        self,
        query: CallbackQuery,
        message: Message | None,
        event: InboundEvent,
        update_id: int,
        *,
        group: bool,
    ) -> None:
        """An agent ping button: act through the core, then update the ping.

        The action's summary (or the refusal) is the button's toast; the ping shows who did
        what and keeps only the buttons the core says still apply.
        """
        outcome = await self._process(event, update_id)
        acted, refusal = outcome.acted, outcome.refusal
        toast = acted.summary if acted is not None else refusal.text if refusal else None
        replies = [r for r in outcome.replies if toast is None or r != Text(toast)]
        await self._quietly(
            query.answer(
                text=toast[:CALLBACK_TEXT_LIMIT] if toast else None,
                show_alert=acted is None and toast is not None,
            )
        )
        if acted is None and refusal is None and not group:
            # A customer's button (solved, a rating) is answered: its keyboard goes.
            await self._strip(None if message is None else (message.chat.id, message.message_id))
        if acted is not None and message is not None:
            markup = render.keyboard(acted.options)
            line = render.done_line(query.from_user.full_name, acted.summary)
            text = render.with_line(message.text_html, line) if message.text else None
            await self._quietly(self._edit(message, text, markup))
        if replies:
            chat_id, user_id = int(event.chat_id), query.from_user.id
            stale = await self._take_open_question(chat_id, user_id, keep=None)
            await self._strip(stale)
            await self._reply(
                chat_id, query.from_user, outcome, group, replies=replies, within=message
            )

    async def _on_membership(self, update: Update) -> None:
        """A user blocked or unblocked the bot, or the bot joined or left a group."""
        change = update.my_chat_member
        assert change is not None
        status = change.new_chat_member.status
        if change.chat.type == Chat.PRIVATE:
            reachable = status not in (ChatMemberStatus.BANNED, ChatMemberStatus.LEFT)
            await self._set_reachable(str(change.chat.id), reachable=reachable)
        else:
            log.info(
                "bot is now %s in Telegram chat %s (%s)", status, change.chat.id, change.chat.title
            )

    # ------------------------------------------------------------------ output

    async def send_replies(
        self,
        chat_id: int | str,
        replies: Sequence[Reply],
        *,
        group: bool = False,
        mention: str | None = None,
        reply_to: int | None = None,
        thread_id: int | None = None,
    ) -> list[Message]:
        """Send the core's replies to a chat (a forum topic), in order; the messages sent."""
        sent = await self._send_all(
            chat_id, replies, group=group, mention=mention, reply_to=reply_to, thread_id=thread_id
        )
        return [message for _reply, message in sent]

    async def _send_all(
        self,
        chat_id: int | str,
        replies: Sequence[Reply],
        *,
        group: bool,
        mention: str | None,
        reply_to: int | None,
        thread_id: int | None = None,
    ) -> list[tuple[Reply, Message]]:
        """Send replies in order; each message sent with the reply it renders."""
        sent: list[tuple[Reply, Message]] = []
        for reply in replies:
            for outgoing in render.render(reply, group=group, mention=mention):
                first = not sent
                message = await self.send(
                    chat_id,
                    outgoing,
                    reply_to=reply_to if first else None,
                    thread_id=thread_id,
                )
                if message is not None:
                    sent.append((reply, message))
        return sent

    async def _send_file(self, chat_id: int, file: OutgoingFile, *, thread_id: int | None) -> None:
        """Send a file of the answer (a chart, an export), retried like a message."""

        async def attempt() -> Message:
            await self.limiter.acquire_global()
            return await upload_file(self.bot, chat_id, file, thread_id=thread_id)

        try:
            await self._with_retry_after(attempt, str(chat_id))
        except TelegramError as exc:
            if transient(exc):
                raise
            log.warning("file for Telegram chat %s not sent: %s", chat_id, exc)

    async def send(
        self,
        chat_id: int | str,
        outgoing: render.Outgoing,
        *,
        reply_to: int | None = None,
        thread_id: int | None = None,
    ) -> Message | None:
        """Send one message (in a forum topic when `thread_id`), retried on transient errors;
        None when Telegram refuses it for good (logged), a transient failure raised after the
        last try."""
        parameters = (
            ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None
        )

        async def attempt() -> Message:
            await self.limiter.acquire_global()
            return await self.bot.send_message(  # type: ignore[no-any-return]
                chat_id=chat_id,
                text=outgoing.text,
                parse_mode=ParseMode.HTML,
                reply_markup=outgoing.markup,
                link_preview_options=NO_PREVIEW,
                reply_parameters=parameters,
                message_thread_id=thread_id,
            )

        try:
            return await self._with_retry_after(attempt, str(chat_id))
        except Forbidden as exc:
            log.info("Telegram chat %s refuses messages: %s", chat_id, exc)
            await self._set_reachable(str(chat_id), reachable=False)
        except TelegramError as exc:
            if transient(exc):
                raise
            log.warning("reply to Telegram chat %s not sent: %s", chat_id, exc)
        return None

    async def _with_retry_after(self, attempt: Callable[[], Awaitable[T]], chat_id: str) -> T:
        """Call `attempt`, again after a short flood-control pause or a transient error (5xx,
        time-out, network), up to `INTERACTIVE_ATTEMPTS` tries; other errors are raised."""
        for tries in range(1, INTERACTIVE_ATTEMPTS + 1):
            try:
                return await attempt()
            except RetryAfter as exc:
                wait = retry_after_seconds(exc)
                self.limiter.block(chat_id, wait)
                if wait > MAX_RETRY_AFTER or tries == INTERACTIVE_ATTEMPTS:
                    raise
            except BadRequest:
                raise
            except NetworkError as exc:  # a 5xx answer, a time-out, a broken connection
                if tries == INTERACTIVE_ATTEMPTS:
                    raise
                wait = TRANSIENT_BACKOFF[min(tries, len(TRANSIENT_BACKOFF)) - 1]
                log.info("Telegram call to %s failed (%s); retrying in %.1f s", chat_id, exc, wait)
            await self.sleep(wait)
        raise AssertionError("unreachable")  # the last try returns or raises

    async def _edit(
        self, message: Message, text: str | None, markup: InlineKeyboardMarkup | None
    ) -> None:
        """Edit a message's text and keyboard (only the keyboard when `text` is None)."""
        chat_id = message.chat.id

        async def attempt() -> object:
            await self.limiter.acquire_global()
            if text is None:
                return await self.bot.edit_message_reply_markup(
                    chat_id=chat_id, message_id=message.message_id, reply_markup=markup
                )
            return await self.bot.edit_message_text(
                text=text,
                chat_id=chat_id,
                message_id=message.message_id,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                link_preview_options=NO_PREVIEW,
            )

        await self._with_retry_after(attempt, str(chat_id))

    async def _quietly(self, call: Awaitable[object]) -> None:
        """Await a best-effort call (answer a button, edit a message): failures are logged."""
        try:
            await call
        except BadRequest as exc:  # e.g. "message is not modified", a too old callback
            log.debug("Telegram call refused: %s", exc)
        except TelegramError as exc:
            log.warning("Telegram call failed: %s", exc)


class ParsedUpdates:
    """The updates stored by this webhook, parsed, until the drainer takes them (the oldest
    are dropped beyond `PARSED_KEPT`: an update not found here is parsed from its row)."""

    def __init__(self) -> None:
        self._updates: dict[str, Update] = {}

    def keep(self, update_id: int, update: Update) -> None:
        """Keep a stored update's parsed form."""
        if len(self._updates) >= PARSED_KEPT:
            self._updates.pop(next(iter(self._updates)))
        self._updates[str(update_id)] = update

    def take(self, key: str) -> Update | None:
        """The parsed update of an inbox row's key, forgotten now (None if not kept)."""
        return self._updates.pop(key, None)


def transient(error: TelegramError) -> bool:
    """Whether sending again may work: a flood-control answer, a 5xx, a time-out or a broken
    connection (a 4xx refusal, `BadRequest` or `Forbidden`, will not change)."""
    if isinstance(error, RetryAfter):
        return True
    return isinstance(error, NetworkError) and not isinstance(error, BadRequest)


def chat_key(update: Update) -> str:
    """The chat whose updates are handled one at a time, in order (the update's own key when
    it has no chat)."""
    query = update.callback_query
    if query is not None and query.message is None:
        return f"chat:{query.from_user.id}"
    chat = update.effective_chat
    if chat is not None:
        return f"chat:{chat.id}"
    user = update.effective_user
    return f"user:{user.id}" if user is not None else f"update:{update.update_id}"


def replied_bot_message(message: Message, bot_id: int) -> int | None:
    """The id of the bot's message this one replies to (a customer answering a ticket's
    message), or None."""
    replied = message.reply_to_message
    if replied is None or replied.from_user is None or replied.from_user.id != bot_id:
        return None
    return replied.message_id


def topic_of(message: Message | None) -> int | None:
    """The forum topic a message belongs to (None outside forum topics)."""
    if message is None or not message.is_topic_message:
        return None
    return message.message_thread_id


def _keyboard(message: Message | None) -> InlineKeyboardMarkup | None:
    return message.reply_markup if message is not None else None


def addresses(message: Message, user_id: int) -> bool:
    """Whether a bot message in a group is meant for `user_id` (mentions or answers them)."""
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and replied.from_user.id == user_id:
        return True
    return any(
        entity.type == MessageEntityType.TEXT_MENTION
        and entity.user is not None
        and entity.user.id == user_id
        for entity in message.entities
    )
