"""Consent during a campaign: the one-tap button of the message (days later, without a session) and /news."""

from __future__ import annotations

from typing import Any

from aiogram.types import Update
from sqlalchemy import select

from bot.core.incoming import UserRef
from bot.db.models import ChannelUser
from bot.services.campaigns import store
from tests.broadcasts.conftest import MakePlatforms
from tests.broadcasts.harness import Person, Platforms, add_users, campaign_file, new_campaign, statuses
from tests.fakes.telegram_api import FakeUser

STOP = "Ne šaljite mi više novosti"


async def tap(world: Platforms, user: FakeUser, data: str, message_id: int | None = None) -> list[str]:
    """The user presses a button on one of the bot's messages; returns what the bot answered."""
    before = len(world.fake_telegram.bot_messages(user))
    update = world.fake_telegram.press_data(user, data, message_id, deliver=False)
    await world.telegram.process(Update.model_validate(update, context={"bot": world.telegram.bot}))
    return [m.get("text", "") for m in world.fake_telegram.bot_messages(user)[before:]]


async def write(world: Platforms, user: FakeUser, text: str) -> list[str]:
    before = len(world.fake_telegram.bot_messages(user))
    update: dict[str, Any] = world.fake_telegram.send_text(user, text)
    await world.telegram.process(Update.model_validate(update, context={"bot": world.telegram.bot}))
    return [m.get("text", "") for m in world.fake_telegram.bot_messages(user)[before:]]


async def consent(world: Platforms, external_id: str) -> bool | None:
    async with world.app.deps.sessionmaker() as db:
        return (
            await db.execute(select(ChannelUser.marketing_consent).where(ChannelUser.external_id == external_id))
        ).scalar_one()


async def test_opting_out_during_a_campaign(sqlite_url: str, make_platforms: MakePlatforms) -> None:
    world = await make_platforms(sqlite_url)
    tg = world.fake_telegram
    users = [tg.user(7200 + i) for i in range(6)]
    await add_users(world.app.deps.sessionmaker, [Person("telegram", str(u.id)) for u in users])
    campaign_id = await new_campaign(world.app.deps.sessionmaker, campaign_file())
    worker = world.worker(BROADCAST_BATCH=2)
    assert await worker.run_batch() == 2  # the first two have it; the campaign is under way
    first, second, third, fourth, fifth, sixth = users

    # The first taps the message's own button. They never talked to the bot: no session, nothing but the button.
    (news,) = tg.bot_messages(first)
    stop = news["reply_markup"]["inline_keyboard"][0][0]
    assert stop["text"] == STOP and stop["callback_data"] == f"news:off:{campaign_id}"
    answer = await tap(world, first, stop["callback_data"], news["message_id"])
    assert any("bez novosti o tarifama i ponudama" in text for text in answer), answer
    assert await consent(world, str(first.id)) is False

    # The fifth, not reached yet, turns the news off with /news.
    assert any("Dobijate novosti o tarifama i ponudama" in text for text in await write(world, fifth, "/news"))
    await tap(world, fifth, "news:off")
    # The sixth forges the button of a campaign they never got: they are opted out, nothing is counted for it.
    await write(world, sixth, "/news")
    await tap(world, sixth, "news:off:999999")

    await worker.run_until_idle()
    assert [len(tg.bot_messages(u)) for u in (second, third, fourth)] == [1, 1, 1]
    assert all("Nova tarifa" not in m.get("text", "") for m in tg.bot_messages(fifth) + tg.bot_messages(sixth))
    assert len([m for m in tg.bot_messages(first) if "Nova tarifa" in m.get("text", "")]) == 1
    assert await statuses(world.app.deps.sessionmaker, campaign_id) == {"sent": 4, "skipped": 2}
    async with world.app.deps.sessionmaker() as db:
        assert (await store.totals(db, campaign_id)).opted_out == 1


async def test_the_button_works_days_later_after_the_session_is_gone(
    sqlite_url: str, make_platforms: MakePlatforms
) -> None:
    world = await make_platforms(sqlite_url)
    tg = world.fake_telegram
    vesna = tg.user(7301)
    assert any("Izaberite jezik" in t for t in await write(world, vesna, "/start"))
    await tap(world, vesna, "lang:sr")
    await tap(world, vesna, "news:on")
    assert await consent(world, "7301") is True
    campaign_id = await new_campaign(world.app.deps.sessionmaker, campaign_file())
    await world.worker().run_until_idle()
    (news,) = [m for m in tg.bot_messages(vesna) if "Nova tarifa" in m.get("text", "")]

    await world.app.redis.delete(world.app.deps.sessions.key(UserRef("telegram", "7301"), "session"))  # days later
    answer = await tap(world, vesna, f"news:off:{campaign_id}", news["message_id"])
    assert any("bez novosti o tarifama i ponudama" in text for text in answer), answer
    assert await consent(world, "7301") is False
