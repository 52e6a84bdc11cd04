"""One user's replies in the order of their turns, whichever process sends them.

A turn is numbered inside the user's session lock (`Session.turns`, saved with the session), so the numbers follow
the order in which the turns ran. The process that ran the turn claims its number there too, before the lock is
given back (`TurnOrder.claim`, called by the engine through `Engine.handle(numbered=...)`): so when the user's next
turn comes to send, the turn before is known to be on its way — in this process, or in one that is alive — however
long the steps between the turn and its sending take (a busy event loop, a Redis pool with every connection taken).
The replies are sent after the lock is given back — holding it while waiting for the platform's limits would hold
up the user's next turn as well — in two steps, each in the order of the turns:

1. `reserved`: a turn takes its place in the chat's pace (and from there in the global schedule) only after the
   turn before has taken its own (the Telegram channel waits until it was sent, so that a place taken ahead is
   never thrown away while the turn before waits);
2. `served`: its first message goes only once every message of the turn before was sent.

A turn sent by this process is waited for on its own events, without a time limit: it is known to be alive, and
its replies may be queued behind the limiter (or a 429 pause) for as long as the limits say. A turn that will never
be served must not hold the ones after it: its claim carries the token of its process, which keeps an "alive" key
renewed every second on a connection of its own (never queued behind the turns for one of the pool's, so a turn
however slow keeps its place while its process lives); a waiter goes on when the turn before was claimed by a
process that is gone, or was never claimed within `grace` seconds (a turn run by code that does not claim). A
session that expired starts again at 1, which resets `served`; a `served` lost with Redis' data costs the next turn
`grace` seconds. Without Redis nothing can be ordered across processes: the replies go out at once rather than
not at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import AsyncIterator

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger("mila.outbound")

_CLAIM = """
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
return 1
"""

_CHECK = """
local served = tonumber(redis.call('GET', KEYS[1]) or '-1')
local seq = tonumber(ARGV[1])
if served >= seq - 1 then return 'go' end
local owner = redis.call('GET', KEYS[2])
if not owner then return 'absent' end
if redis.call('EXISTS', ARGV[2] .. owner) == 0 then return 'dead' end
return 'wait'
"""

_MARK = """
local seq = tonumber(ARGV[1])
for i = 1, #KEYS do
  if i == #KEYS and ARGV[3] == '1' then redis.call('DEL', KEYS[i]) else
    local current = tonumber(redis.call('GET', KEYS[i]) or '-1')
    if seq == 1 or seq > current then redis.call('SET', KEYS[i], ARGV[1], 'EX', ARGV[2]) end
  end
end
return 1
"""

DONE_HERE_SECONDS = 60.0
RESERVED = "reserved"
SERVED = "served"


class TurnGate:
    """One turn's place in its user's order, inside `TurnOrder.turn`."""

    def __init__(self, order: TurnOrder, chat: str, seq: int | None) -> None:
        self.order = order
        self.chat = chat
        self.seq = seq
        self.events = {RESERVED: asyncio.Event(), SERVED: asyncio.Event()}
        self._previous_sent = seq is None

    async def reserved(self) -> None:
        """This turn has taken its places in the pace: the user's next turn may take its own."""
        if self.seq is None or self.events[RESERVED].is_set():
            return
        self.events[RESERVED].set()
        with contextlib.suppress(RedisError):
            await self.order._mark(
                keys=[self.order._key(self.chat, RESERVED)], args=[self.seq, self.order.ttl_seconds, 0]
            )

    async def previous_sent(self) -> None:
        """Return once every message of the user's turn before was sent (at once after the first call)."""
        if self._previous_sent or self.seq is None:
            return
        try:
            await self.order._wait(self.chat, self.seq, SERVED)
        except RedisError:
            log.warning("replies not ordered across processes: Redis unavailable")
        self._previous_sent = True


class Claims:
    """`Engine.handle(incoming, numbered=claims)`: claims the turn's number inside the user's lock. Afterwards
    `release()` when the turn was not kept (the engine raised), else `done()` once its replies went (or will not)."""

    def __init__(self, order: TurnOrder, chat: str) -> None:
        self.order = order
        self.chat = chat
        self.seqs: list[int] = []

    async def __call__(self, seq: int) -> None:
        self.seqs.append(seq)
        await self.order.claim(self.chat, seq)

    async def release(self) -> None:
        for seq in self.seqs:
            await self.order.release(self.chat, seq)

    async def done(self) -> None:
        for seq in self.seqs:
            await self.order.done(self.chat, seq)


class TurnOrder:
    def __init__(
        self,
        redis: Redis,
        prefix: str,
        *,
        ttl_seconds: int,
        grace_seconds: float = 5.0,
        max_wait_seconds: float = 300.0,
        alive_seconds: float = 3.0,
    ) -> None:
        self.prefix = prefix
        self.ttl_seconds = max(ttl_seconds, 60)
        self.grace = grace_seconds
        self.max_wait = max_wait_seconds
        self.alive_ms = int(alive_seconds * 1000)
        self.token = secrets.token_hex(8)
        self.redis = redis
        self._claim = redis.register_script(_CLAIM)
        self._check = redis.register_script(_CHECK)
        self._mark = redis.register_script(_MARK)
        self._local: dict[tuple[str, int], TurnGate] = {}  # turns being sent by this process
        # The last turn of each chat this process finished, and when: its next turn, sent here too, goes on without
        # a round trip to Redis. Kept a minute (a session that expired since starts again at 1), for so many chats.
        self._done_here: OrderedDict[str, tuple[int, float]] = OrderedDict()
        self.done_memory = 10_000
        self._renewer: asyncio.Task[None] | None = None
        self.skipped = 0  # waits that gave up on a turn that would never be served

    def _key(self, chat: str, part: str | int) -> str:
        return f"{self.prefix}{chat}:{part}"

    @property
    def _alive_key(self) -> str:
        return f"{self.prefix}alive:{self.token}"

    def claims(self, chat: str) -> Claims:
        return Claims(self, chat)

    async def claim(self, chat: str, seq: int | None) -> None:
        """The turn `seq` was numbered and this process will send its replies: called inside the user's session
        lock, so the user's next turn finds it claimed. Its replies then go in `turn`; a turn whose replies will not
        be sent after all is given up with `done` (its turn ran) or `release` (it did not: the number comes again)."""
        if seq is None or (chat, seq) in self._local:
            return
        self._local[(chat, seq)] = TurnGate(self, chat, seq)  # before any await: this process's waiters see it
        self._keep_alive()
        try:
            await self._claim(
                keys=[self._key(chat, seq), self._alive_key], args=[self.token, self.alive_ms, int(self.max_wait * 2)]
            )
        except RedisError:
            log.warning("replies not ordered across processes: Redis unavailable")

    async def release(self, chat: str, seq: int | None) -> None:
        """A claimed turn that was not kept (the session was not saved): its number will be given again."""
        if seq is None or self._local.pop((chat, seq), None) is None:
            return
        with contextlib.suppress(RedisError):
            await self.redis.delete(self._key(chat, seq))

    async def done(self, chat: str, seq: int | None) -> None:
        """The claimed turn's replies are out, or will never be sent (the turn said nothing on this path): the
        next turn goes on. Nothing happens for a turn not claimed here, or done already."""
        if seq is None or (gate := self._local.pop((chat, seq), None)) is None:
            return
        for event in gate.events.values():
            event.set()
        self._done_here[chat] = (seq, time.monotonic())
        self._done_here.move_to_end(chat)
        while len(self._done_here) > self.done_memory:
            self._done_here.popitem(last=False)
        with contextlib.suppress(RedisError):
            await self._mark(
                keys=[self._key(chat, RESERVED), self._key(chat, SERVED), self._key(chat, seq)],
                args=[seq, self.ttl_seconds, 1],
            )

    @contextlib.asynccontextmanager
    async def turn(self, chat: str, seq: int | None) -> AsyncIterator[TurnGate]:
        """Send a turn's replies inside this block. It is entered once the turn before has reserved its places;
        call `gate.reserved()` after reserving this turn's, and `gate.previous_sent()` before sending the first
        message (`seq` None: no order to keep). A turn not claimed yet is claimed here."""
        if seq is None:
            yield TurnGate(self, chat, seq)
            return
        await self.claim(chat, seq)
        gate = self._local.get((chat, seq)) or TurnGate(self, chat, seq)
        try:
            try:
                await self._wait(chat, seq, RESERVED)
            except RedisError:
                log.warning("replies not ordered across processes: Redis unavailable")
            yield gate
        finally:
            await self.done(chat, seq)

    async def _wait(self, chat: str, seq: int, step: str) -> None:
        """Until the turn before has done `step` (or is known never to do it)."""
        if seq <= 1:  # a conversation's first turn (or the first since its session expired)
            return
        started = time.monotonic()
        absent_since: float | None = None
        delay = 0.005
        done, claim = self._key(chat, step), self._key(chat, seq - 1)
        while time.monotonic() - started < self.max_wait:
            before = self._local.get((chat, seq - 1))
            if before is not None:  # sent by this process: no need to ask Redis, and no grace: it is alive
                left = self.max_wait - (time.monotonic() - started)
                try:
                    await asyncio.wait_for(before.events[step].wait(), max(left, 0.0))
                except TimeoutError:
                    break  # a last resort, minutes on: never a user left without answers for good
                return
            last, at = self._done_here.get(chat, (0, 0.0))
            if last == seq - 1 and time.monotonic() - at < DONE_HERE_SECONDS:
                return  # finished by this process a moment ago
            state = await self._check(keys=[done, claim], args=[seq, f"{self.prefix}alive:"])
            state = state.decode() if isinstance(state, bytes) else str(state)
            if state == "go":
                return
            if state == "dead":
                self.skipped += 1
                log.warning("the turn before was claimed by a process that is gone: replies sent")
                return
            if state == "absent":
                now = time.monotonic()
                absent_since = absent_since or now
                if now - absent_since > self.grace:
                    self.skipped += 1
                    log.warning("the turn before never came to be sent: replies sent")
                    return
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.1)
        self.skipped += 1
        log.warning("replies waited too long for the turn before: sent")

    def _keep_alive(self) -> None:
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.create_task(self._renew(), name="outbound-alive")

    async def _renew(self) -> None:
        """Renew the alive key every third of its life while the process lives, on a connection of its own: a
        renewal that queued for one of the pool's connections behind a burst of turns (each waiting up to the pool's
        timeout) would let the key lapse, and the user's next turn, in another process, would take this process for
        dead and overtake a turn still being sent here."""
        keeper = self.redis.client()  # takes one connection of the pool at its first command and keeps it
        try:
            while True:
                with contextlib.suppress(RedisError):
                    await keeper.set(self._alive_key, "1", px=self.alive_ms)
                await asyncio.sleep(self.alive_ms / 3000)
        finally:
            with contextlib.suppress(RedisError):
                await keeper.aclose(close_connection_pool=False)  # the connection goes back to the pool

    async def close(self) -> None:
        if self._renewer is not None:
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError, RedisError):
                await self._renewer
            self._renewer = None
        with contextlib.suppress(RedisError):
            await self.redis.delete(self._alive_key)
