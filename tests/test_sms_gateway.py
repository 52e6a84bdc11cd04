"""The HTTP SMS gateway speaks JSON to the operator's endpoint; a failure is reported, never swallowed."""

from __future__ import annotations

import logging

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.services.sms import HttpSmsGateway, OutboxSmsGateway, SmsFailed


async def test_posts_the_number_and_text_with_the_token(caplog: pytest.LogCaptureFixture) -> None:
    received: list[tuple[dict[str, str], str | None]] = []
    failing = {"left": 1}

    async def gateway(request: web.Request) -> web.Response:
        if failing["left"]:
            failing["left"] -= 1
            return web.Response(status=502)
        received.append((await request.json(), request.headers.get("Authorization")))
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/sms", gateway)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        sms = HttpSmsGateway(str(server.make_url("/sms")), token="gw-token")
        with pytest.raises(SmsFailed):
            await sms.send("+381641234567", "123456 je vaš kod")
        with caplog.at_level(logging.INFO):
            await sms.send("+381641234567", "123456 je vaš kod")
    finally:
        await server.close()
    assert received == [({"to": "+381641234567", "text": "123456 je vaš kod"}, "Bearer gw-token")]
    assert "+381…67" in caplog.text and "381641234567" not in caplog.text and "123456" not in caplog.text


async def test_an_unreachable_gateway_is_a_failure() -> None:
    with pytest.raises(SmsFailed):
        await HttpSmsGateway("http://127.0.0.1:9/sms", timeout=2).send("+381641234567", "x")


async def test_the_demo_outbox_keeps_what_a_phone_would_get() -> None:
    outbox = OutboxSmsGateway()
    await outbox.send("+99365123456", "654321")
    assert outbox.drain() == [("+99365123456", "654321")]
    assert outbox.drain() == []
