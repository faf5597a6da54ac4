"""The core's `Outcome` as stored on its inbox row: an explicit JSON codec, lossless.

A handled row keeps its reply until the channel has sent it, so a process that stops between
the commit and the send leaves the reply for the next drainer, which sends it without running
the core again. Every reply shape is tagged; the open question points at its reply by
position, so the decoded question's reply *is* one of the replies (channels compare by
identity). A file's bytes are kept (base64); a file still to be drawn is kept without bytes.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from handlers.model import (
    Acted,
    Choices,
    Confirm,
    Option,
    OptionKind,
    Outcome,
    OutgoingFile,
    Prompt,
    Question,
    Refusal,
    RefusalReason,
    Reply,
    Text,
    TicketCard,
)

VERSION = 1


class ReplyFormatError(ValueError):
    """A stored reply this code cannot read."""


def dump_outcome(outcome: Outcome) -> str:
    """The outcome as stored on its inbox row."""
    question = outcome.question
    data: dict[str, Any] = {
        "v": VERSION,
        "lang": outcome.lang,
        "replies": [_reply(reply) for reply in outcome.replies],
        "ticket": outcome.ticket,
        "cancelled": outcome.cancelled,
        "files": [_file(file) for file in outcome.files],
    }
    if question is not None:
        position = next((n for n, r in enumerate(outcome.replies) if r is question.reply), None)
        data["question"] = {
            "token": question.token,
            "at": position,
            "reply": _reply(question.reply) if position is None else None,
        }
    if outcome.refusal is not None:
        data["refusal"] = {"text": outcome.refusal.text, "reason": outcome.refusal.reason.value}
    if outcome.acted is not None:
        acted = outcome.acted
        data["acted"] = {
            "verb": acted.verb,
            "reference": acted.reference,
            "summary": acted.summary,
            "status": acted.status,
            "actions": list(acted.actions),
            "options": [_option(option) for option in acted.options],
        }
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def load_outcome(stored: str) -> Outcome:
    """The outcome a row stored; `ReplyFormatError` when it cannot be read."""
    try:
        data = json.loads(stored)
        if data.get("v") != VERSION:
            raise ReplyFormatError(f"stored reply version {data.get('v')!r}")
        replies = [_load_reply(item) for item in data["replies"]]
        outcome = Outcome(
            lang=str(data["lang"]),
            replies=replies,
            ticket=data.get("ticket"),
            cancelled=bool(data.get("cancelled")),
            files=[_load_file(item) for item in data.get("files", [])],
        )
        if (question := data.get("question")) is not None:
            at = question.get("at")
            reply = replies[at] if at is not None else _load_reply(question["reply"])
            if not isinstance(reply, Choices | Prompt | Confirm):
                raise ReplyFormatError("the question's reply is not a question")
            outcome.question = Question(token=str(question["token"]), reply=reply)
        if (refusal := data.get("refusal")) is not None:
            outcome.refusal = Refusal(
                text=str(refusal["text"]), reason=RefusalReason(refusal["reason"])
            )
        if (acted := data.get("acted")) is not None:
            outcome.acted = Acted(
                verb=str(acted["verb"]),
                reference=str(acted["reference"]),
                summary=str(acted["summary"]),
                status=str(acted["status"]),
                actions=tuple(str(a) for a in acted["actions"]),
                options=tuple(_load_option(item) for item in acted["options"]),
            )
    except ReplyFormatError:
        raise
    except (ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        raise ReplyFormatError(f"stored reply unreadable: {type(exc).__name__}") from exc
    return outcome


def _option(option: Option) -> dict[str, Any]:
    return {"label": option.label, "payload": option.payload, "kind": option.kind.value}


def _load_option(data: dict[str, Any]) -> Option:
    return Option(
        label=str(data["label"]), payload=str(data["payload"]), kind=OptionKind(data["kind"])
    )


def _options(options: tuple[Option, ...]) -> list[dict[str, Any]]:
    return [_option(option) for option in options]


def _load_options(data: list[dict[str, Any]]) -> tuple[Option, ...]:
    return tuple(_load_option(item) for item in data)


def _reply(reply: Reply) -> dict[str, Any]:
    match reply:
        case Text(text=text):
            return {"type": "text", "text": text}
        case Choices(text=text, options=options, select_placeholder=placeholder):
            return {
                "type": "choices",
                "text": text,
                "options": _options(options),
                "placeholder": placeholder,
            }
        case Prompt(text=text, options=options):
            return {"type": "prompt", "text": text, "options": _options(options)}
        case Confirm(text=text, yes=yes, no=no, extra=extra):
            return {
                "type": "confirm",
                "text": text,
                "yes": _option(yes),
                "no": _option(no),
                "extra": _options(extra),
            }
        case TicketCard(title=title, fields=fields, actions=actions, footer=footer):
            return {
                "type": "card",
                "title": title,
                "fields": [list(pair) for pair in fields],
                "actions": _options(actions),
                "footer": footer,
            }
    raise TypeError(f"not a reply: {type(reply).__name__}")


def _load_reply(data: dict[str, Any]) -> Reply:
    kind = data["type"]
    if kind == "text":
        return Text(text=str(data["text"]))
    if kind == "choices":
        return Choices(
            text=str(data["text"]),
            options=_load_options(data["options"]),
            select_placeholder=data.get("placeholder"),
        )
    if kind == "prompt":
        return Prompt(text=str(data["text"]), options=_load_options(data["options"]))
    if kind == "confirm":
        return Confirm(
            text=str(data["text"]),
            yes=_load_option(data["yes"]),
            no=_load_option(data["no"]),
            extra=_load_options(data["extra"]),
        )
    if kind == "card":
        return TicketCard(
            title=str(data["title"]),
            fields=tuple((str(label), str(value)) for label, value in data["fields"]),
            actions=_load_options(data["actions"]),
            footer=data.get("footer"),
        )
    raise ReplyFormatError(f"unknown reply type {kind!r}")


def _file(file: OutgoingFile) -> dict[str, Any]:
    return {
        "name": file.name,
        "mime": file.mime,
        "caption": file.caption,
        "data": base64.b64encode(file.data).decode("ascii"),
    }


def _load_file(data: dict[str, Any]) -> OutgoingFile:
    return OutgoingFile(
        name=str(data["name"]),
        mime=str(data["mime"]),
        caption=str(data.get("caption", "")),
        data=base64.b64decode(data["data"]),
    )
