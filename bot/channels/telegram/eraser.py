"""Messages the bot removes from a chat some time after sending them (a PUK shown once).

The schedule is a Redis sorted set shared by every `mila run` process: a restart or another process still removes
the message on time. Each entry is popped atomically, so one process deletes it. A deletion Telegram refuses
(already deleted by the user, older than 48 hours) is simply dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from aiogram.exceptions import TelegramAPIError
from aiogram.methods import DeleteMessage
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.channels.telegram.sender import Blocked, Sender

log = logging.getLogger("mila.telegram.erase")

_POP_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
if #due > 0 then redis.call('ZREM', KEYS[1], unpack(due)) end
return due
"""


class Eraser:
    def __init__(self, redis: Redis, key: str, sender: Sender, *, interval: float = 1.0) -> None:
        self.redis = redis
        self.key = key
        self.sender = sender
        self.interval = interval
        self.on_success: Callable[[], None] = lambda: None
        self._pop_due = redis.register_script(_POP_DUE)

    async def schedule(self, chat_id: int, message_id: int, seconds: int) -> None:
        try:
            await self.redis.zadd(self.key, {f"{chat_id}:{message_id}": time.time() + seconds})
        except RedisError:
            log.error("a message to remove could not be scheduled: Redis unavailable", extra={"message": message_id})

    async def erase_due(self, limit: int = 50) -> int:
        """Delete the messages whose time has come; returns how many were taken from the schedule."""
        due = await self._pop_due(keys=[self.key], args=[repr(time.time()), limit])
        for entry in due:
            chat_id, message_id = (int(part) for part in entry.decode().split(":"))
            try:
                await self.sender.call(DeleteMessage(chat_id=chat_id, message_id=message_id), None, paced=False)
            except (TelegramAPIError, Blocked) as exc:
                log.info("message not removed", extra={"message": message_id, "error": type(exc).__name__})
        return len(due)

    async def run(self, stopping: asyncio.Event) -> None:
        """Until `stopping` is set (`mila run` supervises it: each good pass is a sign of life, `on_success`)."""
        while not stopping.is_set():
            try:
                await self.erase_due()
            except RedisError:
                log.warning("messages to remove not checked: Redis unavailable")
            else:
                self.on_success()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), timeout=self.interval)
