"""What many flow tests need: the demo subscribers loaded, the one-time code the SMS gateway was asked to send."""

from __future__ import annotations

import asyncio
import re

from bot.app import App
from bot.services.demo import seed_demo
from bot.services.sms import OutboxSmsGateway
from tests.conftest import AppFactory


async def seeded(make_app: AppFactory, profile: str, **bot: object) -> App:
    app = await make_app(profile, **bot)
    async with app.deps.sessionmaker() as db:
        await seed_demo(db, app.deps.profile, app.settings.security.key())
        await db.commit()
    return app


async def sms_code(app: App) -> str:
    """The code the SMS gateway was asked to deliver (it is sent in the background)."""
    outbox = app.deps.services["sms"]
    assert isinstance(outbox, OutboxSmsGateway)
    for _ in range(500):
        sent = outbox.drain()
        if sent:
            match = re.search(r"\b(\d{6})\b", sent[-1][1])
            assert match, sent
            return match.group(1)
        await asyncio.sleep(0.01)
    raise AssertionError("no SMS was sent")


async def no_sms(app: App) -> None:
    await asyncio.sleep(0.1)
    outbox = app.deps.services["sms"]
    assert isinstance(outbox, OutboxSmsGateway) and outbox.drain() == []
