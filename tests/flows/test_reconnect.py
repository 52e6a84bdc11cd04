"""Reconnection on promise, as the operator's instructions describe it: identify, choose the disconnected account, the
debt and how to pay, "DA", and "izdat je nalog za uključenje usluga" — with every rule that can stop it, and exactly one
order however often "DA" arrives."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from sqlalchemy import func, select, update

from bot.app import App
from bot.config import ProvisioningSettings
from bot.core.incoming import Incoming, Kind
from bot.db.models import AuditEntry, Order, OutboxMessage
from bot.profiles import Policies
from bot.services.outbox import OutboxWorker
from tests.chat import Chat
from tests.conftest import AppFactory
from tests.data.test_outbox import SECRET, Receiver, receiver  # noqa: F401 - the receiver fixture
from tests.helpers import account_ids, age_identification, identify_by_customer_code, seeded, sms_code

SR_CODE = "Šifrom korisnika"


async def orders(app: App) -> list[Order]:
    async with app.deps.sessionmaker() as db:
        return list((await db.execute(select(Order).order_by(Order.id))).scalars())


def local_date(app: App, order: Order, lang: str = "sr") -> str:
    return app.deps.i18n.get(lang).date(order.due_at, app.deps.profile.zone)  # type: ignore[arg-type]


async def to_the_question(app: App, chat: Chat, code: str = "1234567", account: str = "1234567/1") -> None:
    """Menu → Uključenje na reč → identification → choose the account: the DA/NE question is shown."""
    await chat.first_contact("Srpski")
    await chat.press("Uključenje na reč")
    await identify_by_customer_code(chat, app, code, method_label=SR_CODE)
    await chat.press(account)
    chat.expect("Da li želite uključenje na reč?")


async def test_reconnect_on_promise_in_serbian(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = Chat(app.engine)
    await chat.first_contact("Srpski")
    await chat.press("Uključenje na reč")
    chat.expect("Da bismo nastavili, treba da znam ko ste.")
    await identify_by_customer_code(chat, app, "1234567", method_label=SR_CODE)
    chat.expect("Hvala! Identifikovani ste kao Petar.")
    chat.expect("Izaberite račun sa statusom „isključena“:")
    chat.expect("1234567/1 · mobilna telefonija · +381 64 ••• •• 67 · isključena", "1234567/2 · fiksna telefonija")
    # only the disconnected account can be chosen
    assert [label for label in chat.labels if "1234567/" in label] == [
        "1234567/1 · mobilna telefonija · +381 64 ••• •• 67 · isključena"
    ]

    chat.expect_buttons("📞 Preko telefona")
    await chat.press("1234567/1")
    chat.expect("Usluge na ovom računu: SMS, Poziv na čekanju / zadržavanje poziva, GPRS (mobilni prenos podataka)")
    chat.expect("Dug: 2.340,50 RSD", "Način uplate:", "5 dana", "usluge će ponovo biti isključene")
    chat.expect("Da li želite uključenje na reč?")
    assert chat.labels == ["DA", "NE"]

    await chat.press("DA")
    [order] = await orders(app)
    assert order.kind == "reconnect_on_promise" and order.account_number == "1234567/1"
    assert order.due_at is not None and 4 <= (order.due_at - order.created_at).days <= 5
    chat.expect(
        "Izdat je nalog za uključenje usluga (račun 1234567/1).",
        f"Broj naloga: {order.number}.",
        f"Molimo vas da dug platite najkasnije do {local_date(app, order)}, kako usluge ne bi ponovo bile isključene.",
    )
    async with app.deps.sessionmaker() as db:
        audit = (await db.execute(select(AuditEntry).where(AuditEntry.action == "order"))).scalar_one()
        assert audit.order_id == order.id and audit.detail == {"kind": "reconnect_on_promise"}
        assert (await db.execute(select(OutboxMessage.idempotency_key))).scalar_one() == order.idempotency_key

    # while the order waits, the line shows it and is not offered again; its old button answers with the order
    await chat.say("uključi me")
    chat.expect(f"1234567/1 · mobilna telefonija · +381 64 ••• •• 67 · nalog {order.number} (uključenje na reč) "
                "čeka izvršenje")  # fmt: skip
    assert not any("1234567/1" in label for label in chat.labels)
    await chat.press_payload(f"rcacc:{order.account_id}")
    chat.expect(f"Nalog {order.number} (uključenje na reč, 1234567/1) je već izdat i čeka izvršenje.")
    # carried out: a second promise in the same period is refused, with the day it is possible again
    async with app.deps.sessionmaker() as db:
        await db.execute(update(Order).where(Order.id == order.id).values(status="done"))
        await db.commit()
    await chat.say("uključi me")
    await chat.press("1234567/1")
    chat.expect("Uključenje na reč za račun 1234567/1 već je dato u poslednjih 30 dana.", "Sledeće je moguće od")
    chat.expect_buttons("Glavni meni")
    assert len(await orders(app)) == 1


async def test_in_cyrillic_typed_without_diacritics_for_a_box_package(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = Chat(app.engine)
    await chat.first_contact("Српски")
    await chat.say("ukljucenje na rec")
    await identify_by_customer_code(chat, app, "3456789", method_label="Шифром корисника")
    chat.expect("Изаберите рачун са статусом „искључена“:")
    chat.expect("3456789/1 · BOX пакет", "3456789/2 · интернет", "3456789/3 · телевизија")
    await chat.press("3456789/2")
    chat.expect("Дуг: 1.890,00 RSD", "5 дана")
    await chat.press("ДА")
    [order] = await orders(app)
    chat.expect("Издат је налог за укључење услуга (рачун 3456789/2).", order.number)


async def test_in_turkmen_no_issues_no_order(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = Chat(app.engine)
    await chat.first_contact("Türkmençe")
    await chat.press("Söz berip birikdirmek")
    await identify_by_customer_code(chat, app, "1234567", method_label="Müşderi kody bilen")
    chat.expect("„Öçürilen“ ýagdaýyndaky hasaby saýlaň:")
    await chat.press("1234567/1")
    chat.expect("Bergi: 2 340,50 RSD", "Töleg usuly:", "Söz berip birikdirmegi isleýärsiňizmi?")
    assert chat.labels == ["HAWA", "ÝOK"]
    await chat.press("ÝOK")
    chat.expect("Bolýar, hiç hili sargyt bermedim.")
    assert await orders(app) == []


async def test_the_same_by_phone(make_app: AppFactory) -> None:
    """The operator's voice menu, for mobile and for fixed services, for those who prefer to call."""
    app = await seeded(make_app, "rs")
    chat = Chat(app.engine)
    await chat.first_contact("Srpski")
    await chat.press("Uključenje na reč")
    await identify_by_customer_code(chat, app, "3456789", method_label=SR_CODE)
    await chat.press("Preko telefona")
    chat.expect("Uključenje usluga mobilne telefonije", "Odaberite opciju 2 – za Mobilne usluge")
    chat.expect("Uključenje usluga fiksne telefonije", "BOX pakete", "Automat će Vam potvrditi da je izdat nalog")
    chat.expect_buttons("Glavni meni")


async def test_no_disconnected_account(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = Chat(app.engine)
    await chat.first_contact("Srpski")
    await chat.press("Uključenje na reč")
    await identify_by_customer_code(chat, app, "2345678", method_label=SR_CODE)
    chat.expect("Nijedna vaša usluga nije isključena, pa nema šta da se uključi na reč.", "2345678/1")
    chat.expect("Kako mogu da vam pomognem?")  # and the menu


async def test_not_disconnected_for_debt(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = Chat(app.engine)
    await chat.first_contact("Srpski")
    await chat.press("Uključenje na reč")
    await identify_by_customer_code(chat, app, "6789012", method_label=SR_CODE)
    # Named with its reason, not offered as a button that can only say no.
    chat.expect(
        "Nijedna vaša linija nije isključena zbog duga, pa nema šta da se uključi na reč.",
        "• 6789012/2 je isključen na vaš zahtev, pa ne može da se uključi na reč.",
        "Kako da se ponovo uključi, reći ćemo vam telefonom. Možete nas pozvati:",
        "0800 100 100",
    )
    assert not any("6789012/2" in label for label in chat.labels)
    await chat.press_payload(f"rcacc:{(await account_ids(app))['6789012/2']}")  # an old or forged button
    chat.expect("Račun 6789012/2 nije isključen zbog duga, pa ne može da se uključi na reč.", "0800 100 100")
    # a forged "DA" for it gets the same answer, and no order
    await chat.press_payload(f"rcyes:{(await account_ids(app))['6789012/2']}")
    chat.expect("nije isključen zbog duga")
    assert await orders(app) == []


async def test_debt_over_the_limit(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    profile = app.deps.profile
    app.deps.profile = profile.model_copy(
        update={"policies": Policies(promise_days=5, promise_period_days=30, max_promise_debt=Decimal("2000"))}
    )
    chat = Chat(app.engine)
    await chat.first_contact("Srpski")
    await chat.press("Uključenje na reč")
    await identify_by_customer_code(chat, app, "1234567", method_label=SR_CODE)
    await chat.press("1234567/1")
    chat.expect(
        "Dug na računu 1234567/1 iznosi 2.340,50 RSD, a uključenje na reč moguće je samo za dug do 2.000,00 RSD. "
        "Usluge se uključuju posle uplate."
    )
    assert await orders(app) == []


async def test_double_yes_places_one_order(make_app: AppFactory, database_url: str) -> None:
    app = await seeded(make_app, "rs", database_url=database_url)
    chat = Chat(app.engine)
    await to_the_question(app, chat)
    yes = next(b.payload for b in chat.buttons_shown() if b.label == "DA")
    await chat.press("DA")
    first = chat.text
    await chat.press_payload(yes or "")  # the second tap on the same button
    [order] = await orders(app)
    assert order.number in first and order.number in chat.text
    chat.expect("Izdat je nalog za uključenje usluga")


async def test_the_same_update_twice_places_one_order(make_app: AppFactory, database_url: str) -> None:
    """The adapters drop a re-delivered update by its id; even if one got through, the engine places one order."""
    app = await seeded(make_app, "rs", database_url=database_url)
    chat = Chat(app.engine)
    await to_the_question(app, chat)
    yes = next(b.payload for b in chat.buttons_shown() if b.label == "DA")
    update = Incoming(chat.user, Kind.BUTTON, payload=yes or "")
    first, second = await asyncio.gather(app.engine.handle(update), app.engine.handle(update))
    [order] = await orders(app)
    for replies in (first, second):
        assert any(order.number in getattr(r, "text", "") for r in replies), replies
    async with app.deps.sessionmaker() as db:
        assert await db.scalar(select(func.count(OutboxMessage.id))) == 1


async def test_a_forged_payload_naming_another_subscribers_account(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = Chat(app.engine)
    await to_the_question(app, chat)
    marko = (await account_ids(app))["3456789/1"]
    for payload in (f"rcacc:{marko}", f"rcyes:{marko}", "rcyes:x", "rcyes:999999"):
        await chat.press_payload(payload)
        chat.expect("To dugme pripada ranijem razgovoru i više ne radi.")
        chat.expect_not("3456789")
    assert await orders(app) == []


async def test_step_up_before_the_order(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = Chat(app.engine)
    await to_the_question(app, chat)
    await age_identification(app, chat, 11 * 60)  # the question was left open for eleven minutes
    await chat.press("DA")
    chat.expect("Za ovo moram još jednom da proverim da ste to vi.", "Poslala sam jednokratni kod SMS porukom na")
    assert await orders(app) == []
    await chat.say(await sms_code(app))  # sent at once to the number on file: no method, no number again
    [order] = await orders(app)
    chat.expect("Identifikovani ste kao Petar.", "Izdat je nalog za uključenje usluga", order.number)


async def test_not_offered_in_turkmenistan(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    chat = Chat(app.engine)
    await chat.first_contact("Türkmençe")
    assert not any("Söz berip birikdirmek" in label for label in chat.labels)
    await chat.say("ukljucenje na rec")  # what is off and why, for whoever this is: no promise offered
    chat.expect("Siziň kimdigiňizi bilmeli")
    await chat.press("✖ Ýatyr")
    chat.expect_buttons("Hyzmatlary birikdirmek we öçürmek")

    # a forged button of the flow orders nothing there either
    gulsat = (await account_ids(app))["8100003/1"]  # disconnected for debt
    for payload in (f"rcacc:{gulsat}", f"rcyes:{gulsat}"):
        await chat.press_payload(payload)
        chat.expect("Bu düwme öňki gepleşige degişli we indi işlemeýär.")
    assert await orders(app) == []

    serbian = Chat(app.engine)
    await serbian.first_contact("Srpski")
    await serbian.say("uključi me")
    serbian.expect("treba da znam ko ste")
    serbian.expect_not("uključenje na reč")


# --- the order reaches the provisioning system, once ---------------------------------------------------------------
async def test_the_order_reaches_the_provisioning_system_once(
    make_app: AppFactory,
    database_url: str,
    receiver: Receiver,  # noqa: F811 - the provisioning receiver fixture of the outbox tests
) -> None:
    app = await seeded(make_app, "rs", database_url=database_url)
    chat = Chat(app.engine)
    await to_the_question(app, chat)
    await chat.press("DA")
    settings = ProvisioningSettings(url=receiver.url, secret=SECRET, backoff_seconds=0.05)
    worker = OutboxWorker(app.deps.sessionmaker, settings)
    try:
        for _ in range(3):
            await worker.run_once()
    finally:
        await worker.close()
    [order] = await orders(app)
    assert len(receiver.posts) == 1
    post = receiver.posts[0]
    assert post["signed"] and post["key"] == order.idempotency_key
    body = post["body"]
    assert body["order"]["kind"] == "reconnect_on_promise"  # type: ignore[index]
    assert body["order"]["number"] == order.number and body["account"]["number"] == "1234567/1"  # type: ignore[index]
    assert order.status == "sent"
