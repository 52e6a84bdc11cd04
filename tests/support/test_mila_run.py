"""End to end: `mila run` (a subprocess) on the fake Bot API, its support group and the fake Viber API.

Users reach operators from Telegram and Viber; messages and attachments go both ways; the bot stays silent
during the handoff; the user goes back to the bot; the operator closes and the user rates; outside working hours
a message is left; three waiting users learn their places; `mila run` restarts in the middle of a ticket; and
60 messages from 10 users in under a minute reach the group in order without a 429."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest

from bot.channels.viber import WEBHOOK_PATH
from tests.fakes.telegram_api import FakeTelegram, ForumGroup
from tests.fakes.viber_api import FakeViberApi, ViberUser
from tests.support.conftest import GROUP, write_profile
from tests.support.service import Desk, messages, reach_operator, relayed, texts, tickets
from tests.telegram.service import Mila


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    # Telegram's 20 a minute into a group, in 3 s; the bot-wide limit is not what these tests are about (ten users
    # starting at once would meet it, and the bot waits it out), so only the group's limit answers 429 here.
    fake = FakeTelegram(group_per_window=20, group_window=3.0, overall_per_second=None)
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture
def desk_factory(
    fake: FakeTelegram, viber_api: FakeViberApi, sqlite_url: str, redis_prefix: str, tmp_path: Path
) -> Callable[..., Desk]:
    def make(*, open_now: bool = True, **extra: str) -> Desk:
        profile = write_profile(tmp_path, open_now=open_now)
        return Desk(fake, viber_api.url, sqlite_url, redis_prefix, profile, tmp_path / "mila.log", extra)

    return make


@pytest.fixture
async def running() -> AsyncIterator[list[Mila]]:
    """The `mila run` processes a test started; each is stopped (and must stop cleanly) at the end."""
    started: list[Mila] = []
    yield started
    for mila in started:
        assert await mila.stop() == 0, mila.logs()


def group_of(fake: FakeTelegram) -> tuple[ForumGroup, int]:
    group = fake.support_group(GROUP)
    return group, fake.operator(group, 9001, "Ana").id


async def test_telegram_and_viber_users_reach_an_operator(
    fake: FakeTelegram, viber_api: FakeViberApi, desk_factory: Callable[..., Desk], running: list[Mila]
) -> None:
    group = fake.support_group(GROUP)
    ana = fake.operator(group, 9001, "Ana")
    desk = desk_factory()
    mila = await desk.start()
    running.append(mila)

    # --- a Telegram user ---
    jovana = fake.user(1001, "Jovana")
    await reach_operator(fake, jovana, "Ne radi mi internet od jutros")
    await fake.wait_text(jovana, "Vaše mesto u redu: 1.")
    thread = await fake.wait_for(lambda: fake.topic_named(group, "Tiket #1 · Telegram"), what="the ticket's topic")
    card = await fake.wait_for(
        lambda: next((p for p in fake.topic_posts(group, thread) if "Pita: Ne radi mi internet" in p.get("text", "")),
                     None), what="the card")  # fmt: skip
    assert "Nije identifikovan" in card["text"] and "• Ne, hvala\n• operater" in card["text"]  # the way here

    since = len(fake.calls)
    fake.send_text(jovana, "meni")
    photo = fake.send_photo(jovana, "ovako izgleda ruter")
    await fake.wait_for(lambda: any(p.get("photo", [{}])[0].get("file_id") == photo
                                    for p in fake.topic_posts(group, thread)), what="the user's photo")  # fmt: skip
    document = fake.send_document(jovana, "racun.pdf")
    await fake.wait_for(lambda: any(p.get("document", {}).get("file_id") == document
                                    for p in fake.topic_posts(group, thread)), what="the user's file")  # fmt: skip
    assert "meni" in relayed(fake.topic_posts(group, thread))
    assert fake.shown_since(jovana, since) == []  # the bot stayed silent

    fake.operator_presses(group, ana, card, "Preuzmi")
    await fake.wait_text(jovana, "Uključio/la se Ana iz korisničke podrške.", since=since)
    fake.operator_says(group, ana, thread, "Restartujte ruter, molim vas.")
    await fake.wait_text(jovana, "Ana (operater):\nRestartujte ruter, molim vas.", since=since)
    fake.operator_sends_photo(group, ana, thread, "Ovo dugme")
    await fake.wait_for(lambda: any("photo" in m for m in fake.bot_messages(jovana)), what="the operator's photo")
    fake.operator_says(group, ana, thread, "/note zvala je i juče")
    fake.operator_says(group, ana, thread, "/close")
    await fake.wait_text(jovana, "Kako biste ocenili pomoć", since=since)
    fake.press(jovana, "5")
    await fake.wait_text(jovana, "Hvala vam na oceni!", since=since)
    await fake.wait_for(lambda: group.topics[thread]["closed"], what="the topic closed")
    first = (await tickets(desk.database_url))[0]
    assert (first.status, first.closed_by, first.rating, first.operator_name) == ("closed", "operator", 5, "Ana")
    assert ("note", "zvala je i juče") in await messages(desk.database_url, first.id)
    assert ("in", "meni") in await messages(desk.database_url, first.id)

    # --- a Viber user ---
    async with aiohttp.ClientSession() as http:
        petar = ViberUser(viber_api, mila.url + WEBHOOK_PATH, http, "vbPetar01Ab+/cD==", language="sr")
        await petar.open()
        await petar.press("Srpski (latinica)")
        await petar.press("Ne, hvala")
        await petar.say("operater")
        petar.expect("Povezaću vas sa operaterom")
        await petar.say("Račun mi je prevelik")
        petar.expect("Vaše mesto u redu: 1.")
        viber_thread = await fake.wait_for(lambda: fake.topic_named(group, "Tiket #2 · Viber"), what="a topic")
        assert await petar.send_picture() == 200
        assert petar.replies == []  # silent
        await fake.wait_for(lambda: any(p.get("_url") == "https://media.example.com/p.jpg" or
                                        p.get("photo", [{}])[0].get("file_id") == "https://media.example.com/p.jpg"
                                        for p in fake.topic_posts(group, viber_thread)),
                            what="the Viber user's picture")  # fmt: skip
        fake.operator_says(group, ana, viber_thread, "Proveravam vaš račun.")

        def got(fragment: str) -> bool:
            return any(fragment in m.get("text", "") for m in viber_api.messages(petar.id))

        await fake.wait_for(lambda: got("Ana (operater):\nProveravam vaš račun."), what="the answer on Viber")
        file_id = fake.operator_sends_photo(group, ana, viber_thread)

        def picture() -> str | None:
            return next((m["media"] for m in viber_api.messages(petar.id) if m.get("type") == "picture"), None)

        link = await fake.wait_for(picture, what="the operator's photo on Viber")
        assert link.startswith(mila.url + "/support/media/") and file_id not in link
        async with http.get(link) as response:  # Viber fetches it from mila, mila from Telegram
            assert response.status == 200 and await response.read() == fake.file_content(file_id)
        async with http.get(mila.url + "/support/media/" + "x" * 32) as response:
            assert response.status == 404
        await petar.press("Nazad na bota")
        petar.expect("Izašli ste iz razgovora sa operaterom.", "Kako mogu da vam pomognem?")
        await fake.wait_for(lambda: group.topics[viber_thread]["closed"], what="the topic closed")
        assert "ℹ️ Korisnik se vratio botu; tiket je zatvoren." in relayed(fake.topic_posts(group, viber_thread))
    second = (await tickets(desk.database_url))[1]
    # The operator's first answer took the ticket.
    assert (second.channel, second.status, second.closed_by, second.operator_name) == ("viber", "closed", "user", "Ana")
    assert not [c for c in fake.calls if c.status == 429]


async def test_queue_positions_then_a_restart_and_a_second_process_in_the_middle_of_a_ticket(
    fake: FakeTelegram, desk_factory: Callable[..., Desk], running: list[Mila]
) -> None:
    group = fake.support_group(GROUP)
    ana = fake.operator(group, 9001, "Ana")
    desk = desk_factory()
    mila = await desk.start()
    users = [fake.user(2000 + n, f"Korisnik {n}") for n in range(1, 4)]
    for number, user in enumerate(users, start=1):
        await reach_operator(fake, user, f"Pitanje {number}")
        await fake.wait_text(user, f"Vaše mesto u redu: {number}.")
    first_topic = await fake.wait_for(lambda: fake.topic_named(group, "Tiket #1"), what="a topic")
    since = len(fake.calls)
    fake.operator_says(group, ana, first_topic, "/take")
    await fake.wait_text(users[1], "Vaše mesto u redu: 1. Procenjeno čekanje: oko 5 minuta.", since=since)
    await fake.wait_text(users[2], "Vaše mesto u redu: 2. Procenjeno čekanje: oko 10 minuta.", since=since)

    assert await mila.stop() == 0  # a restart with tickets open, and a second process beside it
    running.append(await desk.start())
    running.append(await desk.start(polls=False))
    since = len(fake.calls)
    fake.operator_says(group, ana, first_topic, "Evo me, izvinite na čekanju.")
    await fake.wait_text(users[0], "Ana (operater):\nEvo me, izvinite na čekanju.", since=since)
    fake.send_text(users[0], "Nema problema")
    await fake.wait_for(lambda: "Nema problema" in relayed(fake.topic_posts(group, first_topic)), what="the relay")
    assert relayed(fake.topic_posts(group, first_topic)).count("Nema problema") == 1
    fake.send_text(users[1], "Još sam tu")
    second_topic = await fake.wait_for(lambda: fake.topic_named(group, "Tiket #2"), what="a topic")
    await fake.wait_for(lambda: "Još sam tu" in relayed(fake.topic_posts(group, second_topic)), what="the relay")
    assert fake.shown_since(users[0], since)[-1].startswith("Ana (operater)")  # the bot stayed silent
    fake.send_text(users[2], "/cancel")
    await fake.wait_text(users[2], "Izašli ste iz razgovora sa operaterom.", since=since)
    third_topic = await fake.wait_for(lambda: fake.topic_named(group, "Tiket #3"), what="a topic")
    await fake.wait_for(lambda: group.topics[third_topic]["closed"], what="the third ticket closed")
    # The second user's place did not change (the third was behind them): they are not told again.
    assert not any("u redu" in t for t in fake.shown_since(users[1], since))


async def test_outside_working_hours_a_message_waits_for_the_operators(
    fake: FakeTelegram, desk_factory: Callable[..., Desk], running: list[Mila]
) -> None:
    group = fake.support_group(GROUP)
    ana = fake.operator(group, 9001, "Ana")
    desk = desk_factory(open_now=False)
    running.append(await desk.start())
    milan = fake.user(3001, "Milan")
    fake.send_text(milan, "/start")
    await fake.wait_text(milan, "Izaberite jezik")
    fake.press(milan, "Srpski (latinica)")
    await fake.wait_text(milan, "novosti")
    fake.press(milan, "Ne, hvala")
    fake.send_text(milan, "/operator")
    shown = await fake.wait_text(milan, "Naši operateri trenutno nisu dostupni.")
    assert "Ponovo su tu" in shown[-1] and "0800 100 100" in shown[-1]
    fake.press(milan, "Ostavite poruku")
    await fake.wait_text(milan, "Napišite poruku")
    fake.send_text(milan, "Pozovite me, molim vas")
    await fake.wait_text(milan, "Hvala, vaša poruka je kod naših operatera (tiket #1).")
    thread = await fake.wait_for(lambda: fake.topic_named(group, "Tiket #1"), what="a topic")
    await fake.wait_for(lambda: any("Ostavljeno van radnog vremena." in t
                                    for t in texts(fake.topic_posts(group, thread))), what="the card")  # fmt: skip
    since = len(fake.calls)
    fake.send_text(milan, "pomoć")
    await fake.wait_text(milan, "Komande:", since=since)  # the bot answers meanwhile
    stranger_group = fake.support_group(-1005550001, "druga grupa")  # not in SUPPORT_CHAT_ID
    stranger = fake.operator(stranger_group, 9100, "Neko")
    stranger_group.topics[thread] = {"name": "Tiket #1", "closed": False}
    fake.operator_says(stranger_group, stranger, thread, "Pošaljite mi šifru")
    fake.operator_says(group, ana, thread, "Dobro jutro! Kako mogu da pomognem?")
    await fake.wait_text(milan, "Ana (operater):\nDobro jutro!", since=since)
    assert not any("šifru" in t for t in fake.shown_since(milan, since))  # only the configured group reaches users


async def test_sixty_messages_from_ten_users_reach_the_group_in_order_without_a_429(
    fake: FakeTelegram, desk_factory: Callable[..., Desk], running: list[Mila]
) -> None:
    group = fake.support_group(GROUP)
    fake.operator(group, 9001, "Ana")
    desk = desk_factory()
    running.append(await desk.start())
    users = [fake.user(4000 + n, f"K{n}") for n in range(10)]
    await asyncio.gather(*(reach_operator(fake, user, f"Pitanje korisnika {n}") for n, user in enumerate(users)))
    for n, user in enumerate(users):
        for m in range(6):
            fake.send_text(user, f"k{n}-poruka-{m}")

    def relayed() -> dict[int, list[str]] | None:
        found: dict[int, list[str]] = {}
        for thread in group.topics:
            lines = [line.split("  ", 1)[-1] for t in texts(fake.topic_posts(group, thread)) for line in t.splitlines()]
            found[thread] = [line for line in lines if "-poruka-" in line]
        return found if sum(len(v) for v in found.values()) >= 60 else None

    found = await fake.wait_for(relayed, timeout=90, what="all 60 messages in the group")
    per_user = {lines[0].split("-")[0]: lines for lines in found.values() if lines}
    assert len(per_user) == 10
    for n in range(10):
        assert per_user[f"k{n}"] == [f"k{n}-poruka-{m}" for m in range(6)]  # all there, in order, once
    assert fake.group_limited == []
    assert not [c for c in fake.calls if c.status == 429 and c.chat_id == GROUP]
    posts = [c for c in fake.calls if c.chat_id == GROUP and c.ok]
    assert len(posts) < 20 + 60  # merged: fewer posts than messages (20 for the topics and cards)


async def test_a_public_support_group_stops_mila_run(fake: FakeTelegram, desk_factory: Callable[..., Desk]) -> None:
    """A public group's members are whoever joins it: none of them may read and answer users as an operator."""
    fake.support_group(GROUP, username="mts_podrska")
    desk = desk_factory()
    with pytest.raises(AssertionError, match="mila run exited"):
        await desk.start()
    assert f"SUPPORT_CHAT_ID {GROUP} is a public group (@mts_podrska)" in desk.log_path.read_text()
    assert not [c for c in fake.calls if c.method in ("getUpdates", "sendMessage", "createForumTopic")]


async def test_a_post_on_behalf_of_a_chat_is_not_an_operators(
    fake: FakeTelegram, desk_factory: Callable[..., Desk], running: list[Mila]
) -> None:
    group, _ = group_of(fake)
    ana = group.members[9001]
    running.append(await desk_factory().start())
    jovana = fake.user(1001, "Jovana")
    await reach_operator(fake, jovana, "Ne radi mi internet")
    thread = await fake.wait_for(lambda: fake.topic_named(group, "Tiket #1"), what="the ticket's topic")
    since = len(fake.calls)
    fake.channel_posts_in_topic(group, thread, "Nova ponuda: 100 GB za 990 dinara!")  # a linked channel's forward
    fake.operator_says(group, ana, thread, "Dobar dan, proveravam.")
    await fake.wait_text(jovana, "Ana (operater):\nDobar dan, proveravam.", since=since)
    assert not any("Nova ponuda" in text for text in fake.shown_since(jovana, since))


async def test_an_unusable_desk_is_said_honestly_and_its_ticket_is_posted_once_the_group_is_fixed(
    fake: FakeTelegram, desk_factory: Callable[..., Desk], running: list[Mila]
) -> None:
    """SUPPORT_CHAT_ID names a supergroup whose topics are off: mila run says so at start (log, /healthz), a user
    who asks for an operator is told the operators cannot be reached and gets the contact centre, the ticket is
    kept, and once the group is fixed it is posted with its real waiting time and the user hears their place."""
    group = fake.support_group(GROUP, is_forum=False)
    ana = fake.operator(group, 9001, "Ana")
    desk = desk_factory(MILA_RECHECK_SECONDS="0.5")
    mila = await desk.start()
    running.append(mila)
    status, body = await mila.get("/healthz")
    health = json.loads(body)
    assert status == 200 and health["status"] == "degraded"
    assert health["parts"]["desk"] == f"error: group {GROUP} (mts podrška): topics are off"
    assert f"desk stopped: group {GROUP} (mts podrška): topics are off" in mila.logs()
    assert "turn on Topics in the group's settings" in mila.logs()

    jovana = fake.user(1001, "Jovana")
    since = len(fake.calls)
    fake.send_text(jovana, "/start")
    await fake.wait_text(jovana, "Izaberite jezik", since=since)
    fake.press(jovana, "Srpski (latinica)")
    await fake.wait_text(jovana, "novosti", since=since)
    fake.press(jovana, "Ne, hvala")
    fake.send_text(jovana, "operater")
    await fake.wait_text(jovana, "Povezaću vas sa operaterom", since=since)
    fake.send_text(jovana, "Ne radi mi internet")
    shown = await fake.wait_text(jovana, "Naši operateri trenutno nisu dostupni.", since=since)
    assert "(tiket #1)" in shown[-1] and "0800 100 100" in shown[-1] and "u redu" not in shown[-1]
    fake.send_text(jovana, "Ruter trepće crveno")  # kept for the operators too
    await asyncio.sleep(1.5)  # several checks of the group
    [ticket] = await tickets(desk.database_url)
    assert ticket.status == "waiting" and ticket.thread_id is None and group.topics == {}
    assert not any(c.method == "sendMessage" and c.chat_id == GROUP for c in fake.calls)  # nothing was dropped

    group.is_forum = True  # the engineer turns Topics on; mila run notices by itself
    thread = await fake.wait_for(lambda: fake.topic_named(group, "Tiket #1 · Telegram"), what="the ticket's topic")
    card = await fake.wait_for(lambda: next((t for t in texts(fake.topic_posts(group, thread))
                                             if "Pita: Ne radi mi internet" in t), None), what="the card")  # fmt: skip
    waited = re.search(r"⏳ Otvoren (.+); korisnik čeka (\d+) s\.", card)
    assert waited is not None and int(waited.group(2)) >= 2, card
    await fake.wait_for(lambda: "Ruter trepće crveno" in relayed(fake.topic_posts(group, thread)),
                        what="the message written meanwhile")  # fmt: skip
    await fake.wait_text(jovana, "Vaše mesto u redu: 1.", since=since)
    status, body = await mila.get("/healthz")
    assert json.loads(body)["parts"]["desk"] == "ok" and json.loads(body)["status"] == "ok"
    fake.operator_says(group, ana, thread, "Evo me, pogledaću.")
    await fake.wait_text(jovana, "Ana (operater):\nEvo me, pogledaću.", since=since)
