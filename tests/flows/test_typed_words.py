"""Words typed the way people type on a phone reach the right action: everyday words, diacritics left out or in
Cyrillic, a slip in a long word, "sh" for ş. Each case is typed at the main menu by an identified subscriber, so the
reply is the action's own, not the identification every action starts with."""

from __future__ import annotations

import pytest

from bot.core.keywords import Keywords, one_edit_apart
from bot.core.text import digraph_fold
from tests.conftest import AppFactory
from tests.helpers import rs_identified, seeded, tm_identified

RS = {
    # reconnection on promise: the list of disconnected services
    "„isključena“": ("iskljucen sam", "isključen sam", "iskljucili su mi broj", "искључен сам", "Uključenje na reč"),
    "Vaši računi:": ("dugovanje", "dug", "DUG", "moj racun"),
    "Ovde možete da podnesete prigovor": ("zalba", "žalba", "reklamcija", "reklamacija", "prigovr"),
    "PUK kodom": ("PUK", "puk kod", "pin", "ПУК"),
    "usluge želite da vidite": ("uslgue", "usluge"),
    "Razgovor sa operaterom trenutno nije moguć": ("opreater", "operater"),
}
TM = {
    "Bu ýerde arz ýa-da ýazmaça sorag-teklip": ("şikaýat", "sikayat", "shikaýat", "arz"),
    "Siziň hasaplaryňyz:": ("shahsy hasabym", "sahsy hasabym", "şahsy hasabym", "bergi"),
    "PUK kody bilen": ("PUK", "puk kody", "PIN kod"),
    "operator bilen gürleşmek mümkin däl": ("opreator", "operator"),
}


@pytest.mark.parametrize("profile", ["rs", "tm"])
async def test_everyday_and_mistyped_words_reach_their_action(make_app: AppFactory, profile: str) -> None:
    app = await seeded(make_app, profile)
    if profile == "rs":
        chat = await rs_identified(app, "+381641234567")
    else:
        chat = await tm_identified(app, "+993 65 123456", "Gülälek")
    for reply, words in (RS if profile == "rs" else TM).items():
        for typed in words:
            await chat.press_payload("menu")  # typed at the main menu, as a subscriber opening the chat would
            await chat.say(typed)
            assert reply in chat.text, f"{typed!r}: expected {reply!r} in\n{chat.text}"


async def test_short_words_and_data_are_not_guessed(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await rs_identified(app, "+381641234567")
    for typed in ("dig", "pik", "pug"):  # one letter from "dug" or "puk": too short to guess
        await chat.say(typed)
        chat.expect("Nisam razumela.")


async def test_a_near_miss_in_a_description_is_the_users_words(make_app: AppFactory) -> None:
    app = await seeded(make_app, "rs")
    chat = await rs_identified(app, "+381641234567", entry=("complaints", "cnew", "ccat:mobile"))
    chat.expect("Opišite svoj prigovor ili zahtev")
    await chat.say("reklamcija")  # not the complaints menu: the description of the complaint
    chat.expect("Ako imate fotografiju ili fajl")


def test_one_edit_apart() -> None:
    assert one_edit_apart("uslgue", "usluge")  # neighbours swapped
    assert one_edit_apart("reklamcija", "reklamacija")  # a letter left out
    assert one_edit_apart("operatter", "operater")  # a letter doubled
    assert one_edit_apart("operaler", "operater")  # a wrong letter
    assert not one_edit_apart("usulgue", "usluge")
    assert not one_edit_apart("iskljuci", "ukljuci")


def test_a_word_near_two_intents_is_not_guessed() -> None:
    words = Keywords([("uslugama", "services"), ("usluzama", "other")])
    assert words.forgiving("usluga") is None  # not a guess between two actions
    assert words.forgiving("uslugma") == "services"
    assert digraph_fold("shahsy chagyr zhurnal") == "sahsy cagyr zurnal"


async def test_no_two_actions_share_a_keyword_once_digraphs_are_read(make_app: AppFactory) -> None:
    """Typed "sh", "ch" and "zh" are read as ş, ç/č, ž only because no keyword of one action then reads as another's."""
    for profile in ("rs", "tm"):
        assert (await make_app(profile)).engine.keywords.ambiguous == set()
