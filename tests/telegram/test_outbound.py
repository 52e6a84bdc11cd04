"""Every message on one outbound path, against a Bot API double enforcing Telegram's real limits: about one message a
second per chat (a burst of five), thirty a second in all, 429 with `retry_after` — and real Redis.

The turns here answer with the turn's own words ("u7 t3 a", "u7 t3 b"), and the handler notes the order in which
the engine ran each user's turns: a user's messages must arrive in exactly that order."""

from __future__ import annotations

import asyncio
import bisect
import itertools
import time
from collections.abc import AsyncIterator, Callable

import pytest
from aiogram.types import Update
from pydantic import SecretStr

from bot.app import build_app
from bot.channels.telegram import TelegramChannel
from bot.config import Settings, TelegramSettings
from bot.core.engine import MENU_INTENT, START_COMMAND
from bot.core.incoming import UserRef
from bot.core.outbound import BULK, RateLimiter, rate_key
from bot.core.replies import Text
from bot.core.router import Router
from bot.core.turn import Turn
from bot.metrics import Metrics
from tests.conftest import make_settings
from tests.fakes.telegram_api import FakeTelegram, FakeUser


@pytest.fixture
async def fake_telegram() -> AsyncIterator[FakeTelegram]:
    fake = FakeTelegram(chat_burst=5, chat_rate=1.0, overall_per_second=30, retry_after=2)
    await fake.start()
    yield fake
    await fake.close()


def echo_router(ran: dict[str, list[str]], *, parts: Callable[[str], int] = lambda text: 2) -> Router:
    """Every message is a new conversation's start here (no language chosen): the handler echoes it in parts."""
    router = Router()

    @router.command(START_COMMAND)
    async def echo(turn: Turn) -> None:
        text = turn.incoming.text
        ran.setdefault(turn.incoming.user.external_id, []).append(text)
        for part in range(parts(text)):
            turn.say(f"{text} {chr(ord('a') + part)}")

    @router.intent(MENU_INTENT, "meni")
    async def menu(turn: Turn) -> None:
        turn.say("Meni")

    return router


def settings(fake: FakeTelegram, sqlite_url: str, redis_prefix: str) -> Settings:
    base = make_settings("rs", sqlite_url, redis_prefix)
    telegram = TelegramSettings(bot_token=SecretStr(fake.token), api_base=fake.base_url)
    return base.model_copy(update={"telegram": telegram})


ChannelFactory = Callable[[Router], TelegramChannel]


@pytest.fixture
async def make_channel(
    fake_telegram: FakeTelegram, sqlite_url: str, redis_prefix: str
) -> AsyncIterator[ChannelFactory]:
    """A `mila run` process's Telegram channel (each with its own Redis client and sender), in this process."""
    made: list[TelegramChannel] = []

    def factory(router: Router) -> TelegramChannel:
        app = build_app(settings(fake_telegram, sqlite_url, redis_prefix), router=router)
        made.append(TelegramChannel(app, Metrics()))
        return made[-1]

    yield factory
    for channel in made:
        await channel.close()
        await channel.app.close()


def received(fake: FakeTelegram, user: FakeUser) -> list[str]:
    return [str(m.get("text")) for m in fake.bot_messages(user)]


def sent_at(fake: FakeTelegram, chats: set[int] | None = None) -> list[float]:
    """When the fake accepted each sendMessage (to `chats`, or to anyone), in order."""
    wanted = [c for c in fake.calls if c.method == "sendMessage" and c.ok and (chats is None or c.chat_id in chats)]
    return sorted(c.at for c in wanted)


def busiest_second(times: list[float]) -> int:
    """The most of these sorted moments within any one second."""
    return max((bisect.bisect_right(times, at + 1.0) - n for n, at in enumerate(times)), default=0)


async def wait_until(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.02)


def expected(ran: list[str], parts: Callable[[str], int] = lambda text: 2) -> list[str]:
    return [f"{text} {chr(ord('a') + part)}" for text in ran for part in range(parts(text))]


async def test_a_burst_from_many_users_meets_no_429_and_each_user_gets_answers_in_turn_order(
    fake_telegram: FakeTelegram, make_channel: ChannelFactory
) -> None:
    ran: dict[str, list[str]] = {}
    channel = make_channel(echo_router(ran))
    users = [fake_telegram.user(7000 + n) for n in range(30)]
    updates = [
        Update.model_validate(fake_telegram.send_text(user, f"u{user.id} t{turn}"))
        for turn in range(4)
        for user in users
    ]  # 240 messages: 8 a user (past the burst of five), 30 users (past 30 a second)
    await asyncio.gather(*(channel.process(update) for update in updates))
    assert fake_telegram.too_many["rate"] == fake_telegram.too_many["chat_rate"] == 0
    assert fake_telegram.caused_429 == 0
    for user in users:
        assert len(ran[str(user.id)]) == 4
        assert received(fake_telegram, user) == expected(ran[str(user.id)])
    # The global rate is the bound (30 a second); a path that kept one chat's pace for all would send one a second
    # after the burst of five. Counted by the fake over its busiest second, not timed over the whole run: a loaded
    # machine stretches a run, and a second in it where the loop kept up still shows the rate. How well the rate is
    # filled over a run is measured by bench/limits.py.
    busiest = busiest_second(sent_at(fake_telegram))
    assert busiest >= 10, busiest


async def test_two_processes_keep_one_users_order(fake_telegram: FakeTelegram, make_channel: ChannelFactory) -> None:
    """The first turn has more messages than the chat's burst; the second, one message, handled by another process,
    would overtake it without the shared order."""
    ran: dict[str, list[str]] = {}

    def parts(text: str) -> int:
        return 8 if text.endswith("t0") else 1

    here, there = make_channel(echo_router(ran, parts=parts)), make_channel(echo_router(ran, parts=parts))
    users = [fake_telegram.user(7100 + n) for n in range(3)]
    first = [Update.model_validate(fake_telegram.send_text(user, f"u{user.id} t0")) for user in users]
    second = [Update.model_validate(fake_telegram.send_text(user, f"u{user.id} t1")) for user in users]
    third = [Update.model_validate(fake_telegram.send_text(user, f"u{user.id} t2")) for user in users]

    async def one_user(index: int) -> None:
        turn0 = asyncio.create_task(here.process(first[index]))
        # Once the turn ran (not after a guess at how long that takes on a loaded machine); its replies are then
        # on their way through the chat's pace.
        await wait_until(lambda: bool(ran.get(str(users[index].id))), "the first turn ran")
        await there.process(second[index])
        await here.process(third[index])
        await turn0

    await asyncio.gather(*(one_user(index) for index in range(len(users))))
    assert fake_telegram.caused_429 == 0
    for user in users:
        assert ran[str(user.id)] == [f"u{user.id} t0", f"u{user.id} t1", f"u{user.id} t2"]
        assert received(fake_telegram, user) == expected(ran[str(user.id)], parts)


async def test_after_a_429_the_waiting_sends_leave_at_the_rate_not_all_at_once(
    fake_telegram: FakeTelegram, make_channel: ChannelFactory
) -> None:
    ran: dict[str, list[str]] = {}
    channel = make_channel(echo_router(ran, parts=lambda text: 1))
    users = [fake_telegram.user(7200 + n) for n in range(24)]
    fake_telegram.limit_all_after(0, retry_after=2)  # the very next send: the whole bot paused for 2 s
    updates = [Update.model_validate(fake_telegram.send_text(user, f"u{user.id} t0")) for user in users]
    await asyncio.gather(*(channel.process(update) for update in updates))
    assert fake_telegram.too_many["injected"] == 1
    assert fake_telegram.caused_429 == 0  # nothing was sent while the bot had been told to pause
    pause_ends = fake_telegram.injected_at[0] + 2
    sent = sorted(c.at for c in fake_telegram.calls if c.method == "sendMessage" and c.ok)
    assert len(sent) == 24 and sent[0] >= pause_ends - 0.05
    # At the rate: 24 messages at ~29 a second take ~0.8 s; a herd would send them within a few milliseconds.
    assert sent[-1] - sent[0] > 23 / 30 * 0.9, sent[-1] - sent[0]
    # A herd would leave ~23 of the 23 gaps under 15 ms; a loaded machine may answer a few sends back to back.
    gaps = [b - a for a, b in itertools.pairwise(sent)]
    assert sum(1 for gap in gaps if gap < 0.015) <= 6, gaps


async def test_a_campaign_yields_to_conversation_replies_and_fills_what_they_leave(
    fake_telegram: FakeTelegram, make_channel: ChannelFactory, redis_prefix: str
) -> None:
    ran: dict[str, list[str]] = {}
    channel = make_channel(echo_router(ran))
    # The campaign worker's limiter: the same schedule as the replies, at BULK priority.
    campaign = RateLimiter(channel.app.redis, rate_key(redis_prefix, "telegram"), 30 / 1.03, priority=BULK)
    readers = iter([fake_telegram.user(7300 + n) for n in range(400)])
    reader_ids = set(range(7300, 7700))
    stop = asyncio.Event()
    news_at: list[float] = []

    async def broadcast() -> None:
        """One of six senders, each with a message in flight: together they want more than the whole rate."""
        for reader in readers:
            if stop.is_set():
                return
            await campaign.acquire()
            result = await channel.push(
                UserRef("telegram", str(reader.id)), [Text("Nova tarifa")], purpose="campaign", bulk=campaign
            )
            assert result.sent
            news_at.append(time.monotonic())

    sending = asyncio.gather(*(broadcast() for _ in range(6)))
    await wait_until(lambda: len(news_at) >= 40, "the campaign alone sends")
    # Alone, the campaign takes the whole rate (~29 a second): its busiest second shows it, however loaded the
    # machine is around it; a campaign that yielded to replies nobody waits for would send a few.
    alone = busiest_second(sent_at(fake_telegram, reader_ids))
    assert alone >= 10, alone
    users = [fake_telegram.user(8600 + n) for n in range(20)]
    updates = [Update.model_validate(fake_telegram.send_text(user, f"u{user.id} t0")) for user in users]
    await asyncio.gather(*(channel.process(update) for update in updates))
    replied_at = time.monotonic()
    await wait_until(lambda: sum(1 for at in news_at if at > replied_at) >= 40, "the campaign sends again")
    stop.set()
    await sending
    assert fake_telegram.caused_429 == 0
    asked = {user.id for user in users}
    replies = [c.at for c in fake_telegram.calls if c.method == "sendMessage" and c.ok and c.chat_id in asked]
    assert len(replies) == 40  # two parts for each of the 20 users
    # Sharing the rate, six senders would put ~9 news among the 40 replies; going first, the news already given a
    # slot leave before the first reply and none while replies wait. Counted, not timed: a loaded machine is slower
    # for both alike, and the few a slow turn may leave room for are allowed.
    first, last = min(replies), max(replies)
    between = sum(1 for c in fake_telegram.calls if c.chat_id in reader_ids and c.ok and first < c.at < last)
    assert between <= 3, between
    # The campaign takes the rate back as soon as nobody is waiting: its busiest second after the replies.
    after = busiest_second([at for at in sent_at(fake_telegram, reader_ids) if at > last])
    assert after >= 10, (after, alone)


@pytest.mark.parametrize("processes", [1, 2])
async def test_a_turn_slow_to_reach_its_sending_keeps_its_place_before_the_users_next_turn(
    fake_telegram: FakeTelegram, make_channel: ChannelFactory, processes: int
) -> None:
    """Between a turn and the sending of its replies a process may be held up — a busy event loop, a Redis pool
    with every connection taken (2,000 updates at once) — for longer than a dead process would be waited for. The
    user's next turn, run meanwhile here or in another process, must wait for it, not give up on it."""
    ran: dict[str, list[str]] = {}
    channels = [make_channel(echo_router(ran)) for _ in range(processes)]
    for channel in channels:
        channel.outbound.order.grace = 0.3  # how long a turn never claimed is waited for
    user = fake_telegram.user(7400)
    first = Update.model_validate(fake_telegram.send_text(user, "u7400 t0"))
    second = Update.model_validate(fake_telegram.send_text(user, "u7400 t1"))
    here, there = channels[0], channels[-1]
    marked = here.dedupe.done

    async def held_up(update_id: int) -> None:  # the step between the turn and its sending
        if update_id == first.update_id:
            await asyncio.sleep(1.0)
        await marked(update_id)

    here.dedupe.done = held_up  # type: ignore[method-assign]
    sending = asyncio.create_task(here.process(first))
    while not ran.get("7400"):
        await asyncio.sleep(0.01)
    await there.process(second)  # its turn ran after the first one's
    await sending
    assert ran["7400"] == ["u7400 t0", "u7400 t1"]
    assert received(fake_telegram, user) == ["u7400 t0 a", "u7400 t0 b", "u7400 t1 a", "u7400 t1 b"]
    assert all(channel.outbound.order.skipped == 0 for channel in channels)


async def test_a_user_who_writes_once_is_not_queued_behind_another_users_many_turns(
    fake_telegram: FakeTelegram, sqlite_url: str, redis_prefix: str
) -> None:
    """At 4 messages a second, Ana sends six messages at once, then Petar one. Petar's answer takes the slot after
    Ana's next one — a fair round — instead of waiting behind the six places Ana's turns would have taken ahead."""
    ran: dict[str, list[str]] = {}
    base = settings(fake_telegram, sqlite_url, redis_prefix)
    slow = base.model_copy(update={"telegram": base.telegram.model_copy(update={"send_rate": 4.0})})
    app = build_app(slow, router=echo_router(ran, parts=lambda text: 1))
    channel = TelegramChannel(app, Metrics())
    try:
        ana, petar = fake_telegram.user(7400), fake_telegram.user(7401)
        many = [Update.model_validate(fake_telegram.send_text(ana, f"ana t{turn}")) for turn in range(6)]
        anas = asyncio.gather(*(channel.process(update) for update in many))
        await fake_telegram.wait_for(lambda: received(fake_telegram, ana) or None, what="Ana's first answer")
        await channel.process(Update.model_validate(fake_telegram.send_text(petar, "petar t0")))
        await anas
        order = [
            str(call.params.get("text"))
            for call in fake_telegram.calls
            if call.method == "sendMessage" and call.status == 200
        ]
        assert received(fake_telegram, ana) == expected(ran[str(ana.id)], lambda text: 1)
        assert fake_telegram.caused_429 == 0
        assert order.index("petar t0 a") <= 4, order  # within a round of Ana's, not after all six of hers
    finally:
        await channel.close()
        await app.close()
