"""The handoff state machine on the engine, on SQLite and PostgreSQL: bot → waiting → with operator → closed → bot,
the user going back to the bot, a rating, the queue, working hours. Read like the conversations they test."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.app import App
from bot.core.incoming import Incoming, Kind
from bot.db.base import utcnow
from bot.db.models import SupportMessage, SupportStatus, SupportTicket
from bot.services.analytics import dashboard
from bot.services.support.relay import Item
from bot.services.support.service import Support
from tests.chat import Chat
from tests.helpers import new_chat
from tests.support.conftest import GROUP, OTHER_GROUP, SupportAppFactory


async def ticket_of(support: Support, chat: Chat) -> SupportTicket:
    async with support.sessionmaker() as db:
        ticket = (
            await db.execute(select(SupportTicket).where(SupportTicket.external_id == chat.user.external_id))
        ).scalar_one()
        return ticket


async def asked_an_operator(app: App, question: str) -> Chat:
    """A new chat in Serbian that asked for an operator ("operater") and put its question: a ticket is open."""
    chat = await new_chat(app, "Srpski")
    await chat.say("operater")
    await chat.say(question)
    return chat


async def queued(support: Support, group: int = GROUP) -> list[Item]:
    batch = await support.relay.next_batch(group)
    return batch[1] if batch else []


async def test_help_offers_an_operator_where_there_is_one(make_support_app: SupportAppFactory) -> None:
    app, _support, _pushed = await make_support_app()
    chat = await new_chat(app, "Srpski")
    await chat.say("/help")
    chat.expect("ovde možete da razgovarate sa nekim od naših operatera: napišite „operater“ ili /operator.")
    chat = await new_chat(app, "Türkmençe")
    await chat.say("pomoć")
    chat.expect("bu ýerde operatorlarymyzyň biri bilen gürleşip bilersiňiz: „operator“ ýa-da /operator ýazyň.")


async def test_operator_takes_answers_and_closes_then_the_user_rates(make_support_app: SupportAppFactory) -> None:
    app, support, pushed = await make_support_app()
    chat = await new_chat(app, "Srpski")
    await chat.press("Razgovor sa operaterom")
    chat.expect("Povezaću vas sa operaterom")
    await chat.say("Ne radi mi internet od jutros")
    chat.expect("Operater će vam odgovoriti ovde", "Vaše mesto u redu: 1.", "Procenjeno čekanje: oko 5 minuta.")
    chat.expect_buttons("✖ Nazad na bota")

    assert await chat.say("meni") == []  # the bot stays silent: the words go to the operator
    assert await chat.send_photo("ruter.jpg") == []
    ticket = await ticket_of(support, chat)
    assert ticket.status == SupportStatus.WAITING.value and ticket.group_chat_id == GROUP
    items = await queued(support)
    assert [i.kind for i in items] == ["open", "user", "user"]
    assert "Pita: Ne radi mi internet od jutros" in items[0].text and "Nije identifikovan" in items[0].text
    assert "Razgovor sa operaterom" in items[0].text  # the way the user came, as the bot's own words
    assert items[1].text == "meni" and items[2].attachment == {"kind": "photo", "ref": "ruter.jpg", "name": "ruter.jpg"}

    assert not (await support.take(ticket.id, "666", "Eve", group=-1)).ok  # a button forged in another group
    assert (await support.take(ticket.id, "501", "Ana", group=GROUP)).ok
    assert "Uključio/la se Ana iz korisničke podrške." in pushed.texts(chat.user)[-1]
    await support.operator_said(ticket.id, "501", "Ana", "Restartujte ruter, molim vas.", None,
                                [support.operator_text(ticket, "Ana", "Restartujte ruter, molim vas.")])  # fmt: skip
    assert pushed.texts(chat.user)[-1] == "Ana (operater):\nRestartujte ruter, molim vas."
    assert await chat.say("Uradio sam, radi!") == []

    assert not (await support.close(ticket.id, "operator", "Eve", group=-1)).ok
    assert (await support.close(ticket.id, "operator", "Ana", group=GROUP)).ok
    assert pushed.texts(chat.user)[-2:] == [
        "Operater je završio razgovor. Od sada vam ponovo odgovara bot.",
        "Kako biste ocenili pomoć koju ste dobili? Izaberite od 1 (loše) do 5 (odlično).",
    ]
    await chat.say("5")  # typing the number picks the fifth rating button
    chat.expect("Hvala vam na oceni!", "Kako mogu da vam pomognem?")
    ticket = await ticket_of(support, chat)
    assert (ticket.status, ticket.closed_by, ticket.rating, ticket.operator_name) == ("closed", "operator", 5, "Ana")
    async with support.sessionmaker() as db:
        directions = (await db.execute(select(SupportMessage.direction).order_by(SupportMessage.id))).scalars().all()
    assert directions == ["in", "in", "in", "out", "in"]

    await chat.press_payload(f"sup:rate:{ticket.id}:1")  # a second rating changes nothing
    assert (await ticket_of(support, chat)).rating == 5
    await chat.say("pomoć")
    chat.expect("Komande:")  # the bot answers again


async def test_the_user_goes_back_to_the_bot(make_support_app: SupportAppFactory) -> None:
    app, support, _ = await make_support_app()
    chat = await asked_an_operator(app, "Pitanje o računu")
    await chat.say("/menu")
    chat.expect("Razgovarate sa operaterom, pa dugmad i komande bota sada ne rade.")
    await chat.press("Nazad na bota")
    chat.expect("Izašli ste iz razgovora sa operaterom.", "Kako mogu da vam pomognem?")
    ticket = await ticket_of(support, chat)
    assert (ticket.status, ticket.closed_by) == ("closed", "user")
    assert [i.kind for i in await queued(support)] == ["open", "sys", "close"]

    await chat.press_payload("sup:cancel")  # the button again, now stale
    chat.expect("To dugme pripada ranijem razgovoru")


async def test_the_handoff_outlives_the_session(make_support_app: SupportAppFactory) -> None:
    app, support, _ = await make_support_app()
    chat = await asked_an_operator(app, "Pitanje o računu")
    ticket = await ticket_of(support, chat)
    assert (await support.take(ticket.id, "501", "Ana", group=GROUP)).ok
    await app.redis.delete(app.deps.sessions.key(chat.user, "session"))  # the session expired overnight

    assert await chat.say("Da li ste tu?") == []  # still to the operator, not the bot's menu
    assert [i.text for i in await queued(support)][-1] == "Da li ste tu?"
    await chat.say("/menu")
    chat.expect("Razgovarate sa operaterom")


async def test_typed_cancel_words_and_a_ticket_closed_behind_the_sessions_back(
    make_support_app: SupportAppFactory,
) -> None:
    app, support, _ = await make_support_app()
    chat = await asked_an_operator(app, "Pitanje")
    await chat.say("OTKAŽI")
    chat.expect("Izašli ste iz razgovora sa operaterom.")

    await chat.say("operater")
    await chat.say("Drugo pitanje")
    async with support.sessionmaker() as db:  # closed elsewhere, and the session was never told
        for ticket in (await db.execute(select(SupportTicket))).scalars():
            ticket.status = SupportStatus.CLOSED.value
        await db.commit()
    await chat.say("pomoć")
    chat.expect("Komande:")


async def test_a_forged_rating_is_refused(make_support_app: SupportAppFactory) -> None:
    app, support, _ = await make_support_app()
    owner = await asked_an_operator(app, "Pitanje")
    intruder = await new_chat(app, "Srpski")
    ticket = await ticket_of(support, owner)
    await support.close(ticket.id, "operator", "Ana")
    await intruder.press_payload(f"sup:rate:{ticket.id}:1")
    intruder.expect("To dugme pripada ranijem razgovoru")
    await intruder.press_payload("sup:rate:x:9")
    intruder.expect("To dugme pripada ranijem razgovoru")
    assert (await ticket_of(support, owner)).rating is None


async def test_queue_positions_are_announced_when_they_change(make_support_app: SupportAppFactory) -> None:
    app, support, pushed = await make_support_app()
    chats: list[Chat] = []
    for number in range(1, 4):
        chat = await asked_an_operator(app, f"Pitanje broj {number}")
        chat.expect(f"Vaše mesto u redu: {number}.", f"oko {5 * number} minuta")
        chats.append(chat)
    assert await support.announce_positions() == 0  # everyone already knows their place

    first = await ticket_of(support, chats[0])
    await support.take(first.id, "501", "Ana")
    assert await support.announce_positions() == 2
    assert pushed.texts(chats[1].user)[-1] == "Vaše mesto u redu: 1. Procenjeno čekanje: oko 5 minuta."
    assert pushed.texts(chats[2].user)[-1] == "Vaše mesto u redu: 2. Procenjeno čekanje: oko 10 minuta."

    await chats[1].press("Nazad na bota")
    assert await support.announce_positions() == 1
    assert pushed.texts(chats[2].user)[-1].startswith("Vaše mesto u redu: 1.")
    assert await support.announce_positions() == 0


async def test_turkmen_queue_position_without_a_suffix_glued_to_the_number(make_support_app: SupportAppFactory) -> None:
    """ "1-nji" but "6-njy": a number that can be any number is not followed by a suffix; a message is "habar"."""
    app, support, pushed = await make_support_app()
    chats: list[Chat] = []
    for number in range(1, 3):
        chat = await new_chat(app, "Türkmençe")
        await chat.say("operator")
        await chat.say(f"Sorag {number}")
        chat.expect(f"Nobatdaky ornuňyz: {number}.", "Operator Size şu ýerde jogap berer")
        chat.expect_not("-nji", "-njy")
        chats.append(chat)
    await support.take((await ticket_of(support, chats[0])).id, "501", "Aýna")
    assert await support.announce_positions() == 1
    assert pushed.texts(chats[1].user)[-1].startswith("Nobatdaky ornuňyz: 1.")


async def test_outside_working_hours_a_message_is_left_and_the_bot_keeps_answering(
    make_support_app: SupportAppFactory,
) -> None:
    app, support, pushed = await make_support_app(open_now=False)
    chat = await new_chat(app, "Srpski")
    await chat.say("operater")
    chat.expect("Naši operateri trenutno nisu dostupni. Ponovo su tu", "u 08:00", "0800 100 100")
    await chat.press("Ostavite poruku")
    chat.expect("Napišite poruku; operateri će je pročitati kada se vrate.")
    await chat.say("Molim vas da me pozovete sutra")
    chat.expect("Hvala, vaša poruka je kod naših operatera (tiket #1).", "Odgovoriće vam ovde kada se vrate")
    ticket = await ticket_of(support, chat)
    assert ticket.status == "waiting" and ticket.after_hours
    assert "Ostavljeno van radnog vremena." in (await queued(support))[0].text

    await chat.say("pomoć")
    chat.expect("Komande:")  # not held: the operators answer in the morning
    await chat.say("operater")
    chat.expect("Vaša poruka je već kod naših operatera (tiket #1).")

    await support.take(ticket.id, "501", "Ana")  # in the morning
    assert "Uključio/la se Ana" in pushed.texts(chat.user)[-1]
    assert await chat.say("Hvala što ste se javili") == []  # now held by the operator


async def test_outside_working_hours_in_turkmen_a_message_is_habar(make_support_app: SupportAppFactory) -> None:
    """The same evening in Turkmen: the user's message is "habaryňyz" throughout, and "Siz" is capitalised."""
    app, support, _ = await make_support_app(open_now=False)
    chat = await new_chat(app, "Türkmençe")
    await chat.say("operator")
    chat.expect("Operatorlarymyz häzir elýeterli däl.")
    await chat.press("✉ Habar galdyryň")
    chat.expect("Habaryňyzy ýazyň; operatorlar gaýdyp gelenlerinde ony okarlar.")
    await chat.say("Ertir maňa jaň ediň")
    chat.expect("Sag boluň, habaryňyz operatorlarymyza ýetdi (tiket #1).")
    await chat.say("operator")
    chat.expect("Habaryňyz eýýäm operatorlarymyzda (tiket #1). Olar Size şu ýerde jogap bererler.")
    chat.expect_not("Hatyňyz", "mesajyňyz")
    assert (await ticket_of(support, chat)).status == "waiting"


async def test_a_silent_ticket_closes_by_itself(make_support_app: SupportAppFactory) -> None:
    app, support, pushed = await make_support_app(silence_timeout_seconds=60)
    chat = await asked_an_operator(app, "Pitanje")
    ticket = await ticket_of(support, chat)
    await support.take(ticket.id, "501", "Ana")
    assert await support.close_silent() == 0
    async with support.sessionmaker() as db:
        row = await db.get(SupportTicket, ticket.id)
        assert row is not None
        row.last_activity_at = utcnow() - timedelta(seconds=61)
        await db.commit()
    assert await support.close_silent() == 1
    assert "niko nije pisao" in pushed.texts(chat.user)[-2]
    assert (await ticket_of(support, chat)).closed_by == "silence"
    await chat.say("4")
    chat.expect("Hvala vam na oceni!")
    assert (await ticket_of(support, chat)).rating == 4


async def test_an_operator_transfers_a_ticket_to_the_queue_and_to_another_group(
    make_support_app: SupportAppFactory,
) -> None:
    app, support, _ = await make_support_app()
    chat = await asked_an_operator(app, "Pitanje o roamingu")
    ticket = await ticket_of(support, chat)
    await support.set_thread(ticket.id, GROUP, 77)
    await support.take(ticket.id, "501", "Ana")
    assert (await support.release(ticket.id, "Ana")).ok
    ticket = await ticket_of(support, chat)
    assert (ticket.status, ticket.operator_name) == ("waiting", None)

    assert not (await support.transfer(ticket.id, -1, "Ana")).ok  # not one of our groups
    assert (await support.transfer(ticket.id, OTHER_GROUP, "Ana")).ok
    ticket = await ticket_of(support, chat)
    assert (ticket.group_chat_id, ticket.thread_id, ticket.status) == (OTHER_GROUP, None, "waiting")
    old = await queued(support, GROUP)
    assert [(i.kind, i.thread) for i in old][-2:] == [("sys", 77), ("close", 77)]  # the old topic closes
    assert "preneo/la tiket u drugu grupu" in old[-2].text
    new = await queued(support, OTHER_GROUP)
    assert new[0].kind == "open" and "Iz druge grupe preneo/la Ana." in new[0].text
    assert await chat.say("Još jedno pitanje") == []  # still held
    assert [i.text for i in await queued(support, OTHER_GROUP)][-1] == "Još jedno pitanje"


async def test_an_answer_the_platform_holds_back_is_tried_again_then_the_operator_is_told(
    make_support_app: SupportAppFactory,
) -> None:
    app, support, pushed = await make_support_app()
    chat = await asked_an_operator(app, "Pitanje")
    ticket = await ticket_of(support, chat)
    pushed.busy = 2
    result = await support.operator_said(ticket.id, "501", "Ana", "Prvi odgovor", None,
                                         [support.operator_text(ticket, "Ana", "Prvi odgovor")])  # fmt: skip
    assert result is not None and result.sent
    assert pushed.texts(chat.user)[-1] == "Ana (operater):\nPrvi odgovor"
    pushed.busy = 10
    result = await support.operator_said(ticket.id, "501", "Ana", "Drugi odgovor", None,
                                         [support.operator_text(ticket, "Ana", "Drugi odgovor")])  # fmt: skip
    assert result is not None and not result.sent
    assert (await queued(support))[-1].text == "⚠ Nije isporučeno korisniku: retry_later"


async def test_a_user_who_leaves_the_chat_closes_their_ticket(make_support_app: SupportAppFactory) -> None:
    app, support, _ = await make_support_app()
    chat = await asked_an_operator(app, "Pitanje")
    assert await chat.send(Incoming(chat.user, Kind.UNSUBSCRIBED)) == []
    ticket = await ticket_of(support, chat)
    assert (ticket.status, ticket.closed_by) == ("closed", "user")
    assert "Korisnik je napustio čet" in (await queued(support))[-2].text


async def test_a_handoff_is_counted_and_the_first_answer_dated(make_support_app: SupportAppFactory) -> None:
    app, support, _ = await make_support_app()
    chat = await asked_an_operator(app, "Ne radi mi internet")
    other = await new_chat(app, "Srpski")  # a conversation the bot handles alone
    await other.say("pomoć")
    ticket = await ticket_of(support, chat)
    assert (await support.take(ticket.id, "501", "Ana", group=GROUP)).ok
    await support.operator_said(
        ticket.id, "501", "Ana", "Evo me.", None, [support.operator_text(ticket, "Ana", "Evo me.")]
    )
    await support.operator_said(
        ticket.id, "501", "Ana", "Još nešto?", None, [support.operator_text(ticket, "Ana", "x")]
    )
    ticket = await ticket_of(support, chat)
    async with support.sessionmaker() as db:
        first = (await db.execute(
            select(SupportMessage.created_at).where(SupportMessage.direction == "out").order_by(SupportMessage.id)
        )).scalars().first()  # fmt: skip
        board = await dashboard(db, since=ticket.created_at - timedelta(hours=1), until=utcnow() + timedelta(hours=1))
    assert (
        ticket.taken_at is not None
        and ticket.first_response_at is not None
        and ticket.first_response_at == first
        and ticket.first_response_at >= ticket.taken_at
    )
    c = board.conversations
    assert (c.total, c.handed_off, c.containment) == (2, 1, 0.5)
    assert (board.queue.tickets, board.queue.taken, board.queue.answered) == (1, 1, 1)
