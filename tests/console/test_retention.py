"""The console's audit is kept for MILA_RETENTION_DAYS like the bot's own: `mila retention run` deletes older rows,
on SQLite and PostgreSQL, and the admin's page no longer shows them."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.cli import main
from bot.console.users import audit
from bot.db.base import utcnow
from bot.db.models import ConsoleAudit
from tests.console.conftest import ConsoleFactory


async def test_old_console_audit_goes_with_retention(
    make_console: ConsoleFactory, database_url: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    console = await make_console(database_url=database_url)
    now = utcnow()
    async with console.app.deps.sessionmaker() as db:
        await audit(db, "old-admin", "close_ticket", "ticket 1", address="10.0.0.9", detail={"reason": "old"},
                    at=now - timedelta(days=200))  # fmt: skip
        await audit(db, "old-admin", "login", address="10.0.0.9", at=now - timedelta(days=181))
        await audit(db, "kept-admin", "login", address="10.0.0.8", at=now - timedelta(days=179))
        await db.commit()
    async with await console.logged_in("ana") as http:  # a login now: audited, and kept
        async with http.get("/users") as response:
            assert "old-admin" in await response.text()

        monkeypatch.setenv("DATABASE_URL", database_url)
        monkeypatch.setenv("MILA_RETENTION_DAYS", "180")
        assert await asyncio.to_thread(main, ["retention", "run"]) == 0
        out = capsys.readouterr().out
        assert out.startswith("retention (180 days): deleted ") and ", 2 console audit entries" in out

        async with http.get("/users") as response:
            page = await response.text()
        assert "old-admin" not in page and "kept-admin" in page
    async with console.app.deps.sessionmaker() as db:
        left = [(a.actor, a.action) for a in (await db.execute(select(ConsoleAudit).order_by(ConsoleAudit.at)))
                .scalars()]  # fmt: skip
    assert left[0] == ("kept-admin", "login") and ("old-admin", "login") not in left
    assert ("ana", "login") in left and all(actor != "old-admin" for actor, _ in left)
    # Run again: nothing more is old.
    assert await asyncio.to_thread(main, ["retention", "run", "--days", "180"]) == 0
    assert ", 0 console audit entries" in capsys.readouterr().out
