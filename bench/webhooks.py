"""What the webhook benchmarks share: `mila run` (or another bot) as a process of its own, the load loops that play
the messenger, latency percentiles and the bot process's CPU time.

A `Load` posts one request per call of `next_request` to a bot's webhook; `closed_loop` keeps a fixed number in
flight (the maximum rate), `open_loop` posts at a steady rate whatever the answers do (latency at a given load).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from aiohttp import ClientSession, ClientTimeout, TCPConnector

from tests.environment import without_mila_settings

REDIS_URL = os.environ.get("REDIS_URL") or os.environ.get("TEST_REDIS_URL") or "redis://127.0.0.1:6379/0"
PAYLOADS = ("help", "menu", "contacts", "menu")  # menu navigation: what every user presses, in turn

RequestT = TypeVar("RequestT")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Result:
    rate: float
    p50_ms: float
    p99_ms: float
    errors: int


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


class Load(ABC, Generic[RequestT]):
    """Posts requests to one webhook as the messenger would; subclasses say what a request is and how it goes."""

    def __init__(self, url: str, concurrency: int) -> None:
        self.url = url
        self.http = ClientSession(connector=TCPConnector(limit=concurrency + 8), timeout=ClientTimeout(total=60))
        self.turn = 0

    async def close(self) -> None:
        await self.http.close()

    @abstractmethod
    def next_request(self) -> RequestT:
        """The next request of the workload (users in turn, each pressing the next menu button)."""

    @abstractmethod
    async def post(self, request: RequestT) -> tuple[float, bool]:
        """Post it; (seconds until the answer, whether it was 200)."""

    async def closed_loop(self, count: int, concurrency: int) -> Result:
        """Fixed number in flight: the maximum rate."""
        latencies: list[float] = []
        errors = 0

        async def worker() -> None:
            nonlocal errors
            while len(latencies) + errors < count:
                latency, ok = await self.post(self.next_request())
                latencies.append(latency)
                errors += not ok

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        return Result(len(latencies) / elapsed, percentile(latencies, 0.5), percentile(latencies, 0.99), errors)

    async def open_loop(self, rate: float, seconds: float) -> Result:
        """Requests arrive at a steady rate whatever the answers do: latency at a given load."""
        latencies: list[float] = []
        errors = 0
        tasks: list[asyncio.Task[None]] = []

        async def one(request: RequestT) -> None:
            nonlocal errors
            latency, ok = await self.post(request)
            latencies.append(latency)
            errors += not ok

        interval = 1.0 / rate
        started = time.perf_counter()
        n = 0
        while (now := time.perf_counter()) - started < seconds:
            due = started + n * interval
            if due > now:
                await asyncio.sleep(due - now)
            tasks.append(asyncio.create_task(one(self.next_request())))
            n += 1
        await asyncio.gather(*tasks)
        return Result(n / seconds, percentile(latencies, 0.5), percentile(latencies, 0.99), errors)


async def start_mila(env: dict[str, str], log_path: Path) -> asyncio.subprocess.Process:
    """`mila run` with this environment (added to this process's, minus any mila or channel settings)."""
    base = without_mila_settings()
    with log_path.open("wb") as log:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", env={**base, **env}, stdout=log, stderr=log, cwd=str(log_path.parent)
        )


async def wait_http(url: str, process: asyncio.subprocess.Process, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    async with ClientSession(timeout=ClientTimeout(total=2)) as http:
        while time.monotonic() < deadline:
            if process.returncode is not None:
                raise SystemExit(f"the bot process exited with {process.returncode}")
            try:
                async with http.get(url) as response:
                    if response.status < 500:
                        return
            except OSError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit(f"{url} did not answer in time")


async def stop(process: asyncio.subprocess.Process) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), 60)
    except TimeoutError:
        process.kill()
        await process.wait()


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def max_rate(load: Load[RequestT], count: int, concurrency: int, pid: int) -> tuple[Result, float]:
    """One closed-loop run and the bot's CPU milliseconds per request during it."""
    before = cpu_seconds(pid)
    result = await load.closed_loop(count, concurrency)
    return result, (cpu_seconds(pid) - before) * 1000 / count
