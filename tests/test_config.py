"""Configuration: a wrong value stops start-up with one clear line; secrets never show."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bot.config import ConfigError, load_settings


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("MILA_PROFILE", "xx"),
        ("HTTP_PORT", "eighty"),
        ("DATABASE_URL", "mysql://db"),
        ("REDIS_URL", "localhost:6379"),
        ("MILA_IDLE_TIMEOUT", "-5"),
        ("VIBER_BOT_NAME", "A name far longer than Viber's twenty-eight"),
    ],
)
def test_a_wrong_value_names_the_variable(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith(f"configuration error: {variable}: ")
    assert "\n" not in message


def test_secrets_do_not_show(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:SECRET-token")
    monkeypatch.setenv("VIBER_AUTH_TOKEN", "viber-secret-token")
    settings = load_settings()
    assert settings.telegram.bot_token is not None
    assert settings.telegram.bot_token.get_secret_value() == "123456:SECRET-token"
    shown = repr(settings) + str(settings) + settings.model_dump_json()
    assert "SECRET-token" not in shown and "viber-secret-token" not in shown


def test_postgres_urls_get_the_async_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://mila@db/mila")
    assert load_settings().database.url == "postgresql+asyncpg://mila@db/mila"


def test_the_command_stops_with_one_line() -> None:
    env = dict(os.environ, MILA_PROFILE="nowhere")
    done = subprocess.run(
        [sys.executable, "-m", "bot", "chat"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "mila: configuration error: MILA_PROFILE: use rs, tm or the path of a profile file ending in .yaml"
    ]
