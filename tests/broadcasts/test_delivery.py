"""A campaign through the real channels on the fake platforms: once per user, in their language, with consent."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from bot.channels.viber import ViberClient
from bot.db.models import CampaignDelivery, ChannelUser
from bot.profiles import PROFILE_DIR
from bot.server import campaign_worker
from bot.services.campaigns import store
from bot.services.campaigns.worker import SENDING_TIMEOUT
from tests.broadcasts.conftest import MakePlatforms
from tests.broadcasts.harness import (
    CYRILLIC,
    TEXTS,
    Person,
    Platforms,
    add_users,
    campaign_file,
    new_campaign,
    platforms,
    statuses,
    wait_until,
)
from tests.conftest import AppFactory
from tests.fakes.telegram_api import FakeTelegram, FakeUser
from tests.fakes.viber_api import FakeViberApi
from tests.service import free_port
from tests.viber.conftest import TOKEN as VIBER_TOKEN

PICTURE = "https://static.example.com/start.jpg"
BUTTON = {"url": "https://mts.rs/start", "label": {"sr": "Saznaj više", "tk": "Giňişleýin"}}


async def test_each_user_gets_the_news_once_in_their_language_with_the_opt_out(
    database_url: str, make_platforms: MakePlatforms
) -> None:
    world = await make_platforms(database_url)
    tg = world.fake_telegram
    ana, boris, cvijeta, dovlet = (tg.user(7001), tg.user(7002), tg.user(7003), tg.user(7004, language_code="tk"))
    refused, silent, gone = tg.user(7005), tg.user(7006), tg.user(7007)
    await add_users(world.app.deps.sessionmaker, [
        Person("telegram", "7001", "sr"), Person("telegram", "7002", "sr"), Person("telegram", "7003", "sr-Cyrl"),
        Person("telegram", "7004", "tk"), Person("viber", "vbSrb01==", "sr"), Person("viber", "vbTkm01==", "tk"),
        Person("telegram", "7005", "sr", consent=False), Person("telegram", "7006", "sr", consent=None),
        Person("telegram", "7007", "sr", unreachable=True),
    ])  # fmt: skip
    campaign_id = await new_campaign(world.app.deps.sessionmaker, campaign_file(picture=PICTURE, button=BUTTON))

    assert await world.worker().run_until_idle() == 6
    assert await world.worker().run_until_idle() == 0  # nothing is sent twice

    def photos(user: object) -> list[dict[str, object]]:
        return [m for m in tg.bot_messages(user) if "photo" in m]  # type: ignore[arg-type]

    for user, text in ((ana, TEXTS["sr"]), (boris, TEXTS["sr"]), (cvijeta, CYRILLIC), (dovlet, TEXTS["tk"])):
        (photo,) = photos(user)
        assert photo["caption"] == text
        rows = photo["reply_markup"]["inline_keyboard"]  # type: ignore[index]
        assert rows[0][0]["url"] == "https://mts.rs/start"
        assert rows[1][0]["callback_data"] == f"news:off:{campaign_id}"
    assert photos(cvijeta)[0]["reply_markup"]["inline_keyboard"][1][0]["text"] == "Не шаљите ми више новости"  # type: ignore[index]
    assert photos(dovlet)[0]["reply_markup"]["inline_keyboard"][0][0]["text"] == "Giňişleýin"  # type: ignore[index]
    for user in (refused, silent, gone):
        assert tg.bot_messages(user) == []

    (srb,) = world.fake_viber.messages("vbSrb01==")
    (tkm,) = world.fake_viber.messages("vbTkm01==")
    assert srb["type"] == "picture" and srb["text"] == TEXTS["sr"] and srb["media"] == PICTURE
    assert tkm["text"] == TEXTS["tk"]
    assert [b["Text"] for b in tkm["keyboard"]["Buttons"]] == ["Giňişleýin", "Maňa täzelik ibermäň"]

    assert await statuses(world.app.deps.sessionmaker, campaign_id) == {"sent": 6}
    async with world.app.deps.sessionmaker() as db:
        refs = (await db.execute(select(CampaignDelivery.channel, CampaignDelivery.message_ref))).all()
        campaign = await store.get(db, campaign_id)
        totals = await store.totals(db, campaign_id)
    assert all(ref for _, ref in refs)  # the platforms' ids, for receipts
    assert campaign.status == "done" and campaign.finished_at is not None
    assert totals.by_channel_language == {("telegram", "sr"): 2, ("telegram", "sr-Cyrl"): 1, ("telegram", "tk"): 1,
                                          ("viber", "sr"): 1, ("viber", "tk"): 1}  # fmt: skip


async def test_consent_and_reachability_are_checked_again_at_send_time(
    sqlite_url: str, make_platforms: MakePlatforms
) -> None:
    world = await make_platforms(sqlite_url)
    tg = world.fake_telegram
    stays, changed_mind, blocked_since = tg.user(7101), tg.user(7102), tg.user(7103)
    blocks_now = tg.user(7104)
    await add_users(world.app.deps.sessionmaker, [Person("telegram", str(u.id)) for u in
                                                   (stays, changed_mind, blocked_since, blocks_now)])  # fmt: skip
    await add_users(world.app.deps.sessionmaker, [Person("viber", "vbLeft01==")])
    await new_campaign(world.app.deps.sessionmaker, campaign_file())

    async with world.app.deps.sessionmaker() as db, db.begin():
        users = {u.external_id: u for u in (await db.execute(select(ChannelUser))).scalars()}
        users["7102"].marketing_consent = False
        users["7102"].marketing_consent_at = datetime.now(UTC)
        users["7103"].unreachable = True
    tg.block(blocks_now, announce=False)
    world.fake_viber.answer(6)  # receiverNotSubscribed

    await world.worker().run_until_idle()

    assert len(tg.bot_messages(stays)) == 1
    assert tg.bot_messages(changed_mind) == [] and tg.bot_messages(blocked_since) == []
    async with world.app.deps.sessionmaker() as db:
        rows = {
            external_id: (status, error)
            for external_id, status, error in await db.execute(
                select(ChannelUser.external_id, CampaignDelivery.status, CampaignDelivery.error).join(
                    ChannelUser, ChannelUser.id == CampaignDelivery.channel_user_id
                )
            )
        }
        flags = dict((await db.execute(select(ChannelUser.external_id, ChannelUser.unreachable))).all())
    assert rows == {
        "7101": ("sent", None),
        "7102": ("skipped", "no consent"),
        "7103": ("skipped", "unreachable"),
        "7104": ("unreachable", None),
        "vbLeft01==": ("unreachable", None),
    }
    assert flags["7104"] and flags["vbLeft01=="]  # never tried again, by this campaign or the next


async def test_paid_broadcast_asks_telegram_for_its_paid_rate(sqlite_url: str, make_platforms: MakePlatforms) -> None:
    world = await make_platforms(sqlite_url)
    users = [world.fake_telegram.user(7500 + i) for i in range(40)]
    await add_users(world.app.deps.sessionmaker, [Person("telegram", str(u.id)) for u in users])
    await new_campaign(world.app.deps.sessionmaker, campaign_file(picture=PICTURE))
    world.fake_telegram.overall_per_second = 30  # the free bulk limit; paid messages may go faster
    world.fake_telegram.per_chat_per_second = None

    sent = await world.worker(TELEGRAM_BROADCAST_RATE=200, TELEGRAM_PAID_BROADCAST=True).run_until_idle()

    assert sent == 40
    photos = [c for c in world.fake_telegram.calls if c.method == "sendPhoto"]
    assert len(photos) == 40 and all(c.ok and c.params.get("allow_paid_broadcast") == "true" for c in photos)
    times = sorted(c.at for c in photos)
    assert (len(times) - 1) / (times[-1] - times[0]) > 30  # above the free limit, and no 429
    assert world.fake_telegram.caused_429 == 0


async def test_a_message_viber_did_not_take_is_tried_again_later(
    sqlite_url: str, make_platforms: MakePlatforms
) -> None:
    world = await make_platforms(sqlite_url)
    await add_users(world.app.deps.sessionmaker, [Person("viber", "vbBusy01==")])
    campaign_id = await new_campaign(world.app.deps.sessionmaker, campaign_file())
    world.fake_viber.answer(12, times=3)  # too many requests, on every retry of the client
    start = datetime.now(UTC)
    world.now = start
    worker = world.worker()

    assert await worker.run_until_idle() == 1
    assert world.fake_viber.messages("vbBusy01==") == []
    assert await statuses(world.app.deps.sessionmaker, campaign_id) == {"pending": 1}
    assert await worker.run_until_idle() == 0  # not due yet

    world.now = start + timedelta(seconds=10)
    assert await worker.run_until_idle() == 1
    assert len(world.fake_viber.messages("vbBusy01==")) == 1
    assert await statuses(world.app.deps.sessionmaker, campaign_id) == {"sent": 1}


async def test_a_message_the_platform_never_answered_is_not_sent_again(
    sqlite_url: str, make_platforms: MakePlatforms
) -> None:
    """At most once: without an answer the message may have arrived, so the row fails instead of going again."""
    world = await make_platforms(sqlite_url)
    await add_users(world.app.deps.sessionmaker, [Person("viber", "vbSilent1==")])
    campaign_id = await new_campaign(world.app.deps.sessionmaker, campaign_file())
    answering, silent = world.viber.client, ViberClient(VIBER_TOKEN, f"http://127.0.0.1:{free_port()}/pa", timeout=1)
    world.viber.client = silent  # nothing listens there: no answer at all
    try:
        start = datetime.now(UTC)
        world.now = start
        worker = world.worker()
        assert await worker.run_until_idle() == 1
    finally:
        world.viber.client = answering
        await silent.close()
    assert await statuses(world.app.deps.sessionmaker, campaign_id) == {"failed": 1}
    world.now = start + timedelta(hours=1)
    assert await world.worker().run_until_idle() == 0
    assert world.fake_viber.messages("vbSilent1==") == []


async def a_slow_batch_under_way(
    world: Platforms, first_id: int, n: int
) -> tuple[list[FakeUser], int, asyncio.Task[int]]:
    """`n` Telegram users, a campaign to them, and one batch of a worker sending a message every half second, started:
    the users, the campaign, and the batch's task once the first message is out."""
    users = [world.fake_telegram.user(first_id + i) for i in range(n)]
    await add_users(world.app.deps.sessionmaker, [Person("telegram", str(u.id)) for u in users])
    campaign_id = await new_campaign(world.app.deps.sessionmaker, campaign_file())
    slow = world.worker(TELEGRAM_BROADCAST_RATE=2, BROADCAST_BATCH=n)
    batch = asyncio.create_task(slow.run_batch())

    async def first_sent() -> bool:
        return any(world.fake_telegram.bot_messages(u) for u in users)

    await wait_until(first_sent, timeout=10, what="the first message")
    return users, campaign_id, batch


async def test_a_worker_stopped_mid_batch_gives_back_what_it_has_not_sent(
    sqlite_url: str, make_platforms: MakePlatforms
) -> None:
    """`mila run` stopping (SIGTERM cancels its workers): the messages that never left go back to the queue, so
    a graceful restart strands nothing; the rest of the campaign is sent later, nobody gets it twice."""
    world = await make_platforms(sqlite_url)
    users, campaign_id, batch = await a_slow_batch_under_way(world, 7100, 6)
    batch.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await batch
    after_stop = await statuses(world.app.deps.sessionmaker, campaign_id)
    assert after_stop.get("sent", 0) >= 1 and after_stop.get("pending", 0) >= 3, after_stop
    assert after_stop.get("sending", 0) <= 1, after_stop  # only a call cut off half way is left unknown

    await world.worker().run_until_idle()
    received = [len(world.fake_telegram.bot_messages(u)) for u in users]
    assert max(received) == 1 and sum(received) >= 5, received


async def campaign_status(world: Platforms, campaign_id: int) -> str:
    async with world.app.deps.sessionmaker() as db:
        return (await store.get(db, campaign_id)).status


async def test_a_campaign_is_done_only_after_its_last_batch_is_sent(
    sqlite_url: str, make_platforms: MakePlatforms
) -> None:
    """A lane that finds nothing left to claim while another lane is still sending does not end the campaign."""
    world = await make_platforms(sqlite_url)
    _, campaign_id, batch = await a_slow_batch_under_way(world, 7200, 4)
    assert await world.worker().run_batch() == 0  # another lane: nothing to claim
    assert await campaign_status(world, campaign_id) == "sending"

    assert await batch == 4
    assert await world.worker().run_batch() == 0
    assert await campaign_status(world, campaign_id) == "done"
    assert await statuses(world.app.deps.sessionmaker, campaign_id) == {"sent": 4}


async def test_a_row_left_sending_by_a_killed_worker_holds_the_campaign_open_only_for_a_while(
    sqlite_url: str, make_platforms: MakePlatforms
) -> None:
    world = await make_platforms(sqlite_url)
    sent, stranded = world.fake_telegram.user(7301), world.fake_telegram.user(7302)
    await add_users(world.app.deps.sessionmaker, [Person("telegram", "7301"), Person("telegram", "7302")])
    start = datetime.now(UTC)
    world.now = start
    campaign_id = await new_campaign(world.app.deps.sessionmaker, campaign_file(), now=start)
    async with world.app.deps.sessionmaker() as db, db.begin():  # claimed by a worker that was killed right after
        stranded_user = (await db.execute(select(ChannelUser.id).where(ChannelUser.external_id == "7302"))).scalar_one()
        await db.execute(
            update(CampaignDelivery)
            .where(CampaignDelivery.channel_user_id == stranded_user)
            .values(status="sending", claimed_at=start, attempts=1)
        )

    assert await world.worker().run_until_idle() == 1
    assert await campaign_status(world, campaign_id) == "sending"  # it may still be on its way
    world.now = start + SENDING_TIMEOUT - timedelta(seconds=1)
    assert await world.worker().run_batch() == 0
    assert await campaign_status(world, campaign_id) == "sending"

    world.now = start + SENDING_TIMEOUT + timedelta(minutes=1)  # beyond any send: it is unknown, never sent again
    assert await world.worker().run_batch() == 0
    assert await campaign_status(world, campaign_id) == "done"
    assert await statuses(world.app.deps.sessionmaker, campaign_id) == {"sent": 1, "sending": 1}
    assert len(world.fake_telegram.bot_messages(sent)) == 1 and world.fake_telegram.bot_messages(stranded) == []


async def test_the_worker_of_mila_run_knows_its_profile_by_id_whatever_mila_profile_spells(
    make_app: AppFactory, fake_telegram: FakeTelegram, viber_api: FakeViberApi
) -> None:
    app = await make_app(str(PROFILE_DIR / "rs.yaml"))  # MILA_PROFILE=…/bot/profiles/rs.yaml
    world = platforms(app, fake_telegram, viber_api)
    try:
        user = fake_telegram.user(7401)
        await add_users(app.deps.sessionmaker, [Person("telegram", "7401")])
        campaign_id = await new_campaign(app.deps.sessionmaker, campaign_file())  # `profile: rs`

        worker = campaign_worker(app, world.pushers)
        assert worker.profile == "rs"
        assert await worker.run_until_idle() == 1
        assert len(fake_telegram.bot_messages(user)) == 1
        assert await statuses(app.deps.sessionmaker, campaign_id) == {"sent": 1}
    finally:
        await world.close()
