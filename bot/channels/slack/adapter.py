"""slack-bolt's `AsyncApp` wired to the core.

Every listener acknowledges first and does the work in a task (the core runs in a worker
thread, one transaction per event, and no transaction is open during a Slack call). The one
exception is a modal submission: Slack wants validation errors in the acknowledgement, so
the core answers before `ack(response_action=…)`, well within the 3 seconds.

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
import json
import logging
import re
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
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
from bot.channels.slack.files import upload
from bot.channels.slack.home import home_blocks
from bot.channels.slack.store import CHANNEL, SlackStore
from bot.i18n import normalize_language, translator
from bot.settings import Settings
from handlers.core import Core, clean_event
from handlers.model import (
    InboundEvent,
    Outcome,
    Reply,
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


@dataclass(frozen=True)
class Posted:
    """A question message in a DM, remembered to remove its buttons once it is stale."""

    channel: str
    ts: str
    text: str
    blocks: list[Block]
    token: str | None


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
            process_before_response=True,  # listeners return at once; the work runs in tasks
        )
        self.handler = AsyncSlackRequestHandler(self.app)
        # Requests reach bolt verified (`verify.refusal`); its own refusal log holds the body.
        logging.getLogger("slack_bolt.RequestVerification").setLevel(logging.WARNING)
        logging.getLogger("slack_bolt.AsyncRequestVerification").setLevel(logging.WARNING)
        self._tasks: set[asyncio.Task[None]] = set()
        self._users: dict[str, tuple[float, str | None, str | None]] = {}
        self._questions: dict[str, Posted] = {}
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
        """Wait until every task started by a listener has finished."""
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
        await ack()
        text = unescape(command.get("text") or "").strip()
        user_id = str(command["user_id"])
        team = command.get("team_id")
        words = text.lower().split()
        if len(words) >= 2 and words[0] == "new" and words[1] in MODAL_WORDS:
            trigger = str(command["trigger_id"])
            self._spawn(self._open_modal(user_id=user_id, team=team, trigger_id=trigger))
            return
        self._spawn(self._chat(user_id=user_id, team=team, text=core_text(text)))

    async def _on_action(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        self._spawn(self._action(body, action))

    async def _on_message(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        if event.get("subtype") or event.get("bot_id") or not event.get("user"):
            return
        thread = event.get("thread_ts")
        if (
            event.get("channel_type") in ("channel", "group")
            and thread
            and thread != event.get("ts")
        ):
            self._spawn(self._thread_message(body, event))
            return
        if event.get("channel_type") != "im":
            return
        self._spawn(
            self._chat(
                user_id=str(event["user"]),
                team=_user_team(body),
                text=unescape(str(event.get("text") or "")),
                dedupe=body.get("event_id"),
                raw=body,
            )
        )

    async def _on_home_opened(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        if event.get("tab", "home") != "home":
            return
        user_id, team = str(event["user"]), _user_team(body)
        self._spawn(self.publish_home(user_id, dedupe=body.get("event_id"), team=team))

    async def _on_submit(self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        meta = StepMeta.load(str(view.get("private_metadata") or ""))
        if meta is None:
            await ack()
            return
        user_id = str(body["user"]["id"])
        block_id, selected, typed = submitted_answer(view)
        action = selected or (meta.submit if block_id is None else None)
        event = await self._event(
            user_id=user_id,
            chat_id=meta.chat_id,
            team=_user_team(body),
            text=None if action else (typed or ""),
            action=action,
        )
        outcome = await self._run(event)
        if outcome is None:
            await ack()
            return
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

    # ------------------------------------------------------------------ work

    async def _chat(
        self,
        *,
        user_id: str,
        team: str | None,
        text: str | None = None,
        action: str | None = None,
        dedupe: str | None = None,
        raw: dict[str, Any] | None = None,
    ) -> None:
        """One event in the user's DM conversation; the replies are posted there."""
        event = await self._event(
            user_id=user_id, chat_id=user_id, team=team, text=text, action=action
        )
        outcome = await self._run(event, dedupe=dedupe, raw=raw)
        if outcome is None:
            return
        await self._post_dm(user_id, outcome)
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
        outcome = await self._run(core_event, dedupe=body.get("event_id"), raw=body)
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
        outcome = await self._run(event)
        if outcome is None:
            return
        replies = outcome.replies
        if parse_ticket_action(payload) is None:
            # A step answer: the question shows the choice and keeps no stale button.
            blocks = answered(message.get("blocks") or [], label)
            known = self._questions.get(user_id)
            if known is not None and known.ts == ts:
                del self._questions[user_id]
            # The two calls are independent: one loopback round trip instead of two.
            results = await asyncio.gather(
                self._edit(body, channel_id, ts, str(message.get("text") or ""), blocks),
                self._post_dm(user_id, outcome)
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

    async def _post_dm(self, user_id: str, outcome: Outcome) -> None:
        """Post replies in the user's DM; an earlier question now stale loses its buttons."""
        token = None if outcome.question is None else outcome.question.token
        known = self._questions.get(user_id)
        if known is not None and token is not None and token != known.token:
            del self._questions[user_id]
            await self.client.chat_update(
                channel=known.channel,
                ts=known.ts,
                text=known.text,
                blocks=answered(known.blocks, None),
            )
        dm: str | None = None
        for text, blocks in messages(outcome.replies, command=self.command):
            posted = await self.client.chat_postMessage(channel=user_id, text=text, blocks=blocks)
            dm = str(posted["channel"])
            if has_actions(blocks):
                self._questions[user_id] = Posted(
                    channel=str(posted["channel"]),
                    ts=str(posted["ts"]),
                    text=text,
                    blocks=blocks,
                    token=token,
                )
        if dm is not None:  # files follow their text reply, in the same DM
            for file in outcome.files:
                await upload(self.client, channel=dm, file=file)

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

    async def publish_home(
        self, user_id: str, *, dedupe: str | None = None, team: str | None = None
    ) -> None:
        """Publish a user's Home tab (the core's view: open tickets and SLA countdowns)."""
        if dedupe is not None:
            fresh = await asyncio.to_thread(
                lambda: self.store.claim_event(key=dedupe, payload="{}", now=self.clock())
            )
            if not fresh:
                return
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

    async def _run(
        self,
        event: InboundEvent,
        *,
        dedupe: str | None = None,
        raw: dict[str, Any] | None = None,
    ) -> Outcome | None:
        """The core's outcome (None for a retried event already handled), in a worker thread."""
        return await asyncio.to_thread(self._run_sync, event, dedupe, raw)

    def _run_sync(
        self, event: InboundEvent, dedupe: str | None, raw: dict[str, Any] | None
    ) -> Outcome | None:
        if dedupe is not None:
            payload = json.dumps(raw or {}, separators=(",", ":"))
            if not self.store.claim_event(key=dedupe, payload=payload, now=event.received_at):
                log.info("slack retry of %s ignored", dedupe)
                return None
        outcome = self.core(event)
        if dedupe is not None:
            self.store.mark_processed(key=dedupe, now=self.clock())
        return outcome

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
