"""`mila run` serving Viber, as an operator runs it: a subprocess per profile against the fake Viber API and a fake
SMS gateway, with demo subscribers in its database, and Viber users who post signed callbacks to it.

Starting the process costs seconds, so each profile's process is started once for this module and serves every
test's users (each test has users of its own)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from redis.asyncio import Redis

from bot.channels.lease import LEASE_SECONDS
from bot.channels.viber import WEBHOOK_PATH
from bot.db.migrate import upgrade_async
from bot.db.models import ChannelUser
from tests.conftest import REDIS_URL, own_redis_prefix
from tests.fakes.sms_gateway import FakeSmsGateway
from tests.fakes.viber_api import FakeViberApi, ViberUser, sign
from tests.helpers import seed_database
from tests.service import channel_user, chunked, free_port, mila_env, orders, raw_post, spawn_mila, stop_mila
from tests.viber.conftest import BOT_NAME, TOKEN, post_every_sample, turkmen_service_list

pytestmark = pytest.mark.asyncio(loop_scope="module")
module_fixture = pytest_asyncio.fixture(scope="module", loop_scope="module")


@dataclass
class MilaOnViber:
    """One `mila run` process with its Viber webhook registered."""

    process: asyncio.subprocess.Process
    url: str
    database_url: str
    redis_prefix: str
    log_path: Path
    api: FakeViberApi
    http: aiohttp.ClientSession

    @property
    def webhook_url(self) -> str:
        return self.url + WEBHOOK_PATH

    def user(self, user_id: str, *, language: str = "sr", auth_token: str | None = None) -> ViberUser:
        return ViberUser(self.api, self.webhook_url, self.http, user_id, language=language, auth_token=auth_token)

    async def channel_user(self, external_id: str) -> ChannelUser | None:
        return await channel_user(self.database_url, "viber", external_id)

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")


async def until_registered(mila: MilaOnViber, since: int = 0) -> MilaOnViber:
    """Wait until the process has registered its webhook (Viber is told only once mila listens, and calls it at
    once with a signed check), among the API calls after the first `since`."""
    deadline = time.monotonic() + 60
    while not any(c.endpoint == "set_webhook" and c.body.get("url") == mila.webhook_url and c.status == 0
                  for c in mila.api.calls[since:]):  # fmt: skip
        assert mila.process.returncode is None, mila.logs()
        assert time.monotonic() < deadline, f"mila run did not register its Viber webhook:\n{mila.logs()}"
        await asyncio.sleep(0.05)
    return mila


@asynccontextmanager
async def mila_on_viber(profile: str, directory: Path, api: FakeViberApi, **env: str) -> AsyncIterator[MilaOnViber]:
    """`mila run` on Viber with the profile's demo subscribers; it must exit with 0 on SIGTERM at the end."""
    async with mila_processes_on_viber(profile, directory, api, **env) as start:
        yield await start()


@asynccontextmanager
async def mila_processes_on_viber(
    profile: str, directory: Path, api: FakeViberApi, **env: str
) -> AsyncIterator[Callable[[], Awaitable[MilaOnViber]]]:
    """Start `mila run` on Viber again and again (after a crash) on one database, Redis prefix and port; every
    process still running at the end must exit with 0 on SIGTERM."""
    database_url = f"sqlite+aiosqlite:///{directory / 'mila.sqlite3'}"
    await upgrade_async(database_url)
    await seed_database(database_url, profile)
    port = free_port()
    webhook_url = f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
    started: list[MilaOnViber] = []
    async with own_redis_prefix() as prefix, aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        environment = mila_env(
            database_url=database_url, redis_prefix=prefix, port=port, profile=profile, VIBER_AUTH_TOKEN=TOKEN,
            VIBER_API_BASE=api.url, VIBER_WEBHOOK_URL=webhook_url, VIBER_BOT_NAME=BOT_NAME, **env,
        )  # fmt: skip

        async def start() -> MilaOnViber:
            since = len(api.calls)
            process = await spawn_mila(environment, directory / "mila.log")
            url = f"http://127.0.0.1:{port}"
            started.append(MilaOnViber(process, url, database_url, prefix, directory / "mila.log", api, http))
            return await until_registered(started[-1], since)

        try:
            yield start
        finally:
            codes = [await stop_mila(mila.process) for mila in started if mila.process.returncode is None]
        assert codes == [0] * len(codes), f"mila run exited with {codes} after SIGTERM:\n{started[-1].logs()[-4000:]}"


@module_fixture
async def fake_viber() -> AsyncIterator[FakeViberApi]:
    api = FakeViberApi(TOKEN)
    await api.start()
    yield api
    await api.close()
    assert api.problems == [], "the bot sent what Viber would refuse"


@module_fixture
async def sms_gateway() -> AsyncIterator[FakeSmsGateway]:
    gateway = FakeSmsGateway()
    await gateway.start()
    yield gateway
    await gateway.close()


@module_fixture
async def mila_rs(
    fake_viber: FakeViberApi, sms_gateway: FakeSmsGateway, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[MilaOnViber]:
    env = {"SMS_GATEWAY_URL": sms_gateway.url, "SMS_GATEWAY_TOKEN": sms_gateway.token}
    async with mila_on_viber("rs", tmp_path_factory.mktemp("mila-rs"), fake_viber, **env) as mila:
        yield mila


@module_fixture
async def mila_tm(fake_viber: FakeViberApi, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[MilaOnViber]:
    async with mila_on_viber("tm", tmp_path_factory.mktemp("mila-tm"), fake_viber) as mila:
        yield mila


async def start_in_serbian(user: ViberUser) -> None:
    """Open the chat, choose Serbian, no tariff news: the main menu."""
    assert await user.open() == 200
    user.expect("Zdravo! Ja sam Mila", "Izaberite jezik")
    assert await user.press("Srpski (latinica)") == 200
    user.expect("Želite li da ovde dobijate novosti o tarifama i ponudama?")
    assert await user.press("Ne, hvala") == 200
    user.expect("Kako mogu da vam pomognem?")


async def test_reconnect_on_promise_in_serbian(mila_rs: MilaOnViber, sms_gateway: FakeSmsGateway) -> None:
    petar = mila_rs.user("runPetar1Ab+/cD==")
    await start_in_serbian(petar)

    await petar.press("Uključenje na reč")
    petar.expect("Kako želite da se identifikujete?")
    await petar.press("Brojem telefona")
    petar.expect("Podelite svoj broj dugmetom ispod")
    [share] = [b for b in petar.keyboard() if b["ActionType"] == "share-phone"]
    assert share["Text"] == "📱 Pošaljite moj broj" and petar.replies[-1]["min_api_version"] == 3
    sms_sent = len(sms_gateway.sent)
    assert await petar.share_phone("381641234567") == 200  # Viber's share-phone button: his own number, no +
    # Viber does not prove whose number it is: the number shared with the button gets a one-time code too.
    petar.expect("Poslala sam jednokratni kod SMS porukom na +381 64 ••• •• 67.")
    await petar.say(await sms_gateway.code("+381641234567", since=sms_sent))
    petar.expect("Hvala! Identifikovani ste kao Petar.", "Izaberite račun sa statusom")

    await petar.press("1234567/1")
    petar.expect("Dug: 2.340,50 RSD", "Da li želite uključenje na reč?")
    await petar.press("DA")
    petar.expect("Izdat je nalog za uključenje usluga (račun 1234567/1).")
    [order] = [o for o in await orders(mila_rs.database_url) if o.kind == "reconnect_on_promise"]
    petar.expect(order.number)


async def test_a_contact_card_at_the_share_phone_prompt_identifies_nobody(
    mila_rs: MilaOnViber, sms_gateway: FakeSmsGateway
) -> None:
    """The takeover an attacker tries: at the share-phone prompt, a contact card of someone else picked from the
    address book. Viber sends it exactly as it sends the button's reply, so it proves nothing: the code goes to the
    card's number (its owner's phone), the attacker is not identified and never sees the owner's PUK."""
    mallory = mila_rs.user("runMallory1+/cD==")
    await start_in_serbian(mallory)
    await mallory.say("puk")
    await mallory.press("Prikažite PUK kod moje linije")
    mallory.expect("Kako želite da se identifikujete?")
    await mallory.press("Brojem telefona")
    assert any(b["ActionType"] == "share-phone" for b in mallory.keyboard())  # the prompt with the button

    sms_sent = len(sms_gateway.sent)
    assert await mallory.send_contact_card("+381 64 1234567", name="Petar") == 200
    mallory.expect("Poslala sam jednokratni kod SMS porukom na +381 64 ••• •• 67.")
    assert "Identifikovani ste" not in mallory.text and "40817263" not in mallory.text
    await sms_gateway.code("+381641234567", since=sms_sent)  # it leaves a moment later
    assert [to for to, _ in sms_gateway.sent[sms_sent:]] == ["+381641234567"]  # to the owner, not the attacker
    await mallory.say("000000")  # a guess
    mallory.expect("Kod nije tačan.")
    await mallory.say("PUK")  # asking again is asking for the same code: no way round it
    assert "40817263" not in mallory.text and "Identifikovani ste" not in mallory.text
    assert "40817263" not in "".join(m.get("text", "") for m in mila_rs.api.messages(mallory.id))


async def test_a_contact_card_of_the_users_own_number_gets_a_code(
    mila_rs: MilaOnViber, sms_gateway: FakeSmsGateway
) -> None:
    """A contact card typed in place of the number is taken as the number typed: a code, sent to it."""
    jelena = mila_rs.user("runJelena1b+/cD==")
    await start_in_serbian(jelena)
    await jelena.press("Uključenje na reč")
    await jelena.press("Brojem telefona")
    await jelena.say("moj broj")  # not a number
    jelena.expect("To ne liči na broj telefona.")

    sms_sent = len(sms_gateway.sent)
    assert await jelena.send_contact_card("+381 65 2345678", name="Jelena") == 200
    jelena.expect("Poslala sam jednokratni kod SMS porukom na +381 65 ••• •• 78.")
    assert "Identifikovani ste" not in jelena.text
    await jelena.say(await sms_gateway.code("+381652345678", since=sms_sent))
    jelena.expect("Identifikovani ste kao Jelena.")
    assert "381652345678" not in mila_rs.logs() and "65 2345678" not in mila_rs.logs()  # no phone number logged


async def test_a_duplicate_message_token_is_processed_once(mila_rs: MilaOnViber) -> None:
    marko = mila_rs.user("runMarko1Ab+/cD==")
    await start_in_serbian(marko)
    help_pressed = marko.button_callback("❓ Pomoć")
    assert (await marko.post(help_pressed))[0] == 200
    marko.expect("/menu")
    assert (await marko.post(help_pressed))[0] == 200  # Viber delivers it again: answered, not run again
    assert marko.replies == []
    assert sum("/menu" in m.get("text", "") for m in mila_rs.api.messages(marko.id)) == 1


async def test_status_12_then_success_the_reply_arrives_once(mila_rs: MilaOnViber) -> None:
    milica = mila_rs.user("runMilica1b+/cD==")
    await start_in_serbian(milica)
    help_pressed = milica.button_callback("❓ Pomoć")
    mila_rs.api.answer(12, times=4)  # "too many requests" for longer than mila's own retries
    status, _ = await milica.post(help_pressed)
    assert status == 503 and milica.replies == []  # not 2xx: Viber will bring the callback back
    status, _ = await milica.post(help_pressed)  # Viber's re-delivery; now the API takes messages again
    assert status == 200
    milica.expect("/menu")
    assert sum("/menu" in m.get("text", "") for m in mila_rs.api.messages(milica.id)) == 1
    assert (await milica.post(help_pressed))[0] == 200 and milica.replies == []


async def test_an_unsubscribed_user_is_unreachable_and_gets_nothing_more(mila_rs: MilaOnViber) -> None:
    nikola = mila_rs.user("runNikola1b+/cD==")
    await start_in_serbian(nikola)
    help_pressed = nikola.button_callback("❓ Pomoć")
    assert (await nikola.post(help_pressed))[0] == 200
    sent = len(mila_rs.api.send_calls())

    assert await nikola.unsubscribe() == 200
    row = await mila_rs.channel_user(nikola.id)
    assert row is not None and row.unreachable
    assert (await nikola.post(help_pressed))[0] == 200  # a late re-delivery of what came before
    receipt = {"event": "seen", "timestamp": int(time.time() * 1000), "message_token": 5_500_000_999_000_000_001,
               "user_id": nikola.id}  # fmt: skip
    assert (await nikola.post(receipt))[0] == 200
    assert len(mila_rs.api.send_calls()) == sent  # nothing was sent to anyone
    row = await mila_rs.channel_user(nikola.id)
    assert row is not None and row.unreachable


async def test_every_sample_callback_of_the_reference(mila_rs: MilaOnViber) -> None:
    redis = Redis.from_url(REDIS_URL)
    try:
        await post_every_sample(
            mila_rs.user("sampleUser0001=="), redis=redis, prefix=mila_rs.redis_prefix,
            channel_user=mila_rs.channel_user,
        )  # fmt: skip
    finally:
        await redis.aclose()


def post_in_parts(
    mila: MilaOnViber, body: bytes, parts: list[bytes], *, pause: float = 0.0, headers: dict[str, str] | None = None
) -> int:
    """A callback signed over `body` and posted over a plain socket in the given TCP segments."""
    signed = {"X-Viber-Content-Signature": sign(body, TOKEN)} | (headers or {})
    return raw_post(mila.url, WEBHOOK_PATH, parts, pause=pause, headers=signed)


async def test_a_callback_in_two_tcp_segments_is_read_whole(mila_rs: MilaOnViber) -> None:
    """A few hundred bytes arriving in two segments a moment apart, as behind a proxy: read whole, not refused."""
    for n in range(10):
        user = mila_rs.user(f"runSplit{n:02d}b+/cD==")
        body = json.dumps(user.message_callback({"type": "text", "text": "zdravo"})).encode()
        half = len(body) // 2
        status = await asyncio.to_thread(post_in_parts, mila_rs, body, [body[:half], body[half:]], pause=0.05)
        assert status == 200, n
        assert any("Izaberite jezik" in m.get("text", "") for m in mila_rs.api.messages(user.id))


async def test_a_chunked_callback_is_read_whole_and_an_oversized_one_is_413(mila_rs: MilaOnViber) -> None:
    """Transfer-Encoding: chunked has no Content-Length to check first: the limit holds on what arrives."""
    te = {"Transfer-Encoding": "chunked"}
    sent = len(mila_rs.api.send_calls())
    user = mila_rs.user("runChunky1b+/cD==")
    big = json.dumps(user.message_callback({"type": "text", "text": "zdravo"})).encode()[:-1] + b" " * (1 << 20) + b"}"
    status = await asyncio.to_thread(post_in_parts, mila_rs, big, chunked(big, 65536), headers=te)
    assert status == 413 and len(mila_rs.api.send_calls()) == sent
    # Within the limit, padded to most of it with JSON whitespace, in chunks that arrive apart: a callback.
    body = json.dumps(user.message_callback({"type": "text", "text": "zdravo"})).encode()[:-1] + b" " * 900_000 + b"}"
    status = await asyncio.to_thread(post_in_parts, mila_rs, body, chunked(body, 65536), pause=0.002, headers=te)
    assert status == 200
    assert any("Izaberite jezik" in m.get("text", "") for m in mila_rs.api.messages(user.id))


async def test_a_forged_signature_is_refused_and_health_is_reported(mila_rs: MilaOnViber) -> None:
    forged = mila_rs.user("runEve01Ab+/cD==", auth_token="not-the-token")
    assert await forged.say("meni") == 403
    assert await forged.open() == 403 and forged.welcome is None
    assert mila_rs.api.messages(forged.id) == []
    assert await mila_rs.channel_user(forged.id) is None
    async with mila_rs.http.get(mila_rs.url + "/healthz") as response:
        health = json.loads(await response.read())
        assert response.status == 200 and (health["redis"], health["database"]) == ("ok", "ok")
        assert health["status"] == "ok" and health["parts"]["viber"] == "ok", health
    async with mila_rs.http.get(mila_rs.url + "/metrics") as response:
        metrics = (await response.read()).decode()
    rejected = re.search(r'mila_updates_total\{channel="viber",outcome="rejected"\} (\S+)', metrics)
    assert rejected is not None and float(rejected.group(1)) >= 2, "the forged callbacks are counted"


async def test_the_service_list_in_turkmen(mila_tm: MilaOnViber) -> None:
    ayna = mila_tm.user("runAyna01b+/cD==", language="tk")
    await turkmen_service_list(ayna)
    [order] = await orders(mila_tm.database_url)
    assert order.kind == "service_on" and order.payload == {"service": "mms"}
    ayna.expect(order.number)
    assert all(m["sender"]["name"] == BOT_NAME for m in mila_tm.api.messages(ayna.id))


async def test_a_callback_whose_process_was_killed_mid_turn_is_answered_on_a_retry_and_the_next_ones_in_order(
    fake_viber: FakeViberApi, tmp_path: Path
) -> None:
    """SIGKILL while a turn's reply is on its way to Viber: no clean-up of any kind. Viber re-delivers the callback
    until it gets 200; after a restart the re-delivery is answered as soon as the dead process's claim lapses (a
    lease of seconds, not the dedupe's minutes), and the user's next messages are answered, in order."""
    async with mila_processes_on_viber("rs", tmp_path, fake_viber) as start:
        first = await start()
        vesna = first.user("runKilled1b+/cD==")
        await start_in_serbian(vesna)
        help_pressed = vesna.button_callback("❓ Pomoć")
        hold = fake_viber.hold_next()  # the turn has run; its reply waits on Viber's answer
        calls = len(fake_viber.send_calls())
        posting = asyncio.create_task(vesna.post(help_pressed))
        await asyncio.wait_for(hold.arrived.wait(), 30)
        first.process.kill()
        await first.process.wait()
        killed_at = time.monotonic()
        with contextlib.suppress(aiohttp.ClientError):
            await posting  # the connection died with the process: for Viber, no answer
        hold.release.set()
        await asyncio.sleep(0.2)
        assert len(fake_viber.send_calls()) == calls, "the held message, sent by nobody now, was taken"

        await start()  # the same port, database and Redis: what systemd's restart gives
        restarted = time.monotonic() - killed_at
        retries = 0
        while (status := (await vesna.post(help_pressed))[0]) != 200:  # Viber's re-deliveries, a second apart
            assert status == 503, status
            retries += 1
            assert time.monotonic() - killed_at < restarted + 30, "the dead process's claim still holds the callback"
            await asyncio.sleep(1.0)
        vesna.expect("/menu")
        after = len(fake_viber.messages(vesna.id)) - len(vesna.replies)
        for text, answer in [("meni", "Kako mogu da vam pomognem?"), ("pomoć", "/menu"), ("meni", "Kako mogu")]:
            asked = time.monotonic()
            assert await vesna.say(text) == 200
            vesna.expect(answer)
            assert time.monotonic() - asked < 10, f"{text!r} waited for something the dead process held"
        texts = [m["text"] for m in fake_viber.messages(vesna.id)[after:]]
        order = ["/menu", "Kako mogu da vam pomognem?", "/menu", "Kako mogu da vam pomognem?"]  # a message a turn
        assert len(texts) == len(order) and all(want in text for want, text in zip(order, texts, strict=True)), texts


async def test_a_callback_whose_process_was_killed_inside_the_turn_is_answered_on_a_retry_within_a_lease(
    fake_viber: FakeViberApi, tmp_path: Path
) -> None:
    """SIGKILL while the turn itself runs, holding the user's session lock (its database is held up: here the test
    keeps the SQLite file locked). The dead process's lock and claim must free the user within a lease of seconds:
    the re-delivery is answered, then the user's next messages, in order."""
    async with mila_processes_on_viber("rs", tmp_path, fake_viber) as start:
        first = await start()
        goran = first.user("runKilled2b+/cD==")
        assert await goran.open() == 200
        choose = goran.button_callback("Srpski (latinica)")  # choosing the language writes the user's profile
        lock_key = f"{first.redis_prefix}viber:{goran.id}:lock"
        redis = Redis.from_url(REDIS_URL)
        database = sqlite3.connect(tmp_path / "mila.sqlite3", isolation_level=None)
        try:
            database.execute("BEGIN EXCLUSIVE")  # every read and write of mila's waits on the file
            posting = asyncio.create_task(goran.post(choose))
            deadline = time.monotonic() + 30
            while not await redis.exists(lock_key):  # the turn holds the user's lock, waiting on the database
                assert time.monotonic() < deadline and not posting.done(), "the turn never took the user's lock"
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.3)
            first.process.kill()
            await first.process.wait()
            killed_at = time.monotonic()
        finally:
            database.rollback()
            database.close()
            await redis.aclose()
        with contextlib.suppress(aiohttp.ClientError):
            await posting

        await start()
        restarted = time.monotonic() - killed_at
        while (status := (await goran.post(choose))[0]) != 200:  # Viber's re-deliveries, a second apart
            assert status == 503, status
            assert time.monotonic() - killed_at < max(restarted, LEASE_SECONDS) + 8, "the dead turn still holds"
            await asyncio.sleep(1.0)
        goran.expect("Želite li da ovde dobijate novosti")
        answered = time.monotonic() - killed_at
        assert answered < max(restarted, LEASE_SECONDS) + 8, answered
        for label, answer in [("Ne, hvala", "Kako mogu da vam pomognem?"), ("❓ Pomoć", "/menu")]:
            assert await goran.press(label) == 200
            goran.expect(answer)
