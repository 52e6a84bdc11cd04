"""Whatever a user can send gets a short localized answer and the way back to the menu; nothing is lost."""

from __future__ import annotations

import pytest

from bot.core.session import DatabaseDown
from bot.db.base import make_engine
from tests.chat import Chat
from tests.conftest import AppFactory
from tests.helpers import rs_identified, seeded


async def _ready(chat: Chat, language: str) -> None:
    await chat.first_contact(language)


async def test_sticker_gets_a_localized_answer_and_the_menu(rs_chat: Chat, tm_chat: Chat) -> None:
    await _ready(rs_chat, "Srpski")
    await rs_chat.send_sticker()
    rs_chat.expect("Mogu da pročitam samo tekst", "Kako mogu da vam pomognem?")

    await _ready(tm_chat, "Türkmençe")
    await tm_chat.send_sticker()
    tm_chat.expect("Men diňe teksti", "Size nähili kömek edip bilerin?")


async def test_photo_where_none_is_expected(rs_chat: Chat) -> None:
    await _ready(rs_chat, "Srpski")
    await rs_chat.send_photo()
    rs_chat.expect("Mogu da pročitam samo tekst")


async def test_ten_thousand_characters(rs_chat: Chat, tm_chat: Chat) -> None:
    await _ready(rs_chat, "Srpski")
    await rs_chat.say("a" * 10_000)
    rs_chat.expect("Vaša poruka ima 10.000 znakova", "najviše 4.000")

    await _ready(tm_chat, "Türkmençe")
    await tm_chat.say("ý" * 10_000)
    tm_chat.expect("10 000 nyşan", "iň köp 4 000")


async def test_the_length_is_told_in_the_right_plural_form(rs_chat: Chat) -> None:
    await _ready(rs_chat, "Srpski")
    for length, said in ((4_094, "4.094 znaka,"), (4_101, "4.101 znak,"), (4_111, "4.111 znakova,")):
        await rs_chat.say("a" * length)
        rs_chat.expect(f"Vaša poruka ima {said} a ja mogu da pročitam najviše 4.000.")


async def test_empty_text(rs_chat: Chat) -> None:
    await _ready(rs_chat, "Srpski")
    await rs_chat.say("   ")
    rs_chat.expect("Poruka je prazna.")


async def test_unknown_payload_from_before_a_restart(rs_chat: Chat) -> None:
    await _ready(rs_chat, "Srpski")
    await rs_chat.press_payload("acct:9999")  # a button this version never shows
    rs_chat.expect("To dugme pripada ranijem razgovoru", "Kako mogu da vam pomognem?")


async def test_forged_language_payload(rs_chat: Chat) -> None:
    await _ready(rs_chat, "Srpski")
    await rs_chat.press_payload("lang:de")
    rs_chat.expect("To dugme pripada ranijem razgovoru")
    await rs_chat.say("pomoć")
    rs_chat.expect("Komande:")  # still in Serbian


async def test_unknown_command_and_gibberish(tm_chat: Chat) -> None:
    await _ready(tm_chat, "Türkmençe")
    await tm_chat.say("/doesnotexist")
    tm_chat.expect("Men /doesnotexist buýrugyny bilmeýärin.", "Size nähili kömek edip bilerin?")
    await tm_chat.say("asdfgh")
    tm_chat.expect("Men düşünmedim.")


async def test_a_contact_nobody_asked_for(rs_chat: Chat) -> None:
    await _ready(rs_chat, "Srpski")
    await rs_chat.share_phone("+381641234567")
    rs_chat.expect("broj telefona mi trenutno nije potreban")


async def test_database_outage_still_answers_the_menu(make_app: AppFactory) -> None:
    """The menu needs no database: with the database gone, navigation still answers. A turn that needs it is not
    run at all — the channel answers the platform non-2xx, and the platform's re-delivery runs it once the
    database is back, from the same state."""
    app = await make_app("rs")
    chat = Chat(app.engine)
    await chat.first_contact("Srpski")
    working = app.deps.sessionmaker.kw["bind"]
    # The database server goes away: every later connection is refused.
    app.deps.sessionmaker.configure(bind=make_engine("postgresql+asyncpg://mila@127.0.0.1:9/gone"))
    await chat.say("pomoć")
    chat.expect("Komande:")
    await chat.press("Glavni meni")
    chat.expect("Kako mogu da vam pomognem?")
    await chat.press("🌐 Jezik")
    with pytest.raises(DatabaseDown):
        await chat.press("Türkmençe")  # saving the language needs the database
    app.deps.sessionmaker.configure(bind=working)  # back: the platform delivers the same press again
    await chat.press("Türkmençe")
    chat.expect("Size nähili kömek edip bilerin?")


@pytest.mark.parametrize("payload", ["rcacc:²", "apuk:³", "rcacc:99999999999999999999", "asusp:1:³", "svl:٣:1"])
async def test_forged_numbers_in_a_button_get_the_stale_answer_and_no_sql_in_the_log(
    make_app: AppFactory, payload: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = await seeded(make_app, "rs")
    chat = await rs_identified(app, "+381641234567")
    await chat.press_payload(payload)
    chat.expect("To dugme pripada ranijem razgovoru", "Kako mogu da vam pomognem?")
    assert "SELECT" not in caplog.text and "Traceback" not in caplog.text
