"""A known and an unknown number or customer code go through the same steps, so the answer's time does not tell
them apart: the same database statements, the same Redis commands, one SMS task each (only a subscriber's sends).

The statements are recorded as SQLAlchemy sends them and the Redis commands as the client packs them, for the one
turn that answers what was typed; their parameters (hashes, ids) differ, their kinds and order must not.
bench/identification_timing.py measures the time itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from redis.asyncio.connection import Connection
from sqlalchemy import event

import handlers.identify
from bot.app import App
from tests.chat import Chat
from tests.conftest import AppFactory
from tests.helpers import new_chat, seeded


class Operations:
    """The database statements, Redis commands and SMS deliveries of what runs inside `recording()`."""

    def __init__(self, app: App, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sql: list[str] = []
        self.redis: list[str] = []
        self.sms: list[bool] = []  # one per SMS task: whether it had a number to send to
        self._on = False
        event.listen(app.db_engine.sync_engine, "before_cursor_execute", self._statement)
        packed = Connection.pack_command
        deliver = handlers.identify._deliver

        def pack(connection: Connection, *args: Any) -> Any:
            if self._on:
                name = args[0].decode() if isinstance(args[0], bytes) else str(args[0])
                self.redis.append(name.upper() + (f" {args[1]!s}" if name.upper() == "EVALSHA" else ""))
            return packed(connection, *args)

        async def delivered(sms: Any, phone: str | None, text: str) -> None:
            self.sms.append(phone is not None)
            await deliver(sms, phone, text)

        monkeypatch.setattr(Connection, "pack_command", pack)
        monkeypatch.setattr(handlers.identify, "_deliver", delivered)

    def _statement(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if self._on:
            self.sql.append(" ".join(statement.split()))

    @contextmanager
    def recording(self) -> Iterator[Operations]:
        self.sql, self.redis, self.sms = [], [], []
        self._on = True
        try:
            yield self
        finally:
            self._on = False

    def shape(self) -> tuple[list[str], list[str], int]:
        return self.sql, self.redis, len(self.sms)


async def answer_to(ops: Operations, chat: Chat, typed: str) -> tuple[tuple[list[str], list[str], int], list[bool]]:
    with ops.recording():
        await chat.say(typed)
    return ops.shape(), list(ops.sms)


async def test_a_known_and_an_unknown_customer_code_do_the_same_work(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = await seeded(make_app, "rs")
    ops = Operations(app, monkeypatch)
    for known in ("1234567", "4567890"):  # a mobile contact number; a fixed one (the code goes to a line)
        first = await new_chat(app, "Srpski", "Moj račun", "Šifrom korisnika")
        (known_shape, known_sms) = await answer_to(ops, first, known)
        second = await new_chat(app, "Srpski", "Moj račun", "Šifrom korisnika")
        (unknown_shape, unknown_sms) = await answer_to(ops, second, "7654321")
        assert known_shape == unknown_shape
        assert known_sms == [True] and unknown_sms == [False]  # the same task; only one has somewhere to send
        assert any("FROM accounts" in statement for statement in known_shape[0])


async def test_a_known_and_an_unknown_mobile_number_do_the_same_work(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = await seeded(make_app, "rs")
    ops = Operations(app, monkeypatch)
    shapes = []
    for number in ("064 123 4567", "065 999 8877", "063 3456789"):  # a line; nobody's; a contact number
        chat = await new_chat(app, "Srpski", "Moj račun", "Brojem telefona")
        shape, _ = await answer_to(ops, chat, number)
        shapes.append(shape)
    assert shapes[0] == shapes[1] == shapes[2]


async def test_a_known_and_an_unknown_fixed_line_do_the_same_work(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = await seeded(make_app, "rs")
    ops = Operations(app, monkeypatch)
    known = await new_chat(app, "Srpski", "Moj račun", "Brojem telefona")
    known_shape, _ = await answer_to(ops, known, "011 4567890")  # Marko's line: the code goes to his mobile
    for n in range(12):
        unknown = await new_chat(app, "Srpski", "Moj račun", "Brojem telefona")
        shape, _ = await answer_to(ops, unknown, f"011 98765{n:02d}")
        if "Poslala sam" in unknown.text:  # the unknown numbers that look like a line with a mobile on file
            assert shape == known_shape
            return
    raise AssertionError("no unknown fixed line got the code-sent answer")


async def test_a_known_and_an_unknown_number_before_the_code_word_do_the_same_work(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = await seeded(make_app, "tm")
    ops = Operations(app, monkeypatch)
    shapes = []
    for number in ("+993 65 123456", "+993 65 999999"):
        chat = await new_chat(app, "Türkmençe", "Şahsy hasabym", "Telefon belgisi we kod sözi")
        number_shape, _ = await answer_to(ops, chat, number)
        word_shape, _ = await answer_to(ops, chat, "nädogry söz")
        chat.expect("gabat gelmeýär")
        shapes.append((number_shape, word_shape))
    assert shapes[0] == shapes[1]


async def test_send_a_new_code_does_the_same_work_for_a_known_and_an_unknown_number_or_code(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The number is found again among the subscriber's own; nobody's (id 0) takes the same statements."""
    app = await seeded(make_app, "rs")
    ops = Operations(app, monkeypatch)
    for method, known, unknown in (("Šifrom korisnika", "1234567", "7654321"),
                                   ("Brojem telefona", "065 234 5678", "065 999 8877")):  # fmt: skip
        shapes, sent = [], []
        for typed in (known, unknown):
            chat = await new_chat(app, "Srpski", "Moj račun", method)
            await chat.say(typed)
            with ops.recording():
                await chat.press("Pošaljite novi kod")
            shapes.append(ops.shape())
            sent.append(list(ops.sms))
            chat.expect("Poslala sam jednokratni kod SMS porukom na")
        assert shapes[0] == shapes[1]
        assert sent == [[True], [False]]  # the same task; only the subscriber's has somewhere to send
        assert any("FROM subscribers" in statement for statement in shapes[0][0])
