"""The Viber webhook against signed callbacks no Viber client sends: a 4xx or a polite answer, never a 500 (which
Viber retries for an hour) and never a traceback."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from bot.core.incoming import Incoming
from bot.core.replies import Reply
from bot.services.demo import seed_demo
from tests.fakes.viber_api import sign
from tests.viber.conftest import TOKEN, Viber, ViberFactory, sample


async def test_deep_oversized_and_unencodable_requests_are_refused(
    viber: Viber, caplog: pytest.LogCaptureFixture
) -> None:
    user = viber.user()
    assert (await user.post(b"[" * 100_000 + b"]" * 100_000))[0] == 400
    assert (await user.post(b"{" + b" " * (1024 * 1024 + 10) + b"}"))[0] == 413
    body = json.dumps(user.message_callback({"type": "text", "text": "meni"})).encode()
    assert (await user.post(body, signature="\xff" + sign(body, TOKEN)[1:]))[0] == 403
    assert viber.api.calls == []
    assert "Traceback" not in caplog.text and "RecursionError" not in caplog.text


@pytest.mark.parametrize(
    "change",
    [
        {"message": {"type": "text", "text": 5}},
        {"message": {"type": "text", "text": ["meni"]}},
        {"message": {"type": "text", "text": "meni", "tracking_data": {"v": 1}}},
        {"message_token": "abc"},
        {"message_token": 1e30},
        {"timestamp": []},
        {"sender": "someone"},
    ],
    ids=["text-number", "text-list", "tracking-object", "token-text", "token-float", "timestamp-list", "sender-text"],
)
async def test_a_message_with_fields_of_the_wrong_type_is_400(viber: Viber, change: dict[str, object]) -> None:
    user = viber.user()
    callback = user.message_callback({"type": "text", "text": "meni"}) | change
    assert (await user.post(callback))[0] == 400
    assert viber.api.calls == []


@pytest.mark.parametrize("change", [{"message_token": "abc"}, {"timestamp": []}, {"user_id": 7}],
                         ids=["token-text", "timestamp-list", "user-number"])  # fmt: skip
async def test_a_receipt_with_fields_of_the_wrong_type_is_400(viber: Viber, change: dict[str, object]) -> None:
    user = viber.user()
    assert (await user.post(sample("delivered") | change))[0] == 400


async def test_a_timestamp_beyond_any_number_is_400(viber: Viber) -> None:
    user = viber.user()
    body = json.dumps(sample("seen")).encode()
    body = body.replace(b'"timestamp": ', b'"timestamp": 1e400, "x": ', 1)
    assert (await user.post(body))[0] == 400


async def test_huge_tracking_data_and_a_lone_surrogate_get_an_answer(viber: Viber) -> None:
    user = viber.user()
    callback = user.message_callback({"type": "text", "text": "zdravo", "tracking_data": "x" * 200_000})
    assert (await user.post(callback))[0] == 200
    user.expect("Izaberite jezik")
    body = json.dumps(user.message_callback({"type": "text", "text": "/x\ud800"}), ensure_ascii=True).encode()
    assert (await user.post(body))[0] == 200
    assert user.replies, "answered"
    assert await user.say("meni") == 200  # the session was saved and its lock let go


async def test_a_puk_viber_would_not_take_is_never_kept_in_redis_and_can_be_asked_for_again(
    make_viber: ViberFactory,
) -> None:
    viber = await make_viber("tm")
    async with viber.app.deps.sessionmaker() as db:
        await seed_demo(db, viber.app.deps.profile, viber.app.settings.security.key())
        await db.commit()
    ayna = viber.user(language="tk")
    await ayna.open()
    await ayna.press("Türkmençe")
    await ayna.press("Ýok, sag boluň")
    await ayna.press("Şahsy hasabym")
    await ayna.press("Telefon belgisi we kod sözi")
    await ayna.say("+993 65 123456")
    await ayna.say("Gülälek")
    await ayna.press("PIN we PUK")
    viber.api.answer(12, times=4)  # Viber says "try later" more often than the client retries
    line = ayna.button_callback("Belgimiň PUK koduny görkez")  # her only line: the PUK comes at once
    status, _ = await ayna.post(line)
    assert status == 503 and ayna.replies == []
    prefix = viber.app.settings.redis.prefix
    stored = [await viber.redis.get(key) async for key in viber.redis.scan_iter(match=prefix + "*")]
    assert not any(b"12345678" in value for value in stored if isinstance(value, bytes)), "the PUK is in Redis"

    status, _ = await ayna.post(line)  # Viber delivers the callback again
    assert status == 200
    assert "12345678" not in ayna.text
    ayna.expect("PUK")
    await ayna.press("🔑")  # shown again, behind the same checks
    ayna.expect("12345678")


async def test_a_claim_left_by_a_dead_holder_lapses_within_a_lease_and_a_live_one_holds(
    make_viber: ViberFactory,
) -> None:
    viber = await make_viber("rs", claim_ttl_seconds=1)
    user = viber.user()
    callback = user.message_callback({"type": "text", "text": "zdravo"})
    key = f"{viber.app.settings.redis.prefix}viber:cb:message:{callback['message_token']}:"
    # A process was killed while it handled this callback: its claim is all that is left of it.
    await viber.redis.set(key, "busy", ex=1)
    assert (await user.post(callback))[0] == 503
    await asyncio.sleep(1.2)
    assert (await user.post(callback))[0] == 200  # Viber's next retry is handled, not held off for minutes
    user.expect("Izaberite jezik")

    # A live holder keeps its claim past the lease: a slow turn is not run twice by a parallel re-delivery.
    slow = user.message_callback({"type": "text", "text": "pomoć"})
    gate = asyncio.Event()
    handle = viber.channel.engine.handle

    runs: list[Incoming] = []

    async def slow_handle(incoming: Incoming, **options: Any) -> list[Reply]:
        runs.append(incoming)
        await gate.wait()
        return await handle(incoming, **options)

    viber.channel.engine.handle = slow_handle  # type: ignore[method-assign,assignment]
    first = asyncio.create_task(user.post(slow))
    await asyncio.sleep(2.5)  # more than two leases
    assert (await user.post(slow))[0] == 503
    gate.set()
    assert (await first)[0] == 200
    assert (await user.post(slow))[0] == 200  # done: a later re-delivery is a duplicate
    assert len(runs) == 1
