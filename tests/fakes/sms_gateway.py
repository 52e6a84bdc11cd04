"""A local stand-in for the operator's SMS gateway (`SMS_GATEWAY_URL`): it keeps what a phone would receive."""

from __future__ import annotations

import asyncio
import time

from aiohttp import web

from tests.helpers import code_in


class FakeSmsGateway:
    def __init__(self, token: str = "sms-gateway-token") -> None:
        self.token = token
        self.sent: list[tuple[str, str]] = []  # (to, text), in order
        self.probes = 0
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/sms", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}/sms"
        return self.url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.Response(status=401)
        body = await request.json()
        if request.headers.get("X-Mila-Probe") == "1":  # `mila doctor`'s probe, as the README asks: 2xx, nothing sent
            self.probes += 1
            return web.json_response({"ok": True})
        self.sent.append((str(body["to"]), str(body["text"])))
        return web.json_response({"ok": True})

    async def code(self, to: str, *, since: int = 0, timeout: float = 10.0) -> str:
        """The one-time code in the first SMS to `to` after the first `since` (the bot sends it in the background)."""
        deadline = time.monotonic() + timeout
        while True:
            for number, text in self.sent[since:]:
                if number == to:
                    return code_in(text)
            assert time.monotonic() < deadline, f"no SMS to {to} arrived"
            await asyncio.sleep(0.02)
