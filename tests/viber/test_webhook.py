"""The webhook on the wire: every sample callback, the signature, dedupe, retries, unreachable users, set_webhook."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from redis.asyncio import Redis

from bot.channels.viber import EVENT_TYPES, WEBHOOK_PATH, Receipt, ViberChannel
from bot.config import ConfigError
from bot.core.incoming import UserRef
from bot.db.models import ChannelUser
from bot.services.users import UserDirectory
from tests.conftest import AppFactory
from tests.fakes.viber_api import ViberUser, sign
from tests.viber.conftest import TOKEN, Viber, ViberFactory, post_every_sample, sample, viber_settings


async def channel_user(viber: Viber, external_id: str) -> ChannelUser | None:
    async with viber.app.deps.sessionmaker() as db:
        return await UserDirectory(db).get(UserRef("viber", external_id))


async def test_every_sample_callback_gets_200_and_its_effect(make_viber: ViberFactory) -> None:
    receipts: list[Receipt] = []

    async def on_receipt(receipt: Receipt) -> None:
        receipts.append(receipt)

    viber = await make_viber(on_receipt=on_receipt)

    async def lookup(external_id: str) -> ChannelUser | None:
        return await channel_user(viber, external_id)

    prefix = viber.app.settings.redis.prefix
    await post_every_sample(viber.user(), redis=viber.redis, prefix=prefix, channel_user=lookup)
    assert [c.endpoint for c in viber.api.calls] == ["send_message"]
    assert [r.event for r in receipts] == ["delivered", "seen", "failed"]
    assert receipts[-1].description == "message validation failed"


async def test_a_forged_or_missing_signature_is_403_and_nothing_runs(viber: Viber) -> None:
    user = viber.user()
    callback = user.message_callback({"type": "text", "text": "meni"})
    for signature in (None, "", "0" * 64, "forged"):
        status, _ = await user.post(callback, signature=signature)
        assert status == 403
    body = json.dumps(callback).encode()
    status, _ = await user.post(body.replace(b"meni", b"pomo"), signature=sign(body, TOKEN))  # altered on the way
    assert status == 403
    # signed with another bot's token
    other = viber.user(user_id=user.id)
    other.auth_token = "another-bot-token"
    status, _ = await other.post(callback)
    assert status == 403
    for event in ("conversation_started", "unsubscribed", "delivered", "webhook"):
        status, _ = await user.post(sample(event), signature="0" * 64)
        assert status == 403
    assert viber.api.calls == []
    assert await channel_user(viber, user.id) is None
    assert await channel_user(viber, "3SQNc4FPUQmysaM/AQEhXg==") is None
    assert [k async for k in viber.redis.scan_iter(match=viber.app.settings.redis.prefix + "*")] == []


async def test_a_signed_body_that_is_not_a_callback(viber: Viber) -> None:
    user = viber.user()
    assert (await user.post(b"not json"))[0] == 400
    assert (await user.post({"event": "message", "timestamp": 1}))[0] == 400  # no sender, no message
    assert (await user.post({"event": "client_status", "timestamp": 1, "message_token": 1}))[0] == 200  # unknown
    assert viber.api.calls == []


async def test_a_duplicate_message_token_is_processed_once(viber: Viber) -> None:
    user = viber.user()
    callback = user.message_callback({"type": "text", "text": "zdravo"})
    assert (await user.post(callback))[0] == 200
    assert (await user.post(callback))[0] == 200
    results = await asyncio.gather(*(user.post(callback) for _ in range(3)))
    assert all(status == 200 for status, _ in results)
    assert len(viber.api.messages(user.id)) == 1


async def test_concurrent_deliveries_of_one_callback_run_it_once(viber: Viber) -> None:
    user = viber.user()
    callback = user.message_callback({"type": "text", "text": "zdravo"})
    results = await asyncio.gather(*(user.post(callback) for _ in range(4)))
    statuses = sorted(status for status, _ in results)
    assert statuses.count(200) >= 1 and set(statuses) <= {200, 503}  # 503: "in progress, come back"
    assert len(viber.api.messages(user.id)) == 1
    assert (await user.post(callback))[0] == 200
    assert len(viber.api.messages(user.id)) == 1


async def test_status_12_then_success_delivers_the_reply(viber: Viber) -> None:
    user = viber.user()
    viber.api.answer(12, times=2)
    assert await user.say("zdravo") == 200
    assert [c.status for c in viber.api.send_calls()] == [12, 12, 0]
    user.expect("Izaberite jezik")


async def test_status_12_too_long_answers_503_and_the_redelivery_sends_without_a_second_turn(viber: Viber) -> None:
    user = viber.user()
    assert await user.open() == 200
    await user.press("Srpski")
    await user.press("Ne, hvala")  # no tariff news
    viber.api.answer(12, times=4)  # more than the client's retries
    callback = user.message_callback({"type": "text", "text": user.keyboard()[-1]["ActionBody"]})  # ❓ Pomoć
    status, _ = await user.post(callback)
    assert status == 503 and user.replies == []
    status, _ = await user.post(callback)  # Viber brings it back
    assert status == 200
    user.expect("/menu")
    # the news question after the language (greeted already), the answer + menu, then help once
    assert len(viber.api.messages(user.id)) == 4


async def test_an_unsubscribed_user_is_unreachable_and_a_message_brings_them_back(viber: Viber) -> None:
    user = viber.user()
    await user.open()
    await user.press("Srpski")
    await user.press("Ne, hvala")  # no tariff news
    assert await user.unsubscribe() == 200
    row = await channel_user(viber, user.id)
    assert row is not None and row.unreachable
    assert await user.subscribe() == 200
    row = await channel_user(viber, user.id)
    assert row is not None and not row.unreachable

    # Writing again subscribes a user without a `subscribed` callback: the message alone makes them reachable.
    assert await user.unsubscribe() == 200
    assert await user.say("meni") == 200
    user.expect("Kako mogu da vam pomognem?")  # the language chosen before is kept
    row = await channel_user(viber, user.id)
    assert row is not None and not row.unreachable


@pytest.mark.parametrize("status", [5, 6, 7])
async def test_viber_saying_unreachable_marks_the_user(viber: Viber, status: int) -> None:
    user = viber.user()
    viber.api.answer(status)
    assert await user.say("zdravo") == 200  # processed; retrying would not help
    assert len(viber.api.send_calls()) == 1
    row = await channel_user(viber, user.id)
    assert row is not None and row.unreachable
    assert await user.say("zdravo") == 200  # they wrote again: reachable
    row = await channel_user(viber, user.id)
    assert row is not None and not row.unreachable


async def test_set_webhook_after_the_server_listens(make_viber: ViberFactory) -> None:
    viber = await make_viber()
    viber.channel.settings = viber.channel.settings.model_copy(update={"webhook_url": viber.webhook_url})
    events = await viber.channel.register_webhook()
    assert sorted(events) == sorted(EVENT_TYPES)
    assert viber.api.webhook_url == viber.webhook_url  # Viber's signed check callback got 200
    (call,) = viber.api.calls
    assert call.body["send_name"] is False and call.body["send_photo"] is False


async def test_the_channel_refuses_to_run_without_its_settings(make_app: AppFactory, viber: Viber) -> None:
    app = await make_app("rs")
    assert not ViberChannel.configured(app.settings.viber)
    with pytest.raises(ConfigError, match="VIBER_AUTH_TOKEN"):
        ViberChannel.from_app(app)
    app.settings.viber = viber_settings(viber.api.url)
    assert ViberChannel.configured(app.settings.viber)
    channel = ViberChannel.from_app(app)
    try:
        assert channel.routes()[0].path == "/webhook/viber"
        with pytest.raises(ConfigError, match="VIBER_WEBHOOK_URL"):
            await channel.start()
    finally:
        await channel.close()


async def test_a_callback_that_cannot_run_now_is_answered_503_and_runs_when_it_comes_back(viber: Viber) -> None:
    user = viber.user()
    callback = user.message_callback({"type": "text", "text": "zdravo"})
    sessions = viber.app.deps.sessions
    sessions.wait_seconds = 0.3
    async with sessions.locked(UserRef("viber", user.id)):  # another turn of this user holds the lock too long
        status, _ = await user.post(callback)
    assert status == 503 and viber.api.calls == []
    sessions.wait_seconds = 10  # Viber comes back later; by then the waiter that gave up has left the queue
    status, _ = await user.post(callback)  # Viber's re-delivery
    assert status == 200
    user.expect("Izaberite jezik")
    assert (await user.post(callback))[0] == 200 and len(viber.api.messages(user.id)) == 1


async def test_redis_down_is_503_and_nothing_is_sent(viber: Viber) -> None:
    down = Redis.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=1)
    channel = ViberChannel(
        viber.app.engine, viber.channel.settings, redis=down, redis_prefix="x:", client=viber.channel.client
    )
    web_app = web.Application()
    web_app.add_routes(channel.routes())
    server = TestServer(web_app, host="127.0.0.1")
    await server.start_server()
    try:
        user = ViberUser(viber.api, str(server.make_url(WEBHOOK_PATH)), viber.http, "down01==")
        assert await user.say("zdravo") == 503
        assert viber.api.calls == []
    finally:
        await server.close()
        await down.aclose()


# SHA-256 of the shared reference files the samples were copied from (reference/viber/ beside the project).
REFERENCE_DIGESTS = {
    "callbacks.jsonl": "d5387291ad0c1adb99d139cd90b390b295d39d79682e2c122353afde2b7715b4",
    "signature-vector.json": "b90baf1245311695d5e5e3e65162a193c106e927ad3bd09f97552279165b07c6",
}


def test_the_fixtures_are_the_shared_reference() -> None:
    """The samples are byte for byte the shared reference; where the reference folder is beside the project it is
    compared too, so a changed reference shows up here."""
    mine = Path(__file__).parent.parent / "fixtures" / "viber"
    shared = Path(__file__).resolve().parents[3] / "shared" / "reference" / "viber"
    for name, digest in REFERENCE_DIGESTS.items():
        assert hashlib.sha256((mine / name).read_bytes()).hexdigest() == digest, name
        if shared.is_dir():
            assert hashlib.sha256((shared / name).read_bytes()).hexdigest() == digest, f"the reference {name} changed"


async def test_a_redelivered_conversation_started_gets_the_same_welcome(viber: Viber) -> None:
    user = viber.user()
    callback = sample("conversation_started") | {"message_token": 4000000000000000001}
    first = await user.post(callback)
    again = await user.post(callback)
    assert first[0] == again[0] == 200 and json.loads(first[1]) == json.loads(again[1])
    assert "Izaberite jezik" in json.loads(again[1])["text"]


async def test_receipts_are_recorded_once_however_often_they_come(make_viber: ViberFactory) -> None:
    receipts: list[Receipt] = []

    async def on_receipt(receipt: Receipt) -> None:
        receipts.append(receipt)
        raise RuntimeError("a broken hook does not make Viber retry")

    viber = await make_viber(on_receipt=on_receipt)
    user = viber.user()
    delivered = sample("delivered")
    for _ in range(3):
        assert (await user.post(delivered))[0] == 200
    other_receiver = delivered | {"user_id": "anotherUser0000000000A=="}  # a broadcast: one token, many receivers
    assert (await user.post(other_receiver))[0] == 200
    prefix = viber.app.settings.redis.prefix
    counts = {k: v async for k, v in _hscan(viber, prefix + "viber:receipts:*")}
    assert counts == {b"delivered": b"2"}
    assert [r.user_id for r in receipts] == ["3SQNc4FPUQmysaM/AQEhXg==", "anotherUser0000000000A=="]


async def _hscan(viber: Viber, pattern: str) -> Any:
    async for key in viber.redis.scan_iter(match=pattern):
        for field, value in (await viber.redis.hgetall(key)).items():
            yield field, value
