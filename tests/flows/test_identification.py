"""Identification in both profiles: every method, success and failure, spoofed contacts, one-time codes,
lockouts across chats, step-up, and no secret left in logs or Redis."""

from __future__ import annotations

import asyncio
import logging
import re
import statistics
import time

import pytest
from sqlalchemy import select

from bot.app import App
from bot.core.router import Router
from bot.core.turn import Turn
from bot.db.models import Account, AuditEntry
from bot.services import identity
from bot.services.importer import import_records
from handlers import build_router
from handlers.identify import require_identity
from tests.chat import Chat
from tests.conftest import AppFactory
from tests.helpers import as_text, code_in, new_chat, no_sms, seeded, sms_code, sms_sent


# --- rs: customer code, phone number ----------------------------------------------------------------------------
async def test_the_code_by_sms_asks_formally_to_keep_it(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await new_chat(app, "Srpski", "Moj račun", "Šifrom korisnika")
    await chat.say("1234567")
    assert (await sms_sent(app))[1].endswith(" je vaš kod za čet sa Milom. Ne dajte ga nikome.")


async def test_by_customer_code_with_a_code_by_sms(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await new_chat(app, "Srpski")

    await chat.press("Moj račun")
    chat.expect("Da bismo nastavili, treba da znam ko ste.")
    chat.expect_buttons("Brojem telefona", "Šifrom korisnika")
    await chat.press("Šifrom korisnika")
    chat.expect("Upišite šifru korisnika sa vašeg računa (do kose crte)")
    await chat.say("1234567/1")  # typed with the account suffix: only the part before the slash counts
    chat.expect("Poslala sam jednokratni kod SMS porukom na +381 64 ••• •• 67. Upišite ga ovde; važi 5 minuta.")
    code = await sms_code(app)
    await chat.say(code)
    chat.expect("Hvala! Identifikovani ste kao Petar.")
    # and back into what the user asked for: their accounts
    chat.expect("Vaši računi:", "1234567/1 · mobilna telefonija · +381 64 ••• •• 67 · isključena", "Dug: 2.340,50 RSD")
    chat.expect("Tarifni paket: Postpaid S")

    await chat.press("🔓 Odjava")
    chat.expect("Odjavljeni ste.")
    await chat.say("moj račun")
    chat.expect("Da bismo nastavili, treba da znam ko ste.")


async def test_a_number_the_messenger_vouches_for_identifies_at_once(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await new_chat(app, "Српски")
    await chat.say("мој рачун")
    await chat.press("Бројем телефона")
    chat.expect("Поделите свој број дугметом испод")
    assert chat.replies[-1].share_phone == "📱 Пошаљите мој број"  # type: ignore[union-attr]
    await chat.share_phone("381641234567", own=True)  # Telegram may drop the +
    chat.expect("Хвала! Идентификовани сте као Петар.", "Ваши рачуни:")
    await no_sms(app)


async def test_someone_elses_contact_gets_a_code_instead(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await new_chat(app, "Türkmençe", "Şahsy hasabym", "Telefon belgisi bilen")
    await chat.share_phone("+381641234567", own=False)  # a forwarded contact, or one without user_id
    chat.expect("+381 64 ••• •• 67 belgä SMS arkaly bir gezeklik kod iberdim.")
    chat.expect_not("Sag boluň, Petar")
    await chat.say(await sms_code(app))
    chat.expect("Sag boluň, Petar! Siz identifikasiýadan geçdiňiz.", "Siziň hasaplaryňyz:", "öçürilen")


async def test_a_typed_number_gets_a_code(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await new_chat(app, "Srpski", "Moj račun", "Brojem telefona")
    await chat.say("hello")
    chat.expect("To ne liči na broj telefona. Upišite ga sa pozivnim brojem, na primer 064 123 4567.")
    await chat.say("065 234 5678")
    chat.expect("Poslala sam jednokratni kod SMS porukom na +381 65 ••• •• 78.")
    await chat.say(await sms_code(app))
    chat.expect("Identifikovani ste kao Jelena.", "2345678/1 · mobilna telefonija")


FIXED_LINE_SR = "Fiksna linija ne može da primi SMS, pa kod šaljem na broj mobilnog telefona iz evidencije."
NO_MOBILE_SR = "Fiksna linija ne može da primi SMS, a nema broja mobilnog telefona"


async def test_a_typed_fixed_line_gets_the_code_on_a_mobile_number_on_file(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await new_chat(app, "Srpski", "Moj račun", "Brojem telefona")
    await chat.say("011 4567890")  # Marko's BOX line: the code goes to his mobile contact number
    chat.expect(FIXED_LINE_SR, "Poslala sam jednokratni kod SMS porukom na +381 63 ••• •• 89.")
    chat.expect_not("+381 11")
    phone, text = await sms_sent(app)
    assert phone == "+381633456789"
    await chat.say(code_in(text))
    chat.expect("Identifikovani ste kao Marko.")


async def test_a_typed_fixed_line_gets_the_code_on_a_mobile_number_in_turkmen(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await new_chat(app, "Türkmençe", "Şahsy hasabym", "Telefon belgisi bilen")
    await chat.say("011 765 4321")  # the company's fixed line (and contact number): the code goes to its mobile line
    chat.expect(
        "Şäher telefony SMS kabul edip bilmeýär, şonuň üçin kody bizde bellige alnan mobil belgä iberýärin.",
        "+381 63 ••• •• 90 belgä SMS arkaly bir gezeklik kod iberdim.",
    )
    phone, _ = await sms_sent(app)
    assert phone == "+381634567890"


async def _add_a_subscriber_with_only_a_fixed_line(app: App) -> None:
    record = {
        "customer_code": "7000001", "full_name": "Vesna Ilić", "segment": "private", "phone": "011 2223344",
        "accounts": [{"number": "7000001/1", "kind": "fixed", "phone": "011 2223344", "status": "active",
                      "debt": "0.00", "currency": "RSD", "tariff": "Fiksni Standard"}],
    }  # fmt: skip
    async with app.deps.sessionmaker() as db:
        await import_records(db, [record], app.deps.profile, app.settings.security.key())
        await db.commit()


async def test_a_fixed_line_without_a_mobile_number_on_file_is_told_how_else_to_identify(
    make_app: AppFactory,
) -> None:
    app = await seeded(make_app, "rs")
    await _add_a_subscriber_with_only_a_fixed_line(app)
    chat = await new_chat(app, "Srpski", "Moj račun", "Brojem telefona")
    await chat.say("011 2223344")
    chat.expect(NO_MOBILE_SR, "Kontakt centar: 0800 100 100")
    chat.expect_not("Poslala sam")
    chat.expect_buttons("Brojem telefona", "Šifrom korisnika")
    await no_sms(app)

    turkmen = await new_chat(app, "Türkmençe", "Şahsy hasabym", "Telefon belgisi bilen")
    await turkmen.say("011 222 33 44")
    turkmen.expect(
        "Şäher telefony SMS kabul edip bilmeýär, kody ýerine iberer ýaly mobil belgi hem ýok.",
        "Kontakt merkezi: 0800 100 100",
    )
    turkmen.expect_buttons("Müşderi kody bilen")
    await no_sms(app)


async def test_an_unknown_fixed_line_gets_an_answer_a_subscribers_line_could_get(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    await _add_a_subscriber_with_only_a_fixed_line(app)

    async def answer(number: str) -> Chat:
        chat = await new_chat(app, "Srpski", "Moj račun", "Brojem telefona")
        await chat.say(number)
        return chat

    with_mobile, without_mobile = await answer("011 4567890"), await answer("011 2223344")
    await sms_code(app)
    code_sent = re.compile(
        re.escape(FIXED_LINE_SR) + r"\nPoslala sam jednokratni kod SMS porukom na \+381 6\d ••• •• \d\d\. Upišite"
    )
    assert code_sent.search(with_mobile.text)
    shapes = set()
    for n in range(12):
        unknown = await answer(f"011 98765{n:02d}")
        if unknown.text == without_mobile.text:
            shapes.add("no mobile")
            assert unknown.labels == without_mobile.labels
        else:
            assert code_sent.search(unknown.text), unknown.text
            assert unknown.labels == with_mobile.labels
            shapes.add("code sent")
        assert "+381 11" not in unknown.text
    assert shapes == {"no mobile", "code sent"}
    await no_sms(app)  # nothing was sent for an unknown number


async def test_an_unknown_code_gets_the_same_answer_and_no_sms(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    known = await new_chat(app, "Srpski", "Moj račun", "Šifrom korisnika")
    await known.say("1234567")
    unknown = await new_chat(app, "Srpski", "Moj račun", "Šifrom korisnika")
    await unknown.say("7654321")
    await sms_code(app)  # only the known one was sent
    await no_sms(app)
    shape = re.compile(r"Poslala sam jednokratni kod SMS porukom na \+381 \d\d ••• •• \d\d\. Upišite ga ovde")
    assert shape.search(known.text) and shape.search(unknown.text)
    assert [b.label for b in known.buttons_shown()] == [b.label for b in unknown.buttons_shown()]
    await unknown.say("123456")
    unknown.expect("Kod nije tačan.")


async def _code_asked_for_petar(app: App, language: str, *presses: str) -> tuple[Chat, str, str]:
    """A new chat in `language` that pressed `presses` and typed Petar's customer code: the chat, the code sent by
    SMS and a wrong one."""
    chat = await new_chat(app, language, *presses)
    await chat.say("1234567")
    code = await sms_code(app)
    return chat, code, "000000" if code != "000000" else "111111"


async def test_wrong_codes_end_the_code_and_a_used_code_does_not_work_again(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat, code, wrong = await _code_asked_for_petar(app, "Srpski", "Moj račun", "Šifrom korisnika")
    await chat.say(wrong)
    chat.expect("Kod nije tačan. Imate još 2 pokušaja.")
    await chat.say(wrong)
    chat.expect("Kod nije tačan. Imate još 1 pokušaj.")
    await chat.say(wrong)  # the last try: said as it is, not as an expired code
    chat.expect("Kod nije tačan, a pokušaja više nema. Zatražite novi kod.")
    chat.expect_not("Ovaj kod više ne važi")
    await chat.say(code)  # the right one, too late
    chat.expect("Ovaj kod više ne važi")
    async with app.deps.sessionmaker() as db:
        outcomes = (
            await db.execute(
                select(AuditEntry.outcome).where(AuditEntry.action == "verify_one_time_code").order_by(AuditEntry.id)
            )
        ).scalars().all()  # fmt: skip
    assert outcomes == ["wrong", "wrong", "exhausted", "none"]  # every try is in the audit log, never the code

    await chat.press("Pošaljite novi kod")  # sent at once to the same number
    fresh = await sms_code(app)
    await chat.say(fresh)
    chat.expect("Identifikovani ste kao Petar.")
    # a used code is gone, also for whoever saw it
    other = await new_chat(app, "Srpski", "Moj račun", "Šifrom korisnika")
    await other.say("1234567")
    await sms_code(app)
    await other.say(fresh)
    other.expect("Kod nije tačan.")


async def test_the_last_wrong_try_says_so_in_turkmen(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat, code, wrong = await _code_asked_for_petar(app, "Türkmençe", "Şahsy hasabym", "Müşderi kody bilen")
    for _ in range(3):
        await chat.say(wrong)
    chat.expect("Kod nädogry we başga synanyşygyňyz galmady. Täze kod soraň.")
    chat.expect_buttons("Täze kod iber")
    await chat.say(code)  # the code is gone now: the generic answer
    chat.expect("Bu kod indi işlemeýär")


async def test_a_code_expires(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    app.deps.otp.ttl_seconds = 1
    chat = await new_chat(app, "Srpski", "Moj račun", "Šifrom korisnika")
    await chat.say("1234567")
    code = await sms_code(app)
    await asyncio.sleep(1.3)
    await chat.say(code)
    chat.expect("Ovaj kod više ne važi")


async def test_five_failures_from_two_chats_lock_the_subscriber_everywhere(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    first, second, third = [await new_chat(app, "Türkmençe") for _ in range(3)]
    for chat in (first, second):
        await chat.press("Şahsy hasabym")
        await chat.press("Telefon belgisi we kod sözi")
        await chat.say("+993 65 123456")
    for n in range(5):  # five wrong code words for Aýna's number, from two chats in turn: each asked again
        chat = first if n % 2 == 0 else second
        await chat.say("nädogry")
        if n < 4:
            chat.expect("gabat gelmeýär", "Kod sözüňizi täzeden ýazyň.")
    first.expect("Şowsuz synanyşyklar gaty köp boldy", "0890")
    # The right code word from a third chat does not help now: the subscriber is locked, whoever asks.
    await third.press("Şahsy hasabym")
    await third.press("Telefon belgisi we kod sözi")
    await third.say("+993 65 123456")
    third.expect("Şowsuz synanyşyklar gaty köp boldy")
    # Another subscriber from the third chat is not affected.
    await third.press("⬅")
    await third.press("Şahsy hasabym")
    await third.press("Telefon belgisi we kod sözi")
    await third.say("+993 61 234567")
    await third.say("ýyldyz")
    third.expect("Sag boluň, Serdar!")


async def test_a_corporate_customer_is_sent_to_the_corporate_channel(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await new_chat(app, "Srpski", "Moj račun", "Šifrom korisnika")
    await chat.say("4567890")
    await chat.say(await sms_code(app))
    chat.expect("Za poslovne korisnike zahteve obrađuje služba za poslovne korisnike.", "info@telekom.rs")
    chat.expect_not("Vaši računi")


# --- tm: code word, full name and passport -------------------------------------------------------------------------
async def test_phone_and_code_word(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    chat = await new_chat(app, "Türkmençe", "Şahsy hasabym")
    chat.expect_buttons("Telefon belgisi we kod sözi", "Telefon belgisi, doly ady we pasport")
    await chat.press("Telefon belgisi we kod sözi")
    chat.expect("Belgiden soň kod sözüňizi soraryn.")
    await chat.say("+993 65 123456")
    chat.expect(
        "Indi kod sözüňizi ýazyň. ä, ş, ý ýaly harplaryň ýerine a, s, y ýazsaňyz hem bolýar.",
        "Siz kompaniýanyň satuwlaryň we hyzmatlaryň islendik ofisinde şahsyýetiň şahsyýetnamasy bilen şahsy ýüz "
        "tutanyňyzda kod sözüni belläp bilersiňiz.",
    )
    await chat.say("  GÜLÄLEK ")  # case and spaces don't matter
    chat.expect("Sag boluň, Aýna! Siz identifikasiýadan geçdiňiz.", "8100001/1 · mobil telefon", "işjeň")


async def test_a_code_word_typed_without_its_turkmen_letters_is_right(make_app: AppFactory) -> None:
    """On a phone without a Turkmen keyboard "Ýaňy gün" is typed "yany gun", and Şamyradow "Shamyradow"."""
    app = await seeded(make_app, "tm")
    chat = await new_chat(app, "Türkmençe", "Şahsy hasabym", "Telefon belgisi we kod sözi")
    await chat.say("+993 71 667788")
    await chat.say("yany gun")
    chat.expect("Sag boluň, Žemal! Siz identifikasiýadan geçdiňiz.")

    chat = await new_chat(app, "Türkmençe", "Şahsy hasabym", "Telefon belgisi, doly ady we pasport")
    await chat.say("+993 61 234567")
    await chat.say("Shamyradow Serdar")  # surname first, sh for ş
    await chat.say("IAS654321")  # I-AŞ 654321 without its dash, space and letter
    chat.expect("Sag boluň, Serdar! Siz identifikasiýadan geçdiňiz.")


async def test_a_code_word_with_a_wrong_letter_is_wrong(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    chat = await new_chat(app, "Türkmençe", "Şahsy hasabym", "Telefon belgisi we kod sözi")
    await chat.say("+993 65 123456")
    await chat.say("gulalik")
    chat.expect("Görkezen maglumatlaryňyz bizdäki maglumatlara gabat gelmeýär.")


async def test_unknown_number_and_wrong_word_get_the_same_answer(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    answers = []
    for number in ("+993 65 123456", "+993 65 999999"):
        chat = await new_chat(app, "Srpski", "Moj račun", "Broj telefona i kodna reč")
        await chat.say(number)
        first = chat.text
        await chat.say("pogrešno")
        answers.append((first, chat.text))
    assert answers[0] == answers[1]
    assert "ne odgovaraju našoj evidenciji" in answers[0][1]


async def test_full_name_and_passport_in_serbian(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    chat = await new_chat(app, "Srpski", "Moj račun", "Broj telefona, ime i prezime i pasoš")
    await chat.say("+993 64 345678")
    chat.expect("Sada upišite ime i prezime vlasnika kako piše u pasošu.")
    await chat.say("nurmuhammedowa  gülşat")
    chat.expect("Sada upišite seriju i broj pasoša")
    await chat.say("i-mr 112233")
    chat.expect("Identifikovani ste kao Gülşat.", "8100003/1 · mobilna telefonija", "isključena", "Dug: 45,30 TMT")


async def test_a_wrong_passport(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    chat = await new_chat(app, "Türkmençe", "Şahsy hasabym", "Telefon belgisi, doly ady we pasport")
    await chat.say("+993 64 345678")
    await chat.say("Gülşat Nurmuhammedowa")
    await chat.say("I-MR 000000")
    chat.expect("gabat gelmeýär")


async def test_unknown_and_wrong_take_the_same_time(make_app: AppFactory) -> None:
    """The answer must not tell, by its delay, whether the number is a subscriber's."""
    app = await seeded(make_app, "tm")
    app.deps.lockout.policy = type(app.deps.lockout.policy)(threshold=1000)

    async def attempt(number: str) -> float:
        chat = await new_chat(app, "Türkmençe", "Şahsy hasabym", "Telefon belgisi we kod sözi")
        await chat.say(number)
        started = time.perf_counter()
        await chat.say("nädogry söz")
        elapsed = time.perf_counter() - started
        chat.expect("gabat gelmeýär")
        return elapsed

    known, unknown = [], []
    for _ in range(7):
        known.append(await attempt("+993 65 123456"))
        unknown.append(await attempt("+993 65 999999"))
    ratio = statistics.median(unknown) / statistics.median(known)
    assert 0.6 < ratio < 1.6, (known, unknown)


# --- how long it lasts, step-up, payloads ---------------------------------------------------------------------------
def _router_with_probes() -> Router:
    router = build_router()
    probe = Router()

    @probe.payload("sensitive")
    async def sensitive(turn: Turn) -> None:
        who = await require_identity(turn, fresh=True)
        if who is not None:
            turn.say(f"sensitive done for {who.subscriber_id}, arg {turn.arg}")

    @probe.payload("acct")
    async def account_payload(turn: Turn) -> None:
        who = await require_identity(turn)
        if who is not None:
            account = await identity.owned_account(turn, who, turn.arg)
            turn.say(f"account {account.number}")

    router.include(probe)
    return router


async def identified_as_ayna(app: App) -> Chat:
    """A new chat in Turkmen, identified as Aýna by her number and code word."""
    chat = await new_chat(app, "Türkmençe", "Şahsy hasabym", "Telefon belgisi we kod sözi")
    await chat.say("+993 65 123456")
    await chat.say("Gülälek")
    chat.expect("Sag boluň, Aýna!")
    return chat


async def test_step_up_asks_the_secret_again_and_returns_to_the_choice(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    app.engine.router = _router_with_probes()
    chat = await identified_as_ayna(app)
    await chat.press_payload("sensitive:42")
    chat.expect("sensitive done for")  # fresh enough
    chat.wait(11 * 60)  # eleven minutes later…
    await chat.press_payload("sensitive:42")
    chat.expect("Munuň üçin Siziňdigiňizi ýene bir gezek barlamaly.", "Indi kod sözüňizi ýazyň.")  # not the number
    await chat.say("Gülälek")
    chat.expect("Sag boluň, Aýna!", "sensitive done for", "arg 42")  # back where the user was, with the choice


async def test_identification_lapses_after_idle_time(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    chat = await identified_as_ayna(app)
    chat.wait(31 * 60)
    await chat.press("⬅")
    await chat.press("Şahsy hasabym")
    chat.expect("Identifikasiýadan nähili geçmek isleýärsiňiz?")


async def test_a_payload_naming_another_subscribers_account_is_refused(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    app = await seeded(make_app, "tm")
    app.engine.router = _router_with_probes()
    chat = await identified_as_ayna(app)
    async with app.deps.sessionmaker() as db:
        ids = dict((await db.execute(select(Account.number, Account.id))).all())
    await chat.press_payload(f"acct:{ids['8100001/1']}")
    chat.expect("account 8100001/1")
    with caplog.at_level(logging.WARNING):
        await chat.press_payload(f"acct:{ids['8100002/1']}")  # Serdar's line
    chat.expect("Bu düwme öňki gepleşige degişli we indi işlemeýär.")
    chat.expect_not("8100002")
    assert "refused a payload naming an account of another subscriber" in caplog.text
    await chat.press_payload("acct:not-a-number")
    chat.expect("Bu düwme öňki gepleşige degişli")


async def test_cancel_returns_to_the_menu(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await new_chat(app, "Srpski", "Moj račun", "Šifrom korisnika")
    await chat.press("Odustani")
    chat.expect("Identifikacija je prekinuta.", "Kako mogu da vam pomognem?")


# --- nothing secret left behind --------------------------------------------------------------------------------------
SECRETS = ("Gülälek", "gülälek", "GÜLÄLEK", "I-MR 112233", "112233", "99365123456", "99364345678", "381641234567",
           "99365999999")  # fmt: skip


async def test_no_secret_in_logs_or_redis_after_a_full_run(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    app = await seeded(make_app, "tm")
    rs = await seeded(make_app, "rs")
    caplog.clear()  # loading the data is the operator's import, not the conversation under test
    caplog.set_level(logging.DEBUG)
    chat = await identified_as_ayna(app)
    await chat.press("🔓 Çykmak")
    await chat.press("Şahsy hasabym")
    await chat.press("Telefon belgisi, doly ady we pasport")
    await chat.say("+993 64 345678")
    await chat.say("Gülşat Nurmuhammedowa")
    await chat.say("I-MR 112233")
    chat.expect("Sag boluň, Gülşat!")
    # someone trying a number that is nobody's
    stranger = await new_chat(app, "Türkmençe", "Şahsy hasabym", "Telefon belgisi we kod sözi")
    await stranger.say("+993 65 999999")

    rs_chat = await new_chat(rs, "Srpski", "Moj račun", "Brojem telefona")
    await rs_chat.say("+381 64 1234567")
    code = await sms_code(rs)
    await rs_chat.say(code)
    rs_chat.expect("Identifikovani ste kao Petar.")

    stored = []
    async for key in app.redis.scan_iter(match=app.deps.sessions.prefix + "*"):
        kind = as_text(await app.redis.type(key))
        if kind == "string":
            stored.append(as_text(await app.redis.get(key) or b""))
        elif kind == "hash":
            stored.extend(as_text(v) for v in (await app.redis.hgetall(key)).values())
        elif kind == "zset":
            stored.extend(as_text(m) for m in await app.redis.zrange(key, 0, -1))
        stored.append(as_text(key))
    haystack = "\n".join(stored) + "\n" + caplog.text
    for secret in (*SECRETS, code):
        assert secret not in haystack, f"{secret!r} was left in Redis or a log"


async def test_typing_a_buttons_number_while_a_code_is_awaited_is_the_button_not_a_wrong_code(
    make_app: AppFactory,
) -> None:
    app = await seeded(make_app, "rs")
    chat = await new_chat(app, "Srpski", "Moj račun")
    await chat.say("2")  # Šifrom korisnika, by its number
    await chat.say("1234567")
    await sms_code(app)
    await chat.say("3")  # ✖ Odustani, by its number
    chat.expect("Identifikacija je prekinuta.")
    async with app.deps.sessionmaker() as db:
        tries = (
            await db.execute(select(AuditEntry.outcome).where(AuditEntry.action == "verify_one_time_code"))
        ).scalars().all()  # fmt: skip
    assert tries == []  # nothing counted against the subscriber


async def test_a_number_typed_at_the_method_question_is_taken_as_that_method(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    chat = await new_chat(app, "Türkmençe", "Şahsy hasabym")
    await chat.say("+993 65 123456")  # no method chosen: a phone number means "by phone"
    chat.expect("Indi kod sözüňizi")
    await chat.say("Gülälek")
    chat.expect("Sag boluň, Aýna!")

    rs = await seeded(make_app, "rs")
    serbian = await new_chat(rs, "Srpski", "Moj račun")
    await serbian.say("1234567")  # a customer code
    serbian.expect("Poslala sam jednokratni kod SMS porukom na +381 64 ••• •• 67.")


async def test_a_number_is_not_a_name(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    chat = await new_chat(app, "Srpski", "Moj račun", "Broj telefona, ime i prezime i pasoš")
    await chat.say("+993 64 345678")
    await chat.say("+99361234567")
    chat.expect("Upišite ime i prezime vlasnika kako piše u pasošu.")


async def test_codes_for_a_customer_code_go_to_a_mobile_number(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await new_chat(app, "Srpski", "Moj račun", "Šifrom korisnika")
    await chat.say("4567890")  # the company's contact number is a fixed line: the code goes to its mobile line
    chat.expect("+381 63 ••• •• 90")
