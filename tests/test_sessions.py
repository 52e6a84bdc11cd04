"""Sessions on the real Redis: turns of one user never interleave and keep their order across processes;
flow data expires after the idle time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis

from bot.app import build_app
from bot.core.incoming import Incoming, Kind, UserRef
from bot.core.router import Router
from bot.core.session import SessionStore
from bot.core.turn import Turn
from handlers import build_router
from tests.chat import Chat
from tests.conftest import REDIS_URL, AppFactory, make_settings


def _router_with_a_slow_step(gate: asyncio.Event | None = None) -> Router:
    """The real flows plus one step that appends what was typed, slowly, to the flow data.

    The first step ("slow:0") waits for `gate`, so the test can line the others up behind it whatever the load.
    """
    router = build_router()
    probe = Router()

    @probe.payload("slow")
    async def slow_append(turn: Turn) -> None:
        seen = list(turn.session.data.get("seen", []))
        if gate is not None and turn.arg == "0":
            await gate.wait()
        await asyncio.sleep(0.05)  # a slow turn: another update arrives meanwhile
        seen.append(turn.arg)
        turn.session.state = "probe"
        turn.session.data = {"seen": seen}
        turn.say(",".join(seen))

    router.include(probe)
    return router


async def test_two_engines_keep_one_users_updates_in_order(sqlite_url: str, redis_prefix: str) -> None:
    settings = make_settings("rs", sqlite_url, redis_prefix)
    # Two processes' worth of everything: separate Redis connections, separate engines.
    gate = asyncio.Event()
    first = build_app(settings, redis=Redis.from_url(REDIS_URL), router=_router_with_a_slow_step(gate))
    second = build_app(settings, redis=Redis.from_url(REDIS_URL), router=_router_with_a_slow_step(gate))
    user = UserRef("test", "concurrent")
    queue = first.deps.sessions.key(user, "queue")
    lock = first.deps.sessions.key(user, "lock")

    async def until(condition: Callable[[], Awaitable[bool]]) -> None:
        deadline = time.monotonic() + 10
        while not await condition():
            assert time.monotonic() < deadline, "an update never reached Redis"
            await asyncio.sleep(0.002)

    try:
        await Chat(first.engine, user).press_payload("lang:sr")
        tasks = []
        for n in range(8):
            engine = (first if n % 2 == 0 else second).engine
            tasks.append(asyncio.create_task(engine.handle(Incoming(user, Kind.BUTTON, payload=f"slow:{n}"))))
            # They arrive in this order, while the first one is still running (it waits for the gate): the next
            # one is sent only once this one holds the lock or waits in the queue.
            if n == 0:
                await until(lambda: first.redis.exists(lock))
            else:
                await until(lambda n=n: _queued(first.redis, queue, n))
        gate.set()
        results = await asyncio.gather(*tasks)
        assert [r[0].text for r in results][-1] == "0,1,2,3,4,5,6,7"  # type: ignore[union-attr]
        # Each turn saw every earlier one: nothing lost, nothing interleaved.
        for n, replies in enumerate(results):
            assert replies[0].text == ",".join(str(i) for i in range(n + 1))  # type: ignore[union-attr]
    finally:
        await first.close()
        await second.close()


async def _queued(redis: Redis, queue: str, count: int) -> bool:
    return bool(await redis.zcard(queue) >= count)


async def test_a_dead_waiter_does_not_block_the_queue(redis_prefix: str) -> None:
    redis = Redis.from_url(REDIS_URL)
    store = SessionStore(redis, redis_prefix, ttl_seconds=60)
    user = UserRef("test", "dead-waiter")
    # A waiter that queued and then died (it never polls again).
    await redis.zadd(store.key(user, "queue"), {"ghost": 1})
    await redis.hset(store.key(user, "polls"), "ghost", 1)
    started = time.monotonic()
    async with store.locked(user) as session:
        session.data["ok"] = True
    assert time.monotonic() - started < 1
    async with store.locked(user) as session:
        assert session.data == {"ok": True}
    await redis.aclose()


async def test_a_failed_turn_keeps_the_session_as_it_was(redis_prefix: str) -> None:
    redis = Redis.from_url(REDIS_URL)
    store = SessionStore(redis, redis_prefix, ttl_seconds=60)
    user = UserRef("test", "failing")
    async with store.locked(user) as session:
        session.state = "before"
    try:
        async with store.locked(user) as session:
            session.state = "half-done"
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    async with store.locked(user) as session:
        assert session.state == "before"
    await redis.aclose()


async def test_idle_flow_expires_and_the_user_is_told(make_app: AppFactory) -> None:
    app = await make_app("rs", idle_timeout_seconds=10)
    chat = Chat(app.engine)
    await chat.start()
    await chat.press("Srpski")
    # The user is in the middle of something (a flow state), then goes quiet for longer than the idle time.
    async with app.deps.sessions.locked(chat.user) as session:
        session.state = "probe"
        session.data = {"half": "done"}
        session.last_active = time.time() - 11
    await chat.say("bilo šta")
    chat.expect("Prekinuli smo započeto", "Kako mogu da vam pomognem?")
    async with app.deps.sessions.locked(chat.user) as session:
        assert session.state == "" and session.data == {}


async def test_a_global_word_after_expiry_is_still_served(make_app: AppFactory) -> None:
    app = await make_app("tm", idle_timeout_seconds=10)
    chat = Chat(app.engine)
    await chat.start()
    await chat.press("Türkmençe")
    async with app.deps.sessions.locked(chat.user) as session:
        session.state = "probe"
        session.last_active = time.time() - 60
    await chat.say("kömek")
    chat.expect("Biraz wagt hiç zat ibermänligiňiz sebäpli", "Buýruklar:")


async def test_session_keys_are_channel_prefixed(make_app: AppFactory, redis_prefix: str) -> None:
    app = await make_app("rs")
    await Chat(app.engine, UserRef("viber", "AbC+/=")).start()
    keys = [k.decode() async for k in app.redis.scan_iter(match=redis_prefix + "*")]
    assert keys == [f"{redis_prefix}viber:AbC+/=:session"]
