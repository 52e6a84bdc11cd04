"""An asynchronous client of the Viber REST Bot API.

viberbot's own sender is synchronous `requests` with no timeout and a URL fixed at import time, so the channel
talks to Viber through this client instead: aiohttp, a timeout on every call, the base URL from `VIBER_API_BASE`
(tests and benchmarks point it at a local fake) and the token in the `X-Viber-Auth-Token` header.

Viber reports errors as a `status` in a 200 JSON body. 0 is success; 12 (too many requests) is retried a bounded
number of times with growing pauses (`on_rate_limited`: the channel's pause, shared by every sender of the bot);
5, 6 and 7 mean the user cannot be reached (not registered, not subscribed, bot blocked) and are never retried;
any other status is logged with the purpose of the request — never with its body, which holds what the user was
told.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import aiohttp

from bot.channels.viber.render import dumps
from bot.core.ids import parse_id

log = logging.getLogger("mila.viber.api")

OK = 0
TOO_MANY_REQUESTS = 12
UNREACHABLE = frozenset({5, 6, 7})  # receiverNotRegistered, receiverNotSubscribed, publicAccountBlocked
AUTH_HEADER = "X-Viber-Auth-Token"


class ViberError(Exception):
    """A request Viber did not carry out."""

    def __init__(self, purpose: str, status: int | None, message: str = "") -> None:
        super().__init__(f"{purpose}: status {status} {message}".strip())
        self.purpose = purpose
        self.status = status


class ViberUnreachable(ViberError):
    """The receiver cannot get messages from the bot (5, 6, 7): mark them unreachable, do not retry."""


class ViberRateLimited(ViberError):
    """Status 12 on every attempt: try again later (the callback is answered non-2xx so Viber brings it back)."""


class ViberUnavailable(ViberError):
    """No answer, a timeout, an HTTP error or a body that is not Viber's JSON: nothing is known to have happened."""


class ViberClient:
    def __init__(
        self,
        auth_token: str,
        api_base: str,
        *,
        timeout: float = 10.0,
        retry_delays: Sequence[float] = (0.5, 1.0, 2.0),
        connections: int = 100,
        on_rate_limited: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        self._token = auth_token
        # Status 12 with a retry left: awaited with the pause before the retry (default: sleep it in this call).
        self.on_rate_limited = on_rate_limited
        self.api_base = api_base.rstrip("/")
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.retry_delays = tuple(retry_delays)
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=self.timeout,
                connector=aiohttp.TCPConnector(limit=self._connections),
                headers={AUTH_HEADER: self._token, "Content-Type": "application/json"},
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def call(self, endpoint: str, payload: dict[str, Any], *, purpose: str) -> dict[str, Any]:
        """POST one request; the answer's body when its status is 0, else one of the `ViberError`s."""
        body = dumps(payload)
        url = f"{self.api_base}/{endpoint}"
        for attempt in range(len(self.retry_delays) + 1):
            answer = await self._post(url, body, purpose)
            status = answer.get("status")
            if status == OK:
                return answer
            message = str(answer.get("status_message", ""))[:100]
            if status == TOO_MANY_REQUESTS and attempt < len(self.retry_delays):
                delay = self.retry_delays[attempt]
                log.info("viber %s: too many requests, retrying in %.1f s", purpose, delay)
                await (self.on_rate_limited(delay) if self.on_rate_limited is not None else asyncio.sleep(delay))
                continue
            if status == TOO_MANY_REQUESTS:
                log.warning("viber %s: still too many requests after %d attempts", purpose, attempt + 1)
                raise ViberRateLimited(purpose, status, message)
            if isinstance(status, int) and status in UNREACHABLE:
                raise ViberUnreachable(purpose, status, message)
            log.error("viber %s failed: status %s %s", purpose, status, message)
            raise ViberError(purpose, status if isinstance(status, int) else None, message)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _post(self, url: str, body: bytes, purpose: str) -> dict[str, Any]:
        try:
            async with self._http().post(url, data=body) as response:
                if response.status != 200:
                    raise ViberUnavailable(purpose, None, f"HTTP {response.status}")
                answer = json.loads(await response.read())
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.warning("viber %s: no usable answer (%s)", purpose, type(exc).__name__)
            raise ViberUnavailable(purpose, None, type(exc).__name__) from exc
        if not isinstance(answer, dict):
            raise ViberUnavailable(purpose, None, "not a JSON object")
        return answer

    async def send_message(self, message: dict[str, Any], *, purpose: str = "send_message") -> int | None:
        """Send one message; Viber's token of it (delivered/seen/failed callbacks carry the same token)."""
        answer = await self.call("send_message", message, purpose=purpose)
        token = answer.get("message_token")
        return parse_id(str(token)) if isinstance(token, int | str) else None

    async def set_webhook(self, url: str, event_types: Sequence[str]) -> list[str]:
        """Point Viber at our webhook; Viber calls it at once, so the HTTP server must already be listening."""
        payload = {"url": url, "event_types": list(event_types), "send_name": False, "send_photo": False}
        answer = await self.call("set_webhook", payload, purpose="set_webhook")
        return [str(event) for event in answer.get("event_types", [])]

    async def remove_webhook(self) -> None:
        await self.call("set_webhook", {"url": ""}, purpose="remove_webhook")
