"""The Viber webhook: signed callbacks in, `Incoming` to the engine, the engine's replies out as Viber messages.

Order of work for every callback, whatever its event: the signature is checked on the raw body (403 and nothing
else when it is missing or wrong); the body is parsed with viberbot's request classes (an event type the SDK does
not know is answered 200 and logged, because Viber would otherwise retry it for an hour); the callback is claimed
in Redis under its event and `message_token`, so a re-delivery is processed once; the event is handled; the claim
becomes "done" only when that worked. When the turn could not run (the session store or the user's lock was not
available), or its replies could not be handed to Viber (no answer, status 12 after the retries), the callback is
answered 503 so Viber brings it back — and replies already produced are kept with the claim, so the re-delivery
sends what is still unsent instead of running the turn a second time (all but a secret, which is never kept).
The claim is a lease renewed while the callback is handled, so a holder that died frees it within seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from aiohttp import web
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError
from viberbot.api.messages import MESSAGE_TYPE_TO_CLASS, ContactMessage, FileMessage, PictureMessage, TextMessage
from viberbot.api.viber_requests import (
    EVENT_TYPE_TO_CLASS,
    ViberConversationStartedRequest,
    ViberMessageRequest,
    ViberSubscribedRequest,
    ViberUnsubscribedRequest,
    create_request,
)

from bot.channels.lease import LEASE_SECONDS, Lease
from bot.channels.viber.callbacks import malformed
from bot.channels.viber.client import ViberClient, ViberError, ViberRateLimited, ViberUnavailable, ViberUnreachable
from bot.channels.viber.render import (
    MAX_TEXT,
    SENSITIVE,
    FilePart,
    Part,
    Sender,
    is_call_link,
    payload_from_text,
    render_turn,
)
from bot.channels.viber.signature import SIGNATURE_HEADER, verify
from bot.channels.webhook_body import parse_json, read_body
from bot.config import BroadcastSettings, ConfigError, ViberSettings
from bot.core.engine import MENU_BUTTON, MENU_INTENT, Engine, pseudonym
from bot.core.i18n import N_, Translator
from bot.core.incoming import Attachment, Incoming, Kind, UserRef
from bot.core.outbound import GlobalPause, Outbound, RateLimiter, pause_key
from bot.core.push import Delivery, PushResult
from bot.core.replies import Button, Document, Picture, Reply, Text
from bot.core.session import Session, TurnNotRun
from bot.db.uow import UnitOfWork
from bot.metrics import DUPLICATE, FAILED, HANDLED, IGNORED, REJECTED, Metrics
from bot.services.phones import BadPhone, normalize_phone
from bot.services.users import UserDirectory

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger("mila.viber")

CHANNEL = "viber"
DEFAULT_MARGIN = float(BroadcastSettings.model_fields["margin"].default)  # BROADCAST_RATE_MARGIN's default
WEBHOOK_PATH = "/webhook/viber"
# What set_webhook asks for; `message` and `webhook` callbacks come whatever is asked.
EVENT_TYPES = ("conversation_started", "subscribed", "unsubscribed", "delivered", "seen", "failed")
RECEIPT_EVENTS = frozenset({"delivered", "seen", "failed"})
# How long the address of a link button sent to a user is recognised when Viber echoes its press: a campaign's
# button stays on the user's screen until the next keyboard, and is pressed days later.
LINKS_TTL_SECONDS = 30 * 24 * 3600
MAX_LINK = 2048  # longer text is never taken for a button's address

SECRET_NOT_DELIVERED = N_(
    "A message with a secret (your PUK) could not be delivered to you, and I do not keep it anywhere to send later. "
    "You can ask for it again."
)
SHOW_AGAIN = N_("🔑 Show it again")
DOCUMENT_NOT_SENT = N_(
    "I have prepared the document “{name}” for you, but I can't send files in Viber yet. "
    "Please ask for it in our Telegram chat or at the contact centre."
)

# One round trip: claim a callback, or say it is in progress ("busy"), finished ("done"), or finished except for
# replies still to send (a JSON list of those messages, now claimed again for sending); a welcome message already
# answered is kept as its JSON object, so a re-delivered `conversation_started` gets the same welcome.
_CLAIM = """
local v = redis.call('GET', KEYS[1])
if not v then redis.call('SET', KEYS[1], 'busy', 'EX', ARGV[1]); return {'new', false} end
if v == 'busy' or v == 'done' then return {v, false} end
redis.call('SET', KEYS[1], 'busy', 'EX', ARGV[1])
return {'pending', v}
"""
_RECEIPT = """
local new = redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
if new == 1 then redis.call('HINCRBY', KEYS[2], ARGV[4], 1); redis.call('EXPIRE', KEYS[2], ARGV[5]) end
return new
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == 'busy' then redis.call('DEL', KEYS[1]) end
return 1
"""


@dataclass(frozen=True, slots=True)
class Receipt:
    """A delivered/seen/failed callback about a message the bot sent (broadcasts count them)."""

    event: str
    message_token: int
    user_id: str
    timestamp: int
    description: str = ""  # failed: Viber's reason


ReceiptHook = Callable[[Receipt], Awaitable[None]]


class DocumentStore(Protocol):
    """Where a document's bytes can be published at an HTTPS URL: Viber's `file` message takes a URL, not bytes."""

    async def publish(self, user: UserRef, document: Document) -> str: ...


class Unprocessed(Exception):
    """The callback must come back: answer non-2xx."""


class ViberChannel:
    """The Viber adapter, mounted by the HTTP server of `mila run` (see the package docstring for the contract)."""

    name = "viber"

    def __init__(
        self,
        engine: Engine,
        settings: ViberSettings,
        *,
        redis: Redis,
        redis_prefix: str,
        client: ViberClient | None = None,
        on_receipt: ReceiptHook | None = None,
        metrics: Metrics | None = None,
        documents: DocumentStore | None = None,
        dedupe_ttl_seconds: int = 24 * 3600,
        claim_ttl_seconds: int = LEASE_SECONDS,
        rate_margin: float = DEFAULT_MARGIN,
    ) -> None:
        if settings.auth_token is None or not self.configured(settings):
            raise ConfigError("configuration error: VIBER_AUTH_TOKEN: required for the Viber channel")
        self.engine = engine
        self.settings = settings
        self._token = settings.auth_token.get_secret_value()
        self.redis = redis
        self.prefix = f"{redis_prefix}{CHANNEL}:"
        self.client = client or ViberClient(self._token, settings.api_base)
        self.sender = Sender(settings.bot_name, settings.bot_avatar)
        # Viber documents no per-chat pace for replies: the global rate (shared with broadcasts), the order, and a
        # pause after status 12 that every sender of the bot keeps (the campaign worker reads the same key).
        paused = pause_key(redis_prefix, CHANNEL)
        self.pause = GlobalPause(redis, paused)
        # The rate the bot keeps is Viber's less the margin (`BROADCAST_RATE_MARGIN`), as on Telegram: sending at
        # exactly the limit, a few milliseconds of jitter put one message too many into a second.
        rate = settings.send_rate / (1 + rate_margin)
        self.outbound = Outbound(redis, redis_prefix, CHANNEL, rate=rate, chat_rate=None, pause_key=paused)
        self.client.on_rate_limited = self._rate_limited
        self.on_receipt = on_receipt
        self.metrics = metrics
        self.documents = documents
        self.dedupe_ttl = dedupe_ttl_seconds
        self.claim_ttl = claim_ttl_seconds
        self._user_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._claim = redis.register_script(_CLAIM)
        self._lease = Lease(redis, claim_ttl_seconds)
        self._release = redis.register_script(_RELEASE)
        self._receipt = redis.register_script(_RECEIPT)

    @staticmethod
    def configured(settings: ViberSettings) -> bool:
        """Whether this deployment runs on Viber at all: `mila run` mounts the channel only then."""
        return settings.auth_token is not None and bool(settings.auth_token.get_secret_value())

    @classmethod
    def from_app(cls, app: App, **options: Any) -> ViberChannel:
        """The channel on the application's engine, Redis and settings (what `mila run` mounts)."""
        options.setdefault("rate_margin", app.settings.broadcast.margin)
        return cls(app.engine, app.settings.viber, redis=app.redis, redis_prefix=app.settings.redis.prefix, **options)

    # --- the contract with the HTTP server -----------------------------------------------------------------------
    def routes(self) -> list[web.RouteDef]:
        return [web.post(WEBHOOK_PATH, self.handle)]

    async def start(self) -> None:
        """Register the webhook. Call it once the server listens: Viber calls the URL before it answers."""
        await self.register_webhook()

    async def register_webhook(self) -> list[str]:
        """`set_webhook` with the event types handled; returns the types Viber confirmed."""
        url = self.settings.webhook_url
        if not url:
            raise ConfigError("configuration error: VIBER_WEBHOOK_URL: required for the Viber channel")
        events = await self.client.set_webhook(url, EVENT_TYPES)
        log.info("viber webhook set", extra={"event_types": ",".join(events)})
        return events

    async def stop(self) -> None:
        """Viber only calls the webhook: once the HTTP server stops listening nothing new comes in."""

    async def close(self) -> None:
        await self.outbound.close()
        await self.client.close()

    async def handle(self, request: web.Request) -> web.Response:
        """POST /webhook/viber, counted in `/metrics` like Telegram's updates."""
        started = time.perf_counter()
        response = await self._respond(request)
        if self.metrics is not None:
            outcome = response.get(OUTCOME)
            if outcome is None:
                outcome = REJECTED if response.status in (400, 403) else FAILED if response.status >= 500 else HANDLED
            self.metrics.updates.labels(CHANNEL, outcome).inc()
            if outcome == HANDLED:
                self.metrics.latency.labels(CHANNEL).observe(time.perf_counter() - started)
        return response

    async def _respond(self, request: web.Request) -> web.Response:
        body = await read_body(request)
        if body is None:
            log.warning("viber callback refused: the body is too large")
            return web.Response(status=413)
        if not verify(body, request.headers.get(SIGNATURE_HEADER), self._token):
            log.warning("viber callback refused: missing or wrong signature")
            return web.Response(status=403)
        data = parse_json(body)
        if not isinstance(data, dict):
            log.warning("viber callback refused: the body is not a JSON object")
            return web.Response(status=400)
        wrong = malformed(data)
        if wrong is not None:
            log.warning("viber callback refused: a field of the wrong type", extra={"field": wrong})
            return web.Response(status=400)
        event = data.get("event")
        if event not in EVENT_TYPE_TO_CLASS:
            log.warning("viber callback of an unknown event type ignored", extra={"event": str(event)[:32]})
            return _answered(IGNORED)
        if event == "webhook":
            return _answered(IGNORED)
        try:
            parsed = _parse(data)
        except Exception:  # the SDK raises bare exceptions and KeyErrors for malformed callbacks
            log.warning("viber callback refused: %s event the SDK cannot parse", event)
            return web.Response(status=400)
        if event in RECEIPT_EVENTS:
            return await self._record_receipt(str(event), data)
        return await self._once(str(event), data, parsed)

    # --- exactly once ----------------------------------------------------------------------------------------------
    def _dedupe_key(self, event: str, data: dict[str, Any]) -> str | None:
        token = data.get("message_token")
        if token is None:
            return None
        user = data.get("user_id") or ""  # receipts of one broadcast share a token across receivers
        return f"{self.prefix}cb:{event}:{token}:{user}"

    async def _once(self, event: str, data: dict[str, Any], parsed: Any) -> web.Response:
        key = self._dedupe_key(event, data)
        pending: list[dict[str, Any]] | None = None
        if key is not None:
            try:
                state, stored = await self._claim(keys=[key], args=[self.claim_ttl])
            except RedisError:
                log.warning("viber callback not processed: Redis is not answering")
                return web.Response(status=503)
            state = state.decode() if isinstance(state, bytes) else str(state)
            if state == "busy":
                return web.Response(status=503)  # the same callback is being processed right now
            if state == "done":
                return _answered(DUPLICATE)
            if state == "pending" and stored.startswith(b"{"):
                # A welcome already answered, asked for again (our 200 did not reach Viber): the same welcome.
                await self._mark(key, stored.decode())
                return web.json_response(body=stored)
            if state == "pending":
                pending = json.loads(stored)
        held = self._lease.kept(key, "busy") if key is not None else contextlib.nullcontext()
        try:
            async with held:  # the claim lives while this holder does: a dead one's lapses within one lease
                if pending is not None:
                    receiver = _receiver(pending)
                    async with self._user_lock(receiver.external_id):
                        await self._deliver(receiver, pending, key)
                    response = web.Response(status=200)
                else:
                    response = await self._process(event, data, parsed, key)
        except Unprocessed:
            return web.Response(status=503)
        except TurnNotRun as exc:
            log.warning("viber %s not processed: %s", event, type(exc).__name__)
            await self._give_back(key)
            return web.Response(status=503)
        except Exception:
            log.exception("viber %s failed", event)
            await self._give_back(key)
            return web.Response(status=500)
        if key is not None:
            welcome = isinstance(parsed, ViberConversationStartedRequest) and response.body is not None
            await self._mark(key, response.text if welcome and response.text else "done")
        return response

    async def _mark(self, key: str | None, value: str) -> None:
        if key is None:
            return
        try:
            await self.redis.set(key, value, ex=self.dedupe_ttl)
        except RedisError:
            log.warning("viber callback processed but not marked: a re-delivery would run it again")

    async def _give_back(self, key: str | None) -> None:
        if key is None:
            return
        with contextlib.suppress(RedisError):  # if Redis is down, the claim runs out by itself
            await self._release(keys=[key])

    # --- events ---------------------------------------------------------------------------------------------------
    async def _process(self, event: str, data: dict[str, Any], parsed: Any, key: str | None) -> web.Response:
        if isinstance(parsed, ViberConversationStartedRequest):
            return await self._welcome(parsed, data)
        message = parsed.message if isinstance(parsed, ViberMessageRequest) else None
        if isinstance(message, TextMessage) and is_call_link(message.text or ""):
            return web.Response(status=200)  # a call button's press, echoed by Viber: the user said nothing
        if isinstance(message, TextMessage) and await self._is_link_echo(str(parsed.sender.id), message.text or ""):
            return web.Response(status=200)  # a link button's press, echoed the same way
        incoming = self._incoming(event, data, parsed)
        # The engine keeps one user's turns in order; holding this lock until the replies are sent keeps their
        # answers in that order too (Viber may deliver a user's callbacks in parallel).
        async with self._user_lock(incoming.user.external_id):
            # The turn's place in the user's order is claimed inside the session lock (any process may run the next).
            claims = self.outbound.order.claims(incoming.user.key)
            try:
                replies = await self.engine.handle(incoming, numbered=claims)
            except BaseException:
                await claims.release()
                raise
            try:
                if incoming.kind is Kind.UNSUBSCRIBED:
                    await self._end_session(incoming.user)
                parts = await self._parts(incoming.user, replies)
                ref = str(data.get("message_token", ""))
                messages = render_turn(parts, sender=self.sender, receiver=incoming.user.external_id, ref=ref)
                async with self.outbound.order.turn(incoming.user.key, replies.turn):
                    await self._deliver(incoming.user, messages, key)
            finally:
                await claims.done()
        return web.Response(status=200)

    # --- link buttons ---------------------------------------------------------------------------------------------
    def _links_key(self, external_id: str) -> str:
        """Beside the user's session keys, so that erasing the user's data erases it too."""
        return self.engine.deps.sessions.key(UserRef(CHANNEL, external_id), "links")

    async def _remember_links(self, external_id: str, messages: list[dict[str, Any]]) -> None:
        """The web addresses of the open-url buttons about to be sent to this user: pressing one makes Viber send
        the address back as the user's text, which is then recognised (`_is_link_echo`) and not answered."""
        buttons = [button for message in messages for button in (message.get("keyboard") or {}).get("Buttons", ())]
        links = {str(button.get("ActionBody")) for button in buttons if button.get("ActionType") == "open-url"}
        links = {link for link in links if not is_call_link(link)}
        if not links:
            return
        key = self._links_key(external_id)
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.sadd(key, *links)
                pipe.expire(key, LINKS_TTL_SECONDS)
                await pipe.execute()
        except RedisError:
            log.warning("viber link buttons not remembered: their echo would be answered as text")

    async def _is_link_echo(self, external_id: str, text: str) -> bool:
        """Whether `text` is exactly the address of a link button the bot sent this user (see `_remember_links`)."""
        if not text.startswith(("https://", "http://")) or len(text) > MAX_LINK:
            return False
        try:
            return bool(await self.redis.sismember(self._links_key(external_id), text))
        except RedisError:
            return False  # answered as text, as before

    def _user_lock(self, external_id: str) -> asyncio.Lock:
        lock = self._user_locks.get(external_id)
        if lock is None:
            lock = self._user_locks[external_id] = asyncio.Lock()
        return lock

    async def _welcome(self, parsed: ViberConversationStartedRequest, data: dict[str, Any]) -> web.Response:
        """The one message Viber lets a bot send before the user subscribes goes back in the HTTP response."""
        user = UserRef(CHANNEL, str(parsed.user.id))
        incoming = Incoming(user, Kind.START, language_hint=parsed.user.language)
        claims = self.outbound.order.claims(user.key)
        try:
            replies = await self.engine.handle(incoming, numbered=claims)
        except BaseException:
            await claims.release()
            raise
        # Its answer goes back in the HTTP response, not through the outbound path: the user's next turn goes on.
        await claims.done()
        texts = [reply for reply in replies if isinstance(reply, Text)]
        if not texts:
            return web.Response(status=200)
        with_buttons = next((t for t in reversed(texts) if t.buttons or t.share_phone), None)
        text = "\n\n".join(t.text for t in texts)
        if len(text) > MAX_TEXT:
            text = text[: MAX_TEXT - 1] + "…"
        merged = Text(text)
        if with_buttons is not None:
            merged = Text(text, with_buttons.buttons, with_buttons.share_phone)
        welcome = render_turn([merged], sender=self.sender, receiver=None, ref=str(data.get("message_token", "")))
        return web.json_response(welcome[0], dumps=_compact)

    def _incoming(self, event: str, data: dict[str, Any], parsed: Any) -> Incoming:
        if isinstance(parsed, ViberUnsubscribedRequest):
            return Incoming(UserRef(CHANNEL, str(parsed.user_id)), Kind.UNSUBSCRIBED)
        if isinstance(parsed, ViberSubscribedRequest):
            return Incoming(UserRef(CHANNEL, str(parsed.user.id)), Kind.SUBSCRIBED, language_hint=parsed.user.language)
        if isinstance(parsed, _UnknownMessage):
            sender = data["sender"]
            return Incoming(UserRef(CHANNEL, str(sender["id"])), Kind.UNSUPPORTED, content_type=parsed.type[:32],
                            language_hint=sender.get("language"))  # fmt: skip
        assert isinstance(parsed, ViberMessageRequest), event
        sender = parsed.sender
        user = UserRef(CHANNEL, str(sender.id))
        common: dict[str, Any] = {"language_hint": sender.language}
        message = parsed.message
        if isinstance(message, TextMessage):
            text = message.text or ""
            payload = payload_from_text(text)
            if payload is not None:
                return Incoming(user, Kind.BUTTON, payload=payload, **common)
            return Incoming(user, Kind.TEXT, text=text, **common)
        if isinstance(message, ContactMessage):
            raw = str(message.contact.phone_number or "") if message.contact is not None else ""
            try:
                phone = normalize_phone(raw, self.engine.deps.profile.country)
            except BadPhone:
                phone = raw
            # Viber sends a contact card picked from the address book in the same form as the share-phone button's
            # reply, and nothing in either proves whose number it is (the tracking data comes back from the client,
            # so it proves nothing either): on Viber a number always needs the one-time code.
            return Incoming(user, Kind.CONTACT, phone=phone or None, phone_is_own=False, **common)
        if isinstance(message, PictureMessage):
            raw_message = data.get("message", {})
            size = raw_message.get("size") if isinstance(raw_message.get("size"), int) else None
            attachment = Attachment("photo", str(message.media or ""), raw_message.get("file_name"), size)
            return Incoming(user, Kind.ATTACHMENT, text=message.text or "", attachment=attachment, **common)
        if isinstance(message, FileMessage):
            size = message.size if isinstance(message.size, int) else None
            attachment = Attachment("file", str(message.media or ""), message.file_name, size)
            return Incoming(user, Kind.ATTACHMENT, attachment=attachment, **common)
        content_type = str(data.get("message", {}).get("type", "unknown"))[:32]
        return Incoming(user, Kind.UNSUPPORTED, content_type=content_type, **common)

    async def _record_receipt(self, event: str, data: dict[str, Any]) -> web.Response:
        """Who got, saw or failed to get each message, and when, kept a week (broadcasts read it), with counters
        per day. Receipts are most of the callbacks a bot gets, so one script does it all in one round trip; the
        field per receipt is its own dedupe (a re-delivery finds it and counts nothing)."""
        receipt = Receipt(
            event=event,
            message_token=int(data["message_token"]),
            user_id=str(data.get("user_id", "")),
            timestamp=int(data.get("timestamp", 0)),
            description=str(data.get("desc", ""))[:200],
        )
        day = time.strftime("%Y%m%d", time.gmtime())
        keys = [f"{self.prefix}receipt:{receipt.message_token}", f"{self.prefix}receipts:{day}"]
        args: list[str | int] = [f"{event}:{receipt.user_id}", receipt.timestamp, 7 * 24 * 3600, event, 35 * 24 * 3600]
        try:
            new = await self._receipt(keys=keys, args=args)
        except RedisError:
            log.warning("viber %s receipt not recorded: Redis is not answering", event)
            return web.Response(status=503)
        if not new:
            return web.Response(status=200)
        if event == "failed":
            log.info("viber message failed", extra={"reason": receipt.description[:80]})
        if self.on_receipt is not None:
            try:
                await self.on_receipt(receipt)
            except Exception:  # a notification: what matters is kept in Redis already
                log.exception("viber receipt hook failed")
        return web.Response(status=200)

    # --- replies out ------------------------------------------------------------------------------------------------
    async def _parts(self, user: UserRef, replies: list[Reply]) -> list[Part]:
        parts: list[Part] = []
        for reply in replies:
            if isinstance(reply, Text | Picture):
                parts.append(reply)
            elif isinstance(reply, Document):
                if self.documents is not None:
                    url = await self.documents.publish(user, reply)
                    parts.append(FilePart(url, reply.file_name, len(reply.content)))
                    if reply.caption:
                        parts.append(Text(reply.caption))
                else:
                    t = await self._translator(user)
                    notice = t.gettext(DOCUMENT_NOT_SENT).format(name=reply.file_name)
                    parts.append(Text(f"{reply.caption}\n\n{notice}" if reply.caption else notice))
        return parts

    async def _translator(self, user: UserRef) -> Translator:
        """The user's language, for the rare text the channel itself has to say."""
        deps = self.engine.deps
        try:
            session = Session.from_json(await self.redis.get(deps.sessions.key(user, "session")))
        except RedisError:
            session = Session()
        return deps.i18n.get(session.lang or deps.profile.default_language)

    async def _rate_limited(self, seconds: float) -> None:
        """Status 12, as Telegram's 429: the bot's sending pauses — in every process, replies and broadcasts alike —
        and the retry takes a new slot after it, so the sends that waited leave at the rate, not all at once."""
        if self.metrics is not None:
            self.metrics.rate_limit_waits.labels(CHANNEL).inc()
        await self.pause.pause_for(seconds)
        self.outbound.rate_limited()
        await self._slot()

    async def _slot(self) -> None:
        """A slot of the bot's rate, taken after any pause: one taken before the pause was known is not used."""
        await self.outbound.before_send(None)
        while (wait := await self.pause.remaining()) > 0:
            await asyncio.sleep(wait)
            await self.outbound.before_send(None)

    async def _deliver(self, user: UserRef, messages: list[dict[str, Any]], key: str | None) -> None:
        """Send in order; keep what is left for a re-delivery when Viber is unavailable or keeps saying 12."""
        await self._remember_links(user.external_id, messages)
        for index, message in enumerate(messages):
            purpose = f"reply {index + 1}/{len(messages)}"
            await self._slot()
            try:
                await self.client.send_message(_unmarked(message), purpose=purpose)
            except ViberUnreachable as exc:
                log.info("viber user unreachable (status %s)", exc.status, extra={"user": pseudonym(user.key)})
                await self._mark_unreachable(user)
                return
            except (ViberRateLimited, ViberUnavailable):
                if key is None:
                    raise Unprocessed() from None
                left = await self._storable(user, messages[index:])
                await self._mark(key, json.dumps(left, ensure_ascii=False, separators=(",", ":")))
                raise Unprocessed() from None
            except ViberError:
                continue  # logged by the client with its purpose; a bad message is not made good by retrying

    async def _storable(self, user: UserRef, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """What may wait in Redis for the re-delivery: a secret (a PUK) never does. In its place the user is told
        that it did not arrive and offered the button that shows it again, behind the same checks as before."""
        kept: list[dict[str, Any]] = []
        offered: set[str] = set()
        for message in messages:
            if SENSITIVE not in message:
                kept.append(message)
                continue
            again = str(message[SENSITIVE])
            if again in offered:
                continue
            offered.add(again)
            t = await self._translator(user)
            rows = [(Button(t.gettext(SHOW_AGAIN), again),)] if again else []
            rows.append((Button(t.gettext(MENU_BUTTON), MENU_INTENT),))
            notice = Text(t.gettext(SECRET_NOT_DELIVERED), tuple(rows))
            kept += render_turn([notice], sender=self.sender, receiver=user.external_id)
        return kept

    async def push(
        self,
        user: UserRef,
        replies: Sequence[Reply],
        *,
        purpose: str,
        paid_broadcast: bool = False,
        bulk: RateLimiter | None = None,
    ) -> PushResult:
        """A message outside a turn (see `Pusher`): status 12 gives RETRY_LATER and no usable answer UNKNOWN, with
        what was sent so far; 5/6/7 mark the user unreachable. Held with the user's turn lock so it never lands in the
        middle of a turn's replies. Viber has no paid bulk rate: `paid_broadcast` changes nothing."""
        parts = await self._parts(user, list(replies))
        messages = render_turn(parts, sender=self.sender, receiver=user.external_id)
        tokens: list[str] = []
        await self._remember_links(user.external_id, messages)
        async with self._user_lock(user.external_id):
            for index, message in enumerate(messages):
                if bulk is None or index > 0:  # a broadcast's first message has the slot its caller took
                    await self._slot()
                try:
                    token = await self.client.send_message(message, purpose=f"{purpose} {index + 1}/{len(messages)}")
                except ViberUnreachable as exc:
                    log.info("viber user unreachable (status %s)", exc.status, extra={"user": pseudonym(user.key)})
                    await self._mark_unreachable(user)
                    return PushResult(Delivery.UNREACHABLE, tuple(tokens))
                except ViberRateLimited:
                    return PushResult(Delivery.RETRY_LATER, tuple(tokens))
                except ViberUnavailable:
                    return PushResult(Delivery.UNKNOWN, tuple(tokens))
                except ViberError:
                    return PushResult(Delivery.FAILED, tuple(tokens))  # logged by the client with its purpose
                if token is not None:
                    tokens.append(str(token))
        return PushResult(Delivery.SENT, tuple(tokens))

    async def _mark_unreachable(self, user: UserRef) -> None:
        try:
            async with UnitOfWork(self.engine.deps.sessionmaker) as uow:
                row = await UserDirectory(uow.session).ensure(user)
                row.unreachable = True
        except (SQLAlchemyError, OSError):
            log.warning("viber user unreachable but not marked: database unavailable")
        await self._end_session(user)

    async def _end_session(self, user: UserRef) -> None:
        """Close the conversation of a user who left. A user who comes back by writing is subscribed again without
        a `subscribed` callback; the new session they then start reloads their profile, which makes them reachable
        again (the language they chose is kept in the database)."""
        with contextlib.suppress(RedisError):
            await self.redis.delete(self.engine.deps.sessions.key(user, "session"))


OUTCOME = web.ResponseKey("mila.outcome", str)  # what a response stands for in `/metrics`, beyond its status


def _answered(outcome: str) -> web.Response:
    response = web.Response(status=200)
    response[OUTCOME] = outcome
    return response


# --- parsing helpers ----------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _UnknownMessage:
    """A message type newer than the SDK (it raises on those): answered as unsupported content, not as an error."""

    type: str


def _parse(data: dict[str, Any]) -> Any:
    if data.get("event") == "message":
        message = data.get("message")
        if isinstance(message, dict) and message.get("type") not in MESSAGE_TYPE_TO_CLASS and "id" in data["sender"]:
            return _UnknownMessage(str(message.get("type")))
    return create_request(data)


def _receiver(messages: list[dict[str, Any]]) -> UserRef:
    return UserRef(CHANNEL, str(messages[0].get("receiver", "")))


def _unmarked(message: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in message.items() if k != SENSITIVE} if SENSITIVE in message else message


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
