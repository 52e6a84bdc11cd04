"""The help desk's account actions in the chat: the composition of the amount, unblocking after inactivity,
suspension with a resume date and resumption, the favourite number, the discount package — each an order
confirmed with its number, each account in a payload re-checked against the identified subscriber."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select, update

from bot.app import App
from bot.core.incoming import UserRef
from bot.core.replies import Document, Text
from bot.db.models import Account, Order
from handlers.account import PUK_VISIBLE_SECONDS
from tests.chat import Chat
from tests.conftest import AppFactory
from tests.helpers import account_ids, rs_identified, seeded, sms_code, tm_identified


def order_number(text: str) -> str:
    match = re.search(r"N-\d{8}", text)
    assert match, text
    return match.group(0)


async def orders(app: App) -> list[Order]:
    async with app.deps.sessionmaker() as db:
        return list((await db.execute(select(Order).order_by(Order.id))).scalars())


async def test_rs_composition_of_the_amount(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await rs_identified(app, "+381641234567")
    chat.expect("Vaši računi:")
    chat.expect_buttons("Od čega se sastoji iznos", "Privremeno isključenje ili uključenje", "Omiljeni broj")
    await chat.press("Od čega se sastoji iznos")
    chat.expect(
        "Iznos vašeg duga je zbir neplaćenih iznosa po računima:",
        "1234567/1 (mobilna telefonija, tarifni paket Postpaid S): 2.340,50 RSD",
        "   – faktura za oktobar 2026: 1.170,25 RSD, rok plaćanja 15. novembra 2026.\n",
        "   – faktura za novembar 2026: 1.170,25 RSD, rok plaćanja 15. decembra 2026.\n",
        "Ukupno: 2.340,50 RSD",
    )
    chat.expect_not("mesečna pretplata tarifnog paketa")  # the bills themselves, not the general rule


async def test_rs_resume_a_suspended_line(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await rs_identified(app, "+381646789012")
    await chat.press("Privremeno isključenje ili uključenje")
    chat.expect("Koju liniju želite privremeno da isključite ili ponovo uključite?")
    chat.expect_buttons("6789012/1")
    await chat.press("6789012/1")
    chat.expect("Izdala sam nalog da se broj 6789012/1 ponovo uključi.", "Broj naloga: N-")
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
    await jelena.press("Откључавање броја")  # her only line blocked for inactivity: not asked which
    jelena.expect("Да ли да издам налог за откључавање броја 2345678/1, блокираног због неактивности?")
    assert not await orders(app)
    await jelena.press("Да, откључајте")
    jelena.expect("Издала сам налог за откључавање броја 2345678/1.", "Број налога: N-")
    assert [o.kind for o in await orders(app)] == ["unblock"]


async def test_rs_discount_package_once_for_a_double_tap(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await rs_identified(app, "+381652345678")
    await chat.press("Paket s popustom")  # her only mobile line: not asked which
    chat.expect_not("Na kojoj liniji da uključim paket s popustom?")
    chat.expect("Da li da izdam nalog za uključenje paketa s popustom za broj 2345678/1?")
    assert not await orders(app)
    await chat.press("Da, izdajte nalog")
    chat.expect("Izdala sam nalog za uključenje paketa s popustom za broj 2345678/1.")
    first = order_number(chat.text)
    ids = await account_ids(app)
    await chat.press_payload(f"adiscy:{ids['2345678/1']}")  # the same button again
    assert order_number(chat.text) == first
    assert len(await orders(app)) == 1


async def test_tm_suspend_until_a_date(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    chat = await tm_identified(app, "+993 65 123456", "Gülälek")
    await chat.press("Wagtlaýyn togtatmak ýa-da işletmek")
    chat.expect("8100001/1 näçe wagtlyk wagtlaýyn togtadylsyn?")
    chat.expect_buttons("7 günlük", "14 günlük", "30 günlük", "90 günlük")
    ids = await account_ids(app)
    await chat.press_payload(f"asusp:{ids['8100001/1']}:5")  # a period never offered
    chat.expect("Bu düwme öňki gepleşige degişli")
    await chat.press_payload(f"asusp:{ids['8100001/1']}")
    await chat.press("14 günlük")
    chat.expect("8100001/1 belgini 14 günlük wagtlaýyn togtatmak üçin sargyt bereýinmi?")
    await chat.say("hawa")
    chat.expect(
        "8100001/1 belgini wagtlaýyn togtatmak üçin sargyt berdim. Ol",
        "senesinde täzeden işlär.",
        "Sargydyň belgisi: N-",
    )
    [order] = await orders(app)
    assert order.kind == "suspend" and order.due_at is not None
    assert order.payload["resume_on"] == order.due_at.astimezone(app.deps.profile.zone).date().isoformat()
    await chat.press_payload(f"asusp:{ids['8100001/1']}:30")  # an old button
    chat.expect(f"{order.number} sargyt (wagtlaýyn togtatmak, 8100001/1) eýýäm berildi we ýerine ýetirilmegine "
                "garaşýar.")  # fmt: skip


async def test_rs_a_second_suspension_the_same_day_keeps_the_first_date(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await rs_identified(app, "+381652345678")
    await chat.press("Privremeno isključenje ili uključenje")
    await chat.press("2345678/1")
    await chat.press("na 7 dana")
    await chat.press("Da, isključite")
    first_date = app.deps.i18n.get("sr").date(local_date_in(app, 7), app.deps.profile.zone)
    chat.expect(f"Izdala sam nalog za privremeno isključenje broja 2345678/1. Ponovo će se uključiti {first_date}\n")
    first = order_number(chat.text)

    # The order is not carried out yet: every screen shows it instead of "active", and none offers it again.
    await chat.press_payload("account")
    chat.expect(f"2345678/1 · mobilna telefonija · +381 65 ••• •• 78 · nalog {first} (privremeno isključenje) "
                "čeka izvršenje")  # fmt: skip
    await chat.press("Privremeno isključenje ili uključenje")
    assert not any("2345678/1" in label for label in chat.labels)
    ids = await account_ids(app)
    for old in (f"asusp:{ids['2345678/1']}", f"asusp:{ids['2345678/1']}:90", f"asuspy:{ids['2345678/1']}:90"):
        await chat.press_payload(old)
        chat.expect(f"Nalog {first} (privremeno isključenje, 2345678/1) je već izdat i čeka izvršenje.")
    [order] = await orders(app)
    assert order.payload["resume_on"] == local_date_in(app, 7).isoformat()


async def test_tm_favourite_number_validated(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    chat = await tm_identified(app, "+993 65 123456", "Gülälek", "Srpski")
    await chat.press("Omiljeni broj")
    chat.expect("Upišite omiljeni broj za broj 8100001/1, sa pozivnim brojem.")
    await chat.say("moj brat")
    chat.expect("To nije ispravan broj telefona. Upišite ga sa pozivnim brojem.")
    await chat.say("+993 65 765432")
    chat.expect("Da li da izdam nalog da +99365765432 bude omiljeni broj za broj 8100001/1?")
    assert not await orders(app)
    await chat.say("da")
    chat.expect("Izdala sam nalog da +99365765432 bude omiljeni broj za broj 8100001/1.", "Broj naloga: N-")
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
    chat.wait(11 * 60)  # eleven minutes after identification…
    await chat.press("Belgimiň PUK koduny görkez")
    chat.expect("Munuň üçin Siziňdigiňizi ýene bir gezek barlamaly.")  # PUK without a fresh identification: no
    chat.expect_not("12345678")
    chat.expect("Indi kod sözüňizi ýazyň.")  # her code word again; the number she is identified with stays
    await chat.say("Gülälek")
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
    await chat.press("Prikažite PUK kod")  # his only mobile line: not asked which
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
    await chat.press("Prikažite PUK kod")
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
    await chat.press("Predračun za avansnu uplatu")
    chat.expect("Za koji račun želite predračun za avansnu uplatu?")
    await chat.press("1234567/1")
    chat.expect("Koliko želite da uplatite unapred za račun 1234567/1? Upišite iznos u RSD.")
    await chat.say("puno")
    chat.expect("U tome nisam pronašla iznos. Upišite samo broj, na primer 1500 ili 1.500,50.")
    await chat.say("2.500")
    chat.expect("Da li da izdam predračun za avansnu uplatu za račun 1234567/1 na iznos od 2.500,00 RSD?")
    await chat.press("Da, izdajte predračun")
    chat.expect("Evo predračuna za avansnu uplatu za račun 1234567/1: 2.500,00 RSD.")
    name, text = pdf_text(chat)
    [order] = await orders(app)
    assert order.kind == "invoice" and name == f"{order.number}.pdf"
    expected = [
        "Predračun za avansnu uplatu",
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
    await chat.press("Предрачун за авансну уплату")
    await chat.press("1234567/2")
    await chat.say("1 000,50")
    await chat.say("да")
    _name, text = pdf_text(chat)
    for fragment in ("Предрачун за авансну уплату", "Петар Петровић", "Булевар Уметности 16", "1.000,50 RSD"):
        assert fragment in text, (fragment, text)


async def test_tm_invoice_has_every_turkmen_letter(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    chat = await tm_identified(app, "+993 71 667788", "Ýaňy gün")
    await chat.press("Öňünden töleg üçin hasap")
    chat.expect("8100006/1 üçin öňünden näçe tölemek isleýärsiňiz? Möçberi TMT bilen ýazyň.")
    await chat.say("köp")
    chat.expect("Men onda möçber tapmadym.")
    await chat.say("25")
    await chat.say("hawa")
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


# --- every entry in both profiles ------------------------------------------------------------------------------------
async def identified(app: App, login: tuple[str, ...], language: str) -> Chat:
    """rs: the number the messenger vouches for; tm: the number and the code word."""
    if len(login) == 1:
        return await rs_identified(app, login[0], language)
    return await tm_identified(app, login[0], login[1], language)


async def set_status(app: App, number: str, **values: str) -> None:
    async with app.deps.sessionmaker() as db:
        await db.execute(update(Account).where(Account.number == number).values(**values))
        await db.commit()


def local_date_in(app: App, days: int) -> date:
    zone = app.deps.profile.zone
    return datetime.now(UTC).astimezone(zone).date() + timedelta(days=days)


@pytest.mark.parametrize(
    ("profile", "language", "login", "overview", "composition_label", "composition", "absent"),
    [
        pytest.param(
            "rs",
            "Српски",
            ("+381641234567",),
            [
                "Ваши рачуни:",
                "• 1234567/1 · мобилна телефонија · +381 64 ••• •• 67 · искључена",
                "Дуг: 2.340,50 RSD; Тарифни пакет: Postpaid S",
                "• 1234567/2 · фиксна телефонија · +381 11 ••• •• 89 · активна",
                "Дуг: 0,00 RSD; Тарифни пакет: Fiksni Standard",  # the operator's name of the plan,
            ],
            "Од чега се састоји износ",
            ["1234567/1 (мобилна телефонија, тарифни пакет Postpaid S): 2.340,50 RSD", "Укупно: 2.340,50 RSD"],
            "1234567/2 (",
            id="rs-sr-Cyrl",
        ),
        pytest.param(
            "tm",
            "Türkmençe",
            ("+993 61 234567", "Ýyldyz"),
            [
                "Siziň hasaplaryňyz:",
                "• 8100002/1 · mobil telefon · +993 61 •••• 67 · işjeň",
                "Bergi: 12,40 TMT; Nyrhnama: Ýeňil",
                "• 8100002/2 · mobil telefon · +993 61 •••• 68 · wagtlaýyn togtadylan",
            ],
            "Möçber nämelerden ybarat",
            [
                "Bergiňiziň möçberi her hasap boýunça tölenmedik möçberleriň jemidir:",
                "8100002/1 (mobil telefon, nyrhnama Ýeňil): 12,40 TMT",
                "Jemi: 12,40 TMT",
            ],
            "8100002/2 (",
            id="tm-tk",
        ),
        pytest.param(
            "tm",
            "Srpski",
            ("+993 62 556677", "Köpetdag"),
            ["Vaši računi:", "8100005/2 · fiksna telefonija", "Dug: 3,75 TMT", "internet", "aktivna"],
            "Od čega se sastoji iznos",
            ["(fiksna telefonija, tarifni paket", "3,75 TMT", "Ukupno: 3,75 TMT"],
            "8100005/1 (",
            id="tm-sr",
        ),
    ],
)
async def test_account_information_and_what_makes_up_the_amount(
    make_app: AppFactory,
    profile: str,
    language: str,
    login: tuple[str, ...],
    overview: list[str],
    composition_label: str,
    composition: list[str],
    absent: str,
) -> None:
    app = await seeded(make_app, profile)
    chat = await identified(app, login, language)
    chat.expect(*overview)
    await chat.press(composition_label)
    chat.expect(*composition)
    chat.expect_not(absent)  # an account that owes nothing is not part of the amount


@pytest.mark.parametrize(
    ("profile", "language", "login", "line", "button", "none_blocked", "done"),
    [
        pytest.param(
            "tm",
            "Türkmençe",
            ("+993 65 123456", "Gülälek"),
            "8100001/1",
            "Belgini aktiw dällik blokdan açmak",
            "Belgileriňiziň hiç biri aktiw dällik sebäpli bloklanmandyr.",
            "8100001/1 belgini blokdan açmak üçin sargyt berdim.",
            id="tm-tk",
        ),
        pytest.param(
            "tm",
            "Српски",
            ("+993 65 123456", "Gülälek"),
            "8100001/1",
            "Откључавање броја",
            "Ниједна ваша линија није блокирана због неактивности.",
            "Издала сам налог за откључавање броја 8100001/1.",
            id="tm-sr-Cyrl",
        ),
    ],
)
async def test_unblock_after_inactivity_in_both_profiles(
    make_app: AppFactory,
    profile: str,
    language: str,
    login: tuple[str, ...],
    line: str,
    button: str,
    none_blocked: str,
    done: str,
) -> None:
    app = await seeded(make_app, profile)
    chat = await identified(app, login, language)
    await chat.press(button)
    chat.expect(none_blocked)
    await set_status(app, line, status="disconnected", disconnect_reason="inactivity")
    await chat.press_payload("account")
    await chat.press(button)  # the only line blocked: not asked which
    assert not await orders(app)
    await chat.say("da")
    chat.expect(done)
    [order] = await orders(app)
    assert order.kind == "unblock" and order.number == order_number(chat.text)


async def test_rs_cyrillic_suspend_for_30_days_names_the_day_it_works_again(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await rs_identified(app, "+381652345678", "Српски")
    await chat.press("Привремено искључење или укључење")
    chat.expect("Коју линију желите привремено да искључите или поново укључите?")
    await chat.press("2345678/1")
    chat.expect("На колико дуго да привремено искључим број 2345678/1? После тога ће се сам поново укључити.")
    chat.expect_buttons("на 7 дана", "на 14 дана", "на 30 дана", "на 90 дана")
    await chat.press("на 30 дана")
    await chat.press("Да, искључите")
    resume_on = local_date_in(app, 30)
    chat.expect(  # the date's own full stop after the year, and no other
        "Издала сам налог за привремено искључење броја 2345678/1. Поново ће се укључити "
        f"{resume_on.day}. {CYRILLIC_MONTHS_GENITIVE[resume_on.month - 1]} {resume_on.year}.\nБрој налога: N-",
    )
    chat.expect_not("..")
    [order] = await orders(app)
    assert order.kind == "suspend" and order.payload["resume_on"] == resume_on.isoformat()


CYRILLIC_MONTHS_GENITIVE = [
    "јануара",
    "фебруара",
    "марта",
    "априла",
    "маја",
    "јуна",
    "јула",
    "августа",
    "септембра",
    "октобра",
    "новембра",
    "децембра",
]


async def test_tm_resume_a_suspended_line(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    chat = await tm_identified(app, "+993 61 234567", "Ýyldyz")
    await chat.press("Wagtlaýyn togtatmak ýa-da işletmek")
    chat.expect("Haýsy belgini wagtlaýyn togtatmak ýa-da täzeden işletmek isleýärsiňiz?")
    chat.expect_buttons("8100002/1 · mobil telefon · +993 61 •••• 67 · işjeň")
    await chat.press("8100002/2")  # the suspended one: no period to choose, it works again
    chat.expect("8100002/2 belgini täzeden işletmek üçin sargyt berdim.", "Sargydyň belgisi: N-")
    [order] = await orders(app)
    assert order.kind == "resume" and order.number == order_number(chat.text)
    await chat.press("Şahsy hasabym")  # and back to the accounts
    chat.expect("Siziň hasaplaryňyz:")


async def test_rs_favourite_number_typed_the_usual_way(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await rs_identified(app, "+381652345678", "Српски")
    await chat.press("Омиљени број")
    chat.expect("Упишите омиљени број за број 2345678/1, са позивним бројем.")
    await chat.say("12")
    chat.expect("То није исправан број телефона. Упишите га са позивним бројем.")
    await chat.say("064 111 2233")
    chat.expect("Да ли да издам налог да +381641112233 буде омиљени број за број 2345678/1?")
    await chat.say("да")
    chat.expect("Издала сам налог да +381641112233 буде омиљени број за број 2345678/1.", "Број налога: N-")
    [order] = await orders(app)
    assert order.kind == "favourite_number" and order.payload == {"number": "+381641112233"}


async def test_tm_discount_package_once_for_a_double_tap(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    chat = await tm_identified(app, "+993 61 234567", "Ýyldyz")
    await chat.press("Ýeňillik paketi")  # a suspended line gets no package: his one active line is not chosen
    chat.expect_not("Ýeňillik paketini haýsy belgide işledeýin?")
    chat.expect("8100002/1 belgide ýeňillik paketini işletmek üçin sargyt bereýinmi?")
    await chat.press("Hawa, sargyt beriň")
    chat.expect("8100002/1 belgide ýeňillik paketini işletmek üçin sargyt berdim.", "Sargydyň belgisi: N-")
    first = order_number(chat.text)
    await chat.press_payload(f"adiscy:{(await account_ids(app))['8100002/1']}")
    assert order_number(chat.text) == first and len(await orders(app)) == 1


@pytest.mark.parametrize(
    ("language", "instructions", "step_up", "sent", "shown"),
    [
        pytest.param(
            "Српски",
            "Ако три пута погрешно унесете PIN, SIM картица се закључава.",
            "За ово морам још једном да проверим да сте то ви.",
            "Послала сам једнократни код SMS поруком на +381 64 ••• •• 67.",
            "PUK код за 1234567/1: 40817263",
            id="sr-Cyrl",
        ),
        pytest.param(
            "Türkmençe",
            "PIN kody üç gezek nädogry girizilse, SIM kart bloklanýar.",
            "Munuň üçin Siziňdigiňizi ýene bir gezek barlamaly.",
            "+381 64 ••• •• 67 belgä SMS arkaly bir gezeklik kod iberdim.",
            "1234567/1 üçin PUK kody: 40817263",
            id="tk",
        ),
    ],
)
async def test_rs_puk_after_a_fresh_identification(
    make_app: AppFactory, language: str, instructions: str, step_up: str, sent: str, shown: str
) -> None:
    app = await seeded(make_app, "rs")
    chat = await rs_identified(app, "+381641234567", language)
    await chat.press("PIN")
    chat.expect(instructions, "**05*PUK*")
    chat.wait(11 * 60)  # eleven minutes after identification…
    await chat.press("PUK")
    chat.expect(step_up)
    chat.expect_not("40817263")
    chat.expect(sent)  # at once, to the number on file
    await chat.say(await sms_code(app))
    chat.expect(shown)  # his only mobile line: not asked which


@pytest.mark.parametrize(
    ("profile", "language", "typed", "login", "shown"),
    [
        ("tm", "Türkmençe", "hasabym", ("+993 65 123456", "Gülälek"), "8100001/1 · mobil telefon · +993 65 •••• 56"),
        ("tm", "Türkmençe", "balans", ("+993 65 123456", "Gülälek"), "Bergi: 0,00 TMT; Nyrhnama: Standart"),
        ("rs", "Srpski", "stanje računa", ("+381652345678",), "2345678/1 · mobilna telefonija · +381 65 ••• •• 78"),
        ("rs", "Српски", "/racun", ("+381652345678",), "2345678/2 · телевизија"),
    ],
)
async def test_my_account_typed_carries_on_after_identification(
    make_app: AppFactory, profile: str, language: str, typed: str, login: tuple[str, ...], shown: str
) -> None:
    app = await seeded(make_app, profile)
    chat = Chat(app.engine)
    await chat.first_contact(language)
    await chat.say(typed)
    if profile == "rs":
        chat.expect(
            "Како желите да се идентификујете?" if language == "Српски" else "Kako želite da se identifikujete?"
        )
        await chat.press_payload("idm:phone")
        await chat.share_phone(login[0], own=True)
    else:
        chat.expect("Dowam etmek üçin Siziň kimdigiňizi bilmeli.")
        await chat.press("Telefon belgisi we kod sözi")
        await chat.say(login[0])
        await chat.say(login[1])
    chat.expect(shown)  # the accounts it asked for, not the main menu
