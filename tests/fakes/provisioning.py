"""A local stand-in for the operator's provisioning endpoint (`PROVISIONING_URL`): it takes signed orders at
`/orders`, refuses a wrong signature with 401, and answers `mila doctor`'s probe (`X-Mila-Probe: 1`) with 200
without taking anything, as the README asks of a receiver. Any other path is 404, as a wrong URL gets in life."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from bot.services.outbox import SIGNATURE_HEADER, signature_valid


class FakeProvisioning:
    def __init__(self, secret: str = "provisioning-shared-secret") -> None:
        self.secret = secret
        self.orders: list[dict[str, Any]] = []
        self.probes = 0
        self.base = ""
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return self.base + "/orders"

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/orders", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base = f"http://{host}:{port}"
        return self.url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if not signature_valid(self.secret.encode(), body, request.headers.get(SIGNATURE_HEADER)):
            return web.json_response({"error": "bad signature"}, status=401)
        if request.headers.get("X-Mila-Probe") == "1":
            self.probes += 1
            return web.json_response({"ok": True, "probe": True})
        self.orders.append(json.loads(body))
        return web.json_response({"ok": True})
