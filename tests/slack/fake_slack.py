"""A fake Slack Web API on 127.0.0.1, for the real `AsyncWebClient` and `AsyncApp`.

It answers the methods the bot calls, records every call (method and arguments), keeps the
messages, modals and Home tabs it was given so tests can read what a user would see, and
can be told to fail the next calls of a method (for instance HTTP 429 with `Retry-After`).
Response URLs (`/response/<id>`) are recorded as calls of the pseudo-method `response_url`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

BOT_USER = "UBOT0001"
BOT_ID = "BBOT0001"
TEAM = "T0000001"


@dataclass
class Call:
    """One Web API call as the fake received it."""

    method: str
    args: dict[str, Any]
    token: str | None


@dataclass
class Failure:
    """A canned error answer for the next call of a method."""

    status: int
    error: str
    headers: dict[str, str] = field(default_factory=dict)


def _decode(value: Any) -> Any:
    """Form-encoded arguments arrive as strings; blocks and views are JSON in them."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


class FakeSlack:
    """The fake Web API server and what it has been told."""

    def __init__(
        self, *, token: str = "xoxb-test-token", app_token: str = "xapp-test-token"
    ) -> None:
        self.token = token
        self.app_token = app_token
        self.sockets: list[web.WebSocketResponse] = []
        self.socket_acks: list[dict[str, Any]] = []
        self.calls: list[Call] = []
        self.locales: dict[str, str] = {}
        self.names: dict[str, str] = {}
        self.failures: dict[str, list[Failure]] = {}
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}
        self.views: dict[str, dict[str, Any]] = {}
        self.homes: dict[str, dict[str, Any]] = {}
        self.file_info: dict[str, dict[str, Any]] = {}  # files.info answers, by file id
        self.uploads: dict[str, bytes] = {}  # file id → the bytes posted to its upload URL
        self.files: list[dict[str, Any]] = []  # completed uploads: id, title, channel, bytes…
        self._pending_files: dict[str, dict[str, Any]] = {}
        self._serial = 0
        self._runner: web.AppRunner | None = None
        self.port = 0

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> FakeSlack:
        """Listen on a free loopback port."""
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/response/{hook}", self._response_url)
        app.router.add_get("/socket", self._socket)
        app.router.add_post("/upload/{file_id}", self._upload)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def base_url(self) -> str:
        """The `base_url` for `AsyncWebClient`."""
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self, hook: str = "hook") -> str:
        """A response URL served by the fake."""
        return f"http://127.0.0.1:{self.port}/response/{hook}"

    # ------------------------------------------------------------------ reading

    def of(self, method: str) -> list[Call]:
        """The calls of one method, in order."""
        return [call for call in self.calls if call.method == method]

    def fail_next(self, method: str, *failures: Failure) -> None:
        """Answer the next calls of `method` with these failures, one each."""
        self.failures.setdefault(method, []).extend(failures)

    def reset(self) -> None:
        """Forget the recorded calls (keeps messages, views, homes)."""
        self.calls.clear()

    # ------------------------------------------------------------------ serving

    def _next_ts(self) -> str:
        self._serial += 1
        return f"1790000000.{self._serial:06d}"

    async def _args(self, request: web.Request) -> dict[str, Any]:
        args: dict[str, Any] = dict(request.query)
        body = await request.read()
        if body:
            kind = request.headers.get("Content-Type", "")
            if "json" in kind:
                args.update(json.loads(body))
            else:
                args.update(parse_qsl(body.decode()))
        return {key: _decode(value) for key, value in args.items()}

    async def _response_url(self, request: web.Request) -> web.Response:
        payload = json.loads(await request.read() or b"{}")
        self.calls.append(Call("response_url", payload, None))
        return web.Response(text="ok")

    async def _upload(self, request: web.Request) -> web.Response:
        """Step 2 of `files_upload_v2`: the file's bytes, posted to the URL step 1 gave."""
        file_id = request.match_info["file_id"]
        if file_id not in self._pending_files:
            return web.Response(status=404, text="unknown upload")
        self.uploads[file_id] = await request.read()
        return web.Response(text="OK - " + str(len(self.uploads[file_id])))

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await self._args(request)
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ") if header else args.get("token")
        self.calls.append(Call(method, args, token))
        queued = self.failures.get(method)
        if queued:
            failure = queued.pop(0)
            return web.json_response(
                {"ok": False, "error": failure.error},
                status=failure.status,
                headers=failure.headers,
            )
        if method == "apps.connections.open":
            if token != self.app_token:
                return web.json_response({"ok": False, "error": "invalid_auth"})
            return web.json_response({"ok": True, "url": f"ws://127.0.0.1:{self.port}/socket"})
        if token != self.token:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        result: dict[str, Any] = handler(args)
        return web.json_response(result)

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        """Socket Mode: say hello, then record the app's acknowledgements."""
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        await socket.send_json(
            {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0000001"}}
        )
        self.sockets.append(socket)
        async for message in socket:
            if message.type == web.WSMsgType.TEXT:
                self.socket_acks.append(json.loads(message.data))
        return socket

    async def push(self, envelope: dict[str, Any]) -> None:
        """Send a Socket Mode envelope to every connected app."""
        for socket in self.sockets:
            await socket.send_json(envelope)

    # ------------------------------------------------------------------ methods

    def _m_auth_test(self, _args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://example.slack.com/",
            "team": "Example",
            "user": "supportbot",
            "team_id": TEAM,
            "user_id": BOT_USER,
            "bot_id": BOT_ID,
        }

    def _channel(self, channel: str) -> str:
        # Posting to a user id lands in the app's direct messages with that user.
        return "D" + channel[1:] if channel.startswith(("U", "W")) else channel

    def _m_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(str(args["channel"]))
        ts = self._next_ts()
        message = {
            "type": "message",
            "user": BOT_USER,
            "bot_id": BOT_ID,
            "text": args.get("text", ""),
            "blocks": args.get("blocks", []),
            "ts": ts,
        }
        if args.get("thread_ts"):
            message["thread_ts"] = args["thread_ts"]
        self.messages[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _m_chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        key = (str(args["channel"]), str(args["ts"]))
        if key not in self.messages:
            return {"ok": False, "error": "message_not_found"}
        message = self.messages[key]
        message.update(text=args.get("text", ""), blocks=args.get("blocks", []))
        return {"ok": True, "channel": key[0], "ts": key[1], "text": message["text"]}

    def _m_reactions_add(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("name") or not args.get("timestamp"):
            return {"ok": False, "error": "invalid_arguments"}
        return {"ok": True}

    def _m_chat_postEphemeral(self, _args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "message_ts": self._next_ts()}

    def _m_views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("trigger_id"):
            return {"ok": False, "error": "invalid_trigger_id"}
        self._serial += 1
        view = {**args["view"], "id": f"V{self._serial:08d}", "hash": f"h{self._serial}"}
        self.views[view["id"]] = view
        return {"ok": True, "view": view}

    def _m_views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        view_id = str(args.get("view_id"))
        if view_id not in self.views:
            return {"ok": False, "error": "not_found"}
        self._serial += 1
        view = {**args["view"], "id": view_id, "hash": f"h{self._serial}"}
        self.views[view_id] = view
        return {"ok": True, "view": view}

    def _m_views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        self.homes[str(args["user_id"])] = args["view"]
        return {"ok": True, "view": {**args["view"], "id": "VHOME"}}

    def _m_files_info(self, args: dict[str, Any]) -> dict[str, Any]:
        file = self.file_info.get(str(args.get("file")))
        if file is None:
            return {"ok": False, "error": "file_not_found"}
        return {"ok": True, "file": file}

    def _m_files_getUploadURLExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("filename") or not int(args.get("length") or 0):
            return {"ok": False, "error": "invalid_arguments"}
        self._serial += 1
        file_id = f"F{self._serial:08d}"
        self._pending_files[file_id] = {"filename": args["filename"], "length": int(args["length"])}
        return {
            "ok": True,
            "upload_url": f"http://127.0.0.1:{self.port}/upload/{file_id}",
            "file_id": file_id,
        }

    def _m_files_completeUploadExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        files = args.get("files")
        if not isinstance(files, list) or not files:
            return {"ok": False, "error": "invalid_arguments"}
        done = []
        for item in files:
            file_id = str(item["id"])
            pending = self._pending_files.pop(file_id, None)
            data = self.uploads.get(file_id)
            if pending is None or data is None or len(data) != pending["length"]:
                return {"ok": False, "error": "file_not_found"}
            record = {
                "id": file_id,
                "title": item.get("title") or pending["filename"],
                "name": pending["filename"],
                "channel": args.get("channel_id"),
                "initial_comment": args.get("initial_comment"),
                "thread_ts": args.get("thread_ts"),
                "data": data,
            }
            self.files.append(record)
            done.append({"id": file_id, "title": record["title"], "name": record["name"]})
        return {"ok": True, "files": done}

    def _m_users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = str(args["user"])
        user_record: dict[str, Any] = {
            "id": user,
            "team_id": TEAM,
            "name": user.lower(),
            "real_name": self.names.get(user, f"User {user}"),
            "profile": {"display_name": self.names.get(user, user)},
        }
        if args.get("include_locale") in (True, "true", "1", 1):
            user_record["locale"] = self.locales.get(user, "en-US")
        return {"ok": True, "user": user_record}
