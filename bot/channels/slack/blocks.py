"""Block Kit rendering of the core's replies: DM messages, agent pings, modal steps.

Every option becomes a button (or a `static_select` entry when the core asks for a list)
whose `value` is the core's payload, so a click comes back to the core unchanged. Texts are
escaped for mrkdwn and the core's `/command` words become the Slack slash command.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from handlers.core import COMMAND_NAMES
from handlers.model import (
    Choices,
    Confirm,
    Option,
    OptionKind,
    Outcome,
    Prompt,
    Reply,
    Text,
    TicketCard,
    reply_text,
    split_text,
)

Block = dict[str, Any]

SECTION_LIMIT = 3000
FIELD_LIMIT = 2000
FIELDS_PER_SECTION = 10
MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
FALLBACK_LIMIT = 3000
BUTTON_LIMIT = 75
VIEW_TITLE_LIMIT = 24
RADIO_LIMIT = 10

ACTION_PREFIX = "sb:"  # action ids of elements whose value is a core payload
ANSWER_BLOCK = "sb-answer"  # modal input block (suffixed with the step token)
ANSWER_ACTION = "answer"
STEP_CALLBACK = "sb-step"
UPDATE_BLOCK = "sb-upd"  # blocks an agent action wrote into a ping message
HOME_NEW_CHAT = "sb-home:new"
HOME_NEW_MODAL = "sb-home:modal"

_COMMAND_WORD = re.compile(
    r"(?<![\w/])/(" + "|".join(sorted(COMMAND_NAMES, key=len, reverse=True)) + r")\b"
)


def escape(text: str) -> str:
    """Text safe for mrkdwn: `&`, `<` and `>` as entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    """Slack's escaped message text back to what the user typed."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def slack_words(text: str, command: str) -> str:
    """The core's `/new`, `/ticket REF`… written as the Slack command (`/support new`)."""
    return _COMMAND_WORD.sub(lambda match: f"{command} {match.group(1)}", text)


def plain(text: str, limit: int = SECTION_LIMIT) -> dict[str, Any]:
    """A plain_text object cut to `limit` characters."""
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return {"type": "plain_text", "text": text or "…", "emoji": True}


def is_nav(option: Option) -> bool:
    """Whether an option is a step's « Back » or « Cancel »."""
    return option.kind is OptionKind.NAVIGATION


@dataclass
class Renderer:
    """Renders replies with unique action ids and the Slack command name."""

    command: str = "/support"
    counter: int = 0
    blocks: list[Block] = field(default_factory=list)

    def _action_id(self) -> str:
        self.counter += 1
        return f"{ACTION_PREFIX}{self.counter}"

    def mrkdwn(self, text: str) -> str:
        """Core text as mrkdwn."""
        return escape(slack_words(text, self.command))

    def sections(self, text: str, *, block_id: str | None = None) -> list[Block]:
        """Sections of at most 3000 characters."""
        blocks: list[Block] = []
        for chunk in split_text(self.mrkdwn(text), SECTION_LIMIT):
            if chunk.strip():
                block: Block = {"type": "section", "text": {"type": "mrkdwn", "text": chunk}}
                if block_id is not None:
                    block["block_id"] = f"{block_id}-{len(blocks)}"
                blocks.append(block)
        return blocks

    def button(self, option: Option, *, style: str | None = None) -> Block:
        """A button whose value is the option's payload."""
        button: Block = {
            "type": "button",
            "text": plain(option.label, BUTTON_LIMIT),
            "value": option.payload,
            "action_id": self._action_id(),
        }
        if style is not None:
            button["style"] = style
        return button

    def select(self, options: Sequence[Option], placeholder: str | None) -> Block:
        """A static_select whose entries' values are the options' payloads."""
        select: Block = {
            "type": "static_select",
            "action_id": self._action_id(),
            "options": [
                {"text": plain(o.label, BUTTON_LIMIT), "value": o.payload} for o in options
            ],
        }
        if placeholder:
            select["placeholder"] = plain(placeholder, 150)
        return select

    def actions(self, elements: list[Block]) -> list[Block]:
        """Actions blocks of at most 25 elements (none when empty)."""
        return [
            {"type": "actions", "elements": elements[i : i + 25]}
            for i in range(0, len(elements), 25)
        ]

    def card(self, card: TicketCard, *, block_id: str | None = None) -> list[Block]:
        """A ticket card: bold title, labelled fields, footer, buttons."""
        blocks = self.sections(f"*{card.title}*", block_id=block_id)
        fields = [
            {
                "type": "mrkdwn",
                "text": f"*{self.mrkdwn(label)}*\n{self.mrkdwn(value)}"[:FIELD_LIMIT],
            }
            for label, value in card.fields
        ]
        for start in range(0, len(fields), FIELDS_PER_SECTION):
            block: Block = {"type": "section", "fields": fields[start : start + FIELDS_PER_SECTION]}
            if block_id is not None:
                block["block_id"] = f"{block_id}-f{start}"
            blocks.append(block)
        if card.footer:
            blocks.append(
                {
                    "type": "context",
                    "elements": [{"type": "mrkdwn", "text": self.mrkdwn(card.footer)}],
                }
            )
        blocks += self.actions([self.button(o) for o in card.actions])
        return blocks

    def reply(self, reply: Reply) -> list[Block]:
        """One reply as blocks."""
        match reply:
            case TicketCard():
                return self.card(reply)
            case Choices(text=text, options=options):
                main = [o for o in options if not is_nav(o)]
                nav = [o for o in options if is_nav(o)]
                if reply.as_select and main:
                    elements = [self.select(main, reply.select_placeholder)]
                    elements += [self.button(o) for o in nav]
                else:
                    elements = [self.button(o) for o in options]
                return self.sections(text) + self.actions(elements)
            case Confirm(text=text, yes=yes, no=no, extra=extra):
                elements = [self.button(yes, style="primary"), self.button(no)]
                elements += [self.button(o) for o in extra]
                return self.sections(text) + self.actions(elements)
            case Prompt(text=text, options=options):
                return self.sections(text) + self.actions([self.button(o) for o in options])
            case Text(text=text):
                return self.sections(text)
        return []  # pragma: no cover - every reply type is matched above

    def fallback(self, replies: Iterable[Reply]) -> str:
        """The notification text of a message (what a phone shows)."""
        text = "\n".join(self.mrkdwn(reply_text(r)) for r in replies)
        return text if len(text) <= FALLBACK_LIMIT else text[: FALLBACK_LIMIT - 1] + "…"


def messages(replies: Sequence[Reply], *, command: str) -> list[tuple[str, list[Block]]]:
    """The replies of one outcome as messages (text, blocks) of at most 50 blocks each."""
    renderer = Renderer(command=command)
    out: list[tuple[str, list[Block]]] = []
    current: list[Block] = []
    current_replies: list[Reply] = []
    for reply in replies:
        blocks = renderer.reply(reply)
        if current and len(current) + len(blocks) > MESSAGE_BLOCKS:
            out.append((renderer.fallback(current_replies), current))
            current, current_replies = [], []
        current.extend(blocks[:MESSAGE_BLOCKS])
        current_replies.append(reply)
    if current:
        out.append((renderer.fallback(current_replies), current))
    return out


def has_actions(blocks: Iterable[Block]) -> bool:
    """Whether a message carries buttons or selects."""
    return any(block.get("type") == "actions" for block in blocks)


def answered(blocks: Sequence[Block], label: str | None) -> list[Block]:
    """A question message after its answer: the buttons removed, the choice shown."""
    kept = [b for b in blocks if b.get("type") not in ("actions", "input")]
    if label:
        kept.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "✓ " + escape(label)}]}
        )
    return kept[:MESSAGE_BLOCKS]


def ping_update(
    blocks: Sequence[Block],
    *,
    user_id: str,
    replies: Sequence[Reply],
    command: str,
    actions: Sequence[Option] | None = None,
) -> list[Block]:
    """An agent ping after a button: the core's answer (and card) shown above its buttons,
    which become `actions` (the ones that make sense now) when given."""
    renderer = Renderer(command=command)
    base = [b for b in blocks if not str(b.get("block_id", "")).startswith(UPDATE_BLOCK)]
    head = [b for b in base if b.get("type") != "actions"]
    tail = [b for b in base if b.get("type") == "actions"]
    if actions is not None:
        tail = renderer.actions([renderer.button(o) for o in actions])
    added: list[Block] = []
    first = True
    for reply in replies:
        if isinstance(reply, TicketCard):
            added += renderer.card(
                TicketCard(title=reply.title, fields=reply.fields, footer=reply.footer),
                block_id=f"{UPDATE_BLOCK}{len(added)}",
            )
        elif isinstance(reply, Text):
            text = renderer.mrkdwn(reply.text)
            if first:
                text = f"<@{user_id}>: {text}"
                first = False
            for chunk in split_text(text, SECTION_LIMIT):
                added.append(
                    {
                        "type": "section",
                        "block_id": f"{UPDATE_BLOCK}{len(added)}",
                        "text": {"type": "mrkdwn", "text": chunk},
                    }
                )
    return (head + added + tail)[:MESSAGE_BLOCKS]


def notification_blocks(
    *, text: str, actions: Sequence[dict[str, str]], mentions: Sequence[str], command: str
) -> tuple[str, list[Block]]:
    """An outbox message: its text (after mentions) and its buttons."""
    renderer = Renderer(command=command)
    prefix = " ".join(f"<@{m}>" for m in mentions)
    body = renderer.mrkdwn(text)
    if prefix:
        body = f"{prefix} {body}"
    blocks: list[Block] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": chunk}}
        for chunk in split_text(body, SECTION_LIMIT)
    ]
    options = [Option(label=a["label"], payload=a["payload"]) for a in actions]
    blocks += renderer.actions([renderer.button(o) for o in options])
    fallback = body if len(body) <= FALLBACK_LIMIT else body[: FALLBACK_LIMIT - 1] + "…"
    return fallback, blocks[:MESSAGE_BLOCKS]


# --------------------------------------------------------------------------- modals


@dataclass(frozen=True)
class StepMeta:
    """What a modal remembers between submissions (its `private_metadata`)."""

    chat_id: str
    token: str | None = None
    submit: str | None = None
    origin: tuple[str, str] | None = None  # (channel, ts) of the ping that opened it

    def dump(self) -> str:
        """As JSON for `private_metadata`."""
        return json.dumps(
            {"c": self.chat_id, "k": self.token, "s": self.submit, "m": self.origin},
            separators=(",", ":"),
        )

    @classmethod
    def load(cls, text: str) -> StepMeta | None:
        """From `private_metadata`; None when it is not ours."""
        try:
            data = json.loads(text)
            origin = data.get("m")
            return cls(
                chat_id=str(data["c"]),
                token=data.get("k"),
                submit=data.get("s"),
                origin=None if not origin else (str(origin[0]), str(origin[1])),
            )
        except (ValueError, KeyError, TypeError, IndexError):
            return None


@dataclass(frozen=True)
class Chrome:
    """The modal's own words, in the user's language."""

    title: str
    submit: str
    close: str
    answer: str


def _view(chrome: Chrome, blocks: list[Block], meta: StepMeta, submit: str | None) -> Block:
    view: Block = {
        "type": "modal",
        "callback_id": STEP_CALLBACK,
        "title": plain(chrome.title, VIEW_TITLE_LIMIT),
        "close": plain(chrome.close, VIEW_TITLE_LIMIT),
        "blocks": blocks[:VIEW_BLOCKS] or [{"type": "section", "text": plain("…")}],
        "private_metadata": meta.dump(),
    }
    if submit is not None:
        view["submit"] = plain(submit, VIEW_TITLE_LIMIT)
    return view


def loading_view(chrome: Chrome, meta: StepMeta) -> Block:
    """The modal shown at once, while the core prepares the first question."""
    return _view(chrome, [{"type": "section", "text": plain("⏳")}], meta, None)


def answer_block_id(token: str | None) -> str:
    """The input block of a step (new per step, so Slack keeps no earlier value)."""
    return f"{ANSWER_BLOCK}:{token or '-'}"


def step_view(
    *,
    chrome: Chrome,
    outcome: Outcome,
    chat_id: str,
    command: str,
    origin: tuple[str, str] | None = None,
) -> Block:
    """The core's outcome as a modal: the open question as the form, the rest above it."""
    renderer = Renderer(command=command)
    blocks: list[Block] = []
    for reply in outcome.before_question:
        blocks += renderer.reply(reply)
    question = None if outcome.question is None else outcome.question.reply
    token = None if outcome.question is None else outcome.question.token
    submit_label: str | None = None
    submit_payload: str | None = None
    block_id = answer_block_id(token)
    match question:
        case Choices(text=text, options=options):
            blocks += renderer.sections(text)
            main = [o for o in options if not is_nav(o)]
            if main:
                entries = [{"text": plain(o.label, BUTTON_LIMIT), "value": o.payload} for o in main]
                element: Block = (
                    {"type": "radio_buttons", "action_id": ANSWER_ACTION, "options": entries}
                    if len(entries) <= RADIO_LIMIT
                    else {"type": "static_select", "action_id": ANSWER_ACTION, "options": entries}
                )
                blocks.append(
                    {
                        "type": "input",
                        "block_id": block_id,
                        "label": plain(chrome.answer, 2000),
                        "element": element,
                    }
                )
                submit_label = chrome.submit
            blocks += renderer.actions([renderer.button(o) for o in options if is_nav(o)])
        case Prompt(text=text, options=options):
            blocks += renderer.sections(text)
            blocks.append(
                {
                    "type": "input",
                    "block_id": block_id,
                    "label": plain(chrome.answer, 2000),
                    "element": {
                        "type": "plain_text_input",
                        "action_id": ANSWER_ACTION,
                        "multiline": True,
                        "max_length": 3000,
                    },
                }
            )
            submit_label = chrome.submit
            blocks += renderer.actions([renderer.button(o) for o in options])
        case Confirm(text=text, yes=yes, no=no, extra=extra):
            blocks += renderer.sections(text)
            submit_label, submit_payload = yes.label, yes.payload
            blocks += renderer.actions([renderer.button(o) for o in (no, *extra)])
        case _:
            pass
    meta = StepMeta(chat_id=chat_id, token=token, submit=submit_payload, origin=origin)
    return _view(chrome, blocks, meta, submit_label)


def submitted_answer(view: Block) -> tuple[str | None, str | None, str | None]:
    """A submitted step: (input block id, selected payload, typed text)."""
    values: dict[str, dict[str, Any]] = view.get("state", {}).get("values", {})
    for block_id, elements in values.items():
        if not block_id.startswith(ANSWER_BLOCK):
            continue
        element = elements.get(ANSWER_ACTION) or {}
        selected = element.get("selected_option") or {}
        if selected.get("value"):
            return block_id, str(selected["value"]), None
        return block_id, None, str(element.get("value") or "")
    return None, None, None
