"""`mila run` on Telegram, end to end: a subprocess talking to the fake Bot API server, in both modes.

The conversations read like the chat: the user sends /start, sees the language buttons, presses "Srpski", sees
the menu. What is checked is what Telegram would see: the Bot API calls, in order, within the platform's limits.
"""

from __future__ import annotations

import asyncio
import json
import time

from tests.fakes.telegram_api import FakeTelegram, FakeUser
from tests.telegram.conftest import StartMila
from tests.telegram.service import Mila, sample_updates

CHOOSE_LANGUAGE = "Izaberite jezik."
MENU_SR = "Kako mogu da vam pomognem?"
MENU_TK = "Size nähili kömek edip bilerin?"
GREETING_SR = "Zdravo! Ja sam Mila"
STALE_SR = "To dugme pripada ranijem razgovoru i više ne radi."
UNSUPPORTED_SR = "Mogu da pročitam samo tekst i dugmad koju vam pokažem."
NEWS_QUESTION_SR = "Želite li da ovde dobijate novosti o tarifama i ponudama?"
PHONE_NOT_NEEDED_SR = "Hvala, ali broj telefona mi trenutno nije potreban."


async def choose_serbian(fake: FakeTelegram, user: FakeUser) -> None:
    mark = len(fake.calls)
    fake.send_text(user, "/start")
    await fake.wait_text(user, CHOOSE_LANGUAGE, since=mark)
    fake.press(user, "Srpski")
    await fake.wait_text(user, NEWS_QUESTION_SR, since=mark)
    fake.press(user, "Ne, hvala")
    await fake.wait_text(user, MENU_SR, since=mark)


def answered(fake: FakeTelegram, update: dict[str, object]) -> bool:
    query = update["callback_query"]
    assert isinstance(query, dict)
    return fake.callback_queries.get(str(query["id"])) is True


async def test_start_language_menu_and_a_language_change(mila: Mila, fake_telegram: FakeTelegram) -> None:
    fake = fake_telegram
    user = fake.user(111111111, language_code="sr")

    mark = len(fake.calls)
    fake.send_text(user, "/start")
    await fake.wait_text(user, CHOOSE_LANGUAGE, since=mark)
    assert any("Srpski (latinica)" in label for label in fake.labels(user))
    assert fake.labels(user)[0].startswith("✓ Srpski"), "the language Telegram reports is offered first"

    pressed = fake.press(user, "Srpski")
    shown = await fake.wait_text(user, NEWS_QUESTION_SR, since=mark)
    assert any(GREETING_SR in text for text in shown)
    await fake.wait_for(lambda: answered(fake, pressed), what="the callback query answered")
    fake.press(user, "Ne, hvala")
    await fake.wait_text(user, MENU_SR, since=mark)
    assert "🌐 Jezik" in fake.labels(user)

    # Menu navigation edits the message with the pressed keyboard instead of sending a new one.
    menu_message = fake.last_keyboard_message(user)
    assert menu_message is not None
    mark = len(fake.calls)
    fake.press(user, "🌐 Jezik")
    await fake.wait_text(user, CHOOSE_LANGUAGE, since=mark)
    edits = fake.calls_to(user, "editMessageText", since=mark)
    assert edits and edits[0].ok and int(edits[0].params["message_id"]) == menu_message["message_id"]
    assert not fake.calls_to(user, "sendMessage", since=mark)

    fake.press(user, "Türkmençe")
    await fake.wait_text(user, MENU_TK, since=mark)
    await mila.wait_user(user.id, language="tk")

    # Commands are registered per language, with localized descriptions, for the commands the bot has.
    assert {"sr", "tk"} <= set(fake.commands)
    sr_commands = {c["command"]: c["description"] for c in fake.commands["sr"]}
    tk_commands = {c["command"]: c["description"] for c in fake.commands["tk"]}
    assert {"start", "menu", "language", "operator", "help"} <= set(sr_commands)
    assert sr_commands["menu"] != tk_commands["menu"]


async def test_stale_buttons_stickers_and_contacts_get_a_short_answer(mila: Mila, fake_telegram: FakeTelegram) -> None:
    fake = fake_telegram
    user = fake.user(111111111)
    await choose_serbian(fake, user)
    samples = sample_updates()

    # A button from an earlier conversation (the recorded sample carries "confirm:yes"): answered, and a notice.
    mark = len(fake.calls)
    fake.inject(samples[1])
    await fake.wait_text(user, STALE_SR, since=mark)
    await fake.wait_text(user, MENU_SR, since=mark)
    assert all(fake.callback_queries.values()), "every callback query is answered"

    mark = len(fake.calls)
    fake.send_sticker(user)
    await fake.wait_text(user, UNSUPPORTED_SR, since=mark)

    for sample in (samples[2], samples[4]):  # the user's own contact, then someone else's
        mark = len(fake.calls)
        fake.inject(sample)
        await fake.wait_text(user, PHONE_NOT_NEEDED_SR, since=mark)

    # An edited message and a group chat get no answer at all.
    mark = len(fake.calls)
    message = dict(samples[0]["message"])
    fake.deliver(fake.update(edited_message={**message, "text": "/start", "edit_date": 1700000009}))
    fake.deliver(fake.update(message={**message, "chat": {"id": -100123, "type": "supergroup", "title": "x"}}))
    fake.send_text(user, "/menu")  # a marker: once this is answered, the two above were passed over
    await fake.wait_text(user, MENU_SR, since=mark)
    assert len(fake.calls_to(user, "sendMessage", "editMessageText", since=mark)) == 1

    # Nothing personal in the logs: no phone number, no message text, no Telegram user id.
    logs = mila.logs()
    for secret in ("381641234567", "Jovana", "111111111", "confirm:yes"):
        assert secret not in logs


async def test_a_blocked_user_is_marked_unreachable_and_not_retried(mila: Mila, fake_telegram: FakeTelegram) -> None:
    fake = fake_telegram
    user = fake.user(222333444)
    await choose_serbian(fake, user)

    fake.block(user, announce=False)  # the bot learns it only from the 403
    mark = len(fake.calls)
    fake.send_text(user, "/start")
    row = await mila.wait_user(user.id, unreachable=True)
    assert row.unreachable
    await asyncio.sleep(1.5)  # time enough for a retry, had there been one
    attempts = fake.calls_to(user, "sendMessage", "editMessageText", since=mark)
    assert len(attempts) == 1 and attempts[0].status == 403

    fake.unblock(user)  # Telegram's my_chat_member "member" update
    await mila.wait_user(user.id, unreachable=False)

    # The recorded "kicked" update marks the user unreachable too, without a word to them.
    sample_user = fake.user(111111111)
    mark = len(fake.calls)
    fake.inject(sample_updates()[3])
    await mila.wait_user(sample_user.id, unreachable=True)
    assert not fake.calls_to(sample_user, since=mark)


async def test_a_429_in_the_middle_of_a_reply_is_waited_out(mila: Mila, fake_telegram: FakeTelegram) -> None:
    fake = fake_telegram
    user = fake.user(333444555)
    await choose_serbian(fake, user)

    fake.limit_next(user, skip=1, retry_after=2)  # the greeting goes through, the menu after it gets a 429
    mark = len(fake.calls)
    fake.send_text(user, "/start")
    await fake.wait_text(user, MENU_SR, since=mark)
    sends = fake.calls_to(user, "sendMessage", since=mark)
    limited = [c for c in sends if c.status == 429]
    delivered = [c for c in sends if c.ok]
    assert len(limited) == 1 and [GREETING_SR in c.result["text"] for c in delivered] == [True, False]
    assert delivered[-1].at - limited[0].at >= 1.9, "the menu was sent again only after retry_after"
    assert await mila.metric("mila_rate_limit_waits_total", channel="telegram") >= 1


async def test_a_duplicate_update_has_one_effect(mila: Mila, fake_telegram: FakeTelegram) -> None:
    fake = fake_telegram
    user = fake.user(444555666)
    await choose_serbian(fake, user)

    mark = len(fake.calls)
    update = fake.send_text(user, "/help")
    await fake.wait_text(user, "/menu", since=mark)
    fake.redeliver(update)
    await mila.wait_metric("mila_updates_total", 1, channel="telegram", outcome="duplicate")
    fake.send_text(user, "/language")  # a marker after the duplicate
    await fake.wait_text(user, CHOOSE_LANGUAGE, since=mark)
    assert len(fake.calls_to(user, "sendMessage", since=mark)) == 2  # help once, then the language question


async def test_sigterm_finishes_the_update_in_progress(mila: Mila, fake_telegram: FakeTelegram) -> None:
    fake = fake_telegram
    user = fake.user(555666777)
    await choose_serbian(fake, user)

    fake.limit_next(user, skip=1, retry_after=3)
    mark = len(fake.calls)
    fake.send_text(user, "/start")
    await fake.wait_for(lambda: any(c.status == 429 for c in fake.calls_to(user, since=mark)), what="the 429")
    assert await mila.stop() == 0
    assert any(MENU_SR in text for text in fake.shown_since(user, mark)), "the reply was finished before exiting"
    lines = [line for line in mila.logs().splitlines() if line.strip()]
    assert lines and all(json.loads(line)["msg"] for line in lines), "logs are JSON lines when not on a terminal"


async def test_webhook_refuses_forged_oversized_and_malformed_requests(
    mila_factory: StartMila, fake_telegram: FakeTelegram
) -> None:
    fake = fake_telegram
    mila = await mila_factory("webhook")
    user = fake.user(666777888)
    update = fake.update(message={"message_id": 1, "from": user.as_json(), "chat": {"id": user.id, "type": "private"},
                                  "date": int(time.time()), "text": "/start"})  # fmt: skip
    mark = len(fake.calls)
    assert await mila.post_update(update, secret="wrong") == 401
    assert await mila.post_update(update, secret=None) == 401
    assert await mila.post_update(update, secret="s3cret-For_tests-but-longer") == 401
    assert await mila.post_update(b"x" * (1024 * 1024 + 10)) == 413
    assert await mila.post_update(b"{not json") == 400
    await asyncio.sleep(0.5)
    assert not fake.calls_to(user, since=mark), "nothing ran"
    assert await mila.metric("mila_updates_total", channel="telegram", outcome="rejected") == 5

    assert await mila.post_update(update) == 200  # the right secret: handled
    await fake.wait_text(user, CHOOSE_LANGUAGE, since=mark)
    assert await mila.post_update(update) == 200  # and a second delivery is acknowledged without a second effect
    assert len(fake.calls_to(user, "sendMessage", since=mark)) == 1


async def test_webhook_needs_a_secret(mila_factory: StartMila) -> None:
    try:
        await mila_factory("webhook", TELEGRAM_WEBHOOK_SECRET="")
    except AssertionError as exc:
        assert "TELEGRAM_WEBHOOK_SECRET" in str(exc) and "exited with 2" in str(exc)
    else:
        raise AssertionError("mila run started a webhook without a secret")


async def test_healthz_and_metrics(mila_factory: StartMila, fake_telegram: FakeTelegram) -> None:
    mila = await mila_factory("polling")
    status, body = await mila.get("/healthz")
    health = json.loads(body)
    assert status == 200 and (health["redis"], health["database"], health["status"]) == ("ok", "ok", "ok")
    assert health["parts"] == {"admin": "ok", "telegram": "ok"}
    assert set(health["workers"]) == {"campaigns", "eraser"} and all(w["alive"] for w in health["workers"].values())

    user = fake_telegram.user(777888999)
    await choose_serbian(fake_telegram, user)
    await mila.wait_metric("mila_updates_total", 2, channel="telegram", outcome="handled")
    _, metrics = await mila.get("/metrics")
    for name in ("mila_update_seconds_bucket", "mila_messages_sent_total", "mila_rate_limit_waits", "mila_errors"):
        assert name in metrics
    assert await mila.metric("mila_messages_sent_total", channel="telegram", method="sendMessage") >= 2


async def test_healthz_says_which_part_is_down(mila_factory: StartMila) -> None:
    mila = await mila_factory("polling", DATABASE_URL="postgresql+asyncpg://nobody@127.0.0.1:9/none")
    status, body = await mila.get("/healthz")
    assert status == 503 and (json.loads(body)["redis"], json.loads(body)["database"]) == ("ok", "down")


async def test_an_update_that_cannot_be_processed_gets_a_non_2xx_answer(
    mila_factory: StartMila, fake_telegram: FakeTelegram
) -> None:
    mila = await mila_factory("webhook", REDIS_URL="redis://127.0.0.1:9/0")  # nothing listens there
    status, body = await mila.get("/healthz")
    assert status == 503 and (json.loads(body)["redis"], json.loads(body)["database"]) == ("down", "ok")
    user = fake_telegram.user(888999000)
    mark = len(fake_telegram.calls)
    update = fake_telegram.update(message={"message_id": 1, "from": user.as_json(), "date": int(time.time()),
                                           "chat": {"id": user.id, "type": "private"}, "text": "/start"})  # fmt: skip
    assert await mila.post_update(update) == 503  # Telegram will deliver it again
    assert not fake_telegram.calls_to(user, since=mark)


async def test_two_processes_share_one_bot(mila_factory: StartMila, fake_telegram: FakeTelegram) -> None:
    """Behind one load balancer: each update handled once, a user's turns in order, whichever process gets them."""
    fake = fake_telegram
    first, second = await mila_factory("webhook"), await mila_factory("webhook")
    user = fake.user(999000111)
    sender = user.as_json()
    chat = {"id": user.id, "type": "private"}

    def text(body: str) -> dict[str, object]:
        return fake.update(message={"message_id": 1, "from": sender, "chat": chat, "date": int(time.time()),
                                    "text": body})  # fmt: skip

    mark = len(fake.calls)
    start = text("/start")
    # The same update reaches both processes at once (a re-delivery racing the first delivery): one effect.
    statuses = await asyncio.gather(first.post_update(start), second.post_update(start))
    assert 200 in statuses
    await fake.wait_text(user, CHOOSE_LANGUAGE, since=mark)
    for status in statuses:
        if status != 200:  # the loser was told to come back: the re-delivery is acknowledged as a duplicate
            assert await second.post_update(start) == 200
    assert len(fake.calls_to(user, "sendMessage", since=mark)) == 1

    # Alternating processes, the conversation goes on as one.
    language = fake.press_data(user, "lang:sr", fake.bot_messages(user)[-1]["message_id"], deliver=False)
    assert await second.post_update(language) == 200
    assert await first.post_update(text("/help")) == 200
    assert await second.post_update(text("/menu")) == 200
    shown = fake.shown_since(user, mark)
    expected = [GREETING_SR, NEWS_QUESTION_SR, "/menu", MENU_SR]  # greeted with the language question, once
    assert [fragment in shown[n] for n, fragment in enumerate(expected)] == [True] * 4


async def test_contacts_on_telegram_keep_the_numbers_in_the_text_without_call_buttons(
    mila: Mila, fake_telegram: FakeTelegram
) -> None:
    # Telegram refuses a tel: URL button (the whole message fails with 400): its apps make the number tappable.
    fake = fake_telegram
    user = fake.user(111111115, language_code="sr")
    await choose_serbian(fake, user)
    mark = len(fake.calls)
    fake.send_text(user, "kontakt")
    await fake.wait_text(user, "0800 100 100", since=mark)
    assert all(call.ok for call in fake.calls_to(user, "sendMessage", since=mark))
    assert not any(label.startswith("📞") for label in fake.labels(user))
