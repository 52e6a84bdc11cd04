"""`mila run` workers and `mila campaign` commands as subprocesses, on both fake platforms at once."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from aiohttp import ClientSession, ClientTimeout

from bot.channels.viber import WEBHOOK_PATH
from tests.conftest import REDIS_URL
from tests.environment import without_mila_settings
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.viber_api import FakeViberApi
from tests.telegram.service import free_port
from tests.viber.conftest import BOT_NAME
from tests.viber.conftest import TOKEN as VIBER_TOKEN

START_TIMEOUT = 150.0  # several processes importing at once on a busy machine take a while


def cli_env(database_url: str, redis_prefix: str, **extra: str) -> dict[str, str]:
    env = without_mila_settings()
    env.update(DATABASE_URL=database_url, REDIS_URL=REDIS_URL, REDIS_PREFIX=redis_prefix, MILA_PROFILE="rs",
               COLUMNS="160", **extra)  # fmt: skip
    return env


@dataclass
class Worker:
    process: asyncio.subprocess.Process
    url: str
    log_path: Path

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")

    async def stop(self, timeout: float = 60.0) -> int:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), timeout)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
                raise AssertionError("mila run did not stop within the timeout after SIGTERM") from None
        assert self.process.returncode is not None
        return self.process.returncode


async def start_worker(
    fake_telegram: FakeTelegram, fake_viber: FakeViberApi, *, database_url: str, redis_prefix: str, log_path: Path,
    **extra: str,
) -> Worker:  # fmt: skip
    """`mila run` with both channels (its campaign worker starts with it); returns once /healthz answers 200."""
    port = free_port()
    env = cli_env(
        database_url, redis_prefix, TELEGRAM_BOT_TOKEN=fake_telegram.token, TELEGRAM_API_BASE=fake_telegram.base_url,
        TELEGRAM_POLL_TIMEOUT="5", VIBER_AUTH_TOKEN=VIBER_TOKEN, VIBER_API_BASE=fake_viber.url,
        VIBER_WEBHOOK_URL=f"http://127.0.0.1:{port}{WEBHOOK_PATH}", VIBER_BOT_NAME=BOT_NAME, HTTP_HOST="127.0.0.1",
        HTTP_PORT=str(port), BROADCAST_POLL="0.2", **extra,
    )  # fmt: skip
    log_file = log_path.open("ab")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", env=env, stdin=asyncio.subprocess.DEVNULL, stdout=log_file,
        stderr=log_file,
    )  # fmt: skip
    log_file.close()
    worker = Worker(process, f"http://127.0.0.1:{port}", log_path)
    deadline = time.monotonic() + START_TIMEOUT
    async with ClientSession(timeout=ClientTimeout(total=5)) as http:
        while True:
            if process.returncode is not None:
                raise AssertionError(f"mila run exited with {process.returncode}:\n{worker.logs()}")
            try:
                async with http.get(worker.url + "/healthz") as response:
                    if response.status == 200:
                        return worker
            except (OSError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                await worker.stop()
                raise AssertionError(f"mila run did not start in time:\n{worker.logs()}")
            await asyncio.sleep(0.1)


async def mila(*args: str, env: dict[str, str], timeout: float = 90.0) -> tuple[int, str]:
    """Run `mila …` and return its exit code and everything it printed."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, env=env, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        out, _ = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        out, _ = await process.communicate()
        raise AssertionError(f"mila {' '.join(args)} did not finish in {timeout} s:\n{out.decode()}") from None
    assert process.returncode is not None
    return process.returncode, out.decode()
