"""The console channel end to end: `mila chat` as a subprocess, driven through standard input."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.channels.console import ConsoleChat, parse_line, vouches_for_phone
from bot.config import IdentificationSettings, SecuritySettings, Settings
from bot.core.incoming import Incoming, Kind
from tests.conftest import REDIS_URL, AppFactory
from tests.helpers import seeded


def chat(lines: list[str], *args: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "chat", *args],
        input="\n".join(lines) + "\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def env(tmp_path: Path, redis_prefix: str) -> dict[str, str]:
    return dict(
        os.environ,
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'chat.sqlite3'}",
        REDIS_URL=REDIS_URL,
        REDIS_PREFIX=redis_prefix,
    )


def test_a_whole_conversation_in_serbian(env: dict[str, str]) -> None:
    out = chat(["1", "2", "pomoć", "1", "/sticker", "6", "/quit"], "--profile", "rs", env=env)
    assert "Izaberite jezik." in out
    assert "[1] Srpski (latinica)" in out and "[3] Türkmençe" in out
    assert out.count("Zdravo! Ja sam Mila") == 1  # greeted once: the question already was in Serbian
    assert "> 1\nŽelite li da ovde dobijate novosti o tarifama i ponudama?" in out and "[2] Ne, hvala" in out
    assert "> 2\nRazumem: bez novosti" in out
    assert "[1] Uključenje na reč" in out and "[9] ❓ Pomoć" in out
    assert "Komande: /menu" in out
    assert "Mogu da pročitam samo tekst" in out
    assert "Bulevar Umetnosti 16, 11000 Beograd" in out  # 6 = Kontakt


def test_turkmen_from_the_start_and_the_language_is_remembered(env: dict[str, str]) -> None:
    out = chat(["gollanma"], "--profile", "tm", "--lang", "tk", env=env)
    assert "Salam! Men Mila, MTS kompaniýasynyň kömekçisi." in out
    assert "Buýruklar: /menu" in out
    again = chat(["/quit"], "--profile", "tm", env=env)
    assert "Size nähili kömek edip bilerin?" in again and "Dili saýlaň." not in again


def test_cyrillic_and_a_shared_phone(env: dict[str, str]) -> None:
    out = chat(["/phone +381641234567", "мени"], "--profile", "rs", "--lang", "sr-Cyrl", env=env)
    assert "Здраво! Ја сам Мила" in out
    assert "Хвала, али број телефона ми тренутно није потребан." in out
    assert "[1] Укључење на реч" in out


def test_the_demo_runs_without_a_redis_server(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "REDIS_PREFIX")}
    env["DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'demo.sqlite3'}"
    out = chat(["2", "2", "/quit"], "--profile", "rs", "--lang", "sr", env=env)
    assert "Kako mogu da vam pomognem?" in out
    assert "Da bismo nastavili, treba da znam ko ste." in out  # "Usluge" asks who you are, from the SQLite file


async def _share_at_the_phone_question(make_app: AppFactory, tmp_path: Path, *, vouches: bool) -> str:
    app = await seeded(make_app, "rs")
    out = io.StringIO()
    chat = ConsoleChat(app.engine, "local", out, tmp_path, vouches=vouches)
    await chat.send(Incoming(chat.user, Kind.START))
    for payload in ("lang:sr", "news:off", "account", "idm:phone"):
        await chat.send(Incoming(chat.user, Kind.BUTTON, payload=payload))
    out.seek(0)
    out.truncate()
    shared = parse_line(chat.user, "/phone +381641234567", vouches=vouches)
    assert shared is not None
    await chat.send(shared)
    return out.getvalue()


async def test_the_terminal_vouches_for_a_number_only_in_the_demo(make_app: AppFactory, tmp_path: Path) -> None:
    demo = await _share_at_the_phone_question(make_app, tmp_path, vouches=True)
    assert "Hvala! Identifikovani ste kao Petar." in demo
    elsewhere = await _share_at_the_phone_question(make_app, tmp_path, vouches=False)
    assert "Poslala sam jednokratni kod SMS porukom na +381 64 ••• •• 67." in elsewhere
    assert "Identifikovani ste kao Petar" not in elsewhere


def test_which_terminal_vouches() -> None:
    assert vouches_for_phone(Settings())
    assert not vouches_for_phone(Settings(identification=IdentificationSettings(sms_gateway_url="https://sms.example")))
    production = SecuritySettings(environment="production", secret_key=SecretStr("k" * 40))
    assert not vouches_for_phone(Settings(security=production))
