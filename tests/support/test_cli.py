"""`mila tickets list|show` on a real database, and erasure taking the user's conversations with operators along."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from bot.cli import main
from bot.db.models import SupportMessage, SupportTicket
from bot.services.privacy import forget
from tests.chat import Chat
from tests.support.conftest import SupportAppFactory


async def test_tickets_on_the_command_line_and_erasure(
    make_support_app: SupportAppFactory, database_url: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    app, support, _ = await make_support_app()
    chat = Chat(app.engine)
    await chat.first_contact("Srpski")
    await chat.say("operater")
    await chat.say("Ne radi mi internet")
    await support.take(1, "501", "Ana")
    await support.note(1, "Ana", "zvao i juče")
    await support.close(1, "operator", "Ana")
    await chat.say("4")

    monkeypatch.setenv("DATABASE_URL", database_url)
    assert await _run(["tickets", "list"]) == 0
    out = capsys.readouterr().out
    assert "closed" in out and "Ana" in out and "Ne radi mi internet" in out and "(1 tickets" in out
    assert await _run(["tickets", "list", "--status", "waiting"]) == 0
    assert "(0 tickets" in capsys.readouterr().out
    assert await _run(["tickets", "show", "1"]) == 0
    shown = capsys.readouterr().out
    assert "ticket #1: closed" in shown and "rating 4" in shown
    assert "user: Ne radi mi internet" in shown and "note Ana: zvao i juče" in shown
    assert await _run(["tickets", "show", "99"]) == 1
    assert capsys.readouterr().err == "mila: no ticket #99\n"

    async with app.deps.sessionmaker() as db:
        assert await forget(db, app.deps.sessions, chat.user)
        await db.commit()
        assert await db.scalar(select(func.count()).select_from(SupportTicket)) == 0
        assert await db.scalar(select(func.count()).select_from(SupportMessage)) == 0


async def _run(argv: list[str]) -> int:
    """The command runs its own event loop, so it goes to a thread."""
    return await asyncio.to_thread(main, argv)
