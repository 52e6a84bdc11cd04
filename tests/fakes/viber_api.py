"""A local stand-in for the Viber REST Bot API, and Viber users who post signed callbacks to a webhook.

`FakeViberApi` is an aiohttp server that checks every request the way Viber would and more strictly (the auth
token header, the sender's name, text length, keyboard structure, the 30 KB limit), answers with Viber's status
codes, records every call, and can be told to answer a status a number of times (12 twice, then 0). On
`set_webhook` it calls the webhook with a signed `webhook` event first, as Viber does, and fails when that does
not get 200.

`ViberUser` is a person in the Viber app: they open the chat, type, press a button of the last keyboard the bot
showed (its `ActionBody` comes back as a text message, with the last message's `tracking_data`), share their
phone with the share-phone button, send stickers and pictures, and unsubscribe. Every callback is signed with the
auth token, exactly as Viber signs them.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import socket
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

ACTION_TYPES = {"reply", "open-url", "location-picker", "share-phone", "none"}
MESSAGE_TYPES = {"text", "picture", "video", "file", "location", "contact", "sticker", "carousel content", "url",
                 "rich_media", "keyboard"}  # fmt: skip
MAX_BYTES = 30 * 1024

_tokens = itertools.count(5_500_000_000_000_000_000)


TEST_TOKEN = "4453b6ac12345678-e02c5f12174805f9-daec9cbb5448c51f"  # the auth token of the tests' bot


def sign(body: bytes, token: str) -> str:
    """Viber's signature, computed independently of the code under test."""
    return hmac.new(token.encode(), body, hashlib.sha256).hexdigest()


def keyboard_problems(keyboard: Any) -> list[str]:
    """What Viber would refuse (or render wrongly) in a keyboard."""
    problems: list[str] = []
    if not isinstance(keyboard, dict) or keyboard.get("Type") != "keyboard":
        return ["keyboard: Type must be 'keyboard'"]
    buttons = keyboard.get("Buttons")
    if not isinstance(buttons, list) or not buttons:
        return ["keyboard: Buttons must be a non-empty list"]
    for n, button in enumerate(buttons):
        where = f"keyboard button {n}"
        if not 1 <= int(button.get("Columns", 6)) <= 6:
            problems.append(f"{where}: Columns must be 1–6")
        if not 1 <= int(button.get("Rows", 1)) <= 2:
            problems.append(f"{where}: Rows must be 1–2")
        if button.get("ActionType", "reply") not in ACTION_TYPES:
            problems.append(f"{where}: unknown ActionType {button.get('ActionType')!r}")
        if len(str(button.get("Text", ""))) > 250:
            problems.append(f"{where}: Text longer than 250 characters")
        if not button.get("Text") and not button.get("Image") and not button.get("BgMedia"):
            problems.append(f"{where}: neither Text nor Image")
        if not isinstance(button.get("ActionBody"), str) or not button["ActionBody"]:
            problems.append(f"{where}: ActionBody is required")
    return problems


def message_problems(body: dict[str, Any], *, welcome: bool = False) -> list[str]:
    """What Viber would refuse in a send_message request (or, `welcome=True`, in a welcome message)."""
    problems: list[str] = []
    if welcome:
        if "receiver" in body:
            problems.append("a welcome message has no receiver")
    elif not isinstance(body.get("receiver"), str) or not body["receiver"]:
        problems.append("receiver is required")
    sender = body.get("sender")
    if not isinstance(sender, dict) or not isinstance(sender.get("name"), str) or not sender["name"]:
        problems.append("sender.name is required")
    elif len(sender["name"]) > 28:
        problems.append("sender.name longer than 28 characters")
    kind = body.get("type")
    if kind not in MESSAGE_TYPES:
        problems.append(f"unknown message type {kind!r}")
    if kind == "text":
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            problems.append("text is required")
        elif len(text) > 7000:
            problems.append(f"text of {len(text)} characters (at most 7000)")
    if kind == "file":
        for name in ("media", "size", "file_name"):
            if name not in body:
                problems.append(f"file message without {name}")
    if len(str(body.get("tracking_data", ""))) > 4000:
        problems.append("tracking_data longer than 4000 characters")
    if "keyboard" in body:
        problems.extend(keyboard_problems(body["keyboard"]))
        uses_share_phone = any(b.get("ActionType") == "share-phone" for b in body["keyboard"].get("Buttons", []))
        if uses_share_phone and int(body.get("min_api_version", 1)) < 3:
            problems.append("share-phone needs min_api_version 3")
    return problems


MEDIA_HOST = "media.viber.test"


class StaticResolver(AbstractResolver):
    """DNS for the tests: each name to one IPv4 address; any other name does not exist."""

    def __init__(self, names: dict[str, str]) -> None:
        self.names = names

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET) -> (
        list[ResolveResult]
    ):  # fmt: skip
        if host not in self.names:
            raise OSError(f"no such host: {host}")
        return [{"hostname": host, "host": self.names[host], "port": port, "family": socket.AF_INET, "proto": 0,
                 "flags": socket.AI_NUMERICHOST}]  # fmt: skip

    async def close(self) -> None:
        return None


@dataclass
class Hold:
    """A send_message call held unanswered: `arrived` once it came, answered once `release` is set."""

    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class Call:
    endpoint: str
    body: dict[str, Any]
    size: int
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)  # when it was answered


class FakeViberApi:
    def __init__(self, auth_token: str) -> None:
        self.auth_token = auth_token
        self.calls: list[Call] = []
        self.record = True  # False: keep no calls (benchmarks), only check and answer them
        self.accepted = 0  # send_message calls answered with status 0, recorded or not
        self.problems: list[str] = []
        self.webhook_url: str | None = None
        self.account_name, self.account_uri = "mts Srbija", "mtssrbija"  # what get_account_info says of the bot
        self.webhook_events: list[str] = []
        self.delay = 0.0  # seconds before each answer (to test timeouts)
        self._scripted: deque[int] = deque()
        self._delays: deque[float] = deque()
        self._holds: deque[Hold] = deque()
        self._runner: web.AppRunner | None = None
        self.url = ""
        self.media: dict[str, bytes] = {}  # what users sent, served at `host_media(name)` as Viber's CDN would
        self.redirects: dict[str, str] = {}  # media names answered with a redirect
        # Broadcast limit: send_message calls a second (None: no limit); over it, status 12, counted.
        self.per_second: int | None = None
        self.too_many = 0
        self._recent: deque[float] = deque()
        self.tokens: dict[str, int] = {}  # receiver → token of the last message accepted for them (for receipts)

    # --- control --------------------------------------------------------------------------------------------------
    def delay_next(self, seconds: float) -> None:
        """The next send_message call is answered (and recorded) only after `seconds`."""
        self._delays.append(seconds)

    def hold_next(self) -> Hold:
        """The next send_message call waits, unanswered, until the test releases it; a call whose sender has gone
        by then (killed while it waited) is neither answered nor recorded: the message was not accepted."""
        hold = Hold()
        self._holds.append(hold)
        return hold

    def answer(self, status: int, times: int = 1) -> None:
        """The next `times` send_message calls get `status`; afterwards 0 again."""
        self._scripted.extend([status] * times)

    async def start(self) -> str:
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_post("/pa/{endpoint}", self._handle)
        app.router.add_get("/media/{name}", self._media)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}/pa"
        return self.url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def media_host(self) -> str:
        """The media CDN's name and port, as an allow-list entry (`VIBER_MEDIA_HOSTS`): the name is resolved to this
        server by `media_resolver()`, the way DNS resolves Viber's CDN names."""
        return f"{MEDIA_HOST}:{self.url.split(':')[2].split('/')[0]}"

    def media_resolver(self, names: dict[str, str] | None = None) -> StaticResolver:
        """Resolves the media host to this server (on loopback), and any other `names` to the addresses given."""
        return StaticResolver({MEDIA_HOST: "127.0.0.1", **(names or {})})

    def host_media(self, name: str, content: bytes) -> str:
        """Keep a file a user sends; returns its URL (the `media` of their picture or file message)."""
        self.media[name] = content
        return f"http://{self.media_host}/media/{name}"

    def redirect_media(self, name: str, location: str) -> str:
        """A media URL that answers 302 to `location` (a URL the sender's client chose to point inside)."""
        self.redirects[name] = location
        return f"http://{self.media_host}/media/{name}"

    async def _media(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name in self.redirects:
            raise web.HTTPFound(self.redirects[name])
        content = self.media.get(name)
        return web.Response(status=404) if content is None else web.Response(body=content)

    def rate_limit(self, per_second: int | None) -> None:
        """Answer status 12 (tooManyRequests) to send_message calls beyond `per_second` in any one second."""
        self.per_second = per_second

    def _rate_status(self) -> int:
        if self.per_second is None:
            return 0
        now = time.monotonic()
        while self._recent and now - self._recent[0] > 1.0:
            self._recent.popleft()
        if len(self._recent) >= self.per_second:
            self.too_many += 1
            return 12
        self._recent.append(now)
        return 0

    # --- what the bot sent ------------------------------------------------------------------------------------------
    def messages(self, receiver: str | None = None) -> list[dict[str, Any]]:
        """Messages Viber accepted (status 0), in order."""
        return [c.body for c in self.calls if c.endpoint == "send_message" and c.status == 0
                and (receiver is None or c.body.get("receiver") == receiver)]  # fmt: skip

    def send_calls(self) -> list[Call]:
        return [c for c in self.calls if c.endpoint == "send_message"]

    # --- the server -------------------------------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.Response:
        endpoint = request.match_info["endpoint"]
        raw = await request.read()
        if self.delay:
            await asyncio.sleep(self.delay)
        if request.headers.get("X-Viber-Auth-Token") != self.auth_token:
            return self._answer(endpoint, {}, len(raw), 2, "invalidAuthToken", request)
        try:
            body = json.loads(raw)
        except ValueError:
            self.problems.append(f"{endpoint}: body is not JSON")
            return self._answer(endpoint, {}, len(raw), 3, "badData", request)
        if len(raw) > MAX_BYTES:
            self.problems.append(f"{endpoint}: request of {len(raw)} bytes (at most {MAX_BYTES})")
            return self._answer(endpoint, body, len(raw), 3, "badData", request)
        if endpoint == "send_message":
            if self._delays:
                await asyncio.sleep(self._delays.popleft())
            if self._holds:
                hold = self._holds.popleft()
                hold.arrived.set()
                await hold.release.wait()
                if request.transport is None or request.transport.is_closing():
                    return web.Response(status=499)  # nobody is there to read the answer
            problems = message_problems(body)
            if problems:
                self.problems.extend(f"send_message: {p}" for p in problems)
                return self._answer(endpoint, body, len(raw), 3, "badData", request)
            status = self._scripted.popleft() if self._scripted else self._rate_status()
            return self._answer(endpoint, body, len(raw), status, "ok" if status == 0 else "error", request)
        if endpoint == "set_webhook":
            return await self._set_webhook(body, len(raw), request)
        if endpoint == "get_account_info":
            info = {"id": "pa:5592371264357392101", "name": self.account_name, "uri": self.account_uri,
                    "icon": "https://media.example.com/icon.jpg", "category": "Telecom", "subcategory": "Mobile",
                    "country": "RS", "webhook": self.webhook_url or "", "event_types": self.webhook_events,
                    "subscribers_count": 0, "members": []}  # fmt: skip
            return self._answer(endpoint, body, len(raw), 0, "ok", request, **info)
        return self._answer(endpoint, body, len(raw), 0, "ok", request)

    async def _set_webhook(self, body: dict[str, Any], size: int, request: web.Request) -> web.Response:
        url = body.get("url", "")
        if url:
            callback = json.dumps({"event": "webhook", "timestamp": int(time.time() * 1000),
                                   "chat_hostname": "SN-FAKE_", "message_token": next(_tokens)}).encode()  # fmt: skip
            try:
                async with (
                    aiohttp.ClientSession() as http,
                    http.post(
                        url, data=callback, headers={"X-Viber-Content-Signature": sign(callback, self.auth_token)}
                    ) as response,
                ):
                    ok = response.status == 200
            except aiohttp.ClientError:
                ok = False
            if not ok:
                return self._answer("set_webhook", body, size, 1, "invalidUrl", request)
        self.webhook_url = url or None
        self.webhook_events = list(body.get("event_types", []))
        return self._answer("set_webhook", body, size, 0, "ok", request, event_types=self.webhook_events)

    def _answer(
        self, endpoint: str, body: dict[str, Any], size: int, status: int, message: str, request: web.Request,
        **extra: Any,
    ) -> web.Response:  # fmt: skip
        if self.record:
            self.calls.append(Call(endpoint, body, size, status, dict(request.headers)))
        self.accepted += endpoint == "send_message" and status == 0
        answer: dict[str, Any] = {"status": status, "status_message": message, **extra}
        if endpoint == "send_message" and status == 0:
            answer["message_token"] = next(_tokens)
            self.tokens[str(body.get("receiver"))] = answer["message_token"]
            answer["chat_hostname"] = "SN-FAKE_"
        return web.json_response(answer)


class ViberUser:
    """A Viber user talking to the webhook at `webhook_url`; each action returns the HTTP status of the callback."""

    def __init__(
        self,
        api: FakeViberApi,
        webhook_url: str,
        http: aiohttp.ClientSession,
        user_id: str,
        *,
        language: str = "sr",
        name: str = "Test User",
        auth_token: str | None = None,
    ) -> None:
        self.api = api
        self.webhook_url = webhook_url
        self.http = http
        self.id = user_id
        self.language = language
        self.name = name
        self.auth_token = auth_token or api.auth_token
        self.welcome: dict[str, Any] | None = None
        self.replies: list[dict[str, Any]] = []  # what the bot sent in answer to the last action
        self._last: dict[str, Any] | None = None

    # --- callbacks ----------------------------------------------------------------------------------------------------
    def _user(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "avatar": "https://avatar.example.com/u.jpg", "country": "RS",
                "language": self.language, "api_version": 10}  # fmt: skip

    def message_callback(self, message: dict[str, Any], *, token: int | None = None) -> dict[str, Any]:
        last = self.last_message()
        if last is not None and "tracking_data" in last:
            message = {**message, "tracking_data": last["tracking_data"]}
        return {"event": "message", "timestamp": int(time.time() * 1000), "chat_hostname": "SN-FAKE_",
                "message_token": token if token is not None else next(_tokens), "sender": self._user(),
                "message": message, "silent": False}  # fmt: skip

    async def post(self, callback: dict[str, Any] | bytes, *, signature: str | None = "sign") -> tuple[int, bytes]:
        """Post a callback signed as Viber would (`signature=None`: unsigned; any other text: that signature)."""
        body = callback if isinstance(callback, bytes) else json.dumps(callback, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json"}
        if signature == "sign":
            headers["X-Viber-Content-Signature"] = sign(body, self.auth_token)
        elif signature is not None:
            headers["X-Viber-Content-Signature"] = signature
        before = len(self.api.messages(self.id))
        async with self.http.post(self.webhook_url, data=body, headers=headers) as response:
            answer = await response.read()
            status = response.status
        self.replies = self.api.messages(self.id)[before:]
        if self.replies:
            self._last = self.replies[-1]
        return status, answer

    async def open(self, *, subscribed: bool = False) -> int:
        """Open the chat (conversation_started): the welcome comes back in the HTTP response."""
        callback = {"event": "conversation_started", "timestamp": int(time.time() * 1000), "chat_hostname": "SN-FAKE_",
                    "message_token": next(_tokens), "type": "open", "context": "", "user": self._user(),
                    "subscribed": subscribed}  # fmt: skip
        status, answer = await self.post(callback)
        self.welcome = json.loads(answer) if answer else None
        if self.welcome is not None:
            self.replies = [self.welcome]
            self._last = self.welcome
        return status

    async def say(self, text: str) -> int:
        status, _ = await self.post(self.message_callback({"type": "text", "text": text}))
        return status

    def button_callback(self, label: str) -> dict[str, Any]:
        """The callback Viber posts when the button of the current keyboard labelled `label` is pressed (exactly
        one label must contain it); post it, or post it again as Viber's re-delivery."""
        buttons = [b for b in self.keyboard() if label in b.get("Text", "")]
        assert len(buttons) == 1, f"{label!r} matches {len(buttons)} of {self.labels()}"
        button = buttons[0]
        if button["ActionType"] == "share-phone":
            raise AssertionError("use share_phone() for the share-phone button")
        # An open-url button opens its URL and, as a reply button does, sends its body back as a text message.
        assert button["ActionType"] in ("reply", "open-url"), button
        return self.message_callback({"type": "text", "text": button["ActionBody"]})

    async def press(self, label: str) -> int:
        """Press the button of the bot's current keyboard whose label contains `label` (exactly one must)."""
        status, _ = await self.post(self.button_callback(label))
        return status

    async def share_phone(self, phone: str) -> int:
        """The share-phone button: Viber sends the user's own number as a contact message."""
        message = {"type": "contact", "contact": {"name": self.name, "phone_number": phone}}
        status, _ = await self.post(self.message_callback(message))
        return status

    async def send_contact_card(self, phone: str, name: str = "Someone Else") -> int:
        """A contact picked from the address book: the same message type, someone else's number."""
        message = {"type": "contact", "contact": {"name": name, "phone_number": phone}}
        status, _ = await self.post(self.message_callback(message))
        return status

    async def send_sticker(self) -> int:
        status, _ = await self.post(self.message_callback({"type": "sticker", "sticker_id": 46105}))
        return status

    async def send_picture(self, media: str = "https://media.example.com/p.jpg", size: int = 1024) -> int:
        message = {"type": "picture", "text": "", "media": media,
                   "thumbnail": "https://media.example.com/t.jpg", "size": size, "file_name": "p.jpg"}  # fmt: skip
        status, _ = await self.post(self.message_callback(message))
        return status

    async def send_location(self) -> int:
        status, _ = await self.post(self.message_callback({"type": "location", "location": {"lat": 44.8, "lon": 20.4}}))
        return status

    async def subscribe(self) -> int:
        callback = {"event": "subscribed", "timestamp": int(time.time() * 1000), "chat_hostname": "SN-FAKE_",
                    "message_token": next(_tokens), "user": self._user()}  # fmt: skip
        status, _ = await self.post(callback)
        return status

    async def unsubscribe(self) -> int:
        callback = {"event": "unsubscribed", "timestamp": int(time.time() * 1000), "chat_hostname": "SN-FAKE_",
                    "user_id": self.id, "message_token": next(_tokens)}  # fmt: skip
        status, _ = await self.post(callback)
        return status

    # --- what the user sees -------------------------------------------------------------------------------------------
    def last_message(self) -> dict[str, Any] | None:
        """The last message the bot showed this user (sent through the API, or the welcome)."""
        return self._last

    def look(self) -> None:
        """Look at the chat: a message the bot sent outside an action of this user (a campaign's) is now the last."""
        messages = self.api.messages(self.id)
        if messages:
            self._last = messages[-1]

    def keyboard(self) -> list[dict[str, Any]]:
        """The keyboard on screen: Viber shows the last one sent (a message without one removes it)."""
        last = self.last_message()
        if last is None or "keyboard" not in last:
            return []
        buttons: list[dict[str, Any]] = last["keyboard"]["Buttons"]
        return buttons

    def labels(self) -> list[str]:
        return [b.get("Text", "") for b in self.keyboard()]

    @property
    def text(self) -> str:
        """Everything the bot said in answer to the last action."""
        return "\n".join(m.get("text", "") for m in self.replies)

    def expect(self, *fragments: str) -> None:
        for fragment in fragments:
            assert fragment in self.text, f"expected {fragment!r} in the bot's reply:\n{self.text}"

    def expect_buttons(self, *labels: str) -> None:
        for label in labels:
            assert any(label in shown for shown in self.labels()), f"no button {label!r} in {self.labels()}"
