"""First contact, language, menu, help and changing the language — in both profiles and all three languages."""

from __future__ import annotations

import pytest

from bot.core.replies import Text
from tests.chat import Chat
from tests.conftest import AppFactory

# What each language's menu and help look like; the words come from the catalogs, not from the code.
MENU = {
    "sr": ("Kako mogu da vam pomognem?", "🌐 Jezik", "❓ Pomoć"),
    "sr-Cyrl": ("Како могу да вам помогнем?", "🌐 Језик", "❓ Помоћ"),
    "tk": ("Size nähili kömek edip bilerin?", "🌐 Dil", "❓ Gollanma"),
}
NEWS_QUESTION = {
    "sr": "Želite li da ovde dobijate novosti o tarifama i ponudama?",
    "sr-Cyrl": "Желите ли да овде добијате новости о тарифама и понудама?",
    "tk": "Nyrhnamalar we teklipler barada täzelikleri şu ýerde almak isleýärsiňizmi?",
}
NO_NEWS = {"sr": "Ne, hvala", "sr-Cyrl": "Не, хвала", "tk": "Ýok, sag boluň"}
LANGUAGE_BUTTON = {"sr": "Srpski (latinica)", "sr-Cyrl": "Српски (ћирилица)", "tk": "Türkmençe"}
GREETING = {
    ("rs", "sr"): "Zdravo! Ja sam Mila, interaktivni lični asistent kompanije mts.",
    ("rs", "sr-Cyrl"): "Здраво! Ја сам Мила, интерактивни лични асистент компаније mts.",
    ("rs", "tk"): "Salam! Men Mila, mts kompaniýasynyň kömekçisi.",
    ("tm", "sr"): "Zdravo! Ja sam Mila, interaktivni lični asistent kompanije MTS.",
    ("tm", "sr-Cyrl"): "Здраво! Ја сам Мила, интерактивни лични асистент компаније MTS.",
    ("tm", "tk"): "Salam! Men Mila, MTS kompaniýasynyň kömekçisi.",
}
HELP_FACT = {"rs": "uključenje na reč", "tm": "Hyzmatlary birikdirmek we öçürmek"}
CONTACT_FACTS = {
    "rs": ("0800 100 100", "mtsinfo@telekom.rs", "info@telekom.rs", "Bulevar Umetnosti 16, 11000 Beograd"),
    "tm": ("0890", "(+993 66) 300890", "0890@mts.tm"),
}


@pytest.mark.parametrize("profile", ["rs", "tm"])
@pytest.mark.parametrize("language", ["sr", "sr-Cyrl", "tk"])
async def test_start_language_menu_help_change_language(make_app: AppFactory, profile: str, language: str) -> None:
    chat = Chat((await make_app(profile)).engine)

    await chat.start()
    chat.expect_buttons("Srpski (latinica)", "Српски (ћирилица)", "Türkmençe")

    await chat.press(LANGUAGE_BUTTON[language])
    chat.expect(NEWS_QUESTION[language])
    # Greeted once in the chosen language: with the question already, or now if the question was in another one.
    said = "\n".join(r.text for r in chat.history if isinstance(r, Text))
    assert said.count(GREETING[(profile, language)]) == 1, said

    await chat.press(NO_NEWS[language])
    chat.expect(MENU[language][0])
    chat.expect_buttons(MENU[language][1], MENU[language][2])

    await chat.press(MENU[language][2])  # help
    if language == "tk":
        chat.expect("Mila")
    elif profile == "rs" and language == "sr":
        chat.expect(HELP_FACT["rs"])
    chat.expect("/menu", "/help")

    await chat.press("⬅")  # back to the menu
    chat.expect(MENU[language][0])

    await chat.press(MENU[language][1])  # change language
    other = "tk" if language != "tk" else "sr"
    await chat.press(LANGUAGE_BUTTON[other])
    chat.expect(MENU[other][0])

    # The choice outlives the session: /start greets in the chosen language without asking again.
    await chat.start()
    chat.expect(MENU[other][0])
    assert not any("Türkmençe" in label for label in chat.labels)


@pytest.mark.parametrize("profile", ["rs", "tm"])
async def test_contacts_carry_the_operators_facts_exactly(make_app: AppFactory, profile: str) -> None:
    chat = Chat((await make_app(profile)).engine)
    await chat.first_contact("Türkmençe" if profile == "tm" else "Srpski")
    await chat.say("kontakt" if profile == "rs" else "habarlaşmak")
    chat.expect(*CONTACT_FACTS[profile])


async def test_language_is_preselected_from_the_messenger(make_app: AppFactory) -> None:
    chat = Chat((await make_app("rs")).engine, language_hint="tk")
    await chat.start()
    chat.expect("Salam! Men Mila", "Dili saýlaň.")
    assert chat.labels[0] == "✓ Türkmençe"


async def test_typed_words_reach_the_same_actions_as_buttons(rs_chat: Chat) -> None:
    await rs_chat.start()
    await rs_chat.say("1")  # typing the number of the first language button
    rs_chat.expect("Želite li da ovde dobijate novosti")
    await rs_chat.say("ne, hvala")  # typing a button's label
    rs_chat.expect("Razumem: bez novosti", "Kako mogu da vam pomognem?")
    for typed in ("POMOĆ", "pomoc", "  Помоћ "):
        await rs_chat.say(typed)
        rs_chat.expect("Komande: /menu")
    for typed in ("meni", "Meni!", "МЕНИ", "start"):
        await rs_chat.say(typed)
        rs_chat.expect("Kako mogu da vam pomognem?")
    await rs_chat.say("Ukljucenje na rec")
    rs_chat.expect("Da bismo nastavili, treba da znam ko ste.")  # reconnection on promise starts with who you are
    await rs_chat.say("operater")
    rs_chat.expect("Razgovor sa operaterom")


async def test_turkmen_words_with_and_without_their_letters(tm_chat: Chat) -> None:
    await tm_chat.first_contact("Türkmençe")
    for typed in ("menýu", "menyu", "MENÝU"):
        await tm_chat.say(typed)
        tm_chat.expect("Size nähili kömek edip bilerin?")
    for typed in ("gollanma", "GOLLANMA", "kömek", "komek"):  # "kömek" is help, which offers a person if there is one
        await tm_chat.say(typed)
        tm_chat.expect("Buýruklar: /menu")
    for typed in ("operator", "operatordan kömek"):
        await tm_chat.say(typed)
        tm_chat.expect("operator bilen gürleşmek mümkin däl", "0890")  # no support group in these tests


@pytest.mark.parametrize(("profile", "language"), [("rs", "Srpski"), ("rs", "Türkmençe"), ("tm", "Türkmençe"),
                                                   ("tm", "Srpski")])  # fmt: skip
async def test_help_promises_no_operator_where_there_is_none(make_app: AppFactory, profile: str, language: str) -> None:
    chat = Chat((await make_app(profile)).engine)  # no support group in these tests: no operator to talk to
    await chat.first_contact(language)
    await chat.say("/help")
    chat.expect("/menu", "/help")
    chat.expect_not("operater", "operator")


async def test_the_number_chooses_the_nth_button(rs_chat: Chat) -> None:
    await rs_chat.first_contact("Srpski")
    labels = rs_chat.labels
    await rs_chat.say(str(labels.index("❓ Pomoć") + 1))
    rs_chat.expect("Komande: /menu")
    await rs_chat.say(str(rs_chat.labels.index("⬅ Glavni meni") + 1))  # the last button: back to the menu
    rs_chat.expect("Kako mogu da vam pomognem?")
    await rs_chat.say("42")  # no such button
    rs_chat.expect("Nisam razumela.")


async def test_commands(rs_chat: Chat) -> None:
    await rs_chat.first_contact("Srpski")
    await rs_chat.say("/help")
    rs_chat.expect("Komande:")
    await rs_chat.say("/language")
    rs_chat.expect("Izaberite jezik.")
    await rs_chat.say("/menu@mila_bot")
    rs_chat.expect("Kako mogu da vam pomognem?")
    await rs_chat.say("/operator")
    rs_chat.expect("Razgovor sa operaterom trenutno nije moguć", "0800 100 100")  # no support group in these tests


async def test_tariff_news_consent_is_stored_with_its_time_and_can_be_withdrawn(make_app: AppFactory) -> None:
    from sqlalchemy import select

    from bot.db.models import ChannelUser

    app = await make_app("rs")
    chat = Chat(app.engine)
    await chat.start()
    await chat.press("Srpski")
    await chat.press("Da, šaljite mi novosti")
    chat.expect("Hvala! Dobijaćete novosti o tarifama i ponudama.", "Kako mogu da vam pomognem?")

    async def stored() -> ChannelUser:
        async with app.deps.sessionmaker() as db:
            return (
                await db.execute(select(ChannelUser).where(ChannelUser.external_id == chat.user.external_id))
            ).scalar_one()

    user = await stored()
    assert user.marketing_consent is True and user.marketing_consent_at is not None
    given_at = user.marketing_consent_at

    await chat.press("📰 Novosti")
    chat.expect("Dobijate novosti o tarifama i ponudama.")
    await chat.press("Ne šaljite mi više novosti")
    chat.expect("Razumem: bez novosti")
    user = await stored()
    assert user.marketing_consent is False and user.marketing_consent_at >= given_at  # type: ignore[operator]


async def test_the_opt_out_button_of_an_old_message_works_days_later(make_app: AppFactory) -> None:
    app = await make_app("tm")
    chat = Chat(app.engine)
    await chat.first_contact("Türkmençe", news=True)
    await app.redis.delete(*[k async for k in app.redis.scan_iter(match=app.deps.sessions.prefix + "*")])  # days pass
    await chat.press_payload("news:off")  # the one-tap opt-out under a marketing message
    chat.expect("Düşnükli: nyrhnamalar we teklipler barada täzelik ýok.")
    await chat.say("/news")
    chat.expect("Siz nyrhnamalar we teklipler barada täzelik almaýarsyňyz.")
