"""Money typed in the chat and orders that cost money or cut a service: each amount read exactly as meant and read
back before anything is made, each such order said in full before it is placed, and "no" always a way out."""

from __future__ import annotations

import re

from sqlalchemy import select

from bot.app import App
from bot.core.replies import Document
from bot.db.models import Order
from tests.chat import Chat
from tests.conftest import AppFactory
from tests.helpers import rs_identified, seeded, tm_identified


async def orders(app: App) -> list[Order]:
    async with app.deps.sessionmaker() as db:
        return list((await db.execute(select(Order).order_by(Order.id))).scalars())


def documents(chat: Chat) -> list[Document]:
    return [r for r in chat.replies if isinstance(r, Document)]


async def rs_at_the_invoice_question(app: App) -> Chat:
    chat = await rs_identified(app, "+381641234567")
    await chat.press("Račun za avansno plaćanje")
    await chat.press("1234567/1")
    chat.expect("Koliko želite da uplatite unapred za 1234567/1?")
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
    chat.expect("Da li da izdam račun za avansno plaćanje za 1234567/1 na iznos od 2.340,50 RSD?")
    chat.expect_buttons("Da, izdajte račun", "Ne")
    assert not documents(chat) and not await orders(app)
    await chat.say("ne hvala")
    chat.expect("U redu, račun nisam izdala.")
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
    [yes] = [b for b in chat.buttons_shown() if b.label == "Da, izdajte račun"]
    assert yes.payload is not None
    account_id = yes.payload.split(":")[1]
    for forged in (f"ainvy:{account_id}:-100", f"ainvy:{account_id}:1e3", f"ainvy:{account_id}:99999999"):
        await chat.press_payload(forged)
        assert not documents(chat)
    assert not await orders(app)


async def test_tm_a_negative_amount_is_refused_and_no_means_no(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    chat = await tm_identified(app, "+993 71 667788", "Ýaňy gün")
    await chat.press("Öňünden töleg üçin hasap")
    await chat.press("8100006/1")
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
    await chat.press("Öňünden töleg üçin hasap")
    await chat.press("8100006/1")
    await chat.say("12,4 TMT")
    await chat.say("Hawa")
    [order] = await orders(app)
    assert order.payload == {"amount": "12.40"}
    assert re.search(r"12,40 TMT", chat.text), chat.text
