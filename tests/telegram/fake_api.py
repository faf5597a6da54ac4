"""A minimal fake Telegram Bot API server on 127.0.0.1, for the real `Bot` to talk to.

It answers the methods the channel uses with the shapes Telegram gives (`{"ok": true,
"result": …}`), keeps the messages it "sent" (HTML turned into text and entities, as Telegram
does) so tests can click their buttons, records every call, and fails on request.
"""

from __future__ import annotations

import email.policy
import json
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesParser
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

BOT_ID = 999_000
BOT_USERNAME = "supportbot_test_bot"
BOT_USER = {
    "id": BOT_ID,
    "is_bot": True,
    "first_name": "Support",
    "username": BOT_USERNAME,
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
JSON_FIELDS = {
    "reply_markup",
    "commands",
    "scope",
    "allowed_updates",
    "link_preview_options",
    "reply_parameters",
}
INT_FIELDS = {
    "chat_id",
    "message_id",
    "offset",
    "limit",
    "timeout",
    "message_thread_id",
    "from_chat_id",
}
DATE = 1_795_000_000


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class _Html(HTMLParser):
    """Telegram's HTML parse mode, reduced to what the bot sends: b, i, code, a."""

    TYPES = {"b": "bold", "strong": "bold", "i": "italic", "em": "italic", "code": "code"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text = ""
        self.entities: list[dict[str, Any]] = []
        self.open: list[tuple[str, int, dict[str, Any]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        extra: dict[str, Any] = {}
        if tag == "a":
            href = dict(attrs).get("href") or ""
            if href.startswith("tg://user?id="):
                uid = int(href.split("=", 1)[1])
                extra = {"type": "text_mention", "user": {"id": uid, "is_bot": False}}
            else:
                extra = {"type": "text_link", "url": href}
        elif tag in self.TYPES:
            extra = {"type": self.TYPES[tag]}
        else:
            raise ValueError(f"Bad Request: can't parse entities: unsupported tag <{tag}>")
        self.open.append((tag, _utf16_len(self.text), extra))

    def handle_endtag(self, tag: str) -> None:
        name, start, extra = self.open.pop()
        if name != tag:
            raise ValueError(f"Bad Request: can't parse entities: </{tag}> closes <{name}>")
        length = _utf16_len(self.text) - start
        if length:
            if extra.get("type") == "text_mention":
                extra["user"]["first_name"] = self.text[-length:] or "user"
            self.entities.append({"offset": start, "length": length, **extra})

    def handle_data(self, data: str) -> None:
        self.text += data


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Text and entities, as Telegram stores a message sent with parse_mode=HTML."""
    parser = _Html()
    parser.feed(source)
    parser.close()
    if parser.open:
        raise ValueError("Bad Request: can't parse entities: unclosed tag")
    return parser.text, sorted(parser.entities, key=lambda e: e["offset"])


@dataclass
class Failure:
    """An error answer to give once, for `method` (and `chat_id` if set)."""

    method: str
    status: int
    description: str
    chat_id: int | None = None
    parameters: dict[str, Any] | None = None


@dataclass
class Call:
    """One request the fake received."""

    method: str
    params: dict[str, Any]


@dataclass
class FakeState:
    """Everything the fake knows; guarded by `lock`."""

    calls: list[Call] = field(default_factory=list)
    messages: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    counters: dict[int, int] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)  # uploads, with their bytes
    lock: threading.Condition = field(default_factory=threading.Condition)


def chat_of(chat_id: int) -> dict[str, Any]:
    """A chat object: users' ids are positive, groups' negative."""
    if chat_id < 0:
        return {"id": chat_id, "type": "supergroup", "title": "Agents"}
    return {"id": chat_id, "type": "private", "first_name": "User"}


class FakeBotApi:
    """The server: `base_url` goes to `Bot(…, base_url=…)`."""

    def __init__(self) -> None:
        self.state = FakeState()
        state = self.state

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # small answers go out at once (no 40 ms stalls)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                """Quiet."""

            def do_POST(self) -> None:  # noqa: N802
                """One Bot API call."""
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                method = self.path.rsplit("/", 1)[-1]
                params = _decode(body, self.headers.get("Content-Type") or "")
                status, answer = _answer(state, method, params)
                raw = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            do_GET = do_POST  # noqa: N815

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        """What `Bot(base_url=…)` needs."""
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/bot"

    def start(self) -> FakeBotApi:
        """Serve in a background thread."""
        self.thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    # ------------------------------------------------------------------ test helpers

    def calls(self, method: str | None = None) -> list[Call]:
        """Recorded calls, optionally of one method."""
        with self.state.lock:
            return [c for c in self.state.calls if method is None or c.method == method]

    def sent(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        """The bot's messages (as stored now, edits included), oldest first."""
        with self.state.lock:
            found = [
                m
                for (chat, _mid), m in self.state.messages.items()
                if (chat_id is None or chat == chat_id) and m["from"]["id"] == BOT_ID
            ]
        found = json.loads(json.dumps(found))  # snapshots: later edits do not change them
        return sorted(found, key=lambda m: (m["chat"]["id"], m["message_id"]))

    def message(self, chat_id: int, message_id: int) -> dict[str, Any]:
        """One stored message."""
        with self.state.lock:
            return json.loads(json.dumps(self.state.messages[(chat_id, message_id)]))

    def files(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        """Files the bot uploaded (method, filename, content_type, data, caption), in order."""
        with self.state.lock:
            return [dict(f) for f in self.state.files if chat_id in (None, f["chat_id"])]

    def fail(self, failure: Failure) -> None:
        """Answer the next matching call with an error."""
        with self.state.lock:
            self.state.failures.append(failure)

    def push_update(self, update: dict[str, Any]) -> None:
        """Queue an update for getUpdates (long polling)."""
        with self.state.lock:
            self.state.updates.append(update)
            self.state.lock.notify_all()

    def note(self, message: dict[str, Any]) -> None:
        """Remember a user's message (sent through an update) so replies can quote it."""
        with self.state.lock:
            self.state.messages[(message["chat"]["id"], message["message_id"])] = message

    def reset_calls(self) -> None:
        """Forget the recorded calls (messages are kept)."""
        with self.state.lock:
            self.state.calls.clear()


def _multipart(body: bytes, content_type: str) -> dict[str, Any]:
    """Form fields as text; uploaded files as {"filename", "content_type", "data"}."""
    message = BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    params: dict[str, Any] = {}
    for part in message.iter_parts():
        assert isinstance(part, EmailMessage)
        name = part.get_param("name", header="content-disposition")
        data = part.get_payload(decode=True)
        assert isinstance(name, str)
        assert isinstance(data, bytes)
        filename = part.get_filename()
        if filename is not None:
            params[name] = {
                "filename": filename,
                "content_type": part.get_content_type(),
                "data": data,
            }
        else:
            params[name] = data.decode()
    return params


def _decode(raw: bytes, content_type: str) -> dict[str, Any]:
    if not raw:
        return {}
    if "multipart/form-data" in content_type:
        params = _multipart(raw, content_type)
        for key in list(params):
            if key in JSON_FIELDS and isinstance(params[key], str):
                params[key] = json.loads(params[key])
            elif key in INT_FIELDS and isinstance(params[key], str):
                params[key] = int(params[key])
        return params
    body = raw.decode()
    if "json" in content_type:
        loaded: dict[str, Any] = json.loads(body)
        return loaded
    params = dict(parse_qsl(body, keep_blank_values=True))
    for key in list(params):
        if key in JSON_FIELDS:
            params[key] = json.loads(params[key])
        elif key in INT_FIELDS:
            params[key] = int(params[key])
    return params


def _error(status: int, description: str, parameters: dict[str, Any] | None = None) -> Any:
    answer: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        answer["parameters"] = parameters
    return status, answer


def _answer(state: FakeState, method: str, params: dict[str, Any]) -> tuple[int, Any]:
    if method == "getUpdates":
        return 200, {"ok": True, "result": _updates(state, params)}
    with state.lock:
        state.calls.append(Call(method, params))
        for failure in state.failures:
            if failure.method == method and failure.chat_id in (None, params.get("chat_id")):
                state.failures.remove(failure)
                return _error(failure.status, failure.description, failure.parameters)
        try:
            return 200, {"ok": True, "result": _result(state, method, params)}
        except ValueError as exc:
            return _error(400, str(exc))
        except KeyError:
            return _error(400, "Bad Request: message to edit not found")


def _result(state: FakeState, method: str, params: dict[str, Any]) -> Any:
    if method == "getMe":
        return BOT_USER
    if method in {
        "setMyCommands",
        "setWebhook",
        "deleteWebhook",
        "answerCallbackQuery",
        "deleteMyCommands",
        "setMessageReaction",
    }:
        return True
    if method == "sendMessage":
        return _send(state, params)
    if method in {"sendPhoto", "sendDocument"} and isinstance(params.get(MEDIA[method]), dict):
        return _send_file(state, method, params)  # an upload (bytes), not a file id
    if method in MEDIA:
        return _send_media(state, method, params)
    if method == "copyMessage":
        source = state.messages[(int(params["from_chat_id"]), int(params["message_id"]))]
        copied = _store(
            state,
            int(params["chat_id"]),
            params,
            {k: source[k] for k in MEDIA_KEYS & source.keys()},
        )
        return {"message_id": copied["message_id"]}
    if method == "getFile":
        return {"file_id": params["file_id"], "file_unique_id": "u", "file_path": "photos/f.jpg"}
    if method in {"editMessageText", "editMessageReplyMarkup"}:
        key = (int(params["chat_id"]), int(params["message_id"]))
        message = state.messages[key]
        if method == "editMessageText":
            text, entities = _text(params)
            message["text"], message["entities"] = text, entities
            message["edit_date"] = DATE + 1
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        else:
            message.pop("reply_markup", None)
        return message
    raise ValueError(f"Not Found: method {method} is not faked")


def _text(params: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    text = str(params["text"])
    if params.get("parse_mode") == "HTML":
        text, entities = parse_html(text)
    else:
        entities = []
    if not text.strip():
        raise ValueError("Bad Request: message text is empty")
    if _utf16_len(text) > 4096 and len(text) > 4096:
        raise ValueError("Bad Request: message is too long")
    return text, entities


def _send(state: FakeState, params: dict[str, Any]) -> dict[str, Any]:
    chat_id = int(params["chat_id"])
    text, entities = _text(params)
    markup = params.get("reply_markup")
    if markup and "inline_keyboard" in markup:
        for row in markup["inline_keyboard"]:
            for button in row:
                if len(button.get("callback_data", "").encode()) > 64:
                    raise ValueError("Bad Request: BUTTON_DATA_INVALID")
    state.counters[chat_id] = state.counters.get(chat_id, 0) + 1
    message: dict[str, Any] = {
        "message_id": state.counters[chat_id],
        "date": DATE,
        "chat": chat_of(chat_id),
        "from": BOT_USER,
        "text": text,
    }
    if entities:
        message["entities"] = entities
    if params.get("message_thread_id"):  # a forum topic
        message["message_thread_id"] = int(params["message_thread_id"])
        message["is_topic_message"] = True
    if markup and "inline_keyboard" in markup:
        message["reply_markup"] = markup
    reply = params.get("reply_parameters")
    if reply and (chat_id, reply["message_id"]) in state.messages:
        message["reply_to_message"] = state.messages[(chat_id, reply["message_id"])]
    state.messages[(chat_id, message["message_id"])] = message
    return message


#: Sending a file by its id: the method and the field that carries the id.
MEDIA = {
    "sendPhoto": "photo",
    "sendDocument": "document",
    "sendVoice": "voice",
    "sendVideo": "video",
}
MEDIA_KEYS = frozenset({"photo", "document", "voice", "video", "caption"})


def _store(
    state: FakeState, chat_id: int, params: dict[str, Any], body: dict[str, Any]
) -> dict[str, Any]:
    state.counters[chat_id] = state.counters.get(chat_id, 0) + 1
    message: dict[str, Any] = {
        "message_id": state.counters[chat_id],
        "date": DATE,
        "chat": chat_of(chat_id),
        "from": BOT_USER,
        **body,
    }
    reply = params.get("reply_parameters")
    if reply and (chat_id, reply["message_id"]) in state.messages:
        message["reply_to_message"] = state.messages[(chat_id, reply["message_id"])]
    if params.get("message_thread_id"):
        message["message_thread_id"] = int(params["message_thread_id"])
    state.messages[(chat_id, message["message_id"])] = message
    return message


def _send_file(state: FakeState, method: str, params: dict[str, Any]) -> dict[str, Any]:
    """A photo or document upload: the message shows it (sizes, name) and its caption."""
    chat_id = int(params["chat_id"])
    field_name = "photo" if method == "sendPhoto" else "document"
    upload = params.get(field_name)
    if not isinstance(upload, dict) or not upload["data"]:
        raise ValueError(f"Bad Request: there is no {field_name} in the request")
    caption = str(params.get("caption") or "")
    if len(caption) > 1024:
        raise ValueError("Bad Request: message caption is too long")
    file_id = f"file-{chat_id}-{state.counters.get(chat_id, 0) + 1}"
    body: dict[str, Any] = {}
    if method == "sendPhoto":
        body["photo"] = [
            {"file_id": file_id, "file_unique_id": file_id, "width": 1000, "height": 600}
        ]
    else:
        body["document"] = {
            "file_id": file_id,
            "file_unique_id": file_id,
            "file_name": upload["filename"],
            "mime_type": upload["content_type"],
        }
    if caption:
        body["caption"] = caption
    state.files.append({"chat_id": chat_id, "method": method, **upload, "caption": caption})
    return _store(state, chat_id, params, body)


def _send_media(state: FakeState, method: str, params: dict[str, Any]) -> dict[str, Any]:
    """A file sent again by its `file_id` (Telegram answers with the new message)."""
    field_name = MEDIA[method]
    file_id = str(params[field_name])
    if not file_id or file_id.startswith("/"):
        raise ValueError("Bad Request: wrong file identifier")
    media: Any = {"file_id": file_id, "file_unique_id": file_id[-8:]}
    if field_name in ("photo", "video"):
        media |= {"width": 1280, "height": 853}
    if field_name in ("voice", "video"):
        media["duration"] = 3
    body: dict[str, Any] = {field_name: [media] if field_name == "photo" else media}
    if params.get("caption"):
        body["caption"] = str(params["caption"])
    return _store(state, int(params["chat_id"]), params, body)


def _updates(state: FakeState, params: dict[str, Any]) -> list[dict[str, Any]]:
    offset = int(params.get("offset") or 0)
    deadline = time.monotonic() + min(float(params.get("timeout") or 0), 0.2)
    with state.lock:
        while True:
            ready = [u for u in state.updates if u["update_id"] >= offset]
            if ready or time.monotonic() >= deadline:
                return ready
            state.lock.wait(timeout=max(0.0, deadline - time.monotonic()))
