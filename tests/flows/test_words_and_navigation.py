"""Words and navigation: a word typed on a screen does what its own buttons say and no more, the ways out of any
flow, the language question answered in words, the way back from a side screen, and help asked for in Turkmen."""

from __future__ import annotations

import pytest

from bot.app import App
from bot.services.users import UserDirectory
from tests.chat import Chat
from tests.conftest import AppFactory

NEWS_QUESTION = {
    "rs": "Želite li da ovde dobijate novosti o tarifama i ponudama?",
    "tm": "Nyrhnamalar we teklipler barada täzelikleri şu ýerde almak isleýärsiňizmi?",
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
