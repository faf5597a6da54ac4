"""slack-bolt's `AsyncApp` wired to the core.

Every listener stores its event in the inbox (deduplicated: `event_id`, or the
interaction's `trigger_id`) before it acknowledges; the process's inbox drainer then hands
it to `handle_row` in chat order, and the core marks it handled in the transaction of its
effects, keeping its outcome there as the reply (no transaction is open during a Slack call);
should this process stop before the reply is posted, a later drainer hands the row back
"reply only" and the stored outcome is posted without running the core again. The one
exception is a modal submission: Slack wants validation errors in the acknowledgement, so
its row is stored already claimed and handled inline, before `ack(response_action=…)`,
well within the 3 seconds (if that fails, the drainer handles it later and updates the
modal).

Where replies go:
- slash commands, DM messages, Home buttons: the user's direct messages with the app (the
  conversation's chat id is the Slack user id, like the outbox's customer messages);
- a step button: the message it came from loses its buttons and shows the choice, the next
  question is posted below it;
- a ticket button (agent ping): the message is updated in place with the core's answer; a
  follow-up question (a pause reason) opens a modal;
- a modal: each submission answers the current step and the modal shows the next one, or the
  core's refusal as an input error.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from slack_bolt.adapter.starlette.async_handler import (
    AsyncSlackRequestHandler,
    to_async_bolt_request,
    to_starlette_response,
)
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient
from starlette.requests import Request
from starlette.responses import Response

from bot.channels.core_threads import run_core
from bot.channels.group_commit import GroupCommit
from bot.channels.inbox import InboxRow, SendLater, after_reply, hub
from bot.channels.slack.blocks import (
    HOME_NEW_CHAT,
    HOME_NEW_MODAL,
    STEP_CALLBACK,
    Block,
    Chrome,
    StepMeta,
    answered,
    has_actions,
    loading_view,
    messages,
    ping_update,
    slack_words,
    step_view,
    submitted_answer,
    unescape,
)
from bot.channels.slack.files import attachments_of, upload
from bot.channels.slack.home import home_blocks
from bot.channels.slack.store import CHANNEL, QuestionPeek, SlackStore
from bot.i18n import normalize_language, translator
from bot.settings import Settings
from handlers.core import Core, clean_event
from handlers.model import (
    Along,
    Attachment,
    ClaimLostError,
    InboundEvent,
    Outcome,
    Reply,
    Seal,
    Text,
    parse_ticket_action,
    relayed_command,
    reply_text,
)

log = logging.getLogger(__name__)

USER_CACHE_SECONDS = 3600.0
RELAYED_REACTION = "white_check_mark"  # an agent's thread message reached the ticket
MODAL_WORDS = frozenset({"modal", "form", "formulaire", "formulier"})
ERROR_LIMIT = 1000
FILE_SHARE = "file_share"  # a message with files (`files:read`): its files join the ticket

#: The seal of the inbox row being handled (set per row task by `handle_row`).
_seal: contextvars.ContextVar[Seal | None] = contextvars.ContextVar("slack_seal", default=None)
#: The stored reply of a row handled already, sent without running the core again.
_stored: contextvars.ContextVar[Outcome | None] = contextvars.ContextVar(
    "slack_stored", default=None
)
#: Slack's answers that sending again may change (besides 429 and 5xx statuses).
TRANSIENT_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)


@dataclass(frozen=True)
class Posted:
    """A question message in a DM, remembered to remove its buttons once it is stale."""

    channel: str
    ts: str
    text: str
    blocks: list[Block]
    token: str | None

    def dump(self) -> str:
        """As stored in the open questions table."""
        return json.dumps(
            {
                "channel": self.channel,
                "ts": self.ts,
                "text": self.text,
                "blocks": self.blocks,
                "token": self.token,
            }
        )

    @staticmethod
    def load(body: str | None) -> Posted | None:
        """Read a stored question (None for nothing stored)."""
        if not body:
            return None
        data = json.loads(body)
        return Posted(
            channel=str(data["channel"]),
            ts=str(data["ts"]),
            text=str(data["text"]),
            blocks=list(data["blocks"]),
            token=data.get("token"),
        )


def _micros(ts: object) -> int:
    """A Slack `ts` ("1790000100.000123") as microseconds; now when there is none."""
    try:
        return int(round(float(str(ts)) * 1_000_000))
    except ValueError:
        return int(time.time() * 1_000_000)


def transient(error: SlackApiError) -> bool:
    """Whether calling again may work: a 429, a 5xx, or an error Slack says is passing."""
    status = getattr(error.response, "status_code", 200)
    code = error.response.get("error") if error.response is not None else None
    return status == 429 or status >= 500 or code in TRANSIENT_ERRORS


def _retry_after(error: SlackApiError) -> float:
    """The seconds a 429 answer asks to wait (0 when it says nothing)."""
    headers = getattr(error.response, "headers", None) or {}
    value = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return max(float(value), 0.0) if value is not None else 0.0
    except (TypeError, ValueError):
        return 0.0


def _api_error(error: SlackApiError) -> str:
    """The error code of a refused call (never the request)."""
    code = error.response.get("error") if error.response is not None else None
    return str(code or type(error).__name__)


def core_text(text: str) -> str:
    """What follows the slash command, as the core's command (`new` → `/new`)."""
    text = text.strip()
    if not text:
        return "/help"
    return text if text.startswith("/") else "/" + text


def _action_value(action: dict[str, Any]) -> tuple[str, str | None]:
    """The payload a button or select carries, and the label the user saw."""
    selected = action.get("selected_option")
    if selected:
        return str(selected.get("value", "")), selected.get("text", {}).get("text")
    return str(action.get("value", "")), action.get("text", {}).get("text")


def _user_team(body: dict[str, Any]) -> str | None:
    user = body.get("user")
    if isinstance(user, dict) and user.get("team_id"):
        return str(user["team_id"])
    team = body.get("team")
    if isinstance(team, dict) and team.get("id"):
        return str(team["id"])
    event = body.get("event")
    if isinstance(event, dict) and event.get("user_team"):
        return str(event["user_team"])
    return str(body["team_id"]) if body.get("team_id") else None


class SlackAdapter:
    """The Slack channel: a bolt `AsyncApp` whose listeners translate to and from the core."""

    def __init__(
        self,
        *,
        settings: Settings,
        store: SlackStore,
        core: Core,
        client: AsyncWebClient | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.store = store
        self.core = core
        self.clock = clock
        self.command = settings.slack_command
        # Events arriving together are stored in one transaction.
        self._storing = GroupCommit(store.store_events)
        token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
        # Interactive replies wait out one 429 (Retry-After) and go; the outbox client reports
        # it to the worker instead, which reschedules the message.
        self.client = client or AsyncWebClient(
            token=token,
            base_url=settings.slack_api_url,
            retry_handlers=[
                AsyncConnectionErrorRetryHandler(),
                AsyncRateLimitErrorRetryHandler(max_retry_count=1),
            ],
        )
        self.outbox_client = AsyncWebClient(token=self.client.token, base_url=self.client.base_url)
        secret = settings.slack_signing_secret
        self.app = AsyncApp(
            name="supportbot",
            client=self.client,
            signing_secret=secret.get_secret_value() if secret is not None else "",
            process_before_response=True,  # listeners store the event, then acknowledge
        )
        self.handler = AsyncSlackRequestHandler(self.app)
        # Requests reach bolt verified (`verify.refusal`); its own refusal log holds the body.
        logging.getLogger("slack_bolt.RequestVerification").setLevel(logging.WARNING)
        logging.getLogger("slack_bolt.AsyncRequestVerification").setLevel(logging.WARNING)
        self._tasks: set[asyncio.Task[None]] = set()
        self._users: dict[str, tuple[float, str | None, str | None]] = {}
        self._own_session: aiohttp.ClientSession | None = None
        self._register()

    async def dispatch(self, request: Request, body: bytes) -> Response:
        """Hand a verified request (its body already read) to bolt."""
        response = await self.app.async_dispatch(to_async_bolt_request(request, body))
        return to_starlette_response(response)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Open one HTTP session for every Web API call (call inside the event loop)."""
        if self.client.session is None:
            self._own_session = aiohttp.ClientSession()
            self.client.session = self._own_session
        self.outbox_client.session = self.client.session

    async def close(self) -> None:
        """Finish the work in flight and close the HTTP session."""
        await self.drain()
        if self._own_session is not None:
            await self._own_session.close()
            self.client.session = self.outbox_client.session = None
            self._own_session = None

    async def drain(self) -> None:
        """Wait until every stored event is handled and every task started has finished."""
        await hub.settled(CHANNEL)
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        async def guarded() -> None:
            try:
                await work
            except Exception:
                log.exception("slack work failed")

        task = asyncio.get_running_loop().create_task(guarded())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _register(self) -> None:
        app = self.app
        app.command(self.command)(self._on_command)
        app.action(re.compile(r"^sb[:-]"))(self._on_action)
        app.view(STEP_CALLBACK)(self._on_submit)
        app.event("message")(self._on_message)
        app.event("app_home_opened")(self._on_home_opened)

    # ------------------------------------------------------------------ listeners

    async def _on_command(self, ack: AsyncAck, command: dict[str, Any]) -> None:
        user_id = str(command["user_id"])
        key = f"command:{command.get('trigger_id') or uuid.uuid4().hex}"
        await self._keep("command", key, chat=user_id, seq=None, data={"command": command})
        await ack()

    async def _on_action(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        user_id = str(body["user"]["id"])
        container = body.get("container") or {}
        channel_id = str(container.get("channel_id") or body.get("channel", {}).get("id") or "")
        direct = container.get("type") == "view" or channel_id.startswith("D") or not channel_id
        trigger = body.get("trigger_id") or uuid.uuid4().hex
        key = f"action:{trigger}:{action.get('action_id', '')}"
        data = {"body": body, "action": action}
        chat = user_id if direct else channel_id
        # Ordered by Slack's own time of the click, like messages by their `ts`.
        order = _micros(action["action_ts"]) if action.get("action_ts") else None
        await self._keep("action", key, chat=chat, seq=order, data=data)
        await ack()

    async def _on_message(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        subtype = event.get("subtype")
        if (subtype and subtype != FILE_SHARE) or event.get("bot_id") or not event.get("user"):
            return
        thread = event.get("thread_ts")
        in_thread = (
            event.get("channel_type") in ("channel", "group")
            and thread
            and thread != event.get("ts")
        )
        if not in_thread and event.get("channel_type") != "im":
            return
        chat = str(event.get("channel")) if in_thread else str(event["user"])
        key = str(body.get("event_id") or f"message:{event.get('channel')}:{event.get('ts')}")
        await self._keep(
            "message",
            key,
            chat=chat,
            seq=_micros(event.get("ts")),
            data={"body": body, "event": event},
        )

    async def _on_home_opened(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        if event.get("tab", "home") != "home":
            return
        user_id = str(event["user"])
        key = str(body.get("event_id") or f"home:{user_id}:{event.get('event_ts')}")
        data = {"user": user_id, "team": _user_team(body)}
        await self._keep("home", key, chat=f"home:{user_id}", seq=None, data=data)

    async def _keep(
        self, kind: str, key: str, *, chat: str, seq: int | None, data: dict[str, Any]
    ) -> None:
        """Store an event in the inbox (before Slack hears back) and ring the drainer."""
        payload = json.dumps({"kind": kind, **data}, separators=(",", ":"))
        order = seq if seq is not None else _micros(None)
        row = self.store.inbound(
            key=key, payload=payload, chat_key=f"chat:{chat}", seq=order, now=self.clock()
        )
        if await self._storing(row) is None:  # with the others arriving at once
            log.info("slack retry of %s ignored", key)
            return
        hub.ring()

    async def handle_row(self, row: InboxRow, seal: Seal) -> None:
        """Handle one stored event, claimed by the inbox drainer; `seal` marks it handled in
        the transaction of its effects, with its reply (the drainer marks an event without
        effects). A row handled already (`row.handled`) is answered with its stored reply,
        the core not run again. A call Slack refuses for good (an error answer such as
        `channel_not_found`, `expired_trigger_id`) is given up; a transient failure (429,
        5xx, network) is raised for the inbox to retry."""
        try:
            data: dict[str, Any] = json.loads(row.payload)
        except ValueError:
            log.warning("Slack event %s was stored truncated: parked", row.key)
            await asyncio.to_thread(seal.give_up, "stored truncated (too large)")
            return
        _seal.set(seal)
        _stored.set(row.reply if row.handled else None)
        try:
            await self._handle(data)
        except SlackApiError as exc:
            if not transient(exc):
                log.warning("Slack event %s: its reply is given up: %s", row.key, _api_error(exc))
                return
            after = _retry_after(exc)
            if after:
                raise SendLater(_api_error(exc), after=after) from exc
            raise

    async def _handle(self, data: dict[str, Any]) -> None:
        kind = data.get("kind")
        if kind == "command":
            await self._command(data["command"])
        elif kind == "action":
            await self._action(data["body"], data["action"])
        elif kind == "message":
            await self._message(data["body"], data["event"])
        elif kind == "home":
            await self.publish_home(str(data["user"]), team=data.get("team"))
        elif kind == "submit":
            await self._late_submit(data["body"])

    async def _command(self, command: dict[str, Any]) -> None:
        text = unescape(command.get("text") or "").strip()
        user_id = str(command["user_id"])
        team = command.get("team_id")
        words = text.lower().split()
        if len(words) >= 2 and words[0] == "new" and words[1] in MODAL_WORDS:
            trigger = str(command["trigger_id"])
            await self._open_modal(user_id=user_id, team=team, trigger_id=trigger)
            return
        await self._chat(user_id=user_id, team=team, text=core_text(text))

    async def _message(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        thread = event.get("thread_ts")
        if event.get("channel_type") != "im":
            await self._thread_message(body, event)
            return
        await self._chat(
            user_id=str(event["user"]),
            team=_user_team(body),
            text=unescape(str(event.get("text") or "")) or None,
            attachments=attachments_of(event),
            reply_to=str(thread) if thread and thread != event.get("ts") else None,
        )

    async def _on_submit(self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        meta = StepMeta.load(str(view.get("private_metadata") or ""))
        if meta is None:
            await ack()
            return
        seal = await self._keep_claimed(body, meta.chat_id)
        if seal is None:
            await ack()
            return
        _seal.set(seal)
        try:
            await self._submit_inline(ack, body, view, meta)
        finally:
            await asyncio.to_thread(seal.release)

    async def _submit_inline(
        self,
        ack: AsyncAck,
        body: dict[str, Any],
        view: dict[str, Any],
        meta: StepMeta,
    ) -> None:
        """Run the core on a submission stored claimed, and answer in the acknowledgement."""
        user_id = str(body["user"]["id"])
        event = await self._submitted_event(body, view, meta)
        try:
            outcome = await self._run(event)
        except ClaimLostError:
            await ack()
            return
        except Exception:
            # Stored: the drainer handles it again once its claim ends, and updates the modal.
            log.exception("modal submission of %s failed; it will be handled again", user_id)
            await ack()
            return
        if outcome is None:
            await ack()
            return
        block_id = submitted_answer(view)[0]
        question, refusal = outcome.question, outcome.refusal
        same_step = question is not None and question.token == meta.token
        if block_id and refusal is not None and same_step:
            # The core refused the answer and asks the same step again: show why, in place.
            message = slack_words(refusal.text, self.command)
            await ack(response_action="errors", errors={block_id: message[:ERROR_LIMIT]})
            return
        view_out = self._view(outcome, meta.chat_id, meta.origin)
        await ack(response_action="update", view=view_out)
        self._spawn(self._after(user_id, outcome, origin=meta.origin, done=question is None))

    async def _keep_claimed(self, body: dict[str, Any], chat_id: str) -> Seal | None:
        """Store a modal submission already claimed by this process; its seal, or None
        (a retry, or no drainer to adopt it)."""
        token = uuid.uuid4().hex
        lease_end = datetime.now(UTC) + timedelta(seconds=self.settings.inbox_lease_seconds)
        key = f"submit:{body.get('trigger_id') or uuid.uuid4().hex}"
        payload = json.dumps({"kind": "submit", "body": body}, separators=(",", ":"))
        chat = f"chat:{chat_id}"

        def run() -> int | None:
            return self.store.store_event(
                self.store.inbound(
                    key=key,
                    payload=payload,
                    chat_key=chat,
                    seq=_micros(None),
                    now=self.clock(),
                    claim=(token, lease_end),
                )
            )

        row_id = await asyncio.to_thread(run)
        if row_id is None:
            return None
        row = InboxRow(
            id=row_id, channel=CHANNEL, key=key, chat_key=chat, payload="", attempts=1, final=False
        )
        return hub.adopt(row, token)

    async def _submitted_event(
        self, body: dict[str, Any], view: dict[str, Any], meta: StepMeta
    ) -> InboundEvent:
        block_id, selected, typed = submitted_answer(view)
        action = selected or (meta.submit if block_id is None else None)
        return await self._event(
            user_id=str(body["user"]["id"]),
            chat_id=meta.chat_id,
            team=_user_team(body),
            text=None if action else (typed or ""),
            action=action,
        )

    async def _late_submit(self, body: dict[str, Any]) -> None:
        """A modal submission handled after its acknowledgement: the modal is updated."""
        view: dict[str, Any] = body.get("view") or {}
        meta = StepMeta.load(str(view.get("private_metadata") or ""))
        if meta is None:
            return
        outcome = await self._run(await self._submitted_event(body, view, meta))
        if outcome is None:
            return
        try:
            await self.client.views_update(
                view_id=str(view.get("id")), view=self._view(outcome, meta.chat_id, meta.origin)
            )
        except SlackApiError as exc:
            log.info("modal not updated after a late submission: %s", exc)
        user_id = str(body["user"]["id"])
        done = outcome.question is None
        await self._after(user_id, outcome, origin=meta.origin, done=done)

    # ------------------------------------------------------------------ work

    async def _chat(
        self,
        *,
        user_id: str,
        team: str | None,
        text: str | None = None,
        action: str | None = None,
        attachments: tuple[Attachment, ...] = (),
        reply_to: str | None = None,
    ) -> None:
        """One event in the user's DM conversation; the replies are posted there (a reply
        to a thread under a ticket's message joins the ticket, which `reply_to` says)."""
        event = await self._event(
            user_id=user_id, chat_id=user_id, team=team, text=text, action=action
        )
        if attachments:
            attachments = await self._complete(attachments)
        event = dataclasses.replace(event, attachments=attachments, reply_to=reply_to)
        peek = self.store.question_peek(user_id=user_id)
        outcome = await self._run(event, along=peek)
        if outcome is None:
            return
        posted = await self._post_dm(user_id, outcome, known=await self._known(peek, user_id))
        if outcome.ticket is not None and posted:
            await self._remember(outcome.ticket, user_id, posted)
        await self._after(user_id, outcome, origin=None, done=False)

    async def _thread_message(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        """A message in a ticket's thread of an agents channel: a reply to the customer, or
        an internal note with the note prefix. A reaction says it reached the ticket; a
        refusal is shown to its author only."""
        channel, thread = str(event["channel"]), str(event["thread_ts"])
        reference = await asyncio.to_thread(
            lambda: self.store.ticket_of_thread(chat_id=channel, ts=thread)
        )
        if reference is None:
            return  # a thread that is not a ticket's
        user_id = str(event["user"])
        text = unescape(str(event.get("text") or ""))
        command = relayed_command(reference, text, self.settings.note_prefix)
        core_event = await self._event(
            user_id=user_id, chat_id=channel, team=_user_team(body), text=command
        )
        files = await self._complete(attachments_of(event))
        core_event = dataclasses.replace(core_event, attachments=files)
        outcome = await self._run(core_event)
        if outcome is None:
            return
        if outcome.acted is not None:
            await self.client.reactions_add(
                channel=channel, timestamp=str(event["ts"]), name=RELAYED_REACTION
            )
            return
        await self._ephemeral(channel, user_id, outcome.replies, thread_ts=thread)

    async def _action(self, body: dict[str, Any], action: dict[str, Any]) -> None:
        user_id = str(body["user"]["id"])
        team = _user_team(body)
        container = body.get("container") or {}
        if container.get("type") == "view":
            await self._view_action(body, action, user_id=user_id, team=team)
            return
        payload, label = _action_value(action)
        channel_id = str(container.get("channel_id") or body.get("channel", {}).get("id") or "")
        ts = str(container.get("message_ts") or "")
        direct = channel_id.startswith("D")
        chat_id = user_id if direct else channel_id
        message: dict[str, Any] = body.get("message") or {}
        event = await self._event(user_id=user_id, chat_id=chat_id, team=team, action=payload)
        peek = self.store.question_peek(user_id=user_id)
        outcome = await self._run(event, along=peek)
        if outcome is None:
            return
        replies = outcome.replies
        if parse_ticket_action(payload) is None:
            # A step answer: the question shows the choice and keeps no stale button.
            blocks = answered(message.get("blocks") or [], label)
            known = await self._known(peek, user_id)
            clicked = known is not None and known.ts == ts
            if clicked and not direct:
                await self._forget_question(user_id)
            # The two calls are independent: one loopback round trip instead of two.
            results = await asyncio.gather(
                self._edit(body, channel_id, ts, str(message.get("text") or ""), blocks),
                self._post_dm(user_id, outcome, known=None if clicked else known, forget=clicked)
                if direct
                else self._ephemeral(channel_id, user_id, replies),
                return_exceptions=True,
            )
            for failure in results:
                if isinstance(failure, BaseException):
                    raise failure
            await self._after(user_id, outcome, origin=None, done=False)
            return
        if outcome.acted is None and outcome.question is None:
            if direct:  # a customer's button (solved, a rating): the answer stays in the DM
                await self._post_dm(user_id, outcome, known=await self._known(peek, user_id))
                return
            # A refusal (not theirs to click, already resolved…): only the clicker sees it.
            await self._ephemeral(channel_id, user_id, replies, thread_ts=message.get("thread_ts"))
            return
        # A ticket button: the ping shows what happened; a follow-up question opens a modal.
        blocks = ping_update(
            message.get("blocks") or [],
            user_id=user_id,
            replies=outcome.before_question,
            command=self.command,
            actions=None if outcome.acted is None else outcome.acted.options,
        )
        if outcome.acted is not None:
            await self._edit(body, channel_id, ts, str(message.get("text") or ""), blocks)
        if outcome.question is not None:
            thread = str(message.get("thread_ts") or ts)
            view = self._view(outcome, chat_id, (channel_id, thread))
            await self.client.views_open(trigger_id=str(body["trigger_id"]), view=view)

    async def _view_action(
        self, body: dict[str, Any], action: dict[str, Any], *, user_id: str, team: str | None
    ) -> None:
        view: dict[str, Any] = body.get("view") or {}
        action_id = str(action.get("action_id", ""))
        if view.get("type") == "home":
            if action_id == HOME_NEW_MODAL:
                await self._open_modal(
                    user_id=user_id, team=team, trigger_id=str(body["trigger_id"])
                )
            elif action_id == HOME_NEW_CHAT:
                await self._chat(user_id=user_id, team=team, text="/new")
            return
        meta = StepMeta.load(str(view.get("private_metadata") or ""))
        if meta is None:
            return
        payload, _label = _action_value(action)
        event = await self._event(user_id=user_id, chat_id=meta.chat_id, team=team, action=payload)
        outcome = await self._run(event)
        if outcome is None:
            return
        new_view = self._view(outcome, meta.chat_id, meta.origin)
        await self.client.views_update(view_id=str(view["id"]), view=new_view)
        await self._after(user_id, outcome, origin=meta.origin, done=outcome.question is None)

    async def _open_modal(self, *, user_id: str, team: str | None, trigger_id: str) -> None:
        """`/support new modal`: the modal opens at once, then shows the intake's first step."""
        locale, _name = await self._user_info(user_id)
        hint = normalize_language(locale) or self.settings.default_locale
        opened = await self.client.views_open(
            trigger_id=trigger_id, view=loading_view(self._chrome(hint), StepMeta(chat_id=user_id))
        )
        event = await self._event(user_id=user_id, chat_id=user_id, team=team, text="/new")
        outcome = await self._run(event)
        if outcome is None:
            return
        view = self._view(outcome, user_id, None)
        await self.client.views_update(view_id=str(opened["view"]["id"]), view=view)

    async def _after(
        self, user_id: str, outcome: Outcome, *, origin: tuple[str, str] | None, done: bool
    ) -> None:
        """Follow-ups of an answered event: the ping's thread, the Home tab."""
        if origin is not None and done and outcome.acted is not None:
            # Only a carried-out action is told in the ping's thread: a cancel posts nothing.
            texts = [reply_text(r) for r in outcome.replies if isinstance(r, Text)]
            if texts:
                body = f"<@{user_id}>: " + "\n".join(texts)
                text, blocks = messages([Text(body)], command=self.command)[0]
                await self.client.chat_postMessage(
                    channel=origin[0], thread_ts=origin[1], text=text, blocks=blocks
                )
        if outcome.acted is not None:
            await self.publish_home(user_id)

    # ------------------------------------------------------------------ Slack calls

    async def _complete(self, files: tuple[Attachment, ...]) -> tuple[Attachment, ...]:
        """Files whose event left out the permalink or size (a partial `file_share` object)
        completed with `files.info` (`files:read`); a failed lookup keeps what the event said."""
        completed: list[Attachment] = []
        for file in files:
            if file.permalink is None or file.size is None:
                try:
                    info = await self.client.files_info(file=file.file_id)
                    found = attachments_of({"files": [info.get("file") or {}]})
                    file = found[0] if found else file
                except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
                    log.warning("files.info failed for %s: %s", file.file_id, exc)
            completed.append(file)
        return tuple(completed)

    async def _remember(self, reference: str, user_id: str, posted: list[str]) -> None:
        """Remember the DM messages about a ticket: a thread reply under one joins it (should
        this fail, only later thread replies suffer: the answers are posted)."""
        await self._after_reply(
            self.store.messages_keeper(reference=reference, chat_id=user_id, ts=posted)
        )

    async def _post_dm(
        self, user_id: str, outcome: Outcome, *, known: Posted | None, forget: bool = False
    ) -> list[str]:
        """Post replies in the user's DM; an earlier question (`known`) now stale loses its
        buttons, and is forgotten (so is the clicked one, with `forget`) unless a new one
        replaces it. Returns the `ts` of the messages that are not the open question."""
        token = None if outcome.question is None else outcome.question.token
        if known is not None and token is not None and token != known.token:
            forget = True
            await self.client.chat_update(
                channel=known.channel,
                ts=known.ts,
                text=known.text,
                blocks=answered(known.blocks, None),
            )
        about: list[str] = []
        dm: str | None = None
        asked = False
        for text, blocks in messages(outcome.replies, command=self.command):
            posted = await self.client.chat_postMessage(channel=user_id, text=text, blocks=blocks)
            dm = str(posted["channel"])
            if not has_actions(blocks):
                about.append(str(posted["ts"]))
            if has_actions(blocks):
                question = Posted(
                    channel=str(posted["channel"]),
                    ts=str(posted["ts"]),
                    text=text,
                    blocks=blocks,
                    token=token,
                )
                await self._remember_question(user_id, question)
                asked = True
        if forget and not asked:
            await self._forget_question(user_id)
        if dm is not None and outcome.files:  # files follow their text reply, in the same DM
            for file in await asyncio.to_thread(outcome.drawn_files):
                await upload(self.client, channel=dm, file=file)
        return about

    async def _known(self, peek: QuestionPeek, user_id: str) -> Posted | None:
        """The question with live buttons in the user's DM: as read in the core's
        transaction, else (a stored reply sent again) read now."""
        if peek.done:
            return Posted.load(peek.found)
        return await self._question(user_id)

    async def _question(self, user_id: str) -> Posted | None:
        """The question with live buttons in the user's DM (kept in the database)."""
        return Posted.load(
            await asyncio.to_thread(lambda: self.store.peek_question(user_id=user_id))
        )

    async def _forget_question(self, user_id: str) -> None:
        await self._after_reply(self.store.question_forgetter(user_id=user_id))

    async def _remember_question(self, user_id: str, question: Posted) -> None:
        await self._after_reply(
            self.store.question_keeper(
                user_id=user_id, message_id=question.ts, body=question.dump(), now=self.clock()
            )
        )

    async def _after_reply(self, write: Along) -> None:
        await after_reply(_seal.get(), write, run=self.store.run)

    async def _ephemeral(
        self,
        channel: str,
        user_id: str,
        replies: Sequence[Reply],
        *,
        thread_ts: str | None = None,
    ) -> None:
        extra: dict[str, Any] = {} if not thread_ts else {"thread_ts": thread_ts}
        for text, blocks in messages(replies, command=self.command):
            await self.client.chat_postEphemeral(
                channel=channel, user=user_id, text=text, blocks=blocks, **extra
            )

    async def _edit(
        self, body: dict[str, Any], channel: str, ts: str, text: str, blocks: list[Block]
    ) -> None:
        """Replace the message an action came from (ephemeral ones through response_url)."""
        container = body.get("container") or {}
        if container.get("is_ephemeral") or not ts:
            url = body.get("response_url")
            if url:
                webhook = AsyncWebhookClient(url, session=self.client.session)
                await webhook.send(text=text or "…", blocks=blocks, replace_original=True)
            return
        await self.client.chat_update(channel=channel, ts=ts, text=text or "…", blocks=blocks)

    async def publish_home(self, user_id: str, *, team: str | None = None) -> None:
        """Publish a user's Home tab (the core's view: open tickets and SLA countdowns)."""
        event = await self._event(user_id=user_id, chat_id=user_id, team=team)
        view = await asyncio.to_thread(self.core.home, event)
        await self.client.views_publish(
            user_id=user_id, view=home_blocks(view, command=self.command)
        )

    async def _user_info(self, user_id: str) -> tuple[str | None, str | None]:
        """The user's Slack locale and name (`users.info`, cached for an hour)."""
        now = time.monotonic()
        cached = self._users.get(user_id)
        if cached is not None and cached[0] > now:
            return cached[1], cached[2]
        locale = name = None
        try:
            info = await self.client.users_info(user=user_id, include_locale=True)
            user = info.get("user") or {}
            locale = user.get("locale")
            profile = user.get("profile") or {}
            name = user.get("real_name") or profile.get("display_name") or user.get("name")
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
            log.warning("users.info failed for %s: %s", user_id, exc)
        self._users[user_id] = (now + USER_CACHE_SECONDS, locale, name)
        return locale, name

    # ------------------------------------------------------------------ core calls

    async def _event(
        self,
        *,
        user_id: str,
        chat_id: str,
        team: str | None,
        text: str | None = None,
        action: str | None = None,
    ) -> InboundEvent:
        locale, name = await self._user_info(user_id)
        event = InboundEvent(
            channel=CHANNEL,
            chat_id=chat_id,
            user_external_id=user_id,
            received_at=self.clock(),
            text=text,
            action=action,
            platform_locale=locale,
            display_name=name,
            workspace_id=team,
        )
        return clean_event(event, default_locale=self.settings.default_locale)

    async def _run(self, event: InboundEvent, *, along: Along | None = None) -> Outcome | None:
        """The core's outcome, in a worker thread; the event's inbox row is marked handled in
        the core's transaction, which also runs `along` (the stored outcome, `along` not run,
        when it was handled already)."""
        stored = _stored.get()
        if stored is not None:
            return stored
        seal = _seal.get()
        # The text goes first; `_post_dm` draws the charts after it, in a worker thread.
        return await run_core(
            lambda: self.core(event, seal, draw=False, along=along),
            threads=self.settings.core_threads,
        )

    # ------------------------------------------------------------------ views

    def _chrome(self, lang: str) -> Chrome:
        t = translator(lang)
        return Chrome(
            title=t.gettext("Support"),
            submit=t.gettext("Next"),
            close=t.gettext("Close"),
            answer=t.gettext("Your answer"),
        )

    def _view(
        self, outcome: Outcome, chat_id: str, origin: tuple[str, str] | None
    ) -> dict[str, Any]:
        return step_view(
            chrome=self._chrome(outcome.lang),
            outcome=outcome,
            chat_id=chat_id,
            command=self.command,
            origin=origin,
        )
