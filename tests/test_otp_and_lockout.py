"""One-time codes and the guards against guessing, on the real Redis, also with many chats at once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from bot.core.incoming import UserRef
from bot.services.guard_events import GuardEvents
from bot.services.lockout import Lockout, LockoutPolicy
from bot.services.otp import CodeCheck, OneTimeCodes
from bot.services.phones import BadPhone, mask_phone, normalize_phone
from tests.conftest import REDIS_URL
from tests.helpers import as_text

SECRET = b"test-secret"
ALICE = UserRef("telegram", "1001")
MALLORY = UserRef("viber", "mallory==")


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL)
    yield client
    await client.aclose()


async def test_a_code_works_once_and_only_in_its_chat(redis: Redis, redis_prefix: str) -> None:
    codes = OneTimeCodes(redis, redis_prefix, SECRET)
    code = await codes.issue(ALICE, "subscriber-7")
    assert len(code) == 6 and code.isdigit()
    assert (await codes.check(MALLORY, code)).status is CodeCheck.NONE  # another chat
    result = await codes.check(ALICE, f" {code[:3]} {code[3:]} ")  # typed with spaces
    assert result.status is CodeCheck.OK and result.subject == "subscriber-7"
    assert (await codes.check(ALICE, code)).status is CodeCheck.NONE  # single use


async def test_three_wrong_tries_end_the_code(redis: Redis, redis_prefix: str) -> None:
    codes = OneTimeCodes(redis, redis_prefix, SECRET)
    code = await codes.issue(ALICE, "s")
    wrong = "000000" if code != "000000" else "111111"
    first = await codes.check(ALICE, wrong)
    assert first.status is CodeCheck.WRONG and first.tries_left == 2
    assert (await codes.check(ALICE, wrong)).tries_left == 1
    assert (await codes.check(ALICE, wrong)).status is CodeCheck.EXHAUSTED
    assert (await codes.check(ALICE, code)).status is CodeCheck.NONE  # even the right one is gone now


async def test_a_code_expires(redis: Redis, redis_prefix: str) -> None:
    codes = OneTimeCodes(redis, redis_prefix, SECRET, ttl_seconds=1)
    code = await codes.issue(ALICE, "s")
    await asyncio.sleep(1.2)
    assert (await codes.check(ALICE, code)).status is CodeCheck.NONE


async def test_a_new_code_replaces_the_old_one(redis: Redis, redis_prefix: str) -> None:
    codes = OneTimeCodes(redis, redis_prefix, SECRET)
    old = await codes.issue(ALICE, "s")
    new = await codes.issue(ALICE, "s")
    if old != new:
        assert (await codes.check(ALICE, old)).status is CodeCheck.WRONG
    assert (await codes.check(ALICE, new)).status is CodeCheck.OK


async def test_redis_never_holds_the_code(redis: Redis, redis_prefix: str) -> None:
    code = await OneTimeCodes(redis, redis_prefix, SECRET).issue(ALICE, "s")
    async for key in redis.scan_iter(match=redis_prefix + "*"):
        values = await redis.hgetall(key)
        assert all(code.encode() not in v for v in values.values())


async def guess(lockout: Lockout, chat: UserRef, subject: str) -> int:
    """One wrong guess, the way the flows make it: reserve, compare (wrong), settle. The wait when refused."""
    wait = await lockout.reserve(chat, subject)
    if not wait:
        await lockout.failed(chat, subject)
    return wait


async def test_five_failures_lock_the_subscriber_in_every_chat(redis: Redis, redis_prefix: str) -> None:
    lockout = Lockout(redis, redis_prefix, SECRET, LockoutPolicy(threshold=5, lock_seconds=900))
    for n in range(5):
        assert await lockout.locked_for(MALLORY if n % 2 else ALICE, "+381641234567") == 0
        assert await guess(lockout, MALLORY if n % 2 else ALICE, "+381641234567") == 0
    third_chat = UserRef("telegram", "3003")
    assert 890 <= await lockout.locked_for(third_chat, "+381641234567") <= 900
    assert 890 <= await lockout.reserve(third_chat, "+381641234567") <= 900
    assert await lockout.locked_for(third_chat, "+381649999999") == 0  # another subscriber is not affected


async def test_five_failures_lock_the_chat_for_every_subscriber(redis: Redis, redis_prefix: str) -> None:
    lockout = Lockout(redis, redis_prefix, SECRET)
    for n in range(5):
        await guess(lockout, MALLORY, f"+38164000000{n}")  # enumeration: a different number each time
    assert await lockout.locked_for(MALLORY, "+381641111111") > 0
    assert await lockout.locked_for(MALLORY) > 0
    assert await lockout.reserve(MALLORY, "+381642222222") > 0
    assert await lockout.locked_for(ALICE, "+381641111111") == 0


async def test_success_clears_the_counters(redis: Redis, redis_prefix: str) -> None:
    lockout = Lockout(redis, redis_prefix, SECRET)
    for _ in range(4):
        await guess(lockout, ALICE, "x")
    assert await lockout.reserve(ALICE, "x") == 0
    await lockout.succeeded(ALICE, "x")  # the owner's typos, in the owner's chat
    for _ in range(4):
        assert await guess(lockout, ALICE, "x") == 0
    assert await lockout.locked_for(ALICE, "x") == 0


async def test_a_success_forgives_only_what_that_chat_tried(redis: Redis, redis_prefix: str) -> None:
    lockout = Lockout(redis, redis_prefix, SECRET)
    for _ in range(3):
        await guess(lockout, MALLORY, "+381641234567")  # someone else guessing at Alice's number
    await guess(lockout, ALICE, "+381641234567")  # Alice's own typo
    assert await lockout.reserve(ALICE, "+381641234567") == 0
    await lockout.succeeded(ALICE, "+381641234567")
    # Mallory's three still count against the subscriber: two more wrong tries from anywhere lock it.
    await guess(lockout, UserRef("viber", "other"), "+381641234567")
    assert await lockout.locked_for(ALICE, "+381641234567") == 0
    await guess(lockout, UserRef("viber", "other"), "+381641234567")
    assert await lockout.locked_for(ALICE, "+381641234567") > 0


async def test_identifying_as_yourself_does_not_reset_your_guesses_at_others(redis: Redis, redis_prefix: str) -> None:
    lockout = Lockout(redis, redis_prefix, SECRET)
    for n in range(4):
        await guess(lockout, MALLORY, f"+38164000000{n}")
    assert await lockout.reserve(MALLORY, "+381649999999") == 0  # Mallory's own number, right
    await lockout.succeeded(MALLORY, "+381649999999")
    await guess(lockout, MALLORY, "+381640000009")
    assert await lockout.locked_for(MALLORY) > 0


async def test_the_last_try_locks_while_it_is_compared_and_its_success_lifts_the_lock(
    redis: Redis, redis_prefix: str
) -> None:
    lockout = Lockout(redis, redis_prefix, SECRET)
    for _ in range(4):
        await guess(lockout, ALICE, "x")
    assert await lockout.reserve(ALICE, "x") == 0  # the fifth: nobody gets past it while it is compared
    assert await lockout.locked_for(ALICE, "x") > 0
    assert await lockout.reserve(MALLORY, "x") > 0
    await lockout.succeeded(ALICE, "x")
    assert await lockout.locked_for(ALICE, "x") == 0
    assert await lockout.reserve(MALLORY, "x") == 0


async def test_a_chat_has_a_ceiling_per_day(redis: Redis, redis_prefix: str) -> None:
    lockout = Lockout(redis, redis_prefix, SECRET, LockoutPolicy(threshold=100, chat_daily=7))
    for n in range(7):
        assert await guess(lockout, MALLORY, f"+38164000000{n}") == 0
    assert 86_000 < await lockout.reserve(MALLORY, "+381641111111") <= 86_400
    assert 86_000 < await lockout.locked_for(MALLORY) <= 86_400
    assert await lockout.reserve(ALICE, "+381641111111") == 0  # the source is paused, not the subscriber


async def test_many_chats_guessing_at_once_get_five_tries(redis: Redis, redis_prefix: str) -> None:
    """Fifty chats reserve a try at one subscriber at the same moment: five get one; it's the reservation that
    decides, not a check made before the comparison."""
    lockout = Lockout(redis, redis_prefix, SECRET)
    chats = [UserRef("telegram", f"{5000 + n}") for n in range(50)]
    waits = await asyncio.gather(*(lockout.reserve(chat, "+381641234567") for chat in chats))
    assert sum(1 for wait in waits if wait == 0) == 5
    assert all(800 < wait <= 900 for wait in waits if wait)
    # and one chat at fifty subscribers at once (several processes could take its turns)
    waits = await asyncio.gather(*(lockout.reserve(ALICE, f"+3816400000{n:02d}") for n in range(50)))
    assert sum(1 for wait in waits if wait == 0) == 5


async def test_a_flood_of_failures_raises_the_alarm_and_pauses_nobody(
    redis: Redis, redis_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    events: list[str] = []
    bus = GuardEvents()
    bus.listen(events.append)
    lockout = Lockout(redis, redis_prefix, SECRET, LockoutPolicy(total_threshold=20), bus)
    with caplog.at_level(logging.WARNING, logger="mila.lockout"):
        await asyncio.gather(*(guess(lockout, UserRef("viber", f"bot{n}"), f"guess{n}") for n in range(60)))
    assert await lockout.locked_for(ALICE, "+381641234567") == 0
    assert await lockout.reserve(ALICE, "+381641234567") == 0
    assert events.count("alarm") == 1 and events.count("failure") == 60
    assert caplog.text.count("identification failures over the alarm threshold") == 1


async def test_lockout_keys_hold_no_number(redis: Redis, redis_prefix: str) -> None:
    lockout = Lockout(redis, redis_prefix, SECRET)
    await guess(lockout, ALICE, "+381641234567")
    stored = []
    async for key in redis.scan_iter(match=redis_prefix + "*"):
        stored.append(as_text(key))
        if (await redis.type(key)) == b"hash":
            stored.extend(as_text(f) + "=" + as_text(v) for f, v in (await redis.hgetall(key)).items())
    assert stored and not any("381641234567" in item for item in stored)


@pytest.mark.parametrize(
    ("typed", "region", "e164"),
    [
        ("064 123 4567", "RS", "+381641234567"),
        ("+381 64 123-45-67", "RS", "+381641234567"),
        ("381641234567", "RS", "+381641234567"),  # Telegram contacts may lack the +
        ("011 123 4567", "RS", "+381111234567"),
        ("+993 66 300890", "TM", "+99366300890"),
        ("866300890", "TM", "+99366300890"),
    ],
)
def test_numbers_are_normalized(typed: str, region: str, e164: str) -> None:
    assert normalize_phone(typed, region) == e164


@pytest.mark.parametrize("typed", ["12", "hello", "+381 64", ""])
def test_bad_numbers(typed: str) -> None:
    with pytest.raises(BadPhone):
        normalize_phone(typed, "RS")


def test_numbers_are_shown_masked() -> None:
    assert mask_phone("+381641234567") == "+381 64 ••• •• 67"
