"""Whole conversations on Viber, read like the chat: the user taps what the bot showed, the bot answers."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from bot.core.incoming import Kind
from bot.core.replies import Button, Document
from bot.core.router import Router
from bot.core.turn import Turn
from bot.db.models import Order
from bot.services.demo import seed_demo
from handlers import build_router
from tests.viber.conftest import ViberFactory, turkmen_service_list


async def test_a_conversation_in_serbian(make_viber: ViberFactory) -> None:
    viber = await make_viber("rs")
    ana = viber.user(language="sr")

    assert await ana.open() == 200
    ana.expect("Zdravo! Ja sam Mila", "Izaberite jezik")
    assert ana.labels()[0] == "✓ Srpski (latinica)"  # pre-selected from the Viber app's language

    assert await ana.press("Srpski (latinica)") == 200
    ana.expect("Želite li da ovde dobijate novosti o tarifama i ponudama?")  # greeted already, in Serbian
    assert await ana.press("Ne, hvala") == 200
    ana.expect("Razumem: bez novosti", "Kako mogu da vam pomognem?")
    ana.expect_buttons("Uključenje na reč", "🌐 Jezik", "❓ Pomoć")
    assert [m.get("keyboard") is not None for m in ana.replies] == [False, True]  # keyboard on the last message

    assert await ana.press("Uključenje na reč") == 200
    ana.expect("Da bismo nastavili, treba da znam ko ste.")
    assert await ana.press("Odustani") == 200
    ana.expect("Identifikacija je prekinuta.", "Kako mogu da vam pomognem?")

    assert await ana.press("❓ Pomoć") == 200
    ana.expect("uključenje na reč", "/menu")
    assert await ana.press("⬅") == 200
    ana.expect("Kako mogu da vam pomognem?")

    # Typing what a button says, or its number, works as on every channel; typing a payload does not press it.
    assert await ana.say("pomoć") == 200
    ana.expect("/menu")
    assert await ana.say("lang:tk") == 200
    ana.expect("Nisam razumela")
    assert "Salam" not in ana.text
    assert all(m["sender"]["name"] == "mts Srbija · Mila asistent" for m in viber.api.messages(ana.id))


async def test_opening_the_chat_again_greets_with_the_menu_in_one_message(make_viber: ViberFactory) -> None:
    viber = await make_viber("rs")
    ana = viber.user(language="sr")
    await ana.open()
    await ana.press("Srpski (latinica)")
    await ana.press("Ne, hvala")  # no tariff news
    assert await ana.open(subscribed=True) == 200
    assert ana.welcome is not None and "receiver" not in ana.welcome
    assert "Zdravo! Ja sam Mila" in ana.welcome["text"] and "Kako mogu da vam pomognem?" in ana.welcome["text"]
    ana.expect_buttons("Uključenje na reč", "❓ Pomoć")


async def test_the_service_list_in_turkmen(make_viber: ViberFactory) -> None:
    viber = await make_viber("tm")
    aman = viber.user(language="tk")

    await aman.open()
    aman.expect("Salam! Men Mila", "Dili saýlaň.")
    assert aman.labels()[0] == "✓ Türkmençe"
    await aman.press("Türkmençe")
    await aman.press("Ýok, sag boluň")  # no tariff news
    aman.expect("Size nähili kömek edip bilerin?")
    await aman.press("❓ Gollanma")
    aman.expect("Hyzmatlary birikdirmek we öçürmek")
    await aman.press("⬅")
    aman.expect("Size nähili kömek edip bilerin?")
    aman.expect_buttons("🌐 Dil")
    await aman.say("menýu")
    aman.expect("Size nähili kömek edip bilerin?")


async def test_stickers_pictures_and_locations_get_a_short_answer_and_the_menu(make_viber: ViberFactory) -> None:
    viber = await make_viber("rs")
    user = viber.user()
    await user.open()
    await user.press("Srpski")
    await user.press("Ne, hvala")  # no tariff news
    for action in (user.send_sticker, user.send_picture, user.send_location):
        assert await action() == 200
        user.expect("Kako mogu da vam pomognem?")
        assert user.keyboard()
    callback = user.message_callback({"type": "carousel content", "rich_media": {}})  # newer than the SDK
    assert (await user.post(callback))[0] == 200
    user.expect("Kako mogu da vam pomognem?")


def _phone_router(seen: list[tuple[Kind, str | None, bool]]) -> Router:
    """The real flows plus a step that asks for the phone number with the share-phone button."""
    router = build_router()
    probe = Router()

    @probe.payload("askphone")
    async def ask(turn: Turn) -> None:
        turn.goto("phone")
        turn.say("Pošaljite svoj broj.", [[Button("Odustani", "menu")]], share_phone="📱 Pošalji moj broj")

    @probe.payload("typephone")
    async def ask_typed(turn: Turn) -> None:
        turn.goto("phone")
        turn.say("Napišite broj.", [[Button("Odustani", "menu")]])

    @probe.state("phone", accepts=(Kind.CONTACT, Kind.TEXT))
    async def got(turn: Turn) -> None:
        seen.append((turn.incoming.kind, turn.incoming.phone, turn.incoming.phone_is_own))
        turn.finish()
        turn.say("Hvala.", [[Button("⬅ Meni", "menu")]])

    @probe.payload("long")
    async def long(turn: Turn) -> None:
        turn.say("\n".join(f"Stavka {n}: " + "opis usluge " * 10 for n in range(150)), [[Button("⬅ Meni", "menu")]])

    @probe.payload("doc")
    async def doc(turn: Turn) -> None:
        turn.send(Document("racun.pdf", b"%PDF-1.4 ...", caption="Vaš račun za oktobar."))

    router.include(probe)
    return router


async def test_a_shared_number_is_given_in_e164_and_never_as_proof(make_viber: ViberFactory) -> None:
    """Viber's share-phone reply and a contact card from the address book are the same message: neither proves whose
    number it is, so the flows never see a Viber number as the user's own."""
    seen: list[tuple[Kind, str | None, bool]] = []
    viber = await make_viber("rs", router=_phone_router(seen))
    user = viber.user()
    await user.open()
    await user.press("Srpski")
    await user.press("Ne, hvala")  # no tariff news

    await user.say("\u2063mila\u2063askphone")
    share = user.keyboard()[0]
    assert share["ActionType"] == "share-phone" and user.replies[-1]["min_api_version"] == 3
    assert await user.share_phone("381641234567") == 200  # Viber sends the number without the +
    assert seen == [(Kind.CONTACT, "+381641234567", False)]
    user.expect("Hvala.")

    # A contact card picked from the address book right at the share-phone prompt: not proof either.
    await user.say("\u2063mila\u2063askphone")
    await user.send_contact_card("+381 64 765 4321")
    assert seen[-1] == (Kind.CONTACT, "+381647654321", False)

    # Nor when no share-phone button was shown.
    await user.say("\u2063mila\u2063typephone")
    await user.send_contact_card("+381 64 765 4321")
    assert seen[-1] == (Kind.CONTACT, "+381647654321", False)

    # And a contact nobody asked for gets a polite answer and the menu.
    await user.send_contact_card("064 765 4321")
    user.expect("Hvala, ali broj telefona mi trenutno nije potreban.", "Kako mogu da vam pomognem?")


async def test_long_replies_are_split_at_7000_characters(make_viber: ViberFactory) -> None:
    viber = await make_viber("rs", router=_phone_router([]))
    user = viber.user()
    await user.open()
    await user.press("Srpski")
    await user.press("Ne, hvala")  # no tariff news
    await user.say("\u2063mila\u2063long")
    assert len(user.replies) >= 2
    assert all(len(m["text"]) <= 7000 for m in user.replies)
    assert "Stavka 0:" in user.replies[0]["text"] and "Stavka 149:" in user.replies[-1]["text"]
    assert [("keyboard" in m) for m in user.replies] == [False] * (len(user.replies) - 1) + [True]


async def test_a_document_is_explained_not_faked(make_viber: ViberFactory) -> None:
    viber = await make_viber("rs", router=_phone_router([]))
    user = viber.user()
    await user.open()
    await user.press("Srpski")
    await user.press("Ne, hvala")  # no tariff news
    await user.say("\u2063mila\u2063doc")
    (message,) = user.replies
    assert message["type"] == "text" and "Vaš račun za oktobar." in message["text"] and "racun.pdf" in message["text"]
    assert "Viber" in message["text"]


async def test_a_document_goes_out_as_a_file_when_a_store_publishes_it(make_viber: ViberFactory) -> None:
    published: list[str] = []

    class Store:
        async def publish(self, user: object, document: Document) -> str:
            published.append(document.file_name)
            return f"https://files.example.com/{document.file_name}"

    viber = await make_viber("rs", router=_phone_router([]), documents=Store())
    user = viber.user()
    await user.open()
    await user.press("Srpski")
    await user.press("Ne, hvala")  # no tariff news
    await user.say("\u2063mila\u2063doc")
    file_message, caption = user.replies
    assert file_message["type"] == "file" and file_message["media"] == "https://files.example.com/racun.pdf"
    assert file_message["size"] == len(b"%PDF-1.4 ...") and caption["text"] == "Vaš račun za oktobar."
    assert published == ["racun.pdf"]


async def test_the_document_notice_is_in_the_users_language(make_viber: ViberFactory) -> None:
    viber = await make_viber("tm", router=_phone_router([]))
    user = viber.user(language="tk")
    await user.open()
    await user.press("Türkmençe")
    await user.press("Ýok, sag boluň")  # no tariff news
    await user.say("\u2063mila\u2063doc")
    user.expect("„racun.pdf“ resminamasyny taýýarladym")


async def test_answers_to_one_users_quick_messages_arrive_in_order(make_viber: ViberFactory) -> None:
    entered, release = asyncio.Event(), asyncio.Event()
    router = build_router()
    probe = Router()

    @probe.payload("hold")
    async def hold(turn: Turn) -> None:
        entered.set()
        await asyncio.wait_for(release.wait(), timeout=20)
        turn.say("prvi")

    @probe.payload("quick")
    async def quick(turn: Turn) -> None:
        turn.say("drugi")

    router.include(probe)
    viber = await make_viber("rs", router=router)
    user = viber.user()
    await user.open()
    await user.press("Srpski")
    await user.press("Ne, hvala")  # no tariff news
    first = asyncio.create_task(user.post(user.message_callback({"type": "text", "text": "\u2063mila\u2063hold"})))
    await asyncio.wait_for(entered.wait(), timeout=20)
    second = asyncio.create_task(user.post(user.message_callback({"type": "text", "text": "\u2063mila\u2063quick"})))
    await asyncio.sleep(0.1)
    viber.api.delay_next(0.5)  # Viber is slow to take the first answer
    release.set()
    assert [status for status, _ in await asyncio.gather(first, second)] == [200, 200]
    assert [m["text"] for m in viber.api.messages(user.id)][-2:] == ["prvi", "drugi"]


async def test_the_service_list_pages_on_a_viber_keyboard(make_viber: ViberFactory) -> None:
    """The paged list of services reaches Viber as a keyboard Viber accepts, and an order is placed from it."""
    viber = await make_viber("tm")
    async with viber.app.deps.sessionmaker() as db:
        await seed_demo(db, viber.app.deps.profile, viber.app.settings.security.key())
        await db.commit()
    ayna = viber.user(language="tk")
    await turkmen_service_list(ayna)
    async with viber.app.deps.sessionmaker() as db:
        order = (await db.execute(select(Order))).scalar_one()
    ayna.expect(order.number)
    assert order.kind == "service_on" and order.payload == {"service": "mms"}


async def test_contacts_have_a_button_that_calls_each_number_and_its_press_is_not_a_message(
    make_viber: ViberFactory,
) -> None:
    viber = await make_viber("tm")
    aman = viber.user(language="tk")
    await aman.open()
    await aman.press("Türkmençe")
    await aman.press("Ýok, sag boluň")  # no tariff news
    await aman.say("habarlaşmak")
    aman.expect("0890", "(+993 66) 300890")  # the numbers stay in the text
    calls = [(b["ActionBody"], b["OpenURLType"], b["Silent"]) for b in aman.keyboard() if b["ActionType"] == "open-url"]
    assert calls == [("tel:0890", "external", True), ("tel:+99366300890", "external", True)]
    aman.expect_buttons("📞 0890 belgä jaň ediň", "📞 (+993 66) 300890 belgä jaň ediň")

    # Viber opens the dialler and sends the button's body back as a message: the bot does not answer it.
    assert await aman.press("📞 0890") == 200
    assert aman.replies == []
    await aman.say("menýu")
    aman.expect("Size nähili kömek edip bilerin?")


async def test_a_typed_number_is_still_understood(make_viber: ViberFactory) -> None:
    viber = await make_viber("rs")
    ana = viber.user(language="sr")
    await ana.open()
    await ana.press("Srpski (latinica)")
    await ana.press("Ne, hvala")
    await ana.say("kontakt")
    assert [b["ActionBody"] for b in ana.keyboard() if b["ActionType"] == "open-url"] == ["tel:0800100100"]
    ana.expect_buttons("📞 Pozovite 0800 100 100")
    await ana.say("0800 100 100")  # typed, not a call button's echo: answered as any text is
    assert ana.replies
