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

from aiohttp import ClientSession, ClientTimeout, web
from aiohttp.web_request import FileField

T = TypeVar("T")

MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64
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
    ) -> None:
        self.token = token
        self.bot_id = int(token.split(":")[0])
        self.per_chat_per_second = per_chat_per_second
        self.overall_per_second = overall_per_second
        self.retry_after = retry_after
        self.record = True  # benchmarks switch recording off
        self.calls: list[ApiCall] = []
        self.chats: dict[int, Chat] = {}
        self.blocked: set[int] = set()
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.webhook: dict[str, Any] | None = None
        self.webhook_statuses: list[int] = []
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

    # --- server ---------------------------------------------------------------------------------------------------
    async def start(self, port: int = 0) -> str:
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_post("/bot{token}/{method}", self._handle)
        app.router.add_get("/bot{token}/{method}", self._handle)
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
            result = await handler(params)
        except ApiError as exc:
            call.status, call.error = exc.code, exc.description
            return web.json_response(exc.body(), status=exc.code)
        call.result = result
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
        while self._recent and now - self._recent[0][0] > 1.0:
            self._recent.popleft()
        overall = self._overall_limit(params)
        if overall is not None and len(self._recent) >= overall:
            self._paused_until[None] = now + self.retry_after
            self.too_many["rate"] += 1
            raise ApiError(429, f"Too Many Requests: retry after {self.retry_after}", self.retry_after)
        if self.per_chat_per_second is not None:
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
        return {"url": self.webhook["url"] if self.webhook else "", "has_custom_certificate": False,
                "pending_update_count": len(self._updates)}  # fmt: skip

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
                    except OSError:
                        self.webhook_statuses.append(0)
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
