"""A local Telegram Bot API server for tests and benchmarks (aiohttp), speaking the real wire format.

It accepts what aiogram sends (`POST /bot{token}/{method}`, form-encoded or multipart, nested objects as JSON
strings), answers with Bot API JSON that aiogram parses (message objects, `{"ok": false, "error_code": …}`),
serves `getUpdates` with long polling or posts updates to a webhook with the secret header, records every call,
and enforces the platform's limits: text 1–4096 characters after entity parsing, `callback_data` ≤ 64 bytes, HTML
parse errors, 429 with `retry_after` when a chat or the bot sends too fast (and until the pause is over), 403 for a
chat that blocked the bot. A test acts as a user through it: send text, press a button of the last keyboard, share
a contact, send a sticker, block and unblock the bot.
"""

from __future__ import annotations

import asyncio
import html
import itertools
import json
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import ClientError, ClientSession, ClientTimeout, web
from aiohttp.web_request import FileField

T = TypeVar("T")

MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64
OVERALL_JITTER = 0.04  # seconds of the fake's own loop lag not held against the bot in the bot-wide second
_ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre", "span",
                 "tg-spoiler", "tg-emoji", "blockquote"}  # fmt: skip
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^<>]*)?)>")
_ENTITY = re.compile(r"&(lt|gt|amp|quot|#[0-9]+|#x[0-9a-fA-F]+);")
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as "
    "a current content and reply markup of the message"
)
_SENDING = {"sendMessage", "editMessageText", "sendDocument", "sendPhoto", "sendChatAction"}


class ApiError(Exception):
    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def parse_html(text: str) -> str:
    """Telegram's HTML parse mode, strictly: the plain text, or ApiError 400 "can't parse entities"."""
    out: list[str] = []
    stack: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "<":
            match = _TAG.match(text, i)
            if match is None:
                raise ApiError(400, f"Bad Request: can't parse entities: Unexpected character '<' at byte offset {i}")
            closing, name = match.group(1), match.group(2).lower()
            if name not in _ALLOWED_TAGS:
                raise ApiError(
                    400, f'Bad Request: can\'t parse entities: Unsupported start tag "{name}" at byte offset {i}'
                )
            if closing:
                if not stack or stack[-1] != name:
                    raise ApiError(400, f"Bad Request: can't parse entities: Unexpected end tag at byte offset {i}")
                stack.pop()
            else:
                stack.append(name)
            i = match.end()
        elif ch == "&":
            match = _ENTITY.match(text, i)
            if match is None:
                raise ApiError(400, f"Bad Request: can't parse entities: Character '&' is reserved at byte offset {i}")
            out.append(html.unescape(match.group(0)))
            i = match.end()
        elif ch == ">":
            raise ApiError(400, f"Bad Request: can't parse entities: Character '>' is reserved at byte offset {i}")
        else:
            out.append(ch)
            i += 1
    if stack:
        raise ApiError(
            400, f"Bad Request: can't parse entities: Can't find end tag corresponding to start tag \"{stack[-1]}\""
        )
    return "".join(out)


@dataclass
class ApiCall:
    method: str
    params: dict[str, Any]
    at: float
    status: int = 200
    result: Any = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return int(value) if value is not None else None


@dataclass
class FakeUser:
    id: int
    first_name: str = "Jovana"
    language_code: str | None = "sr"

    def as_json(self) -> dict[str, Any]:
        user: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.language_code:
            user["language_code"] = self.language_code
        return user


@dataclass
class Chat:
    id: int
    first_name: str
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)
    next_id: int = 1

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "first_name": self.first_name, "type": "private"}


@dataclass
class ForcedLimit:
    chat_id: int
    skip: int  # this many sends to the chat go through first
    retry_after: int


class FakeTelegram:
    def __init__(
        self,
        token: str = "123456789:TEST-token-for-the-fake-bot-api",
        *,
        per_chat_per_second: int | None = 10,
        overall_per_second: int | None = 30,
        retry_after: int = 1,
        group_per_window: int = 20,
        group_window: float = 60.0,
        chat_burst: int | None = None,
        chat_rate: float = 1.0,
    ) -> None:
        self.token = token
        self.bot_id = int(token.split(":")[0])
        self.per_chat_per_second = per_chat_per_second
        self.overall_per_second = overall_per_second
        self.retry_after = retry_after
        # Telegram's real pace in a chat: `chat_burst` messages at once, then `chat_rate` a second (a token bucket;
        # None: the older window of `per_chat_per_second`). Chat actions do not count as messages then.
        self.chat_burst = chat_burst
        self.chat_rate = chat_rate
        self._chat_tokens: dict[int, tuple[float, float]] = {}  # chat → (tokens, at)
        self.record = True  # benchmarks switch recording off
        self.succeeded = 0  # calls answered "ok", recorded or not
        self.calls: list[ApiCall] = []
        self.chats: dict[int, Chat] = {}
        self.blocked: set[int] = set()
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.webhook: dict[str, Any] | None = None
        self.webhook_statuses: list[int] = []
        self.webhook_error: tuple[float, str] | None = None  # the last failed delivery, as getWebhookInfo reports it
        self.callback_queries: dict[str, bool] = {}  # id → answered
        self._updates: list[dict[str, Any]] = []
        self._resend: list[dict[str, Any]] = []  # served once whatever the offset (a lost confirmation)
        self._update_ids = itertools.count(200_000_001)
        self._callback_ids = itertools.count(1)
        self._new_update = asyncio.Event()
        self._recent: deque[tuple[float, int]] = deque()  # (time, chat) of recent sends
        self._paused_until: dict[int | None, float] = {}  # chat (None: the whole bot) → time
        self._forced: list[ForcedLimit] = []
        # Broadcast limits: the 429s given, by cause; a bot-wide 429 a test injects; the paid broadcast rate.
        self.too_many: dict[str, int] = {"rate": 0, "chat_rate": 0, "paused": 0, "injected": 0}
        self.paid_per_second: int | None = 1000
        self._forced_all: list[ForcedLimit] = []
        self.injected_at: list[float] = []
        self._deliveries: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._deliverer: asyncio.Task[None] | None = None
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        # Support groups (see "supergroups with forum topics" below).
        self.group_per_window = group_per_window
        self.group_window = group_window
        self.groups: dict[int, ForumGroup] = {}
        self.group_sends: dict[int, deque[float]] = {}
        self.group_limited: list[ApiCall] = []
        self.file_ids: set[str] = set()
        self.file_bytes: dict[str, bytes] = {}  # file id → the bytes a test gave it
        self._file_numbers = itertools.count(1)

    # --- server ---------------------------------------------------------------------------------------------------
    async def start(self, port: int = 0) -> str:
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_post("/bot{token}/{method}", self._handle)
        app.router.add_get("/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)  # files by getFile's path
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        sockets = site._server.sockets  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{sockets[0].getsockname()[1]}"
        self._deliverer = asyncio.create_task(self._deliver_webhooks())
        return self.base_url

    async def close(self) -> None:
        if self._deliverer is not None:
            self._deliverer.cancel()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        params = await self._params(request)
        call = ApiCall(method, params, time.monotonic())
        if self.record:
            self.calls.append(call)
        handler = getattr(self, "_m_" + method, None)
        try:
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            if method in _SENDING:
                self._check_chat(params)
            handler = self._support_group_hooks(method, params) or handler  # support groups (below)
            result = await handler(params)
            self._in_topic(params, result)
        except ApiError as exc:
            call.status, call.error = exc.code, exc.description
            return web.json_response(exc.body(), status=exc.code)
        call.result = result
        self.succeeded += 1
        return web.json_response({"ok": True, "result": result})

    @staticmethod
    async def _params(request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if request.content_type == "application/json":
            params.update(await request.json())
            return params
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, str):
                params[key] = value
            elif isinstance(value, FileField):
                params[key] = {"filename": value.filename, "content": value.file.read()}
            else:
                params[key] = {"filename": key, "content": bytes(value)}
        for key in ("reply_markup", "allowed_updates", "commands", "scope", "entities"):
            if isinstance(params.get(key), str):
                params[key] = json.loads(params[key])
        return params

    # --- limits -----------------------------------------------------------------------------------------------------
    def _check_chat(self, params: dict[str, Any]) -> None:
        chat_id = int(params.get("chat_id", 0))
        if chat_id in self.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if chat_id not in self.chats:
            raise ApiError(400, "Bad Request: chat not found")
        now = time.monotonic()
        for key in (chat_id, None):
            until = self._paused_until.get(key, 0.0)
            if now < until:
                self.too_many["paused"] += 1
                raise ApiError(429, f"Too Many Requests: retry after {int(until - now) + 1}", int(until - now) + 1)
        self._check_forced_all(now)
        for forced in self._forced:
            if forced.chat_id == chat_id:
                if forced.skip > 0:
                    forced.skip -= 1
                    break
                self._forced.remove(forced)
                self._paused_until[chat_id] = now + forced.retry_after
                self.too_many["injected"] += 1
                raise ApiError(429, f"Too Many Requests: retry after {forced.retry_after}", forced.retry_after)
        if self.chat_burst is not None and params.get("action") is not None:
            return  # with the real limits a chat action (typing…) is not a message
        # The sliding second, less a few tens of milliseconds: this fake reads its clock when its own event loop gets
        # to a request, and on a CPU shared with the workers that loop's stalls bunch arrivals the bot had spaced
        # out. A sustained rate above the limit is still refused (and the tests measure the rate themselves).
        while self._recent and now - self._recent[0][0] > 1.0 - OVERALL_JITTER:
            self._recent.popleft()
        overall = self._overall_limit(params)
        if overall is not None and len(self._recent) >= overall:
            self._paused_until[None] = now + self.retry_after
            self.too_many["rate"] += 1
            raise ApiError(429, f"Too Many Requests: retry after {self.retry_after}", self.retry_after)
        if self.chat_burst is not None:
            tokens, at = self._chat_tokens.get(chat_id, (float(self.chat_burst), now))
            tokens = min(float(self.chat_burst), tokens + (now - at) * self.chat_rate)
            if tokens < 0.95:  # a few tens of milliseconds of network jitter are not held against the bot
                self._paused_until[chat_id] = now + self.retry_after
                self.too_many["chat_rate"] += 1
                raise ApiError(429, f"Too Many Requests: retry after {self.retry_after}", self.retry_after)
            self._chat_tokens[chat_id] = (tokens - 1.0, now)
        elif self.per_chat_per_second is not None:
            in_chat = sum(1 for _, chat in self._recent if chat == chat_id)
            if in_chat >= self.per_chat_per_second:
                self._paused_until[chat_id] = now + self.retry_after
                self.too_many["chat_rate"] += 1
                raise ApiError(429, f"Too Many Requests: retry after {self.retry_after}", self.retry_after)
        self._recent.append((now, chat_id))

    def limit_next(self, user: FakeUser, *, skip: int = 0, retry_after: int = 1) -> None:
        """The send to this chat after `skip` more sends gets a 429, and the chat is paused for `retry_after`."""
        self._forced.append(ForcedLimit(user.id, skip, retry_after))

    # --- broadcast limits -------------------------------------------------------------------------------------------
    def _overall_limit(self, params: dict[str, Any]) -> int | None:
        """Messages a second to all chats: the bulk limit, or the paid one with `allow_paid_broadcast`."""
        paid = str(params.get("allow_paid_broadcast", "")).lower() == "true"
        return self.paid_per_second if paid else self.overall_per_second

    def _check_forced_all(self, now: float) -> None:
        for forced in self._forced_all:
            if forced.skip > 0:
                forced.skip -= 1
                return
            self._forced_all.remove(forced)
            self._paused_until[None] = now + forced.retry_after
            self.too_many["injected"] += 1
            self.injected_at.append(now)
            raise ApiError(429, f"Too Many Requests: retry after {forced.retry_after}", forced.retry_after)

    def limit_all_after(self, sends: int, *, retry_after: int = 2) -> None:
        """After `sends` more sends (to any chat), one gets a 429 and the whole bot is paused for `retry_after`."""
        self._forced_all.append(ForcedLimit(0, sends, retry_after))

    @property
    def caused_429(self) -> int:
        """429s the bot brought on itself: too fast overall, in a chat, or sending during a pause it was told of."""
        return self.too_many["rate"] + self.too_many["chat_rate"] + self.too_many["paused"]

    def accepted_sends(self) -> list[ApiCall]:
        return [c for c in self.calls if c.method in _SENDING and c.ok]

    @staticmethod
    def _check_markup(markup: Any) -> None:
        if not isinstance(markup, dict):
            return
        for row in markup.get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
                if not button.get("text"):
                    raise ApiError(400, "Bad Request: text buttons are unallowed in the inline keyboard")
                url = button.get("url")
                if url is not None and not str(url).startswith(("https://", "http://", "tg://")):
                    raise ApiError(400, f"Bad Request: inline keyboard button URL '{url}' is invalid: Unsupported URL "
                                        "protocol")  # fmt: skip

    @staticmethod
    def _text(params: dict[str, Any], key: str = "text", limit: int = MAX_TEXT) -> str:
        raw = str(params.get(key, ""))
        text = parse_html(raw) if str(params.get("parse_mode", "")).upper() == "HTML" else raw
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(text) > limit:
            raise ApiError(400, "Bad Request: message is too long")
        return text

    # --- methods ----------------------------------------------------------------------------------------------------
    def _bot_user(self) -> dict[str, Any]:
        return {"id": self.bot_id, "is_bot": True, "first_name": "Mila", "username": "mila_test_bot"}

    async def _m_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._bot_user() | {"can_join_groups": False, "can_read_all_group_messages": False,
                                   "supports_inline_queries": False}  # fmt: skip

    async def _m_setMyCommands(self, params: dict[str, Any]) -> bool:
        for command in params.get("commands", []):
            if not re.fullmatch(r"[a-z0-9_]{1,32}", command["command"]) or not 1 <= len(command["description"]) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
        self.commands[str(params.get("language_code", ""))] = params.get("commands", [])
        return True

    async def _m_deleteWebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = None
        return True

    async def _m_setWebhook(self, params: dict[str, Any]) -> bool:
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        self.webhook = {"url": params["url"], "secret_token": secret, "allowed_updates": params.get("allowed_updates")}
        for update in self._updates:
            self._deliveries.put_nowait(update)
        self._updates.clear()
        return True

    async def _m_getWebhookInfo(self, params: dict[str, Any]) -> dict[str, Any]:
        info = {"url": self.webhook["url"] if self.webhook else "", "has_custom_certificate": False,
                "pending_update_count": len(self._updates)}  # fmt: skip
        if self.webhook is not None and self.webhook_error is not None:
            info |= {"last_error_date": int(self.webhook_error[0]), "last_error_message": self.webhook_error[1]}
        if self.webhook is not None and self.webhook.get("allowed_updates"):
            info["allowed_updates"] = self.webhook["allowed_updates"]
        return info

    async def _m_getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook is not None:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
                                "delete the webhook first")  # fmt: skip
        offset = int(params.get("offset", 0) or 0)
        limit = int(params.get("limit", 100) or 100)
        timeout = float(params.get("timeout", 0) or 0)
        deadline = time.monotonic() + timeout
        while True:
            if offset:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            if self._resend:
                resend, self._resend = self._resend, []
                return resend + self._updates[: max(0, limit - len(resend))]
            if self._updates:
                return self._updates[:limit]
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            self._new_update.clear()
            try:
                await asyncio.wait_for(self._new_update.wait(), remaining)
            except TimeoutError:
                return []

    async def _m_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        text = self._text(params)
        markup = params.get("reply_markup")
        self._check_markup(markup)
        return self._store(int(params["chat_id"]), {"text": text}, markup)

    async def _m_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self.chats[int(params["chat_id"])]
        message = chat.messages.get(int(params["message_id"]))
        if message is None or message["from"]["id"] != self.bot_id:
            raise ApiError(400, "Bad Request: message to edit not found")
        text = self._text(params)
        markup = params.get("reply_markup")
        self._check_markup(markup)
        if message.get("text") == text and message.get("reply_markup") == markup:
            raise ApiError(400, NOT_MODIFIED)
        message["text"] = text
        message["edit_date"] = int(time.time())
        if markup:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        return message

    async def _m_deleteMessage(self, params: dict[str, Any]) -> bool:
        chat = self.chats.get(int(params["chat_id"]))
        if chat is None or chat.messages.pop(int(params["message_id"]), None) is None:
            raise ApiError(400, "Bad Request: message to delete not found")
        return True

    async def _m_sendChatAction(self, params: dict[str, Any]) -> bool:
        return True

    async def _m_sendDocument(self, params: dict[str, Any]) -> dict[str, Any]:
        document = params.get("document")
        if isinstance(document, str) and document.startswith("attach://"):
            document = params.get(document.removeprefix("attach://"))
        if not isinstance(document, dict):
            raise ApiError(400, "Bad Request: there is no document in the request")
        content: dict[str, Any] = {
            "document": {"file_id": f"doc-{len(self.calls)}", "file_unique_id": f"u{len(self.calls)}",
                         "file_name": document["filename"], "file_size": len(document["content"])},
        }  # fmt: skip
        if params.get("caption"):
            content["caption"] = self._text(params, "caption", 1024)
        return self._store(int(params["chat_id"]), content, params.get("reply_markup"))

    async def _m_sendPhoto(self, params: dict[str, Any]) -> dict[str, Any]:
        photo = params.get("photo")
        if not isinstance(photo, str) or not photo.startswith(("https://", "http://")):
            raise ApiError(400, "Bad Request: wrong remote file identifier specified")  # only URLs are sent by us
        markup = params.get("reply_markup")
        self._check_markup(markup)
        content: dict[str, Any] = {
            "photo": [
                {
                    "file_id": f"photo-{len(self.calls)}",
                    "file_unique_id": f"p{len(self.calls)}",
                    "width": 800,
                    "height": 600,
                }
            ],
            "_url": photo,
        }
        if params.get("caption"):
            content["caption"] = self._text(params, "caption", 1024)
        return self._store(int(params["chat_id"]), content, markup)

    async def _m_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        query_id = str(params["callback_query_id"])
        if query_id not in self.callback_queries or self.callback_queries[query_id]:
            raise ApiError(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        if len(str(params.get("text", ""))) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        self.callback_queries[query_id] = True
        return True

    def _store(self, chat_id: int, content: dict[str, Any], markup: Any) -> dict[str, Any]:
        chat = self.chats[chat_id]
        message: dict[str, Any] = {
            "message_id": chat.next_id, "from": self._bot_user(), "chat": chat.as_json(), "date": int(time.time()),
            **content,
        }  # fmt: skip
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup  # reply keyboards are not part of the message object
        elif isinstance(markup, dict):
            message["_reply_keyboard"] = markup
        chat.next_id += 1
        chat.messages[message["message_id"]] = message
        return {k: v for k, v in message.items() if not k.startswith("_")}

    # --- updates ----------------------------------------------------------------------------------------------------
    def deliver(self, update: dict[str, Any]) -> int:
        """Give an update to the bot: queued for getUpdates, or posted to the webhook when one is set."""
        if self.webhook is not None:
            self._deliveries.put_nowait(update)
        else:
            self._updates.append(update)
            self._new_update.set()
        return int(update["update_id"])

    def inject(self, update: dict[str, Any]) -> int:
        """A recorded update (e.g. from tests/fixtures), renumbered so it comes after the ones already sent."""
        query = update.get("callback_query")
        if query is not None:
            self.callback_queries[str(query["id"])] = False
        return self.deliver({**update, "update_id": next(self._update_ids)})

    def redeliver(self, update: dict[str, Any]) -> int:
        """The same update again, as Telegram does when it is not sure it was delivered (also below the offset)."""
        if self.webhook is not None:
            return self.deliver(dict(update))
        self._resend.append(dict(update))
        self._new_update.set()
        return int(update["update_id"])

    async def _deliver_webhooks(self) -> None:
        async with ClientSession(timeout=ClientTimeout(total=70)) as http:
            while True:
                update = await self._deliveries.get()
                for _attempt in range(50):
                    webhook = self.webhook
                    if webhook is None:
                        self._updates.append(update)
                        self._new_update.set()
                        break
                    headers = {"X-Telegram-Bot-Api-Secret-Token": webhook["secret_token"] or ""}
                    try:
                        async with http.post(webhook["url"], json=update, headers=headers) as response:
                            self.webhook_statuses.append(response.status)
                            if 200 <= response.status < 300:
                                break
                            self.webhook_error = (time.time(), f"Wrong response from the webhook: {response.status}")
                    except (OSError, ClientError) as exc:  # refused, or the process died with the request open
                        self.webhook_statuses.append(0)
                        self.webhook_error = (time.time(), f"Connection failed: {type(exc).__name__}")
                    await asyncio.sleep(0.2)

    def _chat(self, user: FakeUser) -> Chat:
        return self.chats.setdefault(user.id, Chat(user.id, user.first_name))

    def _user_message(self, user: FakeUser, content: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(user)
        message = {"message_id": chat.next_id, "from": user.as_json(), "chat": chat.as_json(),
                   "date": int(time.time()), **content}  # fmt: skip
        chat.next_id += 1
        chat.messages[message["message_id"]] = message
        return message

    def update(self, **payload: Any) -> dict[str, Any]:
        return {"update_id": next(self._update_ids), **payload}

    def user(self, user_id: int, first_name: str = "Jovana", language_code: str | None = "sr") -> FakeUser:
        user = FakeUser(user_id, first_name, language_code)
        self._chat(user)
        return user

    # --- acting as a user -------------------------------------------------------------------------------------------
    def send_text(self, user: FakeUser, text: str) -> dict[str, Any]:
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            content["entities"] = [{"offset": 0, "length": len(text.split()[0]), "type": "bot_command"}]
        update = self.update(message=self._user_message(user, content))
        self.deliver(update)
        return update

    def press(self, user: FakeUser, label: str) -> dict[str, Any]:
        """Press the button whose text contains `label` on the bot's last message with an inline keyboard."""
        message = self.last_keyboard_message(user)
        assert message is not None, "the bot has shown no inline keyboard"
        buttons = [b for row in message["reply_markup"]["inline_keyboard"] for b in row if label in b["text"]]
        labels = [b["text"] for row in message["reply_markup"]["inline_keyboard"] for b in row]
        assert len(buttons) == 1, f"{label!r} matches {len(buttons)} of {labels}"
        return self.press_data(user, buttons[0]["callback_data"], message["message_id"])

    def press_data(
        self, user: FakeUser, data: str, message_id: int | None = None, *, deliver: bool = True
    ) -> dict[str, Any]:
        """A callback query with any data (a stale or forged one too) on one of the bot's messages.

        `deliver=False` only makes the update, for a test that posts it itself.
        """
        chat = self._chat(user)
        if message_id is None:
            message_id = max(i for i, m in chat.messages.items() if m["from"]["id"] == self.bot_id)
        message = {k: v for k, v in chat.messages[message_id].items() if not k.startswith("_")}
        query_id = str(next(self._callback_ids))
        self.callback_queries[query_id] = False
        update = self.update(callback_query={"id": query_id, "from": user.as_json(), "message": message,
                                             "chat_instance": f"ci-{user.id}", "data": data})  # fmt: skip
        if deliver:
            self.deliver(update)
        return update

    def share_contact(self, user: FakeUser, phone: str, *, own: bool = True) -> dict[str, Any]:
        contact: dict[str, Any] = {"phone_number": phone, "first_name": user.first_name}
        if own:
            contact["user_id"] = user.id
        update = self.update(message=self._user_message(user, {"contact": contact}))
        self.deliver(update)
        return update

    def send_sticker(self, user: FakeUser) -> dict[str, Any]:
        sticker = {"file_id": "sticker-1", "file_unique_id": "s1", "type": "regular", "width": 512, "height": 512,
                   "is_animated": False, "is_video": False, "emoji": "👍"}  # fmt: skip
        update = self.update(message=self._user_message(user, {"sticker": sticker}))
        self.deliver(update)
        return update

    def _membership(self, user: FakeUser, old: str, new: str) -> dict[str, Any]:
        bot = self._bot_user()
        before: dict[str, Any] = {"user": bot, "status": old}
        after: dict[str, Any] = {"user": bot, "status": new}
        for member in (before, after):
            if member["status"] == "kicked":
                member["until_date"] = 0
        update = self.update(
            my_chat_member={"chat": self._chat(user).as_json(), "from": user.as_json(), "date": int(time.time()),
                            "old_chat_member": before, "new_chat_member": after}
        )  # fmt: skip
        self.deliver(update)
        return update

    def block(self, user: FakeUser, *, announce: bool = True) -> None:
        """The user blocks the bot: sends to the chat get 403 from now on; Telegram also tells the bot (announce)."""
        self.blocked.add(user.id)
        if announce:
            self._membership(user, "member", "kicked")

    def unblock(self, user: FakeUser) -> None:
        self.blocked.discard(user.id)
        self._membership(user, "kicked", "member")

    # --- reading what the bot did -----------------------------------------------------------------------------------
    def bot_messages(self, user: FakeUser) -> list[dict[str, Any]]:
        return [m for m in self._chat(user).messages.values() if m["from"]["id"] == self.bot_id]

    def last_keyboard_message(self, user: FakeUser) -> dict[str, Any] | None:
        for message in reversed(self.bot_messages(user)):
            if "reply_markup" in message:
                found: dict[str, Any] = message
                return found
        return None

    def labels(self, user: FakeUser) -> list[str]:
        message = self.last_keyboard_message(user)
        if message is None:
            return []
        return [b["text"] for row in message["reply_markup"]["inline_keyboard"] for b in row]

    def calls_to(self, user: FakeUser, *methods: str, since: int = 0) -> list[ApiCall]:
        return [c for c in self.calls[since:] if c.chat_id == user.id and (not methods or c.method in methods)]

    def shown_since(self, user: FakeUser, since: int) -> list[str]:
        """Texts the bot showed the user (sent or edited) in successful calls after call number `since`."""
        return [c.result["text"] for c in self.calls_to(user, "sendMessage", "editMessageText", since=since)
                if c.ok and "text" in c.result]  # fmt: skip

    async def wait_for(self, condition: Callable[[], T | None], *, timeout: float = 30.0, what: str = "") -> T:
        """Poll `condition` until it returns something truthy; fail with the recent calls after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                recent = "\n".join(f"  {c.method} {c.status} {c.error or ''}" for c in self.calls[-15:])
                raise AssertionError(f"timed out waiting for {what or condition}; last calls:\n{recent}")
            await asyncio.sleep(0.02)

    async def wait_text(self, user: FakeUser, fragment: str, *, since: int = 0, timeout: float = 30.0) -> list[str]:
        """Wait until the bot has shown a text containing `fragment` (after call `since`); returns all shown."""

        def found() -> list[str] | None:
            shown = self.shown_since(user, since)
            return shown if any(fragment in text for text in shown) else None

        return await self.wait_for(found, timeout=timeout, what=f"a message with {fragment!r}")

    # --- supergroups with forum topics: the operators' support desk ------------------------------------------------
    # A group is a forum (one topic per support ticket); its members are operators who write in topics and press
    # the buttons of the bot's cards. Telegram lets a bot post about 20 messages a minute into one group: every
    # post into a group counts (topics created and closed, messages, photos, files, copies) and one more within
    # `group_window` seconds is refused with 429. Tests shorten the window to run in seconds.
    # A group is what an operator's engineer set up: by default a supergroup with topics where the bot is an
    # administrator allowed to manage topics. Each thing that can be wrong in life can be wrong here too (a plain
    # group, topics off, the bot a plain member or not in the group at all), and be fixed while the bot runs.
    def support_group(
        self, chat_id: int, title: str = "mts podrška", *, members: tuple[FakeUser, ...] = (), is_forum: bool = True,
        kind: str = "supergroup", bot_status: str = "administrator", can_manage_topics: bool = True,
        username: str = "",
    ) -> ForumGroup:  # fmt: skip
        """`username`: a public group (anyone can find and join it)."""
        group = ForumGroup(chat_id, title, members={m.id: m for m in members}, is_forum=is_forum, kind=kind,
                           bot_status=bot_status, can_manage_topics=can_manage_topics, username=username)  # fmt: skip
        self.groups[chat_id] = group
        self.chats[chat_id] = group
        return group

    def _group_for_bot(self, params: dict[str, Any]) -> ForumGroup | None:
        """The group a call names, as the bot can see it: 400 when there is no such chat, 403 when it left."""
        chat_id = int(params.get("chat_id", 0) or 0)
        group = self.groups.get(chat_id)
        if group is None:
            if chat_id in self.chats:
                return None
            raise ApiError(400, "Bad Request: chat not found")
        if group.bot_status in ("left", "kicked"):
            raise ApiError(403, f"Forbidden: bot is not a member of the {group.kind} chat")
        return group

    async def _m_getChat(self, params: dict[str, Any]) -> dict[str, Any]:
        group = self._group_for_bot(params)
        if group is None:
            chat = self.chats[int(params["chat_id"])]
            info: dict[str, Any] = chat.as_json()
        else:
            info = group.as_json()
        gifts = {"unlimited_gifts": False, "limited_gifts": False, "unique_gifts": False,
                 "premium_subscription": False, "gifts_from_channels": False}  # fmt: skip
        return info | {"accent_color_id": 0, "max_reaction_count": 11, "accepted_gift_types": gifts}

    async def _m_getChatMember(self, params: dict[str, Any]) -> dict[str, Any]:
        group = self._group_for_bot(params)
        user_id = int(params.get("user_id", 0) or 0)
        if group is None:
            raise ApiError(400, "Bad Request: CHAT_ADMIN_REQUIRED")
        if user_id == self.bot_id:
            user = self._bot_user()
            if group.bot_status != "administrator":
                return {"status": "member", "user": user}
            rights = {name: False for name in ("can_be_edited", "is_anonymous", "can_manage_video_chats",
                                               "can_restrict_members", "can_promote_members", "can_change_info",
                                               "can_post_stories", "can_edit_stories", "can_delete_stories",
                                               "can_send_welcome_messages")}  # fmt: skip
            rights |= {"can_manage_chat": True, "can_delete_messages": True, "can_invite_users": True,
                       "can_pin_messages": True, "can_manage_topics": group.can_manage_topics}  # fmt: skip
            return {"status": "administrator", "user": user, **rights}
        member = group.members.get(user_id)
        if member is None:
            return {"status": "left", "user": {"id": user_id, "is_bot": False, "first_name": "?"}}
        return {"status": "member", "user": member.as_json()}

    def operator(self, group: ForumGroup, user_id: int, first_name: str) -> FakeUser:
        """A member of the support group (an operator)."""
        member = FakeUser(user_id, first_name, "sr")
        group.members[user_id] = member
        return member

    def _check_group(self, method: str, params: dict[str, Any]) -> None:
        chat_id = int(params.get("chat_id", 0))
        if chat_id not in self.groups or method not in _GROUP_POSTS:
            return
        self._group_for_bot(params)  # a group the bot left takes nothing
        group = self.groups[chat_id]
        if params.get("message_thread_id") is not None and not group.is_forum:
            raise ApiError(400, "Bad Request: message thread not found")
        now = time.monotonic()
        sent = self.group_sends.setdefault(chat_id, deque())
        while sent and now - sent[0] >= self.group_window:
            sent.popleft()
        if len(sent) >= self.group_per_window:
            wait = max(1, int(self.group_window - (now - sent[0])) + 1)
            self.group_limited.append(self.calls[-1] if self.calls else ApiCall(method, params, now))
            raise ApiError(429, f"Too Many Requests: retry after {wait}", wait)
        sent.append(now)

    def _support_group_hooks(self, method: str, params: dict[str, Any]) -> Callable[[dict[str, Any]], Any] | None:
        """Group limits, and sends by file id (what the bot relays between chats); None: the usual handler."""
        self._check_group(method, params)
        if method in ("sendPhoto", "sendDocument"):
            field_name = "photo" if method == "sendPhoto" else "document"
            ref = params.get(field_name)
            by_url = field_name == "document" and isinstance(ref, str) and ref.startswith(("https://", "http://"))
            if isinstance(ref, str) and (ref in self.file_ids or by_url):  # photos by URL: the usual handler
                return lambda p: self._send_reference(field_name, p)
        return None

    def _in_topic(self, params: dict[str, Any], result: Any) -> None:
        """A message posted with `message_thread_id` into a forum group belongs to that topic."""
        chat_id = int(params.get("chat_id", 0) or 0)
        thread = params.get("message_thread_id")
        if chat_id not in self.groups or thread is None or not isinstance(result, dict) or "message_id" not in result:
            return
        group = self.groups[chat_id]
        if int(thread) not in group.topics:
            return
        stored = group.messages.get(result["message_id"])
        for message in (result, stored):
            if message is not None:
                message["message_thread_id"] = int(thread)
                message["is_topic_message"] = True

    async def _send_reference(self, field_name: str, params: dict[str, Any]) -> dict[str, Any]:
        ref = str(params[field_name])
        if field_name == "photo":
            content: dict[str, Any] = {"photo": [{"file_id": ref, "file_unique_id": "u" + ref[-8:], "width": 800,
                                                 "height": 600}]}  # fmt: skip
        else:
            content = {"document": {"file_id": ref, "file_unique_id": "u" + ref[-8:], "file_name": "file"}}
        if params.get("caption"):
            content["caption"] = self._text(params, "caption", 1024)
        markup = params.get("reply_markup")
        self._check_markup(markup)
        return self._store(int(params["chat_id"]), content, markup)

    async def _m_createForumTopic(self, params: dict[str, Any]) -> dict[str, Any]:
        group = self._group_for_bot(params)
        if group is None or not group.is_forum or group.kind != "supergroup":
            raise ApiError(400, "Bad Request: the chat is not a forum")
        if group.bot_status != "administrator" or not group.can_manage_topics:
            raise ApiError(400, "Bad Request: not enough rights to create a topic")
        name = str(params.get("name", ""))
        if not 1 <= len(name) <= 128:
            raise ApiError(400, "Bad Request: TOPIC_NAME_INVALID")
        created = self._store(group.id, {"forum_topic_created": {"name": name, "icon_color": 7322096}}, None)
        thread = created["message_id"]
        group.topics[thread] = {"name": name, "closed": False}
        return {"message_thread_id": thread, "name": name, "icon_color": 7322096}

    async def _m_closeForumTopic(self, params: dict[str, Any]) -> bool:
        group = self.groups.get(int(params["chat_id"]))
        thread = int(params.get("message_thread_id", 0))
        if group is None or thread not in group.topics:
            raise ApiError(400, "Bad Request: TOPIC_ID_INVALID")
        if group.topics[thread]["closed"]:
            raise ApiError(400, "Bad Request: TOPIC_NOT_MODIFIED")
        group.topics[thread]["closed"] = True
        return True

    async def _m_copyMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        target = int(params["chat_id"])
        if target in self.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        source = self.chats.get(int(params["from_chat_id"]))
        original = source.messages.get(int(params["message_id"])) if source is not None else None
        if original is None or target not in self.chats:
            raise ApiError(400, "Bad Request: message to copy not found")
        content = {k: v for k, v in original.items() if k in ("text", "photo", "document", "caption")}
        stored = self._store(target, content, params.get("reply_markup"))
        return {"message_id": stored["message_id"]}

    def _group_message(
        self, group: ForumGroup, member: FakeUser, thread: int, content: dict[str, Any], *, member_only: bool = True
    ) -> dict[str, Any]:
        assert not member_only or member.id in group.members, "only members of the group write in it"
        message = {
            "message_id": group.next_id, "from": member.as_json(), "chat": group.as_json(), "date": int(time.time()),
            "message_thread_id": thread, "is_topic_message": True, **content,
        }  # fmt: skip
        group.next_id += 1
        group.messages[message["message_id"]] = message
        return message

    def channel_posts_in_topic(self, group: ForumGroup, thread: int, text: str) -> dict[str, Any]:
        """A post in a topic on behalf of a channel (an automatic forward of a linked channel's post): Telegram's
        service account 777000 is its `from`, the channel its `sender_chat`."""
        message = self._group_message(group, FakeUser(777000, "Telegram", None), thread, {"text": text},
                                      member_only=False)  # fmt: skip
        message["sender_chat"] = {"id": -1005550001, "title": "mts vesti", "type": "channel"}
        message["is_automatic_forward"] = True
        update = self.update(message=message)
        self.deliver(update)
        return update

    def operator_says(self, group: ForumGroup, member: FakeUser, thread: int, text: str) -> dict[str, Any]:
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            content["entities"] = [{"offset": 0, "length": len(text.split()[0]), "type": "bot_command"}]
        update = self.update(message=self._group_message(group, member, thread, content))
        self.deliver(update)
        return update

    def operator_sends_photo(self, group: ForumGroup, member: FakeUser, thread: int, caption: str = "") -> str:
        """An operator posts a photo in a topic; returns its file id."""
        file_id = f"op-photo-{next(self._file_numbers)}"
        self.file_ids.add(file_id)
        content: dict[str, Any] = {"photo": [{"file_id": file_id, "file_unique_id": "u" + file_id, "width": 640,
                                              "height": 480, "file_size": 1000}]}  # fmt: skip
        if caption:
            content["caption"] = caption
        self.deliver(self.update(message=self._group_message(group, member, thread, content)))
        return file_id

    def operator_presses(self, group: ForumGroup, member: FakeUser, message: dict[str, Any], label: str) -> None:
        """An operator presses a button of the bot's message in the group."""
        buttons = [b for row in message["reply_markup"]["inline_keyboard"] for b in row if label in b["text"]]
        assert len(buttons) == 1, f"{label!r} matches {len(buttons)} buttons"
        query_id = str(next(self._callback_ids))
        self.callback_queries[query_id] = False
        shown = {k: v for k, v in message.items() if not k.startswith("_")}
        self.deliver(self.update(callback_query={"id": query_id, "from": member.as_json(), "message": shown,
                                                 "chat_instance": f"ci-{group.id}",
                                                 "data": buttons[0]["callback_data"]}))  # fmt: skip

    def send_photo(self, user: FakeUser, caption: str = "", data: bytes | None = None) -> str:
        """The user sends a photo (its bytes: `data`, else `file_content(file_id)`); returns its file id."""
        file_id = f"user-photo-{next(self._file_numbers)}"
        self.file_ids.add(file_id)
        if data is not None:
            self.file_bytes[file_id] = data
        content: dict[str, Any] = {"photo": [{"file_id": file_id, "file_unique_id": "u" + file_id, "width": 1280,
                                              "height": 960, "file_size": 50_000}]}  # fmt: skip
        if caption:
            content["caption"] = caption
        self.deliver(self.update(message=self._user_message(user, content)))
        return file_id

    def send_document(self, user: FakeUser, file_name: str) -> str:
        file_id = f"user-doc-{next(self._file_numbers)}"
        self.file_ids.add(file_id)
        document = {"file_id": file_id, "file_unique_id": "u" + file_id, "file_name": file_name, "file_size": 999}
        self.deliver(self.update(message=self._user_message(user, {"document": document})))
        return file_id

    def topic_posts(self, group: ForumGroup, thread: int) -> list[dict[str, Any]]:
        """What the bot posted in one topic, in order."""
        return [m for m in group.messages.values()
                if m["from"]["id"] == self.bot_id and m.get("message_thread_id") == thread]  # fmt: skip

    def topic_named(self, group: ForumGroup, fragment: str) -> int | None:
        return next((thread for thread, topic in group.topics.items() if fragment in topic["name"]), None)

    async def _m_getFile(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = str(params.get("file_id", ""))
        if file_id not in self.file_ids:
            raise ApiError(400, "Bad Request: invalid file_id")
        path = f"{'photos' if 'photo' in file_id else 'documents'}/{file_id}.{'jpg' if 'photo' in file_id else 'pdf'}"
        size = len(self.file_bytes.get(file_id, self.file_content(file_id)))
        return {"file_id": file_id, "file_unique_id": "u" + file_id, "file_size": size, "file_path": path}

    @staticmethod
    def file_content(file_id: str) -> bytes:
        """What a file of the fake holds: its id, so a test can tell which file it got."""
        return b"\xff\xd8 fake file " + file_id.encode()

    async def _file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        file_id = request.match_info["path"].rsplit("/", 1)[-1].rsplit(".", 1)[0]
        if file_id not in self.file_ids:
            return web.Response(status=404)
        content = self.file_bytes.get(file_id, self.file_content(file_id))
        return web.Response(body=content, content_type="application/octet-stream")


_GROUP_POSTS = {"sendMessage", "sendPhoto", "sendDocument", "createForumTopic", "closeForumTopic", "copyMessage"}


@dataclass
class ForumGroup(Chat):
    """A supergroup with topics (the operators' desk): its members, and its topics by thread id; whether it is one
    (`kind`, `is_forum`) and what the bot may do in it (`bot_status`: administrator, member, left, kicked;
    `can_manage_topics`), which a test may change while the bot runs."""

    members: dict[int, FakeUser] = field(default_factory=dict)
    topics: dict[int, dict[str, Any]] = field(default_factory=dict)
    is_forum: bool = True
    kind: str = "supergroup"
    bot_status: str = "administrator"
    can_manage_topics: bool = True
    username: str = ""

    def as_json(self) -> dict[str, Any]:
        chat: dict[str, Any] = {"id": self.id, "title": self.first_name, "type": self.kind}
        if self.is_forum and self.kind == "supergroup":
            chat["is_forum"] = True
        if self.username:
            chat["username"] = self.username
        return chat
