"""Consultations: the operator's nine topics as a menu, each answer from the profile, "Did this help?", and the
way to an operator."""

from __future__ import annotations

from bot.profiles import load_profile
from tests.chat import Chat


async def test_tm_nine_topics_an_answer_and_did_it_help(tm_chat: Chat) -> None:
    chat = tm_chat
    await chat.first_contact("Türkmençe")
    await chat.press("Maslahatlar")
    chat.expect("Näme barada maslahat almak isleýärsiňiz?")
    titles = [topic.title["tk"] for topic in load_profile("tm").consultations]
    assert len(titles) == 9
    chat.expect_buttons(*titles)
    await chat.press("Gudok hyzmatynyň işiniň meseleleri boýunça")
    chat.expect("„Gudok“ hyzmaty jaň edýänlere adaty jaň sesiniň ýerine saýlanan aýdymy eşitdirýär.")
    chat.expect("Bu size kömek etdimi?")
    chat.expect_buttons("Hawa", "Ýok", "Operator bilen gürleşmek", "Beýleki temalar")
    await chat.press("Hawa")
    chat.expect("Kömek edendigine begendim!")

    await chat.press("Beýleki temalar")
    await chat.say("6")  # the sixth topic, typed: roaming
    chat.expect("Daşary ýurtda telefonyňyzy ulanmak üçin")
    await chat.press("Ýok")
    chat.expect("Jogabyň kömek etmändigine gynanýaryn.", "0890")
    await chat.press("Operator bilen gürleşmek")  # the operator entry of the menu answers
    assert chat.texts


async def test_tm_in_serbian(tm_chat: Chat) -> None:
    chat = tm_chat
    await chat.first_contact("Srpski")
    await chat.say("konsultacije")
    chat.expect("O čemu želite savet?")
    await chat.press("Razdvajanje računa")
    chat.expect(
        "O razdvajanju računa informacije daje Služba za pitanja i odgovore na 0890.", "Da li vam je ovo pomoglo?"
    )
    await chat.press("Ne")
    chat.expect("Žao mi je što odgovor nije pomogao.")
    chat.expect_buttons("Razgovor sa operaterom")


async def test_a_forged_topic_is_a_stale_button(tm_chat: Chat) -> None:
    chat = tm_chat
    await chat.first_contact("Srpski")
    await chat.press_payload("ctopic:nothing")
    chat.expect("To dugme pripada ranijem razgovoru")
    await chat.press_payload("chelp:x:gudok")
    chat.expect("To dugme pripada ranijem razgovoru")


async def test_rs_has_no_topics_and_says_where_to_ask(rs_chat: Chat) -> None:
    chat = rs_chat
    await chat.first_contact("Srpski")
    await chat.say("konsultacije")
    chat.expect("Ovde još nemam konsultacije, ali rado ćemo vam dati savet:", "Kontakt centar: 0800 100 100")
