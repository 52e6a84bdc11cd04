"""Typing instead of pressing: the words of one button pick it, and a reply the bot can't use keeps the user where
they were, with the same options, instead of throwing them back to the main menu."""

from __future__ import annotations

from sqlalchemy import select

from bot.app import App
from bot.db.models import ChannelUser, Order
from tests.chat import Chat
from tests.conftest import AppFactory
from tests.helpers import (
    identify_by_code_word,
    identify_by_customer_code,
    new_chat,
    rs_identified,
    seeded,
    sms_code,
    tm_identified,
)


async def orders(app: App) -> list[Order]:
    async with app.deps.sessionmaker() as db:
        return list((await db.execute(select(Order).order_by(Order.id))).scalars())


async def consent_of(app: App, chat: Chat) -> bool | None:
    async with app.deps.sessionmaker() as db:
        user = (
            await db.execute(select(ChannelUser).where(ChannelUser.external_id == chat.user.external_id))
        ).scalar_one()
        return user.marketing_consent


async def test_rs_da_confirms_and_a_word_the_bot_cannot_use_keeps_the_question(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await new_chat(app, "Srpski", "Usluge: uključenje i isključenje")
    await identify_by_customer_code(chat, app, "2345678", method_label="Šifrom korisnika")
    await chat.say("Dalje")  # the words of the "Dalje ▶" button
    chat.expect("(strana 2 od 2)")
    await chat.say("8")  # there is no eighth button on this page
    chat.expect("Nisam razumela.")
    chat.expect_buttons("✅ MMS", "◀ Prethodne", "Glavni meni")  # the same page's options, not the main menu
    await chat.say("")
    chat.expect("Poruka je prazna.")
    chat.expect_buttons("✅ MMS", "◀ Prethodne")
    await chat.say("prethodne")
    chat.expect("(strana 1 od 2)")

    await chat.say("preusmeravanje poziva")
    await chat.say("064 111 2233")  # where the calls go
    chat.expect("Da uključim uslugu Preusmeravanje poziva na 2345678/1, na broj +381641112233?")
    await chat.say("hmm")
    chat.expect("Nisam razumela.")
    chat.expect_buttons("Da, uključi")
    await chat.say("da")
    [order] = await orders(app)
    assert order.kind == "service_on" and order.payload == {"service": "forwarding", "number": "+381641112233"}
    chat.expect("Gotovo: izdat je nalog za uključenje usluge Preusmeravanje poziva na 2345678/1.")


async def test_tm_hawa_confirms(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    chat = await new_chat(app, "Türkmençe", "Hyzmatlary birikdirmek we öçürmek")
    await identify_by_code_word(chat, "+993 65 123456", "Gülälek", method_label="Telefon belgisi we kod sözi")
    await chat.say("indiki")
    await chat.say("mms")
    chat.expect("8100001/1 belgide MMS hyzmatyny birikdireýinmi?")
    await chat.say("hawa")
    [order] = await orders(app)
    assert order.kind == "service_on" and order.payload == {"service": "mms"}
    chat.expect("Taýýar: 8100001/1 belgide MMS hyzmatyny birikdirmek üçin sargyt berildi.")


async def test_the_news_question_is_answered_with_ne_or_yok(make_app: AppFactory) -> None:
    app = await make_app("rs")
    milan = Chat(app.engine)
    await milan.start()
    await milan.press("Srpski")
    await milan.say("ne")
    milan.expect("Kako mogu da vam pomognem?")
    assert await consent_of(app, milan) is False

    aylar = Chat(app.engine)
    await aylar.start()
    await aylar.press("Türkmençe")
    await aylar.say("ýok")
    assert await consent_of(app, aylar) is False
    await aylar.say("/news")
    await aylar.say("hawa")
    assert await consent_of(app, aylar) is True


async def test_rs_a_period_typed_in_words(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await rs_identified(app, "+381652345678")
    await chat.press("Privremeno isključenje ili uključenje")
    await chat.press("2345678/1")
    await chat.say("7 dana")
    chat.expect("Da li da izdam nalog za privremeno isključenje broja 2345678/1 na 7 dana?")
    await chat.say("može")
    chat.expect("Izdala sam nalog za privremeno isključenje broja 2345678/1. Ponovo će se uključiti ")
    [order] = await orders(app)
    assert order.kind == "suspend"


async def test_odjava_typed_anywhere_logs_out(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await rs_identified(app, "+381652345678")
    await chat.press("Privremeno isključenje ili uključenje")  # a screen without a "log out" button
    await chat.say("odjava")
    chat.expect("Odjavljeni ste.")
    await chat.say("moj račun")
    chat.expect("Kako želite da se identifikujete?")


async def test_the_number_shared_at_the_method_question_identifies(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await new_chat(app, "Srpski", "Moj račun")
    chat.expect("Kako želite da se identifikujete?")
    await chat.share_phone("+381652345678", own=True)  # the messenger's share button instead of a method
    chat.expect("2345678/1")


async def test_the_language_list_keeps_its_order_after_a_change(make_app: AppFactory) -> None:
    app = await make_app("rs")
    chat = await new_chat(app, "Srpski")
    await chat.say("jezik")
    await chat.say("2")
    chat.expect("Језик је промењен")
    await chat.say("jezik")
    assert chat.labels[:2] == ["Srpski (latinica)", "✓ Српски (ћирилица)"]
    await chat.say("1")  # still the Latin script
    chat.expect("Jezik je promenjen")


async def test_rs_words_at_the_code_question_cost_no_try_and_the_method_words_choose(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await new_chat(app, "Srpski", "Moj račun")
    await chat.say("abrakadabra")
    chat.expect("Nisam razumela.", "Kako želite da se identifikujete?")
    await chat.say("sifra korisnika")  # the words of "Šifrom korisnika", another ending, no diacritics
    chat.expect("Upišite šifru korisnika")
    await chat.say("2345678")
    code = await sms_code(app)
    for words in ("halo", "ne znam", "R-12345678", "hvala"):  # four messages, more than the three tries
        await chat.say(words)
        chat.expect("Kod iz SMS poruke ima 6 cifara. Upišite samo cifre.")
    await chat.say(code)
    chat.expect("2345678/1")


async def test_rs_broj_telefona_at_the_method_question_is_not_the_contacts_page(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await new_chat(app, "Srpski", "Moj račun")
    await chat.say("broj telefona")
    chat.expect("Podelite svoj broj dugmetom ispod")


async def test_a_word_two_buttons_share_picks_neither(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await new_chat(app, "Srpski", "Usluge: uključenje i isključenje")
    await identify_by_customer_code(chat, app, "2345678", method_label="Šifrom korisnika")
    await chat.say("dalje")
    await chat.say("paket")  # "Internet paket" and "SMS paketi"
    chat.expect("Nisam razumela.")
    assert await orders(app) == []
    await chat.say("sms paketi")
    chat.expect("Da uključim uslugu SMS paketi na 2345678/1?")


async def test_tm_a_period_typed_in_words(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    chat = await tm_identified(app, "+993 65 123456", "Gülälek")
    await chat.press("Wagtlaýyn togtatmak ýa-da işletmek")  # her only line: not asked which
    await chat.say("14 gün")  # the words of "14 günlük"
    await chat.say("bolýar")
    chat.expect("8100001/1 belgini wagtlaýyn togtatmak üçin sargyt berdim.")
