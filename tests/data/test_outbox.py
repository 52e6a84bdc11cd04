"""The outbox worker against a real local HTTP receiver: signed POSTs, retries with backoff, delivered once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from aiohttp import web
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import ProvisioningSettings
from bot.db.base import utcnow
from bot.db.models import Order, OrderKind, OutboxMessage
from bot.profiles import Profile
from bot.services.backend import OrderRequest, TableBackend
from bot.services.demo import seed_demo
from bot.services.outbox import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, OutboxWorker, signature_valid
from tests.data.conftest import KEY

Sessions = async_sessionmaker[AsyncSession]
SECRET = "provisioning-shared-secret"


@dataclass
class Receiver:
    """The operator's provisioning endpoint: answers 500 to the first `failures` POSTs, then 200."""

    failures: int = 0
    delay: float = 0.0
    posts: list[dict[str, object]] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.posts.append(
            {
                "body": json.loads(body),
                "signed": signature_valid(SECRET.encode(), body, request.headers.get(SIGNATURE_HEADER)),
                "key": request.headers.get(IDEMPOTENCY_HEADER),
            }
        )
        if self.delay:
            await asyncio.sleep(self.delay)
        if len(self.posts) <= self.failures:
            return web.Response(status=500, text="try later")
        return web.json_response({"ok": True})


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    state = Receiver()
    app = web.Application()
    app.router.add_post("/orders", state.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    state.url = f"http://127.0.0.1:{port}/orders"
    yield state
    await runner.cleanup()


def _settings(url: str | None, **values: object) -> ProvisioningSettings:
    return ProvisioningSettings(url=url, secret=SecretStr(SECRET), backoff_seconds=0.05, max_backoff_seconds=1,
                                **values)  # type: ignore[arg-type]  # fmt: skip


async def _place_orders(sessionmaker: Sessions, profile: Profile, count: int = 1) -> list[str]:
    async with sessionmaker() as db:
        await seed_demo(db, profile, KEY)
        backend = TableBackend(db, profile, KEY)
        petar = await backend.find_by_customer_code("1234567")
        assert petar is not None
        account = (await backend.accounts(petar.id))[0]
        numbers = []
        for n in range(count):
            placed = await backend.place_order(OrderRequest(OrderKind.SERVICE_ON, account.id, f"order-{n}",
                                                            payload={"service": "roaming"}))  # fmt: skip
            numbers.append(placed.number)
        await db.commit()
    return numbers


async def _drain(worker: OutboxWorker, rounds: int = 40) -> None:
    for _ in range(rounds):
        await worker.run_once()
        await asyncio.sleep(0.03)


async def test_an_order_arrives_once_after_two_failures(
    sessionmaker: Sessions, rs: Profile, receiver: Receiver
) -> None:
    receiver.failures = 2
    [number] = await _place_orders(sessionmaker, rs)
    worker = OutboxWorker(sessionmaker, _settings(receiver.url))
    first = await worker.run_once()
    assert [a.delivered for a in first] == [False]
    assert await worker.run_once() == []  # not due yet: it backs off
    await _drain(worker)  # the two retries, then nothing more
    await worker.close()

    assert len(receiver.posts) == 3
    assert all(post["signed"] and post["key"] == "order-0" for post in receiver.posts)
    assert receiver.posts[-1]["body"]["order"]["number"] == number  # type: ignore[index]
    assert receiver.posts[-1]["body"]["idempotency_key"] == "order-0"  # type: ignore[index]
    async with sessionmaker() as db:
        row = (await db.execute(select(OutboxMessage))).scalar_one()
        order = (await db.execute(select(Order))).scalar_one()
    assert row.attempts == 3 and row.delivered_at is not None and row.last_error is None
    assert order.status == "sent" and order.sent_at is not None


async def test_without_a_url_orders_wait(sessionmaker: Sessions, rs: Profile) -> None:
    await _place_orders(sessionmaker, rs)
    worker = OutboxWorker(sessionmaker, _settings(None))
    assert not worker.enabled and await worker.run_once() == []
    async with sessionmaker() as db:
        assert (await db.execute(select(Order.status))).scalar_one() == "pending"


async def test_an_unreachable_receiver_backs_off_then_gives_up(sessionmaker: Sessions, rs: Profile) -> None:
    await _place_orders(sessionmaker, rs)
    worker = OutboxWorker(sessionmaker, _settings("http://127.0.0.1:9/nothing-listens", max_attempts=2))
    assert worker.backoff(1) < worker.backoff(3) * 0.7  # grows exponentially (with jitter)
    await _drain(worker, rounds=20)
    await worker.close()
    async with sessionmaker() as db:
        row = (await db.execute(select(OutboxMessage))).scalar_one()
        assert row.attempts == 2 and row.failed_at is not None and row.delivered_at is None
        assert (await db.execute(select(Order.status))).scalar_one() == "failed"


@pytest.mark.postgres
async def test_two_workers_never_send_the_same_row(postgres_server: str, rs: Profile, receiver: Receiver) -> None:
    """PostgreSQL: rows are taken FOR UPDATE SKIP LOCKED, so concurrent workers share the work without overlap."""
    from bot.db.base import make_engine, make_sessionmaker
    from tests.conftest import _empty_tables

    engine = make_engine(postgres_server)
    sessionmaker = make_sessionmaker(engine)
    try:
        await _place_orders(sessionmaker, rs, count=12)
        receiver.delay = 0.02
        workers = [OutboxWorker(sessionmaker, _settings(receiver.url)) for _ in range(3)]
        await asyncio.gather(*(w.run_once() for w in workers))
        for w in workers:
            await w.close()
        keys = [post["key"] for post in receiver.posts]
        assert sorted(keys) == sorted(f"order-{n}" for n in range(12))  # type: ignore[type-var]
    finally:
        await engine.dispose()
        await _empty_tables(postgres_server)


async def test_delivered_rows_are_not_sent_again(sessionmaker: Sessions, rs: Profile, receiver: Receiver) -> None:
    await _place_orders(sessionmaker, rs, count=2)
    worker = OutboxWorker(sessionmaker, _settings(receiver.url), clock=lambda: utcnow() + timedelta(days=1))
    assert [a.delivered for a in await worker.run_once()] == [True, True]
    assert await worker.run_once() == []
    await worker.close()
    assert len(receiver.posts) == 2


async def test_mila_outbox_run_once(
    sqlite_url: str,
    rs: Profile,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The command line, in a thread of its own so that the receiver (on this test's loop) keeps answering."""
    from bot.cli import main
    from bot.db.base import make_engine, make_sessionmaker

    engine = make_engine(sqlite_url)
    await _place_orders(make_sessionmaker(engine), rs, count=2)
    await engine.dispose()
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.delenv("PROVISIONING_URL", raising=False)
    assert await asyncio.to_thread(main, ["outbox", "run", "--once"]) == 0
    assert "orders wait" in capsys.readouterr().out and receiver.posts == []
    monkeypatch.setenv("PROVISIONING_URL", receiver.url)
    monkeypatch.setenv("PROVISIONING_SECRET", SECRET)
    assert await asyncio.to_thread(main, ["outbox", "run", "--once"]) == 0
    assert "delivered 2 orders" in capsys.readouterr().out
    assert sorted(str(post["key"]) for post in receiver.posts) == ["order-0", "order-1"]
    assert all(post["signed"] for post in receiver.posts)
