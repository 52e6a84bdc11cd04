"""Words and navigation: a word typed on a screen does what its own buttons say and no more, the ways out of any
flow, the language question answered in words, the way back from a side screen, and help asked for in Turkmen."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.app import App
from bot.services.users import UserDirectory
from tests.chat import Chat
from tests.conftest import AppFactory
from tests.helpers import new_chat, rs_identified, seeded, tm_identified

PROFILE_TM = yaml.safe_load((Path(__file__).parents[2] / "bot" / "profiles" / "tm.yaml").read_text(encoding="utf-8"))
NEWS_QUESTION = {
    "rs": "Želite li da ovde dobijate novosti o tarifama i ponudama?",
    "tm": "Nyrhnamalar we teklipler barada täzelikleri şu ýerde almak isleýärsiňizmi?",
    "cyrl": "Желите ли да овде добијате новости о тарифама и понудама?",
}


async def consent(app: App, chat: Chat) -> bool | None:
    async with app.deps.sessionmaker() as db:
        return (await UserDirectory(db).ensure(chat.user)).marketing_consent


@pytest.mark.parametrize(("profile", "language", "word"), [("rs", "Srpski (latinica)", "novosti"),
                                                           ("tm", "Türkmençe", "täzelikler")])  # fmt: skip
async def test_the_news_consent_changes_by_its_buttons_or_news_on_off_only(
    make_app: AppFactory, profile: str, language: str, word: str
) -> None:
    app = await make_app(profile)
    chat = Chat(app.engine)
    await chat.start()
    await chat.press(language)
    chat.expect(NEWS_QUESTION[profile])

    await chat.say(word)  # the word of the question, not an answer to it
    assert await consent(app, chat) is None
    chat.expect(NEWS_QUESTION[profile])  # asked again, nothing changed

    await chat.say("/news on")
    assert await consent(app, chat) is True
    await chat.say(word)  # the news settings, not a change
    assert await consent(app, chat) is True
    await chat.say("/news off")
    assert await consent(app, chat) is False
    await chat.say(word)
    assert await consent(app, chat) is False


RS_MENU = "Kako mogu da vam pomognem?"
TM_MENU = "Size nähili kömek edip bilerin?"


@pytest.mark.parametrize("typed", ["otkaži", "otkazi", "/cancel"])
async def test_cancel_leaves_identification_and_the_action_it_would_resume(make_app: AppFactory, typed: str) -> None:
    app = await seeded(make_app, "rs")
    chat = await new_chat(app, "Srpski")
    await chat.press_payload("account")  # my account: who are you?
    await chat.press_payload("idm:phone")
    chat.expect("Podelite svoj broj")
    await chat.say(typed)
    chat.expect(RS_MENU)
    chat.expect_not("ne liči na broj telefona")

    await chat.press_payload("idm:phone")  # an old button of that identification, pressed later
    await chat.share_phone("+381641234567", own=True)
    chat.expect("Identifikovani ste kao Petar.", RS_MENU)  # the menu: "my account" does not come back on its own
    chat.expect_not("Vaši računi:")


@pytest.mark.parametrize("typed", ["ýatyr", "yatyr", "/cancel"])
async def test_cancel_in_turkmen_leaves_any_flow(make_app: AppFactory, typed: str) -> None:
    app = await seeded(make_app, "tm")
    chat = await new_chat(app, "Türkmençe")
    await chat.press_payload("account")
    await chat.press_payload("idm:pass")
    await chat.say("+993 65 123456")
    await chat.say("Aýna Öwezowa")  # the passport comes next
    await chat.say(typed)
    chat.expect(TM_MENU)
    chat.expect_not("/cancel")  # a command it knows

    chat = await tm_identified(app, "+993 65 123456", "Gülälek", entry=("complaints", "cnew", "ccat:mobile"))
    await chat.say(typed)  # at the description of a request: not its text, the way out
    chat.expect(TM_MENU)
    chat.expect_not("faýl")


async def test_cancel_leaves_a_serbian_flow_that_reads_free_text(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await rs_identified(app, "+381641234567", entry=("complaints", "cnew", "ccat:mobile"))
    chat.expect("Opišite svoj prigovor ili zahtev")
    await chat.say("otkaži")
    chat.expect(RS_MENU)
    chat.expect_not("Ako imate fotografiju ili fajl")


@pytest.mark.parametrize("profile", ["rs", "tm"])
@pytest.mark.parametrize(("typed", "question"), [("srpski", NEWS_QUESTION["rs"]),
                                                 ("Srpski", NEWS_QUESTION["rs"]),
                                                 ("српски", NEWS_QUESTION["cyrl"]),
                                                 ("türkmençe", NEWS_QUESTION["tm"]),
                                                 ("turkmence", NEWS_QUESTION["tm"])])  # fmt: skip
async def test_the_language_question_answered_in_words(
    make_app: AppFactory, profile: str, typed: str, question: str
) -> None:
    chat = Chat((await make_app(profile)).engine)
    await chat.start()
    await chat.say(typed)  # Latin "srpski" is Serbian in Latin script, Cyrillic "српски" in Cyrillic
    chat.expect(question)

    await chat.press_payload("news:off")
    await chat.say("/language")
    await chat.say(typed)  # the same later, from the menu
    chat.expect_not("Nisam razumela", "Не разумем", "düşünmedim")


async def test_reconnection_by_phone_has_a_way_back_to_the_accounts(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await rs_identified(app, "+381641234567", entry=("reconnect",))
    chat.expect("sa statusom „isključena“")
    await chat.press("📞 Preko telefona")
    chat.expect("Pozovite Kontakt centar 0800 100 100")
    await chat.press("⬅ Nazad na račune")
    chat.expect("sa statusom „isključena“", "1234567/1")


@pytest.mark.parametrize("profile", ["rs", "tm"])
async def test_the_menu_shown_again_after_not_understood_has_no_button_back_to_itself(
    make_app: AppFactory, profile: str
) -> None:
    chat = await new_chat(await make_app(profile), "Srpski")
    await chat.say("qwzx vbnm")
    chat.expect("Nisam razumela")
    chat.expect_buttons("🌐 Jezik", "❓ Pomoć")  # the menu's options, as shown
    assert "⬅ Glavni meni" not in chat.labels, chat.labels


@pytest.mark.parametrize("typed", ["kömek", "komek", "Kömek"])
async def test_komek_in_turkmen_is_help(make_app: AppFactory, typed: str) -> None:
    chat = await new_chat(await make_app("tm"), "Türkmençe")
    await chat.say(typed)
    chat.expect("Mila – MTS-iň çatdaky kömekçisi.")  # help: the profile's own about text, then the tips
    chat.expect_not("operator bilen gürleşmek mümkin däl")


async def test_a_disconnected_line_in_turkmenistan_hears_why_its_debt_and_how_to_pay(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    chat = await new_chat(app, "Türkmençe")
    await chat.say("belgim öçürildi")  # "my number was switched off": who is it?
    chat.expect("kim")
    await chat.press_payload("idm:pass")
    await chat.say("+993 64 345678")
    await chat.say("Gülşat Nurmuhammedowa")
    await chat.say("I-MR 112233")
    chat.expect("8100003/1", "bergi sebäpli öçürildi", "45,30 TMT")  # the line, why, the debt
    chat.expect(PROFILE_TM["texts"]["payment_info"]["tk"])  # how to pay, from the profile
    chat.expect("0890")
    chat.expect_not("söz berip")  # no reconnection on promise: MTS Türkmenistan does not offer it
    chat.expect_buttons("📄 Öňünden töleg üçin hasap")

    await chat.press_payload("menu")
    await chat.say("belgim öçürildi")  # identified already: at once
    chat.expect("8100003/1", "45,30 TMT")


async def test_a_turkmen_subscriber_with_nothing_disconnected_hears_so(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    chat = await tm_identified(app, "+993 65 123456", "Gülälek")
    await chat.say("belgim öçürildi")
    chat.expect("Siziň belgileriňiziň hiç biri öçürilmändir.", "8100001/1")


# --- the operator's texts, where a subscriber looks for them -------------------------------------------------------
def tm_text(name: str, language: str = "tk") -> str:
    return str(PROFILE_TM["texts"][name][language])


async def test_rs_help_leads_to_milas_own_steps_of_reconnection_on_promise(make_app: AppFactory) -> None:
    chat = await new_chat(await make_app("rs"), "Srpski")
    await chat.say("/help")
    await chat.press("Uputstvo: uključenje na reč")
    chat.expect("Uputstvo - Uključenje na reč – Mila - interaktivni lični asistent",
                "5. Mila će Vam potvrditi da je izdat nalog za uključenje usluga.")  # fmt: skip
    await chat.press("Uključenje na reč")
    chat.expect("treba da znam ko ste")


async def test_tm_the_identification_question_says_what_the_operator_asks_for(make_app: AppFactory) -> None:
    chat = await new_chat(await make_app("tm"), "Türkmençe")
    await chat.press_payload("account")
    chat.expect(tm_text("identification"))


@pytest.mark.parametrize(
    ("language", "button", "typed"),
    [("Türkmençe", "❓ Kod sözi näme?", "kod sözi näme"), ("Srpski", "❓ Šta je kodna reč?", "šta je kodna reč")],
)
async def test_tm_what_a_code_word_is_from_its_question_costs_no_try(
    make_app: AppFactory, language: str, button: str, typed: str
) -> None:
    app = await seeded(make_app, "tm")
    chat = await new_chat(app, language)
    await chat.press_payload("account")
    await chat.press_payload("idm:word")
    await chat.say("+993 65 123456")
    await chat.say("Alma")  # a wrong code word: one try
    for _ in range(4):  # more often than the tries left before the lockout
        await chat.press(button)
        chat.expect(tm_text("code_word", "tk" if language == "Türkmençe" else "sr").splitlines()[0])
    await chat.say(typed)  # typed, the same answer: not taken for a code word
    chat.expect(tm_text("code_word", "tk" if language == "Türkmençe" else "sr").splitlines()[-1])
    await chat.say("Gülälek")  # still at the same question, with the same number
    chat.expect("Aýna", "8100001/1")  # identified: the accounts


async def test_tm_help_says_what_the_voice_menu_tells(make_app: AppFactory) -> None:
    chat = await new_chat(await make_app("tm"), "Türkmençe")
    await chat.say("/help")
    chat.expect(tm_text("ivr"))


# --- the demo: a line blocked for inactivity, in each profile ------------------------------------------------------
async def test_rs_demo_line_blocked_for_inactivity_is_unblocked(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await rs_identified(app, "+381647890123")  # Ana Marković of the demo identities
    chat.expect("Identifikovani ste kao Ana.", "7890123/1")
    await chat.press("Otključavanje broja")  # her only line blocked: not asked which
    chat.expect("7890123/1")
    await chat.say("da")
    chat.expect("Izdala sam nalog za otključavanje broja 7890123/1.", "Broj naloga: N-")
    await chat.press_payload("account")
    chat.expect("čeka izvršenje")  # the screen shows the order, not the old state


async def test_tm_demo_line_blocked_for_inactivity_is_unblocked(make_app: AppFactory) -> None:
    app = await seeded(make_app, "tm")
    chat = await tm_identified(app, "+993 65 778899", "Arçabil")  # Merjen Annaýewa of the demo identities
    chat.expect("Sag boluň, Merjen!", "8100007/1")
    await chat.press("Belgini aktiw dällik blokdan açmak")
    await chat.say("hawa")
    chat.expect("8100007/1", "N-")
    await chat.press_payload("account")
    chat.expect("8100007/1", "N-")  # the screen shows the waiting order
    await chat.press("Belgini aktiw dällik blokdan açmak")
    chat.expect("Belgileriňiziň hiç biri aktiw dällik sebäpli bloklanmandyr.")  # not offered twice
