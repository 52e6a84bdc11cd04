"""Consultations: the operator's nine topics as a menu, each answer from the profile, "Did this help?", and the
way to an operator."""

from __future__ import annotations

import pytest

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
    chat.expect("Bu Size kömek etdimi?")
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


@pytest.mark.parametrize(
    ("language", "topic", "answer", "entries", "yes", "glad"),
    [
        pytest.param(
            "Türkmençe",
            "Hyzmatlar we töleg meseleleri boýunça",
            "„Hyzmatlary birikdirmek we öçürmek“ we „Şahsy hasabym“ bölümlerinde",
            ["Hyzmatlary birikdirmek we öçürmek", "Şahsy hasabym"],
            "Hawa",
            "Kömek edendigine begendim!",
            id="tk",
        ),
        pytest.param(
            "Српски",
            "Услуге и плаћања",
            "Своје услуге и рачун можете видети овде, у деловима „Услуге“ и „Мој рачун“. За питања о плаћању "
            "позовите 0890 или пишите на 0890@mts.tm.",
            ["Услуге", "Мој рачун"],
            "Да",
            "Драго ми је да је помогло!",
            id="sr-Cyrl",
        ),
    ],
)
async def test_tm_an_answer_names_menu_entries_that_exist(
    tm_chat: Chat, language: str, topic: str, answer: str, entries: list[str], yes: str, glad: str
) -> None:
    chat = tm_chat
    await chat.first_contact(language)
    await chat.press_payload("consultations")
    await chat.press(topic)
    chat.expect(answer)
    await chat.press(yes)
    chat.expect(glad)
    await chat.press_payload("menu")
    chat.expect_buttons(*entries)  # the sections the answer sends the subscriber to


@pytest.mark.parametrize(
    ("language", "typed", "expected"),
    [
        ("Türkmençe", "maslahat", "Bu ýerde entek maslahatlar ýok, ýöne Size maslahat bermäge şatdyrys:"),
        ("Српски", "савет", "Овде још немам консултације, али радо ћемо вам дати савет:"),
    ],
)
async def test_rs_consultations_in_the_other_languages(rs_chat: Chat, language: str, typed: str, expected: str) -> None:
    chat = rs_chat
    await chat.first_contact(language)
    await chat.say(typed)
    chat.expect(expected, "0800 100 100")
