"""`mila run` as a subprocess, whatever its channels: its environment, starting and stopping it, its database."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
import time
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from bot.db.base import make_sessionmaker
from bot.db.models import ChannelUser, Order
from tests.conftest import REDIS_URL
from tests.environment import without_mila_settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def raw_post(url: str, path: str, parts: list[bytes], *, pause: float = 0.0, headers: dict[str, str]) -> int:
    """POST `path` of the server at `url` over a plain socket, the body in the given TCP segments with a pause
    between them (a `Transfer-Encoding` header: the parts are sent as they are, with no Content-Length)."""
    host, port = url.removeprefix("http://").split(":")
    body = b"".join(parts)
    head = {"Host": host, "Content-Type": "application/json", "Content-Length": str(len(body)),
            "Connection": "close"} | headers  # fmt: skip
    if "Transfer-Encoding" in head:
        del head["Content-Length"]
    request = f"POST {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in head.items()) + "\r\n"
    with socket.create_connection((host, int(port)), timeout=20) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(request.encode("latin-1"))
        try:
            for index, part in enumerate(parts):
                if index:
                    time.sleep(pause)
                sock.sendall(part)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered (413) before the whole body was sent: its answer is read below
        answer = b""
        while b"\r\n" not in answer:
            try:
                chunk = sock.recv(4096)
            except ConnectionResetError:
                break
            if not chunk:
                break
            answer += chunk
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0


def chunked(body: bytes, size: int) -> list[bytes]:
    """`body` in the chunks of `Transfer-Encoding: chunked`, `size` bytes each, then the last chunk."""
    pieces = [body[i : i + size] for i in range(0, len(body), size)]
    return [f"{len(piece):x}\r\n".encode() + piece + b"\r\n" for piece in pieces] + [b"0\r\n\r\n"]


def mila_env(*, database_url: str, redis_prefix: str, port: int, profile: str = "rs", **extra: str) -> dict[str, str]:
    """This environment without any channel or mila settings of its own, plus the test's Redis, database and port."""
    env = without_mila_settings()
    env.update(
        REDIS_URL=REDIS_URL,
        REDIS_PREFIX=redis_prefix,
        DATABASE_URL=database_url,
        HTTP_HOST="127.0.0.1",
        HTTP_PORT=str(port),
        MILA_PROFILE=profile,
        ADMIN_ENABLED="false",  # the console's default port is one for the whole machine: a test that wants it says so
    )
    env.update(extra)
    return env


async def spawn_mila(env: dict[str, str], log_path: Path) -> asyncio.subprocess.Process:
    """`mila run` with this environment; its output goes to `log_path`."""
    with log_path.open("ab") as log:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", env=env, cwd=str(log_path.parent), stdin=asyncio.subprocess.DEVNULL,
            stdout=log, stderr=log,
        )  # fmt: skip


async def stop_mila(process: asyncio.subprocess.Process, timeout: float = 60.0) -> int:
    """SIGTERM, and the exit code (the process must leave within `timeout`)."""
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), timeout)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise AssertionError("mila run did not stop within the timeout after SIGTERM") from None
    assert process.returncode is not None
    return process.returncode


async def channel_user(database_url: str, channel: str, external_id: str) -> ChannelUser | None:
    """A chat user's row as the running process left it (read through a connection of the test's own)."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            result = await conn.execute(
                select(ChannelUser).where(ChannelUser.channel == channel, ChannelUser.external_id == external_id)
            )
            row = result.first()
            return ChannelUser(**row._mapping) if row is not None else None
    finally:
        await engine.dispose()


async def orders(database_url: str) -> list[Order]:
    """Every order the running process placed."""
    engine = create_async_engine(database_url)
    try:
        async with make_sessionmaker(engine)() as db:
            return list((await db.execute(select(Order))).scalars())
    finally:
        await engine.dispose()
