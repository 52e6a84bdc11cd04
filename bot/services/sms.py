"""Sending one-time codes by SMS, through the operator's gateway or, in the demo, to a local outbox.

The outbox logs only a masked number ("code sent to +381…67") and hands the text to the console channel, the one
place where showing it is right (there is no phone in a terminal demo). No other channel ever sees it.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import deque
from typing import Protocol

import aiohttp

from bot.services.phones import log_phone

log = logging.getLogger("mila.sms")


class SmsFailed(Exception):
    pass


class SmsGateway(Protocol):
    async def send(self, phone: str, text: str) -> None: ...


class HttpSmsGateway:
    """POSTs `{"to": "+381…", "text": "…"}` as JSON to `SMS_GATEWAY_URL`; anything but 2xx is a failure.

    A send first waits a random moment (`spread`, 0.2–1 s): the request costs this process a millisecond or two,
    and spent at once it would land on the very turn that asked for the code, so that turn's answer would take
    longer for a subscriber's number than for nobody's. Spread out, it lands on no particular turn; an SMS takes
    seconds to arrive anyway.
    """

    def __init__(
        self, url: str, token: str | None = None, timeout: float = 10.0, spread: tuple[float, float] = (0.2, 1.0)
    ) -> None:
        self.url = url
        self.token = token
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.spread = spread

    async def send(self, phone: str, text: str) -> None:
        await asyncio.sleep(random.uniform(*self.spread))
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            async with (
                aiohttp.ClientSession(timeout=self.timeout) as http,
                http.post(self.url, json={"to": phone, "text": text}, headers=headers) as response,
            ):
                if response.status // 100 != 2:
                    raise SmsFailed(f"gateway answered {response.status}")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise SmsFailed(str(exc)) from exc
        log.info("code sent to %s", log_phone(phone))


class OutboxSmsGateway:
    """The demo's gateway: nothing leaves the machine; the console shows what a phone would have received."""

    def __init__(self) -> None:
        self.sent: deque[tuple[str, str]] = deque(maxlen=100)

    async def send(self, phone: str, text: str) -> None:
        self.sent.append((phone, text))
        log.info("code sent to %s", log_phone(phone))

    def drain(self) -> list[tuple[str, str]]:
        items = list(self.sent)
        self.sent.clear()
        return items
