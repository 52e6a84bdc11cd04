"""Money typed in the chat and orders that cost money or cut a service: each amount read exactly as meant and read
back before anything is made, each such order said in full before it is placed, and "no" always a way out."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import yaml
from pypdf import PdfReader
from sqlalchemy import select, update

from bot.app import App
from bot.core.replies import Document
from bot.db.models import Account, Order
from bot.profiles import PROFILE_DIR, load_profile
from tests.chat import Chat
from tests.conftest import AppFactory
from tests.helpers import account_ids, rs_identified, seeded, tm_identified


async def orders(app: App) -> list[Order]:
    async with app.deps.sessionmaker() as db:
        return list((await db.execute(select(Order).order_by(Order.id))).scalars())


def documents(chat: Chat) -> list[Document]:
    return [r for r in chat.replies if isinstance(r, Document)]


async def rs_at_the_invoice_question(app: App) -> Chat:
    chat = await rs_identified(app, "+381641234567")
    await chat.press("Predračun za avansnu uplatu")
    await chat.press("1234567/1")
    chat.expect("Koliko želite da uplatite unapred za račun 1234567/1?")
    return chat


async def test_rs_an_amount_with_more_than_one_number_is_asked_again_not_glued(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await rs_at_the_invoice_question(app)
    await chat.say("500 za 2 meseca")  # once read as 5.002,00 RSD and invoiced at once
    chat.expect("U tome sam pronašla više od jednog broja. Upišite samo jedan iznos")
    chat.expect_not("5.002")
    assert not documents(chat) and not await orders(app)
    await chat.say("-100")
    chat.expect("Iznos mora biti pozitivan. Upišite iznos između 100,00 RSD i 1.000.000,00 RSD.")
    await chat.say("1e3")
    chat.expect("Upišite iznos kao običan broj, na primer 1500 ili 1.500,50.")
    await chat.say("50")
    chat.expect("Iznos mora biti najmanje 100,00 RSD.")
    await chat.say("2000000 dinara")
    chat.expect("Iznos može biti najviše 1.000.000,00 RSD.")
    assert not documents(chat) and not await orders(app)
    await chat.say("2.340,50 din")
    chat.expect("Da li da izdam predračun za avansnu uplatu za račun 1234567/1 na iznos od 2.340,50 RSD?")
    chat.expect_buttons("Da, izdajte predračun", "Ne")
    assert not documents(chat) and not await orders(app)
    await chat.say("ne hvala")
    chat.expect("U redu, predračun nisam izdala.")
    assert not documents(chat) and not await orders(app)


async def test_rs_another_amount_at_the_confirmation_replaces_the_first(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await rs_at_the_invoice_question(app)
    await chat.say("1500")
    chat.expect("na iznos od 1.500,00 RSD?")
    await chat.say("2 340.50")
    chat.expect("na iznos od 2.340,50 RSD?")
    await chat.say("može")
    [document] = documents(chat)
    [order] = await orders(app)
    assert order.kind == "invoice" and order.payload == {"amount": "2340.50"}
    assert document.file_name == f"{order.number}.pdf"


async def test_rs_a_forged_confirmation_cannot_carry_an_amount_out_of_bounds(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await rs_at_the_invoice_question(app)
    await chat.say("1500")
    [yes] = [b for b in chat.buttons_shown() if b.label == "Da, izdajte predračun"]
    assert yes.payload is not None
    account_id = yes.payload.split(":")[1]
    for forged in (f"ainvy:{account_id}:-100", f"ainvy:{account_id}:1e3", f"ainvy:{account_id}:99999999"):
        await chat.press_payload(forged)
        assert not documents(chat)
    assert not await orders(app)


async def test_tm_a_negative_amount_is_refused_and_no_means_no(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    chat = await tm_identified(app, "+993 71 667788", "Ýaňy gün")
    await chat.press("Öňünden töleg üçin hasap")  # the only line it can be: not asked which
    await chat.say("-10")  # once an invoice of 10,00 TMT
    chat.expect("Möçber noldan uly bolmaly. 1,00 TMT bilen 100 000,00 TMT aralygyndaky möçberi ýazyň.")
    assert not documents(chat) and not await orders(app)
    await chat.say("50 manat")
    chat.expect("8100006/1 üçin 50,00 TMT möçberde öňünden töleg üçin hasap taýýarlaýynmy?")
    chat.expect_buttons("Hawa, hasaby taýýarlaň", "Ýok")
    await chat.say("gerek däl")
    chat.expect("Bolýar, hasap taýýarlamadym.")
    assert not documents(chat) and not await orders(app)


async def test_tm_yes_typed_makes_the_invoice_read_back(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    chat = await tm_identified(app, "+993 71 667788", "Ýaňy gün")
    await chat.press("Öňünden töleg üçin hasap")  # the only line it can be: not asked which
    await chat.say("12,4 TMT")
    await chat.say("Hawa")
    [order] = await orders(app)
    assert order.payload == {"amount": "12.40"}
    assert re.search(r"12,40 TMT", chat.text), chat.text


# --- every order that costs money or cuts a service is asked first -------------------------------------------------
def operator_profile(tmp_path: Path, base: str, **extra: object) -> str:
    """The built-in profile with what an operator adds from its documents: the package text, payment details."""
    raw = yaml.safe_load((PROFILE_DIR / f"{base}.yaml").read_text(encoding="utf-8"))
    texts = extra.pop("texts", {})
    assert isinstance(texts, dict)
    raw["texts"].update(texts)
    raw.update(extra)
    file = tmp_path / f"{base}-operator.yaml"
    file.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return str(file)


PACKAGE = {
    "sr": "Paket s popustom: 500 minuta i 5 GB mesečno za 690 RSD, uz pretplatu.",
    "tk": "Ýeňillik paketi: aýda 500 minut we 5 GB, aýda 69 TMT.",
}


async def test_rs_the_discount_package_says_what_it_contains_and_costs_and_no_is_no(
    make_app: AppFactory, tmp_path: Path
) -> None:
    app = await seeded(make_app, operator_profile(tmp_path, "rs", texts={"discount_package": PACKAGE}))
    chat = await rs_identified(app, "+381652345678")
    await chat.press("Paket s popustom")  # the only line it can be: not asked which
    chat.expect(
        "Paket s popustom: 500 minuta i 5 GB mesečno za 690 RSD, uz pretplatu.",
        "Da li da izdam nalog za uključenje paketa s popustom za broj 2345678/1?",
    )
    chat.expect_buttons("Da, izdajte nalog", "Ne")
    await chat.press("Ne")
    chat.expect("U redu, nisam izdala nijedan nalog.")
    assert not await orders(app)


async def test_tm_without_the_package_text_the_contact_centre_is_named_and_yok_typed_declines(
    make_app: AppFactory,
) -> None:
    app = await seeded(make_app, "tm")
    chat = await tm_identified(app, "+993 61 234567", "Ýyldyz")
    await chat.press("Ýeňillik paketi")  # the only line it can be: not asked which
    chat.expect("Ýeňillik paketiniň näme öz içine alýandygyny", "0890")
    chat.expect_buttons("Hawa, sargyt beriň", "Ýok")
    await chat.say("ýok")
    chat.expect("Bolýar, hiç hili sargyt bermedim.")
    assert not await orders(app)


async def test_rs_a_suspension_names_the_line_the_period_and_the_day_it_works_again(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await rs_identified(app, "+381652345678")
    await chat.press("Privremeno isključenje ili uključenje")
    await chat.press("2345678/1")
    await chat.press("na 14 dana")
    back_on = datetime.now(app.deps.profile.zone).date() + timedelta(days=14)
    day = app.deps.i18n.get("sr").date(
        datetime.combine(back_on, time(12), tzinfo=app.deps.profile.zone), app.deps.profile.zone
    )
    chat.expect(
        f"Da li da izdam nalog za privremeno isključenje broja 2345678/1 na 14 dana? Neće raditi do {day}, kada "
        "će se sam ponovo uključiti."
    )
    chat.expect_buttons("Da, isključite", "Ne")
    assert not await orders(app)
    await chat.say("ne hvala")
    chat.expect("U redu, nisam izdala nijedan nalog.")
    assert not await orders(app)


async def test_tm_the_favourite_number_is_read_back_and_gerek_dal_declines(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    chat = await tm_identified(app, "+993 65 123456", "Gülälek")
    await chat.press("Söýgüli belgi")  # the only line it can be: not asked which
    await chat.say("+993 65 765432")
    chat.expect("+99365765432 belgini 8100001/1 belginiň söýgüli belgisi edip bellemek üçin sargyt bereýinmi?")
    await chat.say("gerek däl")
    chat.expect("Bolýar, hiç hili sargyt bermedim.")
    assert not await orders(app)
    ids = await account_ids(app)
    await chat.press_payload(f"afavy:{ids['8100001/1']}:not-a-number")  # forged
    assert not await orders(app)


async def test_rs_unblocking_is_asked_and_ne_typed_declines(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    async with app.deps.sessionmaker() as db:
        await db.execute(
            update(Account)
            .where(Account.number == "2345678/1")
            .values(status="disconnected", disconnect_reason="inactivity")
        )
        await db.commit()
    chat = await rs_identified(app, "+381652345678")
    await chat.press("Otključavanje broja")  # the only line it can be: not asked which
    chat.expect("Da li da izdam nalog za otključavanje broja 2345678/1, blokiranog zbog neaktivnosti?")
    chat.expect_buttons("Da, otključajte", "Ne")
    await chat.say("ne")
    chat.expect("U redu, nisam izdala nijedan nalog.")
    assert not await orders(app)


# --- the invoice carries what a payment needs ----------------------------------------------------------------------
def pdf_words(chat: Chat) -> str:
    [document] = documents(chat)
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(document.content)).pages)
    return " ".join(text.split())


async def test_rs_the_invoice_carries_the_payment_details_of_the_profile(make_app: AppFactory, tmp_path: Path) -> None:
    payment = {
        "payee": "Telekom Srbija a.d.",
        "account": "160-0000000000000-00",
        "model": "97",
        "reference": "{customer_code}",
        "purpose": {"sr": "Avansna uplata", "tk": "Öňünden töleg"},
    }
    app = await seeded(make_app, operator_profile(tmp_path, "rs", payment=payment))
    chat = await rs_at_the_invoice_question(app)
    await chat.say("2.500")
    await chat.say("da")
    text = pdf_words(chat)
    for fragment in (
        "Podaci za uplatu",
        "Primalac Telekom Srbija a.d.",
        "Račun primaoca 160-0000000000000-00",
        "Model 97",
        "Poziv na broj 1234567",
        "Svrha uplate Avansna uplata",
        "Iznos 2.500,00 RSD",
        "0800 100 100",
    ):
        assert fragment in text, (fragment, text)
    assert not any("payment is missing" in gap for gap in load_profile(app.settings.bot.profile).gaps())


async def test_tm_the_invoice_carries_every_contact_number_and_the_profile_check_names_the_missing_payment(
    make_app: AppFactory,
) -> None:
    app = await seeded(make_app, "tm")
    chat = await tm_identified(app, "+993 71 667788", "Ýaňy gün")
    await chat.press("Öňünden töleg üçin hasap")  # the only line it can be: not asked which
    await chat.say("25")
    await chat.say("hawa")
    text = pdf_words(chat)
    profile = app.deps.profile
    for phone in (profile.contact_centre, *profile.phones):
        assert phone.number in text, (phone.number, text)
    assert "Töleg üçin maglumatlar" not in text  # nothing to pay with is invented
    assert any(gap.startswith("payment is missing") for gap in profile.gaps())


# --- the debt, bill by bill --------------------------------------------------------------------------------------
async def test_tm_the_debt_breakdown_names_the_unpaid_bill(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    chat = await tm_identified(app, "+993 61 234567", "Ýyldyz")
    await chat.press("Möçber nämelerden ybarat")
    chat.expect(
        "8100002/1 (mobil telefon, nyrhnama Ýeňil): 12,40 TMT",
        "– noýabr 2026 üçin hasap: 12,40 TMT, töleg möhleti 10 dekabr 2026",
    )


async def test_rs_an_account_without_bills_in_the_data_keeps_the_general_rule(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await rs_identified(app, "+381641234567")
    async with app.deps.sessionmaker() as db:
        await db.execute(update(Account).where(Account.number == "1234567/2").values(debt=500))
        await db.commit()
    await chat.press("Od čega se sastoji iznos")
    chat.expect(
        "– faktura za novembar 2026: 1.170,25 RSD, rok plaćanja 15. decembra 2026",
        "1234567/2 (fiksna telefonija, tarifni paket Fiksni Standard): 500,00 RSD",
        "mesečna pretplata tarifnog paketa",  # for the account the data holds no bills of
    )


# --- reconnection on promise ----------------------------------------------------------------------------------
async def test_rs_a_line_off_for_another_reason_is_named_with_it_and_ne_hvala_declines_the_promise(
    make_app: AppFactory,
) -> None:
    app = await seeded(make_app, "rs")
    async with app.deps.sessionmaker() as db:
        await db.execute(
            update(Account)
            .where(Account.number == "1234567/2")
            .values(status="disconnected", disconnect_reason="inactivity")
        )
        await db.commit()
    chat = await rs_identified(app, "+381641234567", entry=("reconnect",))
    chat.expect(
        "• 1234567/2 je isključen jer se nije koristio (blokiran zbog neaktivnosti), pa ne može da se uključi na reč."
    )
    assert [label for label in chat.labels if "1234567/" in label] == [
        next(label for label in chat.labels if "1234567/1" in label)
    ]
    await chat.press("1234567/1")
    chat.expect("Da li želite uključenje na reč?")
    await chat.say("ne hvala")
    chat.expect_not("Izdat je nalog")
    assert not await orders(app)


# --- screens show the orders already placed ------------------------------------------------------------------
async def test_tm_after_a_resume_and_a_favourite_number_every_screen_shows_the_waiting_order(
    make_app: AppFactory,
) -> None:
    app = await seeded(make_app, "tm")
    chat = await tm_identified(app, "+993 61 234567", "Ýyldyz")
    ids = await account_ids(app)
    await chat.press("Wagtlaýyn togtatmak ýa-da işletmek")
    await chat.press("8100002/2")  # suspended: resumed at once (nothing is cut)
    [resume] = await orders(app)
    waiting = f"{resume.number} sargyt (täzeden işletmek) ýerine ýetirilmegine garaşýar"
    await chat.press("Şahsy hasabym")
    chat.expect(f"8100002/2 · mobil telefon · +993 61 •••• 68 · {waiting}")
    chat.expect_not("wagtlaýyn togtadylan")  # not the state it is leaving
    await chat.press("Wagtlaýyn togtatmak ýa-da işletmek")
    assert not any("8100002/2" in label for label in chat.labels)
    await chat.press_payload(f"asusp:{ids['8100002/2']}")  # the old button
    chat.expect(f"{resume.number} sargyt (täzeden işletmek, 8100002/2) eýýäm berildi")
    assert len(await orders(app)) == 1

    await chat.press_payload("account")
    await chat.press("Söýgüli belgi")  # the only line it can be: not asked which
    await chat.say("+993 65 765432")
    await chat.say("hawa")
    favourite = (await orders(app))[-1]
    await chat.press_payload("account")
    chat.expect(f"8100002/1 · mobil telefon · +993 61 •••• 67 · {favourite.number} sargyt (söýgüli belgi)")
    await chat.press("Söýgüli belgi")
    assert not any("8100002/1" in label for label in chat.labels)
    await chat.press_payload(f"afav:{ids['8100002/1']}")
    chat.expect(f"{favourite.number} sargyt (söýgüli belgi, 8100002/1) eýýäm berildi")
    await chat.press_payload(f"afavy:{ids['8100002/1']}:+99365111222")  # an old confirmation of another number
    chat.expect(f"{favourite.number} sargyt (söýgüli belgi, 8100002/1) eýýäm berildi")
    assert len(await orders(app)) == 2


async def test_rs_an_import_that_brings_the_new_state_ends_the_waiting(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await rs_identified(app, "+381646789012")
    await chat.press("Privremeno isključenje ili uključenje")
    await chat.press("6789012/1")
    [resume] = await orders(app)
    await chat.press_payload("account")
    chat.expect(f"nalog {resume.number} (ponovno uključenje) čeka izvršenje")
    async with app.deps.sessionmaker() as db:  # what the next import writes once the line works again
        await db.execute(
            update(Account)
            .where(Account.number == "6789012/1")
            .values(status="active", updated_at=datetime.now(UTC) + timedelta(seconds=1))
        )
        await db.commit()
    await chat.press_payload("account")
    chat.expect("6789012/1 · mobilna telefonija · +381 64 ••• •• 12 · aktivna")
    chat.expect_not(resume.number)
