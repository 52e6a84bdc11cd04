"""Sessions on the real Redis: turns of one user never interleave and keep their order across processes;
flow data expires after the idle time."""

from __future__ import annotations

import asyncio
import time

from redis.asyncio import Redis

from bot.app import build_app
from bot.core.incoming import Incoming, Kind, UserRef
from bot.core.replies import Reply
from bot.core.router import Router
from bot.core.session import SessionStore
from bot.core.turn import Turn
from handlers import build_router
from tests.chat import Chat
from tests.conftest import REDIS_URL, AppFactory, make_settings


def _router_with_a_slow_step() -> Router:
    """The real flows plus one step that appends what was typed, slowly, to the flow data."""
    router = build_router()
    probe = Router()

    @probe.payload("slow")
    async def slow_append(turn: Turn) -> None:
        seen = list(turn.session.data.get("seen", []))
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
    first = build_app(settings, redis=Redis.from_url(REDIS_URL), router=_router_with_a_slow_step())
    second = build_app(settings, redis=Redis.from_url(REDIS_URL), router=_router_with_a_slow_step())
    user = UserRef("test", "concurrent")
    try:
        await Chat(first.engine, user).press_payload("lang:sr")
        store = first.deps.sessions
        tasks: list[asyncio.Task[list[Reply]]] = []

        async def arrived() -> int:
            """Updates Redis has seen: done, holding the lock, or waiting in the queue (never one counted twice:
            the finished ones are counted first, then the lock and the queue in one atomic read)."""
            done = sum(task.done() for task in tasks)
            async with first.redis.pipeline(transaction=True) as pipe:
                pipe.exists(store.key(user, "lock"))
                pipe.zcard(store.key(user, "queue"))
                holding, queued = await pipe.execute()
            return done + int(holding) + int(queued)

        for n in range(8):
            engine = (first if n % 2 == 0 else second).engine
            tasks.append(asyncio.create_task(engine.handle(Incoming(user, Kind.BUTTON, payload=f"slow:{n}"))))
            # They arrive in this order, while earlier ones are still running. A fixed pause between them is not
            # enough on a loaded machine (Redis may read two sockets in either order), so wait until Redis has it.
            for _ in range(2000):
                if await arrived() >= n + 1:
                    break
                await asyncio.sleep(0.001)
        results = await asyncio.gather(*tasks)
        assert [r[0].text for r in results][-1] == "0,1,2,3,4,5,6,7"  # type: ignore[union-attr]
        # Each turn saw every earlier one: nothing lost, nothing interleaved.
        for n, replies in enumerate(results):
            assert replies[0].text == ",".join(str(i) for i in range(n + 1))  # type: ignore[union-attr]
    finally:
        await first.close()
        await second.close()


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
    await chat.first_contact("Srpski")
    # The user is in the middle of something (a flow state), then goes quiet for longer than the idle time.
    async with app.deps.sessions.locked(chat.user) as session:
        session.state = "probe"
        session.data = {"half": "done"}
    chat.wait(11)
    await chat.say("bilo šta")
    chat.expect("Prošao je 1 minut bez vaše poruke, pa smo prekinuli započeto.", "Kako mogu da vam pomognem?")
    async with app.deps.sessions.locked(chat.user) as session:
        assert session.state == "" and session.data == {}


async def test_a_global_word_after_expiry_is_still_served(make_app: AppFactory) -> None:
    app = await make_app("tm", idle_timeout_seconds=10)
    chat = Chat(app.engine)
    await chat.first_contact("Türkmençe")
    async with app.deps.sessions.locked(chat.user) as session:
        session.state = "probe"
    chat.wait(60)
    await chat.say("gollanma")
    chat.expect("1 minutlap hiç zat ibermänligiňiz sebäpli", "Buýruklar:")


async def test_session_keys_are_channel_prefixed(make_app: AppFactory, redis_prefix: str) -> None:
    app = await make_app("rs")
    await Chat(app.engine, UserRef("viber", "AbC+/=")).start()
    keys = [k.decode() async for k in app.redis.scan_iter(match=redis_prefix + "*")]
    assert keys == [f"{redis_prefix}viber:AbC+/=:session"]


async def test_the_notice_says_how_long_in_proper_serbian(make_app: AppFactory) -> None:
    app = await make_app("rs", idle_timeout_seconds=180)
    chat = Chat(app.engine)
    await chat.first_contact("Srpski")
    async with app.deps.sessions.locked(chat.user) as session:
        session.state = "probe"
    chat.wait(200)
    await chat.say("nešto")
    chat.expect("Prošla su 3 minuta bez vaše poruke")


async def test_a_turn_slower_than_the_lock_lease_keeps_the_lock_and_a_dead_holders_lapses_within_it(
    redis_prefix: str,
) -> None:
    """The user's lock is a short lease renewed while the turn runs: a slow turn keeps it (the user's next update,
    in another process, waits), and the lock of a process killed in the middle of a turn frees its user within
    one lease instead of a guess at the longest turn."""
    clients = [Redis.from_url(REDIS_URL), Redis.from_url(REDIS_URL)]
    here, there = (SessionStore(client, redis_prefix, ttl_seconds=60, lease_ms=300) for client in clients)
    user = UserRef("test", "slow")
    events: list[str] = []
    try:

        async def slow_turn() -> None:
            async with here.locked(user):
                events.append("slow turn starts")
                await asyncio.sleep(1.2)  # four leases
                events.append("slow turn ends")

        async def next_turn() -> None:
            await asyncio.sleep(0.1)
            async with there.locked(user):
                events.append("next turn")

        await asyncio.gather(slow_turn(), next_turn())
        assert events == ["slow turn starts", "slow turn ends", "next turn"]

        # A holder that died: its lock, left with the lease it had, is all that is left of it.
        await clients[0].set(here.key(user, "lock"), "dead-holder", px=300)
        started = time.monotonic()
        async with there.locked(user):
            waited = time.monotonic() - started
        assert waited < 2.0, waited
    finally:
        for client in clients:
            await client.aclose()
