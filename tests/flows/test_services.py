"""Turning services on and off: the line's services with their state, paged; a confirmation; one order; and the
catalogue's rules (tariff plan, MMS needs GPRS, GPRS is needed by MMS) in both profiles, judged on the line as it
will be once the orders still waiting are carried out; a line that is not active is shown read-only."""

from __future__ import annotations

from sqlalchemy import select, update

from bot.app import App
from bot.core.incoming import Incoming, Kind
from bot.db.models import Account, AccountService, Order, OrderKind, OrderStatus
from handlers.services import PAGE_SIZE
from tests.chat import Chat
from tests.conftest import AppFactory
from tests.helpers import account_ids, identify_by_code_word, identify_by_customer_code, seeded

SR_CODE = "Šifrom korisnika"
SR_STALE = "To dugme pripada ranijem razgovoru i više ne radi."
TK_STALE = "Bu düwme öňki gepleşige degişli we indi işlemeýär."


async def orders(app: App) -> list[Order]:
    async with app.deps.sessionmaker() as db:
        return list((await db.execute(select(Order).order_by(Order.id))).scalars())


async def carry_out(app: App, order: Order) -> None:
    """What the provisioning system and the next import do: the service changed, the order done."""
    async with app.deps.sessionmaker() as db:
        await db.execute(
            update(AccountService)
            .where(AccountService.account_id == order.account_id, AccountService.code == order.payload["service"])
            .values(enabled=order.kind == OrderKind.SERVICE_ON)
        )
        await db.execute(update(Order).where(Order.id == order.id).values(status=OrderStatus.DONE.value))
        await db.commit()


async def refused(chat: Chat, app: App, notice: str, *payloads: str) -> None:
    """Each payload, stale or forged, gets the stale-button notice, and nothing is ordered."""
    for payload in payloads:
        await chat.press_payload(payload)
        chat.expect(notice)
    assert await orders(app) == []


async def order_and_come_back(chat: Chat, app: App, service: str, yes: str, back: str) -> Order:
    """Choose a service in the list, confirm, and go back to the list: the one order placed."""
    await chat.press(service)
    await chat.press(yes)
    [order] = await orders(app)
    await chat.press(back)
    return order


def service_buttons(chat: Chat) -> list[str]:
    return [b.label for b in chat.buttons_shown() if (b.payload or "").startswith("svc:")]


async def serbian_services(app: App, code: str) -> Chat:
    chat = Chat(app.engine)
    await chat.first_contact("Srpski")
    await chat.press("Usluge: uključenje i isključenje")
    await identify_by_customer_code(chat, app, code, method_label=SR_CODE)
    return chat


async def turkmen_services(app: App, phone: str, word: str) -> Chat:
    chat = Chat(app.engine)
    await chat.first_contact("Türkmençe")
    await chat.press("Hyzmatlary birikdirmek we öçürmek")
    await identify_by_code_word(chat, phone, word, method_label="Telefon belgisi we kod sözi")
    return chat


async def test_the_list_is_paged_and_a_service_is_turned_on(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await serbian_services(app, "2345678")  # one line with services: straight to its list
    chat.expect("Usluge za 2345678/1 · mobilna telefonija", "(strana 1 od 2)")
    chat.expect("✅ SMS — uključena", "Slanje i primanje SMS poruka.", "⚪ Preusmeravanje poziva — isključena")
    assert len(service_buttons(chat)) == PAGE_SIZE <= 8
    chat.expect_buttons("Dalje ▶", "Glavni meni")
    await chat.press("Dalje ▶")
    chat.expect("(strana 2 od 2)", "✅ MMS — uključena", "⚪ SMS paketi — isključena")
    assert service_buttons(chat) == ["✅ MMS", "✅ Internet paket", "⚪ SMS paketi"]
    chat.expect_buttons("◀ Prethodne")
    await chat.press("◀ Prethodne")
    chat.expect("(strana 1 od 2)")

    await chat.press("Preusmeravanje poziva")
    chat.expect("Na koji broj da se preusmeravaju pozivi sa 2345678/1? Upišite ga sa pozivnim brojem.")
    await chat.say("moj posao")
    chat.expect("To nije ispravan broj telefona. Upišite ga sa pozivnim brojem.")
    assert await orders(app) == []
    await chat.say("011 3456789")
    chat.expect(
        "Da uključim uslugu Preusmeravanje poziva na 2345678/1, na broj +381113456789?",
        "Pozivi se preusmeravaju na drugi broj.",
    )
    await chat.press("Da, uključi")
    [order] = await orders(app)
    assert order.kind == "service_on" and order.payload == {"service": "forwarding", "number": "+381113456789"}
    chat.expect(f"Gotovo: izdat je nalog za uključenje usluge Preusmeravanje poziva na 2345678/1. Broj naloga: "
                f"{order.number}.")  # fmt: skip

    await chat.press("Nazad na usluge")
    await chat.press("Poziv na čekanju")
    chat.expect("Da isključim uslugu Poziv na čekanju / zadržavanje poziva na 2345678/1?")
    await chat.press("Da, isključi")
    assert [o.kind for o in await orders(app)] == ["service_on", "service_off"]


async def test_gprs_cannot_be_turned_off_while_mms_is_on(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await serbian_services(app, "2345678")
    await chat.press("GPRS")
    chat.expect("Usluge MMS i Internet paket zavise od usluge GPRS (mobilni prenos podataka).", "Prvo isključite MMS")
    assert await orders(app) == []


async def test_mms_needs_gprs(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    petar = (await account_ids(app))["1234567/1"]
    async with app.deps.sessionmaker() as db:
        await db.execute(
            update(AccountService)
            .where(AccountService.account_id == petar, AccountService.code == "gprs")
            .values(enabled=False)
        )
        await db.execute(update(Account).where(Account.id == petar).values(status="active", disconnect_reason=None))
        await db.commit()  # and the line is paid and switched on again
    chat = await serbian_services(app, "1234567")
    chat.expect("Izaberite broj čije usluge želite da vidite:")  # a mobile and a fixed line
    await chat.press("1234567/2")
    assert service_buttons(chat) == ["⚪ Zabrana prikaza broja", "⚪ Preusmeravanje poziva"]  # no GPRS here
    await chat.press_payload(f"svc:{(await account_ids(app))['1234567/2']}:gprs")
    chat.expect("To dugme pripada ranijem razgovoru")
    await chat.press("Usluge: uključenje i isključenje")
    await chat.press("1234567/1")
    await chat.press("Dalje ▶")
    await chat.press("MMS")
    chat.expect("Za uslugu MMS potrebna je usluga GPRS (mobilni prenos podataka). Prvo uključite GPRS")
    chat.expect_buttons("Nazad na usluge")
    # a forged "yes" is checked again
    await chat.press_payload(f"svy:{petar}:mms:1:0")
    chat.expect("Za uslugu MMS potrebna je usluga GPRS")
    assert await orders(app) == []


async def test_a_service_the_tariff_does_not_allow(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await serbian_services(app, "5678901")
    # the five services of this line fit on one page
    assert service_buttons(chat) == ["✅ SMS", "✅ GPRS", "⚪ MMS", "⚪ Internet paket",
                                     "⚪ SMS paketi"]  # fmt: skip
    chat.expect_not("strana", "Dalje")
    await chat.press("Internet paket")
    chat.expect("Usluga Internet paket ne može da se uključi na vašem tarifnom paketu Prepaid Basic.")
    assert await orders(app) == []


async def test_turkmen_double_yes_and_the_same_update_twice_place_one_order(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    chat = await turkmen_services(app, "+993 65 123456", "Gülälek")
    chat.expect("Sag boluň, Aýna!", "Hyzmatlar – 8100001/1 · mobil telefon", "(1/2 sahypa)", "öçürilen")
    await chat.press("Indiki ▶")
    await chat.press("MMS")
    chat.expect("8100001/1 belgide MMS hyzmatyny birikdireýinmi?")
    yes = next(b.payload for b in chat.buttons_shown() if b.label == "Hawa, birikdir")
    await chat.press("Hawa, birikdir")
    [order] = await orders(app)
    chat.expect(f"Taýýar: 8100001/1 belgide MMS hyzmatyny birikdirmek üçin sargyt berildi. Sargydyň belgisi: "
                f"{order.number}.")  # fmt: skip
    await chat.press_payload(yes or "")  # the second tap
    chat.expect(order.number)
    update_ = Incoming(chat.user, Kind.BUTTON, payload=yes or "")
    await app.engine.handle(update_)
    await app.engine.handle(update_)  # delivered twice
    assert [o.number for o in await orders(app)] == [order.number]

    # once it is carried out, a later change of mind is an order of its own
    await carry_out(app, order)
    await chat.press("⬅ Hyzmatlara dolan")
    await chat.press("MMS")
    await chat.press("Hawa, öçür")
    assert len(await orders(app)) == 2


async def test_a_change_waiting_to_be_carried_out_counts_and_is_not_ordered_twice(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    milica = (await account_ids(app))["5678901/1"]
    chat = await serbian_services(app, "5678901")
    await chat.press("MMS")  # asked while GPRS is on, answered after GPRS was ordered off
    chat.expect("Da uključim uslugu MMS na 5678901/1?")
    mms_yes = next(b.payload for b in chat.buttons_shown() if b.label == "Da, uključite")
    await chat.press("Nazad na usluge")
    order = await order_and_come_back(chat, app, "GPRS", "Da, isključi", "Nazad na usluge")
    chat.expect("⏳ GPRS (mobilni prenos podataka) — uključena, isključenje je naručeno")
    chat.expect_not("✅ GPRS")
    assert "⏳ GPRS" in service_buttons(chat)  # the button has the short name, the text the full one
    await chat.press("MMS")
    chat.expect("Za uslugu MMS potrebna je usluga GPRS (mobilni prenos podataka). Prvo uključite GPRS")
    await chat.press_payload(mms_yes or "")
    chat.expect("Za uslugu MMS potrebna je usluga GPRS")

    await chat.press("Nazad na usluge")
    await chat.press("GPRS")
    chat.expect(f"Nalog za isključenje usluge GPRS (mobilni prenos podataka) na 5678901/1 je već izdat i čeka "
                f"izvršenje. Broj naloga: {order.number}.")  # fmt: skip
    chat.expect_not("Da, isključi")
    await chat.press_payload(f"svy:{milica}:gprs:0:1")  # a "yes" of a later question, stale or forged
    chat.expect("je već izdat", order.number)
    assert [o.number for o in await orders(app)] == [order.number]


async def test_turkmen_gprs_cannot_be_ordered_off_while_mms_is_ordered_on(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    chat = await turkmen_services(app, "+993 65 123456", "Gülälek")
    await chat.press("Indiki ▶")
    order = await order_and_come_back(chat, app, "MMS", "Hawa, birikdir", "⬅ Hyzmatlara dolan")
    chat.expect("⏳ MMS — öçürilen, birikdirilmegi sargyt edildi")
    await chat.press("MMS")
    chat.expect(f"8100001/1 belgide MMS hyzmatyny birikdirmek üçin sargyt eýýäm berildi we ýerine ýetirilmegine "
                f"garaşýar. Sargydyň belgisi: {order.number}.")  # fmt: skip
    await chat.press("⬅ Hyzmatlara dolan")
    await chat.press("◀ Öňki")
    await chat.press("GPRS")
    chat.expect("MMS hyzmaty GPRS hyzmatyna bagly. Ilki MMS hyzmatyny öçüriň.")
    assert [o.number for o in await orders(app)] == [order.number]


async def test_a_line_disconnected_for_debt_is_shown_read_only(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    petar = (await account_ids(app))["1234567/1"]
    chat = await serbian_services(app, "1234567")
    await chat.press("1234567/1")
    chat.expect("Usluge za 1234567/1", "⚪ Roming — isključena",
                "Ovaj broj je isključen zbog duga. Usluge ćete moći ponovo da menjate kada broj bude uključen, posle "
                "plaćanja duga.")  # fmt: skip
    chat.expect_not("Izaberite uslugu")
    assert service_buttons(chat) == []
    chat.expect_buttons("Dalje ▶", "Uključenje na reč")
    await chat.press("Dalje ▶")
    chat.expect("(strana 2 od 2)", "Ovaj broj je isključen zbog duga.")
    assert service_buttons(chat) == []
    await refused(chat, app, SR_STALE, f"svc:{petar}:roaming", f"svy:{petar}:roaming:1:0", f"svy:{petar}:sms:0:3")
    await chat.press_payload(f"svl:{petar}:0")
    await chat.press("Uključenje na reč")
    chat.expect("Izaberite račun sa statusom")


async def test_a_suspended_line_is_shown_read_only(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    nikola = (await account_ids(app))["6789012/1"]
    chat = await serbian_services(app, "6789012")  # the other line has no services: straight to this one
    chat.expect("Usluge za 6789012/1", "✅ SMS — uključena",
                "Ovaj broj je privremeno isključen, pa njegove usluge ne mogu da se menjaju. Ponovo ga možete "
                "uključiti u odeljku „Moj račun“.")  # fmt: skip
    assert service_buttons(chat) == []
    await chat.press("⏸ Privremeno isključenje ili uključenje")
    chat.expect("Koju liniju želite privremeno da isključite ili ponovo uključite?")
    await refused(chat, app, SR_STALE, f"svy:{nikola}:sms:0:0")


async def test_turkmen_lines_that_are_not_active_are_shown_read_only(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    ids = await account_ids(app)
    async with app.deps.sessionmaker() as db:
        await db.execute(
            update(Account)
            .where(Account.id == ids["8100002/1"])
            .values(status="disconnected", disconnect_reason="debt")
        )
        await db.commit()
    chat = await turkmen_services(app, "+993 61 234567", "Ýyldyz")
    await chat.press("8100002/2")
    chat.expect("Hyzmatlar – 8100002/2", "Bu belgi wagtlaýyn togtadyldy, şonuň üçin onuň hyzmatlaryny üýtgedip "
                "bolmaýar. Ony „Şahsy hasabym“ bölüminde täzeden işledip bilersiňiz.")  # fmt: skip
    assert service_buttons(chat) == []
    chat.expect_buttons("⏸ Wagtlaýyn togtatmak ýa-da işletmek", "Indiki ▶")
    await refused(chat, app, TK_STALE, f"svc:{ids['8100002/2']}:sms")

    await chat.press("Hyzmatlary birikdirmek we öçürmek")
    await chat.press("8100002/1")
    chat.expect("Bu belgi bergi sebäpli öçürildi. Bergi tölenip, belgi täzeden birikdirilenden soň, onuň "
                "hyzmatlaryny ýene üýtgedip bilersiňiz.")  # fmt: skip
    assert service_buttons(chat) == []
    chat.expect_not("Söz berip")  # not offered in Turkmenistan
    await refused(chat, app, TK_STALE, f"svy:{ids['8100002/1']}:roaming:0:0")


async def test_serbian_cyrillic_in_turkmenistan(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    chat = Chat(app.engine)
    await chat.first_contact("Српски")
    await chat.press("Услуге")
    await identify_by_code_word(chat, "+993 65 123456", "Gülälek", method_label="Број телефона и кодна реч")
    chat.expect("Услуге за 8100001/1", "✅ SMS — укључена", "(страна 1 од 2)")


async def test_a_forged_payload_naming_another_subscribers_line(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await serbian_services(app, "2345678")
    petar = (await account_ids(app))["1234567/1"]
    for payload in (f"svl:{petar}:0", f"svc:{petar}:sms", f"svy:{petar}:sms:0:0", "svy:1:2", "svc:x:sms"):
        await chat.press_payload(payload)
        chat.expect("To dugme pripada ranijem razgovoru i više ne radi.")
        chat.expect_not("1234567")
    assert await orders(app) == []


async def test_tm_call_forwarding_carries_the_number_and_a_forged_one_is_refused(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    chat = await turkmen_services(app, "+993 65 123456", "Gülälek")
    await chat.press("Täzeçe salgylamak")
    chat.expect("8100001/1 belgisine gelýän jaňlar haýsy belgä geçirilsin? Belgini kody bilen ýazyň.")
    await chat.say("+993 12 345678")
    chat.expect(
        "8100001/1 belgide Täzeçe salgylamak (başga salga ibermek) hyzmatyny +99312345678 belgä birikdireýinmi?"
    )
    yes = next(b.payload for b in chat.buttons_shown() if b.label == "Hawa, birikdir")
    assert yes is not None
    for forged in (yes.rsplit(":", 1)[0], yes.rsplit(":", 1)[0] + ":not-a-number"):
        await chat.press_payload(forged)
        assert await orders(app) == []
    await chat.press_payload(yes)
    [order] = await orders(app)
    assert order.payload == {"service": "forwarding", "number": "+99312345678"}


async def switch(app: App, number: str, **states: bool) -> None:
    """The line's services as the billing system has them, e.g. `switch(app, "2345678/1", internet_pkg=False)`."""
    line = (await account_ids(app))[number]
    async with app.deps.sessionmaker() as db:
        for code, enabled in states.items():
            done = await db.execute(
                update(AccountService)
                .where(AccountService.account_id == line, AccountService.code == code)
                .values(enabled=enabled)
            )
            assert done.rowcount == 1, (number, code)  # type: ignore[attr-defined]
        await db.commit()


async def test_one_service_depends_two_services_depend_in_both_languages(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    await switch(app, "2345678/1", gprs=True, mms=True, internet_pkg=True)
    chat = await serbian_services(app, "2345678")
    await chat.press("GPRS")
    chat.expect("Usluge MMS i Internet paket zavise od usluge GPRS (mobilni prenos podataka). "
                "Prvo isključite MMS i Internet paket.")  # fmt: skip
    await switch(app, "2345678/1", internet_pkg=False)
    await chat.press("Nazad na usluge")
    await chat.press("GPRS")
    chat.expect("Usluga MMS zavisi od usluge GPRS (mobilni prenos podataka). Prvo isključite MMS.")
    assert await orders(app) == []

    app = await seeded(make_app, "tm")
    await switch(app, "8100001/1", gprs=True, mms=True, internet_pkg=True)
    chat = await turkmen_services(app, "+993 65 123456", "Gülälek")
    await chat.press("GPRS")
    chat.expect("MMS we Internet-bukja hyzmatlary GPRS hyzmatyna bagly. Ilki MMS we Internet-bukja hyzmatlaryny "
                "öçüriň.")  # fmt: skip
    await switch(app, "8100001/1", internet_pkg=False)
    await chat.press("Hyzmatlara dolan")
    await chat.press("GPRS")
    chat.expect("MMS hyzmaty GPRS hyzmatyna bagly. Ilki MMS hyzmatyny öçüriň.")
    assert await orders(app) == []
