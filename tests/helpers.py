"""What flow tests share: demo data in the database, the SMS the bot sent, identifying a chat in a few steps."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from bot.app import App
from bot.config import DEMO_SECRET_KEY
from bot.core.incoming import UserRef
from bot.db.base import make_sessionmaker
from bot.db.models import Account
from bot.profiles import load_profile
from bot.services.demo import seed_demo
from bot.services.sms import OutboxSmsGateway
from tests.chat import Chat
from tests.conftest import AppFactory


async def seeded(make_app: AppFactory, profile: str, **bot: object) -> App:
    app = await make_app(profile, **bot)
    async with app.deps.sessionmaker() as db:
        await seed_demo(db, app.deps.profile, app.settings.security.key())
        await db.commit()
    return app


async def seed_database(database_url: str, profile: str) -> None:
    """Demo data in a database that `mila run` uses (or will use) with the demo key."""
    engine = create_async_engine(database_url)
    try:
        async with make_sessionmaker(engine)() as db:
            await seed_demo(db, load_profile(profile), DEMO_SECRET_KEY.encode())
            await db.commit()
    finally:
        await engine.dispose()


def code_in(sms: str) -> str:
    """The one-time code in an SMS text."""
    match = re.search(r"\b(\d{6})\b", sms)
    assert match, sms
    return match.group(1)


async def sms_sent(app: App) -> tuple[str, str]:
    """The number and the text of the last SMS the gateway was asked to deliver (it is sent in the background)."""
    outbox = app.deps.sms
    assert isinstance(outbox, OutboxSmsGateway)
    for _ in range(500):
        sent = outbox.drain()
        if sent:
            return sent[-1]
        await asyncio.sleep(0.01)
    raise AssertionError("no SMS was sent")


async def sms_code(app: App) -> str:
    """The code the SMS gateway was asked to deliver."""
    return code_in((await sms_sent(app))[1])


async def no_sms(app: App) -> None:
    await asyncio.sleep(0.1)
    outbox = app.deps.sms
    assert isinstance(outbox, OutboxSmsGateway) and outbox.drain() == []


async def account_ids(app: App) -> dict[str, int]:
    """Account number → id, to forge payloads the way an attacker would."""
    async with app.deps.sessionmaker() as db:
        return {number: id_ for number, id_ in (await db.execute(select(Account.number, Account.id))).all()}


async def new_chat(app: App, language: str, *presses: str, user: UserRef | None = None) -> Chat:
    """A new chat past its first contact in `language` (the main menu shown) that then presses, in turn, the buttons
    labelled `presses`."""
    chat = Chat(app.engine, user)
    await chat.first_contact(language)
    for label in presses:
        await chat.press(label)
    return chat


MY_ACCOUNT = ("account",)


async def rs_identified(app: App, phone: str, language: str = "Srpski", *, entry: Sequence[str] = MY_ACCOUNT) -> Chat:
    """A new chat that took the `entry` buttons (their payloads) and was identified by the number the messenger
    vouches for (rs): at "my account", the accounts are shown."""
    chat = await new_chat(app, language)
    for payload in entry:
        await chat.press_payload(payload)
    await chat.press_payload("idm:phone")
    await chat.share_phone(phone, own=True)
    return chat


async def tm_identified(
    app: App,
    phone: str,
    word: str,
    language: str = "Türkmençe",
    user: UserRef | None = None,
    *,
    entry: Sequence[str] = MY_ACCOUNT,
) -> Chat:
    """A new chat that took the `entry` buttons (their payloads) and was identified by the phone number and the code
    word (tm): at "my account", the accounts are shown."""
    chat = await new_chat(app, language, user=user)
    for payload in entry:
        await chat.press_payload(payload)
    await chat.press_payload("idm:word")
    await chat.say(phone)
    await chat.say(word)
    return chat


async def identify_by_customer_code(chat: Chat, app: App, code: str, *, method_label: str) -> None:
    """Answer identification (already asked) with a customer code and the SMS code (rs)."""
    await chat.press(method_label)
    await chat.say(code)
    await chat.say(await sms_code(app))


async def identify_by_code_word(chat: Chat, phone: str, word: str, *, method_label: str) -> None:
    """Answer identification (already asked) with a phone number and the code word (tm)."""
    await chat.press(method_label)
    await chat.say(phone)
    await chat.say(word)


async def age_identification(app: App, chat: Chat, seconds: float) -> None:
    """Make this chat's identification `seconds` older: time passes."""
    chat.wait(seconds)


def as_text(value: object) -> str:
    """A value read from Redis as text: the clients never decode, so anything but bytes is a mistake worth seeing."""
    assert isinstance(value, bytes), value
    return value.decode()
