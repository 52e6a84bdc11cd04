"""The help desk's account actions in the chat: the composition of the amount, unblocking after inactivity,
suspension with a resume date and resumption, the favourite number, the discount package — each an order
confirmed with its number, each account in a payload re-checked against the identified subscriber."""

from __future__ import annotations

import io
import re

from pypdf import PdfReader
from sqlalchemy import select, update

from bot.app import App
from bot.core.incoming import UserRef
from bot.core.replies import Document, Text
from bot.db.models import Account, Order
from handlers.account import PUK_VISIBLE_SECONDS
from tests.chat import Chat
from tests.conftest import AppFactory
from tests.helpers import seeded


def order_number(text: str) -> str:
    match = re.search(r"N-\d{8}", text)
    assert match, text
    return match.group(0)


async def orders(app: App) -> list[Order]:
    async with app.deps.sessionmaker() as db:
        return list((await db.execute(select(Order).order_by(Order.id))).scalars())


async def account_ids(app: App) -> dict[str, int]:
    async with app.deps.sessionmaker() as db:
        return dict((await db.execute(select(Account.number, Account.id))).all())  # type: ignore[arg-type]


async def rs_identified(app: App, phone: str, language: str = "Srpski") -> Chat:
    chat = Chat(app.engine)
    await chat.first_contact(language)
    await chat.press_payload("account")
    await chat.press_payload("idm:phone")
    await chat.share_phone(phone, own=True)
    return chat


async def tm_identified(
    app: App, phone: str, word: str, language: str = "Türkmençe", user: UserRef | None = None
) -> Chat:
    chat = Chat(app.engine, user)
    await chat.first_contact(language)
    await chat.press_payload("account")
    await chat.press_payload("idm:word")
    await chat.say(phone)
    await chat.say(word)
    return chat


async def test_rs_composition_of_the_amount(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await rs_identified(app, "+381641234567")
    chat.expect("Vaši računi:")
    chat.expect_buttons("Od čega se sastoji iznos", "Privremeno isključenje ili uključenje", "Omiljeni broj")
    await chat.press("Od čega se sastoji iznos")
    chat.expect(
        "Iznos vašeg duga je zbir neplaćenih iznosa po računima:",
        "1234567/1 (mobilna telefonija, tarifa Postpaid S): 2.340,50 RSD",
        "Ukupno: 2.340,50 RSD",
        "mesečna pretplata tarifnog paketa",
    )


async def test_rs_resume_a_suspended_line(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await rs_identified(app, "+381646789012")
    await chat.press("Privremeno isključenje ili uključenje")
    chat.expect("Koju liniju želite privremeno da isključite ili ponovo uključite?")
    chat.expect_buttons("6789012/1")
    await chat.press("6789012/1")
    chat.expect("Izdala sam nalog da 6789012/1 ponovo radi.", "Broj naloga: N-")
    [order] = await orders(app)
    assert order.kind == "resume" and order.number == order_number(chat.text)


async def test_rs_unblock_after_inactivity(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    petar = await rs_identified(app, "+381641234567")
    await petar.press("Otključavanje broja")
    petar.expect("Nijedna vaša linija nije blokirana zbog neaktivnosti.")  # his line is off for debt

    async with app.deps.sessionmaker() as db:
        await db.execute(
            update(Account)
            .where(Account.number == "2345678/1")
            .values(status="disconnected", disconnect_reason="inactivity")
        )
        await db.commit()
    jelena = await rs_identified(app, "+381652345678", "Српски")
    await jelena.press("Откључавање броја")
    await jelena.press("2345678/1")
    jelena.expect("Издала сам налог за откључавање 2345678/1.", "Број налога: N-")
    assert [o.kind for o in await orders(app)] == ["unblock"]


async def test_rs_discount_package_once_for_a_double_tap(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await rs_identified(app, "+381652345678")
    await chat.press("Paket s popustom")
    chat.expect("Na kojoj liniji da uključim paket s popustom?")
    await chat.press("2345678/1")
    chat.expect("Izdala sam nalog za uključenje paketa s popustom za 2345678/1.")
    first = order_number(chat.text)
    ids = await account_ids(app)
    await chat.press_payload(f"adisc:{ids['2345678/1']}")  # the same button again
    assert order_number(chat.text) == first
    assert len(await orders(app)) == 1


async def test_tm_suspend_until_a_date(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    chat = await tm_identified(app, "+993 65 123456", "Gülälek")
    await chat.press("Wagtlaýyn togtatmak ýa-da işletmek")
    await chat.press("8100001/1")
    chat.expect("8100001/1 näçe wagtlyk wagtlaýyn togtadylsyn?")
    chat.expect_buttons("7 günlük", "14 günlük", "30 günlük", "90 günlük")
    await chat.press("14 günlük")
    chat.expect(
        "8100001/1 wagtlaýyn togtatmak sargydyny berdim. Ol", "senesinde täzeden işlär.", "Sargydyň belgisi: N-"
    )
    [order] = await orders(app)
    assert order.kind == "suspend" and order.due_at is not None
    assert order.payload["resume_on"] == order.due_at.astimezone(app.deps.profile.zone).date().isoformat()
    ids = await account_ids(app)
    await chat.press_payload(f"asusp:{ids['8100001/1']}:5")  # a period never offered
    chat.expect("Bu düwme öňki gepleşige degişli")


async def test_tm_favourite_number_validated(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    chat = await tm_identified(app, "+993 65 123456", "Gülälek", "Srpski")
    await chat.press("Omiljeni broj")
    await chat.press("8100001/1")
    chat.expect("Upišite omiljeni broj za 8100001/1, sa pozivnim brojem.")
    await chat.say("moj brat")
    chat.expect("To nije ispravan broj telefona. Upišite ga sa pozivnim brojem.")
    await chat.say("+993 65 765432")
    chat.expect("Izdala sam nalog da +99365765432 bude omiljeni broj za 8100001/1.", "Broj naloga: N-")
    [order] = await orders(app)
    assert order.kind == "favourite_number" and order.payload == {"number": "+99365765432"}


async def test_tm_another_subscribers_line_is_refused(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    chat = await tm_identified(app, "+993 65 123456", "Gülälek")
    ids = await account_ids(app)
    for payload in (f"afav:{ids['8100002/1']}", f"adisc:{ids['8100002/1']}", f"asusp:{ids['8100002/2']}"):
        await chat.press_payload(payload)
        chat.expect("Bu düwme öňki gepleşige degişli")
    assert await orders(app) == []


# --- PIN and PUK -----------------------------------------------------------------------------------------------------
async def test_tm_puk_needs_a_fresh_identification_and_is_kept_nowhere(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    chat = await tm_identified(app, "+993 65 123456", "Gülälek")
    await chat.press("PIN we PUK")
    chat.expect("PIN kody üç gezek nädogry girizilse, SIM kart bloklanýar.", "**05*PUK*täze PIN*täze PIN#")
    async with app.deps.sessions.locked(chat.user) as session:  # eleven minutes after identification…
        session.extra["id"]["at"] -= 11 * 60
    await chat.press("Belgimiň PUK koduny görkez")
    chat.expect("Munuň üçin Siziňdigiňizi ýene bir gezek barlamaly.")  # PUK without a fresh identification: no
    chat.expect_not("12345678")
    await chat.press("Telefon belgisi we kod sözi")
    await chat.say("+993 65 123456")
    await chat.say("Gülälek")
    chat.expect("Haýsy belginiň PUK kody gerek?")
    await chat.press("8100001/1")
    chat.expect("8100001/1 üçin PUK kody: 12345678", "Ony diňe şu gezek görkezýärin we hiç ýerde saklamaýaryn.")

    keys = [key async for key in app.redis.scan_iter(match=app.settings.redis.prefix + "*")]
    for key in keys:  # not in the session, nor anywhere else in Redis
        if await app.redis.type(key) == b"string":
            assert b"12345678" not in (await app.redis.get(key) or b"")
        elif await app.redis.type(key) == b"hash":
            assert not any(b"12345678" in v for v in (await app.redis.hgetall(key)).values())


async def test_tm_on_telegram_the_puk_comes_alone_and_is_removed_a_minute_later(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    chat = await tm_identified(app, "+993 65 123456", "Gülälek", user=UserRef("telegram", "7301"))
    await chat.press("PIN we PUK")
    await chat.press("Belgimiň PUK koduny görkez")
    await chat.press("8100001/1")
    shown, after = chat.replies
    assert isinstance(shown, Text) and isinstance(after, Text)
    assert shown.text == "8100001/1 üçin PUK kody: 12345678"
    assert shown.erase_after == PUK_VISIBLE_SECONDS and not shown.buttons  # no button: nothing may edit it
    assert "bir minutdan" in after.text and after.buttons and "12345678" not in after.text


async def test_rs_pin_instructions_and_the_puk_imported_sealed(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await rs_identified(app, "+381641234567")
    await chat.press("PIN i PUK")
    chat.expect("Ako tri puta pogrešno unesete PIN, SIM kartica se zaključava.")
    await chat.press("Prikaži PUK kod")
    await chat.press("1234567/1")
    chat.expect("PUK kod za 1234567/1: 40817263", "Obrišite ovu poruku kada ga iskoristite.")
    ids = await account_ids(app)
    await chat.press_payload(f"apuk:{ids['1234567/2']}")  # a fixed line has no SIM card
    chat.expect("To dugme pripada ranijem razgovoru")
    async with app.deps.sessionmaker() as db:  # in the database only sealed
        sealed = (await db.execute(select(Account.puk_sealed).where(Account.number == "1234567/1"))).scalar_one()
    assert sealed and "40817263" not in sealed


async def test_rs_a_line_imported_without_its_puk_sends_to_the_contact_centre(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await rs_identified(app, "+381652345678")
    await chat.press("PIN i PUK")
    await chat.press("Prikaži PUK kod")
    chat.expect("Za koju liniju vam treba PUK kod?")  # even with one line: it names the line the code is for
    await chat.press("2345678/1")
    chat.expect("PUK kod za 2345678/1 ne mogu da prikažem ovde. Možete ga dobiti ovde:", "0800 100 100")


# --- invoice for advance payment -------------------------------------------------------------------------------------
def pdf_text(chat: Chat) -> tuple[str, str]:
    [document] = [r for r in chat.replies if isinstance(r, Document)]
    assert document.mime_type == "application/pdf" and document.content.startswith(b"%PDF")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(document.content)).pages)
    return document.file_name, " ".join(text.split())


async def test_rs_invoice_for_advance_payment_as_a_pdf(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await rs_identified(app, "+381641234567")
    await chat.press("Račun za avansno plaćanje")
    await chat.press("1234567/1")
    chat.expect("Koliko želite da uplatite unapred za 1234567/1? Upišite iznos u valuti RSD.")
    await chat.say("puno")
    chat.expect("Upišite iznos između 0,01 RSD i 1.000.000,00 RSD")
    await chat.say("2.500")
    chat.expect("Evo računa za avansno plaćanje za 1234567/1: 2.500,00 RSD.")
    name, text = pdf_text(chat)
    [order] = await orders(app)
    assert order.kind == "invoice" and name == f"{order.number}.pdf"
    expected = [
        "Račun za avansno plaćanje",
        f"Broj {order.number}",
        "Petar Petrović",
        "Šifra korisnika: 1234567",
        "1234567/1 · mobilna telefonija",
        "Postpaid S",
        "Trenutni dug 2.340,50 RSD",
        "Iznos za avansnu uplatu 2.500,00 RSD",
        "Bulevar Umetnosti 16, 11000 Beograd",
        "0800 100 100",
    ]
    for fragment in expected:
        assert fragment in text, (fragment, text)


async def test_rs_cyrillic_invoice(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await rs_identified(app, "+381641234567", "Српски")
    await chat.press("Рачун за авансно плаћање")
    await chat.press("1234567/2")
    await chat.say("1 000,50")
    _name, text = pdf_text(chat)
    for fragment in ("Рачун за авансно плаћање", "Петар Петровић", "Булевар Уметности 16", "1.000,50 RSD"):
        assert fragment in text, (fragment, text)


async def test_tm_invoice_has_every_turkmen_letter(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    chat = await tm_identified(app, "+993 71 667788", "Ýaňy gün")
    await chat.press("Öňünden töleg üçin hasap")
    await chat.press("8100006/1")
    await chat.say("25")
    chat.expect("Ine, 8100006/1 üçin öňünden töleg hasaby: 25,00 TMT.")
    _name, text = pdf_text(chat)
    expected = [
        "Öňünden töleg üçin hasap",
        "Žemal Täçmämmedowa",
        "Müşderi kody: 8100006",
        "Ýeňil",
        "Öňünden tölenjek möçber 25,00 TMT",
        "0890@mts.tm",
    ]
    for fragment in expected:
        assert fragment in text, (fragment, text)
