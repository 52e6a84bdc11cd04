"""A conversation driver for flow tests: they read like the chat they test.

await chat.start()
chat.expect("Izaberite jezik")
await chat.press("Srpski (latinica)")
chat.expect("Kako mogu da vam pomognem?")
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from bot.core.engine import Engine
from bot.core.incoming import Attachment, Incoming, Kind, UserRef
from bot.core.replies import Button, Reply, Text
from bot.db.base import utcnow

_ids = itertools.count(1)


class Clock:
    """The application's clock in a test (`build_app(clock=…)`, as the `make_app` fixture does): the real time, moved
    on by `advance` — a user who goes quiet, an identification that ages — instead of sleeping or editing the
    session's timestamps by hand."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return utcnow() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


class Chat:
    def __init__(self, engine: Engine, user: UserRef | None = None, language_hint: str | None = None) -> None:
        self.engine = engine
        self.user = user or UserRef("test", f"user-{next(_ids)}")
        self.language_hint = language_hint
        self.replies: list[Reply] = []
        self.history: list[Reply] = []

    def wait(self, seconds: float) -> None:
        """`seconds` pass for the bot before the next message (its clock moves on; for every chat of the app)."""
        clock = self.engine.deps.clock
        assert isinstance(clock, Clock), "the app's clock is not a tests.chat.Clock"
        clock.advance(seconds)

    async def send(self, incoming: Incoming) -> list[Reply]:
        self.replies = await self.engine.handle(incoming)
        self.history.extend(self.replies)
        return self.replies

    async def start(self) -> list[Reply]:
        return await self.send(Incoming(self.user, Kind.START, language_hint=self.language_hint))

    async def say(self, text: str) -> list[Reply]:
        return await self.send(Incoming(self.user, Kind.TEXT, text=text, language_hint=self.language_hint))

    async def press(self, label: str) -> list[Reply]:
        """Press the button whose label contains `label` among the last replies (exactly one must match)."""
        matches = [b for b in self.buttons_shown() if label in b.label]
        assert len(matches) == 1, f"{label!r} matches {[b.label for b in matches]} of {self.labels}"
        return await self.press_payload(matches[0].payload or "")

    async def first_contact(self, language: str, *, news: bool = False) -> list[Reply]:
        """/start, pick the language by its button, answer the tariff-news question: the menu is shown."""
        await self.start()
        await self.press(language)
        return await self.press_payload("news:on" if news else "news:off")

    async def press_payload(self, payload: str) -> list[Reply]:
        return await self.send(Incoming(self.user, Kind.BUTTON, payload=payload))

    async def share_phone(self, phone: str, *, own: bool = True) -> list[Reply]:
        return await self.send(Incoming(self.user, Kind.CONTACT, phone=phone, phone_is_own=own))

    async def send_sticker(self) -> list[Reply]:
        return await self.send(Incoming(self.user, Kind.UNSUPPORTED, content_type="sticker"))

    async def send_photo(self, name: str = "photo.jpg", file_ref: str | None = None) -> list[Reply]:
        """A photo; `file_ref` is the messenger's reference to it (a Telegram file id), else its name."""
        attachment = Attachment("photo", file_ref or name, name)
        return await self.send(Incoming(self.user, Kind.ATTACHMENT, attachment=attachment))

    # --- reading what the bot said ---------------------------------------------------------------------------
    @property
    def texts(self) -> list[str]:
        return [r.text for r in self.replies if isinstance(r, Text)]

    @property
    def text(self) -> str:
        return "\n".join(self.texts)

    def buttons_shown(self) -> list[Button]:
        return [b for r in self.replies if isinstance(r, Text) for b in r.all_buttons()]

    @property
    def labels(self) -> list[str]:
        return [b.label for b in self.buttons_shown()]

    def expect(self, *fragments: str) -> None:
        for fragment in fragments:
            assert fragment in self.text, f"expected {fragment!r} in the bot's reply:\n{self.text}"

    def expect_not(self, *fragments: str) -> None:
        for fragment in fragments:
            assert fragment not in self.text, f"did not expect {fragment!r} in the bot's reply:\n{self.text}"

    def expect_buttons(self, *labels: str) -> None:
        for label in labels:
            assert any(label in shown for shown in self.labels), f"no button {label!r} in {self.labels}"
