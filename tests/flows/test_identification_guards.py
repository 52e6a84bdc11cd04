"""The guards of identification the way an attacker meets them: many chats at once, guessing a code word, a
passport or one-time codes; asking for codes without end; flooding every chat with wrong codes to pause everyone.
Real engine, real Redis, real scrypt, the SMS gateway over HTTP."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from bot.app import App
from bot.db.models import AuditEntry
from bot.metrics import Metrics
from bot.server import watch_guards
from bot.services.sms import HttpSmsGateway
from tests.chat import Chat
from tests.conftest import AppFactory
from tests.fakes.sms_gateway import FakeSmsGateway
from tests.helpers import code_in, new_chat, seeded, sms_code

AYNA = "+993 65 123456"
PAUSED_TK = "Şowsuz synanyşyklar gaty köp boldy"
PAUSED_SR = "Bilo je previše neuspešnih pokušaja"
NO_MORE_CODES_SR = "Još ne mogu da pošaljem novi kod: u kratkom roku zatraženo ih je previše."
NO_MORE_CODES_TK = "Entek täze kod iberip bilemok: gysga wagtyň içinde kod gaty köp soraldy."


@pytest.fixture
async def gateway() -> AsyncIterator[FakeSmsGateway]:
    fake = FakeSmsGateway()
    await fake.start()
    yield fake
    await fake.close()


def through(app: App, gateway: FakeSmsGateway) -> None:
    """The app sends its codes to the fake gateway over HTTP, as to the operator's."""
    app.deps.sms = HttpSmsGateway(gateway.url, token=gateway.token)


async def settled(gateway: FakeSmsGateway) -> int:
    """How many SMS the gateway got once the background sends are over (each waits up to a second first)."""
    seen = -1
    while seen != len(gateway.sent):
        seen = len(gateway.sent)
        await asyncio.sleep(1.5)
    return seen


async def audited(app: App, action: str) -> dict[str, int]:
    async with app.deps.sessionmaker() as db:
        rows = await db.execute(
            select(AuditEntry.outcome, func.count()).where(AuditEntry.action == action).group_by(AuditEntry.outcome)
        )
        return {outcome: count for outcome, count in rows.all()}


def codes_raised(app: App) -> None:
    """Codes without their limits, for tests about guessing them."""
    quota = app.deps.code_quota
    quota.policy = replace(quota.policy, per_number=1000, per_chat=1000, total=10_000)


# --- concurrent guesses: a try is taken before the comparison ---------------------------------------------------------
async def test_forty_chats_guessing_a_code_word_at_once_get_five_comparisons(
    make_app: AppFactory, database_url: str
) -> None:
    app = await seeded(make_app, "tm", database_url=database_url)
    chats = []
    for _ in range(40):
        chat = await new_chat(app, "Türkmençe", "Şahsy hasabym", "Telefon belgisi we kod sözi")
        await chat.say(AYNA)
        chat.expect("Indi kod sözüňizi")
        chats.append(chat)
    owner = chats[23]  # the right word is among the guesses
    await asyncio.gather(*(chat.say("Gülälek" if chat is owner else f"guess{n}") for n, chat in enumerate(chats)))

    compared = await audited(app, "verify_code_word")
    accepted = "Sag boluň, Aýna!" in owner.text
    assert compared.get("ok", 0) == (1 if accepted else 0)
    # Never more than five wrong words compared; the right one only if it was one of the allowed tries. (The
    # owner's success gives its own try back, so one wrong word may still come after it.)
    assert compared.get("mismatch", 0) <= 5
    assert compared.get("mismatch", 0) + compared.get("ok", 0) >= 5
    paused = [chat for chat in chats if PAUSED_TK in chat.text]
    assert len(paused) >= 40 - 5 - 1
    assert all(PAUSED_TK in c.text or "gabat gelmeýär" in c.text for c in chats if c is not owner)
    if not accepted:
        assert PAUSED_TK in owner.text


async def test_forty_chats_guessing_wrong_at_once_get_exactly_five(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    chats = []
    for _ in range(40):
        chat = await new_chat(app, "Türkmençe", "Şahsy hasabym", "Telefon belgisi we kod sözi")
        await chat.say(AYNA)
        chats.append(chat)
    await asyncio.gather(*(chat.say(f"guess{n}") for n, chat in enumerate(chats)))
    assert await audited(app, "verify_code_word") == {"mismatch": 5}
    # The fifth try locked the subscriber as it was taken, so the five compared are told so too, with the rest.
    assert all(PAUSED_TK in chat.text for chat in chats)
    # and the owner, typing the right word now, is paused as well: five guesses were all anyone got
    owner = await new_chat(app, "Türkmençe", "Şahsy hasabym", "Telefon belgisi we kod sözi")
    await owner.say(AYNA)
    owner.expect(PAUSED_TK)


async def test_thirty_chats_guessing_a_passport_at_once_get_five_comparisons(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    chats = []
    for _ in range(30):
        chat = await new_chat(app, "Srpski", "Moj račun", "Broj telefona, ime i prezime i pasoš")
        await chat.say("+993 64 345678")
        await chat.say("Gülşat Nurmuhammedowa")
        chats.append(chat)
    await asyncio.gather(*(chat.say(f"I-MR 0000{n:02d}") for n, chat in enumerate(chats)))
    assert await audited(app, "verify_passport") == {"mismatch": 5}
    assert all(PAUSED_SR in chat.text for chat in chats)


async def test_thirty_chats_typing_wrong_one_time_codes_at_once_get_five(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    codes_raised(app)
    chats = []
    for _ in range(30):
        chat = await new_chat(app, "Srpski", "Moj račun", "Šifrom korisnika")
        await chat.say("1234567")
        code = await sms_code(app)
        chats.append((chat, "000000" if code != "000000" else "111111"))
    await asyncio.gather(*(chat.say(wrong) for chat, wrong in chats))
    compared = await audited(app, "verify_one_time_code")
    assert compared == {"wrong": 5}
    assert all(PAUSED_SR in chat.text for chat, _ in chats)


# --- one-time codes: limited when they are asked for -----------------------------------------------------------------
async def test_send_a_new_code_again_and_again_sends_three(make_app: AppFactory, gateway: FakeSmsGateway) -> None:
    app = await seeded(make_app, "rs")
    through(app, gateway)
    chat = await new_chat(app, "Srpski", "Moj račun", "Šifrom korisnika")
    await chat.say("1234567")
    for _ in range(9):
        await chat.press("Pošaljite novi kod")
    chat.expect(NO_MORE_CODES_SR, "Novi kod možete da zatražite za 15 minuta, u ")
    assert re.search(r"za 15 minuta, u \d\d:\d\d\.", chat.text)
    chat.expect_buttons("Pošaljite novi kod", "Odustani")
    assert await settled(gateway) == 3
    assert {to for to, _ in gateway.sent} == {"+381641234567"}
    # The last code still works (each SMS leaves a random moment later, so it need not be the last to arrive).
    for _, text in reversed(gateway.sent):
        await chat.say(code_in(text))
        if "Identifikovani ste kao Petar." in chat.text:
            break
    chat.expect("Identifikovani ste kao Petar.")


async def test_many_chats_asking_at_once_for_one_number_send_three(
    make_app: AppFactory, gateway: FakeSmsGateway
) -> None:
    app = await seeded(make_app, "rs")
    through(app, gateway)
    chats = [await new_chat(app, "Türkmençe", "Şahsy hasabym", "Telefon belgisi bilen") for _ in range(20)]
    await asyncio.gather(*(chat.say("064 123 4567") for chat in chats))
    await asyncio.gather(*(chat.press("Täze kod iber") for chat in chats))  # and all press "send a new code"
    assert await settled(gateway) == 3
    told = [chat for chat in chats if NO_MORE_CODES_TK in chat.text]
    assert len(told) == 20  # each chat was refused at least its second request
    assert re.search(r"Täze kody 1[45] minutdan soň, sagat \d\d:\d\d bolanda", told[0].text)


async def test_one_chat_asking_for_many_numbers_gets_five_codes(make_app: AppFactory, gateway: FakeSmsGateway) -> None:
    app = await seeded(make_app, "rs")
    through(app, gateway)
    chat = await new_chat(app, "Srpski", "Moj račun", "Šifrom korisnika")
    asked = ["1234567", "2345678", "7000009", "3456789", "5678901", "4567890"]  # one of them is nobody's
    for n, code in enumerate(asked):
        if n:
            await chat.press("Druga šifra korisnika")
        await chat.say(code)
    chat.expect(NO_MORE_CODES_SR)
    assert await settled(gateway) == 4  # five requests counted, four of them a subscriber's


async def test_the_budget_in_total_stops_codes_for_everyone_and_says_so(
    make_app: AppFactory, gateway: FakeSmsGateway, caplog: pytest.LogCaptureFixture
) -> None:
    app = await seeded(make_app, "rs")
    through(app, gateway)
    quota = app.deps.code_quota
    quota.policy = replace(quota.policy, total=4)
    codes = ["1234567", "2345678", "3456789", "5678901", "6789012"]  # five subscribers, at once
    chats = [await new_chat(app, "Srpski", "Moj račun", "Šifrom korisnika") for _ in codes]
    with caplog.at_level(logging.WARNING, logger="mila.codes"):
        await asyncio.gather(*(chat.say(code) for chat, code in zip(chats, codes, strict=True)))
    assert await settled(gateway) == 4
    assert sum(NO_MORE_CODES_SR in chat.text for chat in chats) == 1
    assert caplog.text.count("reached their budget") == 1
    # Numbers that are nobody's spend nothing, but get the same answer once the budget is spent.
    stranger = await new_chat(app, "Srpski", "Moj račun", "Šifrom korisnika")
    await stranger.say("7000008")
    stranger.expect(NO_MORE_CODES_SR)


# --- a flood of failures pauses nobody ------------------------------------------------------------------------------
async def test_a_hundred_chats_typing_wrong_codes_do_not_pause_anyone_else(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    app = await seeded(make_app, "rs")
    lockout = app.deps.lockout
    lockout.policy = replace(lockout.policy, total_threshold=20)
    metrics = Metrics()
    watch_guards(app, metrics)
    attackers: list[Chat] = []
    for n in range(100):
        chat = await new_chat(app, "Srpski", "Moj račun", "Šifrom korisnika")
        await chat.say(f"70{n:05d}")  # invented customer codes: nobody's, nothing is sent
        attackers.append(chat)
    with caplog.at_level(logging.WARNING, logger="mila.lockout"):
        for _ in range(2):
            await asyncio.gather(*(chat.say("123456") for chat in attackers))
    assert caplog.text.count("identification failures over the alarm threshold") == 1
    body = metrics.render()[0].decode()
    assert 'mila_identification_guard_total{event="alarm"} 1.0' in body
    assert 'mila_identification_guard_total{event="failure"} 200.0' in body

    # Petar, meanwhile, identifies as if nothing happened.
    petar = await new_chat(app, "Srpski", "Moj račun", "Šifrom korisnika")
    await petar.say("1234567")
    await petar.say(await sms_code(app))
    petar.expect("Identifikovani ste kao Petar.")
    petar.expect_not(PAUSED_SR)


async def test_each_source_has_its_own_ceiling(make_app: AppFactory) -> None:
    """One chat guessing a different number each time is paused after five, and only that chat."""
    app = await seeded(make_app, "rs")
    chat = await new_chat(app, "Srpski", "Moj račun", "Šifrom korisnika")
    for n in range(5):
        if n:
            await chat.press("Druga šifra korisnika")
        await chat.say(f"70{n:05d}")
        await chat.say("123456")
    chat.expect(PAUSED_SR)
    await chat.press("Glavni meni")
    await chat.press("Moj račun")
    chat.expect(PAUSED_SR)  # the chat, whatever it aims at next
    other = await new_chat(app, "Srpski", "Moj račun", "Šifrom korisnika")
    await other.say("7000001")
    other.expect("Poslala sam jednokratni kod")
