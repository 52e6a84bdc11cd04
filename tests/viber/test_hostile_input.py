"""The Viber webhook against signed callbacks no Viber client sends: a 4xx or a polite answer, never a 500 (which
Viber retries for an hour) and never a traceback."""

from __future__ import annotations

import json

import pytest

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
    await ayna.press("Belgimiň PUK koduny görkez")
    ayna.expect("Haýsy belginiň PUK kody gerek?")
    viber.api.answer(12, times=4)  # Viber says "try later" more often than the client retries
    line = ayna.button_callback("8100001/1")
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
