"""`mila run`'s Telegram webhook against what a network, an outage or an attacker sends: every answer is a status
Telegram understands (2xx handled, 4xx refused for good, 5xx "bring it back"), never a traceback."""

from __future__ import annotations

import asyncio
import json
import time

from redis.asyncio import Redis

from bot.channels.telegram.dedupe import Claim, UpdateDedupe
from tests import service
from tests.conftest import REDIS_URL, _empty_tables
from tests.fakes.tcp_proxy import TcpProxy
from tests.fakes.telegram_api import FakeTelegram, FakeUser
from tests.telegram.conftest import StartMila
from tests.telegram.service import WEBHOOK_SECRET, Mila

CHOOSE_LANGUAGE = "Izaberite jezik."


def start_update(fake: FakeTelegram, user: FakeUser, text: str = "/start") -> dict[str, object]:
    return fake.update(message={"message_id": 1, "from": user.as_json(), "chat": {"id": user.id, "type": "private"},
                                "date": int(time.time()), "text": text})  # fmt: skip


def raw_post(mila: Mila, parts: list[bytes], *, pause: float = 0.0, headers: dict[str, str] | None = None) -> int:
    """POST /webhook/telegram over a plain socket, the body in the given TCP segments with a pause between them."""
    secret = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
    return service.raw_post(mila.url, "/webhook/telegram", parts, pause=pause, headers=secret | (headers or {}))


async def test_an_update_in_two_tcp_segments_is_read_whole(
    mila_factory: StartMila, fake_telegram: FakeTelegram
) -> None:
    mila = await mila_factory("webhook")
    statuses = []
    for n in range(20):
        user = fake_telegram.user(610_000 + n)
        body = json.dumps(start_update(fake_telegram, user)).encode()
        split = len(body) // 2
        statuses.append(await asyncio.to_thread(raw_post, mila, [body[:split], body[split:]], pause=0.05))
    assert statuses == [200] * 20
    await fake_telegram.wait_text(fake_telegram.user(610_019), CHOOSE_LANGUAGE)


async def test_a_chunked_body_is_read_whole_and_an_oversized_one_is_413(
    mila_factory: StartMila, fake_telegram: FakeTelegram
) -> None:
    """No Content-Length to check first: the limit holds on what arrives, and a body within it, in chunks that
    arrive apart, is read whole."""
    mila = await mila_factory("webhook")
    chunked = {"Transfer-Encoding": "chunked"}
    status = await asyncio.to_thread(raw_post, mila, service.chunked(b"x" * (20 * 65536), 65536), headers=chunked)
    assert status == 413
    user = fake_telegram.user(615_001)
    # Within the limit, padded to most of it with JSON whitespace: a big body is still an update.
    body = json.dumps(start_update(fake_telegram, user)).encode()[:-1] + b" " * 900_000 + b"}"
    status = await asyncio.to_thread(raw_post, mila, service.chunked(body, 65536), pause=0.002, headers=chunked)
    assert status == 200
    await fake_telegram.wait_text(user, CHOOSE_LANGUAGE)


async def test_hostile_bodies_and_headers_get_4xx_and_no_traceback(
    mila_factory: StartMila, fake_telegram: FakeTelegram
) -> None:
    mila = await mila_factory("webhook")
    deep = b"[" * 100_000 + b"]" * 100_000
    assert await mila.post_update(deep) == 400
    assert await asyncio.to_thread(raw_post, mila, [b"{}"], headers={"X-Telegram-Bot-Api-Secret-Token": "\xff"}) == 401
    user = fake_telegram.user(620_001)
    mark = len(fake_telegram.calls)
    # A lone surrogate, as JSON allows and Python cannot encode: read as the replacement character.
    body = json.dumps(start_update(fake_telegram, user, "/x\ud800")).encode()
    assert await mila.post_update(body) == 200
    await fake_telegram.wait_text(user, CHOOSE_LANGUAGE, since=mark)
    assert await mila.post_update(start_update(fake_telegram, user, "pomoć")) == 200  # the lock was not left held
    logs = mila.logs()
    assert "Traceback" not in logs and "RecursionError" not in logs and "UnicodeEncodeError" not in logs


async def test_a_turn_the_database_could_not_run_is_answered_503_and_runs_on_the_retry(
    mila_factory: StartMila, fake_telegram: FakeTelegram, postgres_server: str
) -> None:
    proxy = await TcpProxy("127.0.0.1", 5432).start()
    url = postgres_server.replace("@127.0.0.1:5432/", f"@127.0.0.1:{proxy.port}/")
    assert url != postgres_server
    try:
        mila = await mila_factory("webhook", DATABASE_URL=url)
        user = fake_telegram.user(630_001)
        fake_telegram.send_text(user, "/start")
        await fake_telegram.wait_text(user, CHOOSE_LANGUAGE)
        mark, delivered = len(fake_telegram.calls), len(fake_telegram.webhook_statuses)
        proxy.refuse()  # the database goes away, as in a failover; choosing the language needs it
        fake_telegram.press(user, "Srpski")
        await fake_telegram.wait_for(lambda: fake_telegram.webhook_statuses[delivered:].count(503) >= 3,
                                     what="three refused deliveries")  # fmt: skip
        assert not fake_telegram.calls_to(user, "sendMessage", since=mark), "no apology that ends Telegram's retries"
        proxy.resume()
        await fake_telegram.wait_text(
            user, "Želite li da ovde dobijate novosti", since=mark
        )  # Telegram's next retry ran the turn
        statuses = fake_telegram.webhook_statuses[delivered:]
        assert set(statuses[:-1]) == {503} and statuses[-1] == 200
        assert await mila.stop() == 0
        lines = [json.loads(line) for line in mila.logs().splitlines() if "database error in a turn" in line]
        assert len(lines) >= 3 and all(line["error"] for line in lines)
        assert sum("where" in line for line in lines) == 1, "one traceback for the outage, not one per turn"
        assert "SELECT" not in mila.logs() and "INSERT" not in mila.logs(), "no SQL in the logs"
    finally:
        await proxy.close()
        await _empty_tables(postgres_server)


async def test_an_update_whose_holder_died_is_handled_on_a_retry_within_seconds(
    mila_factory: StartMila, fake_telegram: FakeTelegram, redis_prefix: str
) -> None:
    mila = await mila_factory("webhook")
    user = fake_telegram.user(640_001)
    update = start_update(fake_telegram, user)
    redis = Redis.from_url(REDIS_URL)
    try:
        # Another process claimed this update and was killed mid-turn: its claim is all that is left of it.
        assert await UpdateDedupe(redis, redis_prefix).claim(int(str(update["update_id"]))) is Claim.NEW
    finally:
        await redis.aclose()
    assert await mila.post_update(update) == 503
    started = time.monotonic()
    while (status := await mila.post_update(update)) == 503:
        assert time.monotonic() - started < 15, "the dead holder's claim still holds the update"
        await asyncio.sleep(0.5)
    assert status == 200
    await fake_telegram.wait_text(user, CHOOSE_LANGUAGE)
