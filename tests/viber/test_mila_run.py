"""`mila run` serving Viber, as an operator runs it: a subprocess, the fake Viber API, signed callbacks."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.channels.viber import WEBHOOK_PATH
from tests.conftest import REDIS_URL
from tests.fakes.viber_api import FakeViberApi, ViberUser
from tests.telegram.service import free_port
from tests.viber.conftest import BOT_NAME, TOKEN


@pytest.fixture
async def mila_on_viber(
    viber_api: FakeViberApi, sqlite_url: str, redis_prefix: str, tmp_path: Path
) -> AsyncIterator[tuple[str, asyncio.subprocess.Process]]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "VIBER_", "MILA_", "HTTP_"))}
    env.update(
        VIBER_AUTH_TOKEN=TOKEN,
        VIBER_API_BASE=viber_api.url,
        VIBER_WEBHOOK_URL=f"http://127.0.0.1:{port}{WEBHOOK_PATH}",
        VIBER_BOT_NAME=BOT_NAME,
        REDIS_URL=REDIS_URL,
        REDIS_PREFIX=redis_prefix,
        DATABASE_URL=sqlite_url,
        HTTP_HOST="127.0.0.1",
        HTTP_PORT=str(port),
        MILA_PROFILE="rs",
    )
    log = (tmp_path / "mila.log").open("ab")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", env=env, stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log
    )
    log.close()
    deadline = time.monotonic() + 60
    while viber_api.webhook_url is None:  # Viber is told the webhook only once mila listens, and calls it at once
        assert process.returncode is None, (tmp_path / "mila.log").read_text()
        assert time.monotonic() < deadline, "mila run did not register its Viber webhook"
        await asyncio.sleep(0.05)
    yield f"http://127.0.0.1:{port}", process
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 60)


async def test_a_conversation_through_mila_run(
    mila_on_viber: tuple[str, asyncio.subprocess.Process], viber_api: FakeViberApi
) -> None:
    base, process = mila_on_viber
    assert viber_api.webhook_url == base + WEBHOOK_PATH
    async with aiohttp.ClientSession() as http:
        ana = ViberUser(viber_api, base + WEBHOOK_PATH, http, "runAna01Ab+/cD==", language="sr")
        assert await ana.open() == 200
        ana.expect("Zdravo! Ja sam Mila", "Izaberite jezik")
        assert await ana.press("Srpski (latinica)") == 200
        ana.expect("Želite li da ovde dobijate novosti o tarifama i ponudama?")
        assert await ana.press("Ne, hvala") == 200
        ana.expect("Kako mogu da vam pomognem?")
        assert await ana.press("❓ Pomoć") == 200
        ana.expect("/menu")

        forged = ViberUser(viber_api, base + WEBHOOK_PATH, http, "runEve01Ab+/cD==", auth_token="not-the-token")
        assert await forged.say("meni") == 403
        assert viber_api.messages(forged.id) == []

        async with http.get(base + "/healthz") as response:
            assert response.status == 200
    process.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(process.wait(), 60) == 0
