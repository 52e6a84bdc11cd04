"""`mila admin add-user|list-users|remove-user` through the command's entry point, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from bot.cli import main
from bot.console.users import verify_password
from bot.db.base import make_sessionmaker
from bot.db.models import ConsoleAudit, ConsoleUser
from tests.environment import without_mila_settings
from tests.service import free_port, stop_mila


async def _run(argv: list[str]) -> int:
    return await asyncio.to_thread(main, argv)


async def _rows(url: str) -> tuple[list[ConsoleUser], list[ConsoleAudit]]:
    engine = create_async_engine(url)
    try:
        async with make_sessionmaker(engine)() as db:
            users = list((await db.execute(select(ConsoleUser).order_by(ConsoleUser.id))).scalars())
            audit = list((await db.execute(select(ConsoleAudit).order_by(ConsoleAudit.id))).scalars())
            return users, audit
    finally:
        await engine.dispose()


async def test_add_list_remove(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setattr(sys, "stdin", io.StringIO("correct horse battery\n"))
    assert await _run(["admin", "add-user", "ana", "--role", "marketing", "--password-stdin"]) == 0
    assert capsys.readouterr().out == "added ana (marketing)\n"

    # Asked on the terminal twice, never echoed (getpass).
    answers = iter(["staple-staple-1", "staple-staple-1"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert await _run(["admin", "add-user", "boris", "--role", "support"]) == 0
    capsys.readouterr()

    users, audit = await _rows(database_url)
    assert [(u.username, u.role) for u in users] == [("ana", "marketing"), ("boris", "support")]
    ana = users[0]
    assert ana.password_hash.startswith("$argon2id$") and "correct horse" not in ana.password_hash
    assert verify_password(ana.password_hash, "correct horse battery")
    assert not verify_password(ana.password_hash, "correct horse batterY")
    assert [(a.actor, a.action, a.target, a.detail) for a in audit] == [
        ("cli", "add_user", "ana", {"role": "marketing"}),
        ("cli", "add_user", "boris", {"role": "support"}),
    ]

    assert await _run(["admin", "list-users"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed[0].split() == ["name", "role", "created", "last", "login"]
    assert listed[1].startswith("ana ") and "marketing" in listed[1] and listed[1].endswith("-")
    assert listed[-1] == "(2 users, times in UTC)"
    assert "argon2" not in "\n".join(listed)

    assert await _run(["admin", "remove-user", "ana"]) == 0
    assert capsys.readouterr().out == "removed ana\n"
    assert await _run(["admin", "remove-user", "ana"]) == 1
    assert capsys.readouterr().err == "mila: no user named ana\n"
    users, audit = await _rows(database_url)
    assert [u.username for u in users] == ["boris"]
    assert (audit[-1].action, audit[-1].target) == ("remove_user", "ana")


async def test_refusals(database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    assert await _run(["admin", "add-user", "ana", "--role", "admin", "--password-stdin"]) == 1
    assert capsys.readouterr().err == "mila: the password must have at least 10 characters\n"

    answers = iter(["one-long-password", "another-long-one"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert await _run(["admin", "add-user", "ana", "--role", "admin"]) == 1
    assert capsys.readouterr().err == "mila: the two passwords differ\n"

    monkeypatch.setattr(sys, "stdin", io.StringIO("a-good-long-password\n"))
    assert await _run(["admin", "add-user", "bad name;", "--role", "admin", "--password-stdin"]) == 1
    assert "use a name of letters" in capsys.readouterr().err

    with pytest.raises(SystemExit):
        await _run(["admin", "add-user", "ana", "--role", "root", "--password-stdin"])
    assert "invalid choice: 'root'" in capsys.readouterr().err

    monkeypatch.setattr(sys, "stdin", io.StringIO("a-good-long-password\n"))
    assert await _run(["admin", "add-user", "ana", "--role", "admin", "--password-stdin"]) == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO("a-good-long-password\n"))
    assert await _run(["admin", "add-user", "ana", "--role", "support", "--password-stdin"]) == 1
    assert capsys.readouterr().err.endswith("mila: a user named ana already exists\n")
    users, _ = await _rows(database_url)
    assert [(u.username, u.role) for u in users] == [("ana", "admin")]


def test_the_installed_command(sqlite_url: str) -> None:
    """`python -m bot admin …` as an operator's script runs it: the password on standard input."""
    env = without_mila_settings()
    env["DATABASE_URL"] = sqlite_url
    added = subprocess.run([sys.executable, "-m", "bot", "admin", "add-user", "ops", "--role", "admin",
                            "--password-stdin"], input="a-very-long-password\n", env=env, capture_output=True,
                           text=True, timeout=60)  # fmt: skip
    assert (added.returncode, added.stdout) == (0, "added ops (admin)\n"), added.stderr
    listed = subprocess.run([sys.executable, "-m", "bot", "admin", "list-users"], env=env, capture_output=True,
                            text=True, timeout=60)  # fmt: skip
    assert listed.returncode == 0 and listed.stdout.splitlines()[1].split()[:2] == ["ops", "admin"]


async def test_serve_only_the_console(sqlite_url: str, tmp_path: Path) -> None:
    """`mila admin serve`: the console without any channel (what `make demo-admin` starts), stopped by SIGTERM."""
    port = free_port()
    env = without_mila_settings()
    env.update(DATABASE_URL=sqlite_url, ADMIN_PORT=str(port), ADMIN_HOST="127.0.0.1")
    out = tmp_path / "serve.log"
    with out.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "admin", "serve", env=env, stdout=log, stderr=log,
            stdin=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
    try:
        for _ in range(300):
            if f"the web console: http://127.0.0.1:{port}/login" in out.read_text():
                break
            assert process.returncode is None, out.read_text()
            await asyncio.sleep(0.1)
        async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/login") as page:
            assert page.status == 200 and 'name="password"' in await page.text()
    finally:
        assert await stop_mila(process, 30) == 0, out.read_text()
