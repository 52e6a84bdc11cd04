"""The support worker of `mila run`: posts the relay queue into the support groups at the allowed pace, tells
waiting users their place in the queue, and closes tickets nobody wrote in for too long.

A group that cannot take posts at all (topics off, the bot not an administrator, the bot removed) is not a reason
to drop what waits for it: when a post is refused the group is checked, and if the group is the problem it is
marked down (in Redis, for every process: users asking for an operator are then told the truth), nothing is
posted there, and it is checked again every `recheck_seconds`; once it works, the waiting tickets are posted, each
card saying how long its user has waited. Only a post refused by a group that works is dropped.

Several processes may run it: posting into a group is leased to one process at a time and its pace is kept in
Redis; queue announcements take a lock; closing is a status change that only one transaction can make.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from bot.core.i18n import N_
from bot.health import Finding, Level
from bot.services.support.relay import Item
from bot.services.support.service import Support

log = logging.getLogger("mila.support.worker")

MAX_MERGED = 3500  # characters of one merged post (Telegram takes 4096)
ORPHAN_SECONDS = 60.0  # an item whose ticket never appeared in the database (its turn failed) is dropped
WAITED_NOTE_SECONDS = 60.0  # a card posted this long after its ticket opened says how long the user has waited

CARD_WAITED = N_("Opened {time}; the user has waited {waited}.")
WAITED_SECONDS = N_("{n} s")
WAITED_MINUTES = N_("{n} min")


class DeskUnavailable(Exception):
    """The desk's platform cannot take posts now (network, 429 after retries): try the same post later."""

    def __init__(self, retry_after: float | None = None) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


class DeskRefused(Exception):
    """This post can never be made (the platform refused it): it is logged and dropped, the queue moves on."""


class DeskPoster(Protocol):
    """The operators' desk as the worker sees it (the Telegram support group implements it).

    `check` tells whether a group can take posts at all (an error finding: it cannot, and why; a warning: it could
    not be told), asked when a post is refused and while a group is down."""

    async def check(self, group: int) -> Finding: ...

    async def open_topic(self, group: int, title: str) -> int: ...

    async def post(
        self, group: int, thread: int | None, text: str, attachment: dict[str, str] | None,
        buttons: list[list[str]] | None,
    ) -> None: ...  # fmt: skip

    async def close_topic(self, group: int, thread: int) -> None: ...


DeskHook = Callable[[int, Finding], None]


class SupportWorker:
    def __init__(
        self,
        support: Support,
        poster: DeskPoster,
        *,
        idle_poll: float = 0.1,
        recheck_seconds: float = 30.0,
        on_desk: DeskHook | None = None,
    ) -> None:
        self.support = support
        self.poster = poster
        self.relay = support.relay
        self.idle_poll = idle_poll
        self.recheck_seconds = recheck_seconds
        self.on_desk = on_desk  # `mila run` shows each group's state in /healthz
        self.on_success: Callable[[], None] = lambda: None  # a pass that did its work
        self.down: dict[int, str] = {}  # group → why it cannot take posts, as known to this process
        self.recovered_at: dict[int, float] = {}  # group → when it took posts again (what waited for it says so)

    async def run_forever(self, stop: asyncio.Event) -> None:
        with contextlib.suppress(RedisError):
            await self._follow_desk()  # what the start-up check (or another process) found about the groups
        tasks = [asyncio.create_task(self._drain(group, stop), name=f"support-relay-{group}")
                 for group in self.support.groups]  # fmt: skip
        tasks.append(asyncio.create_task(self._housekeeping(stop), name="support-housekeeping"))
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            for group in self.support.groups:
                with contextlib.suppress(RedisError):
                    await self.relay.release(group)

    async def _drain(self, group: int, stop: asyncio.Event) -> None:
        while not stop.is_set():
            pause = self.idle_poll
            try:
                if not await self.relay.hold(group):
                    pause = 1.0
                elif group in self.down and not await self.recheck(group):
                    pause = self.recheck_seconds  # its posts wait in the queue
                elif await self.post_next(group):
                    continue
                else:
                    self.on_success()
            except DeskUnavailable as exc:
                pause = exc.retry_after or 1.0
                log.warning("support group unavailable; retrying", extra={"retry_after": pause})
            except (RedisError, SQLAlchemyError, OSError) as exc:
                log.warning("support relay paused", extra={"error": type(exc).__name__})
                pause = 1.0
            except Exception:
                log.exception("support relay failed")
                pause = 1.0
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), pause)

    async def _housekeeping(self, stop: asyncio.Event) -> None:
        rounds = 0
        while not stop.is_set():
            try:
                await self._follow_desk()
                await self.support.close_silent()
                if len(self.down) < len(self.support.groups):  # nobody says "you are next" while no group works
                    await self.support.announce_positions(force=rounds % 60 == 0)
            except (RedisError, SQLAlchemyError, OSError) as exc:
                log.warning("support housekeeping paused", extra={"error": type(exc).__name__})
            except Exception:
                log.exception("support housekeeping failed")
            rounds += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.support.settings.tick_seconds)

    # --- a group that cannot take posts --------------------------------------------------------------------------
    async def recheck(self, group: int) -> bool:
        """Check `group` again; True when it takes posts again (its waiting posts go out from now on)."""
        finding = await self.poster.check(group)
        if finding.level is Level.ERROR:
            await self._set_down(group, finding)
            return False
        if finding.level is Level.WARNING:
            raise DeskUnavailable(self.recheck_seconds)  # could not be told: keep waiting, ask again later
        await self._set_up(group, finding)
        return True

    async def _set_down(self, group: int, finding: Finding) -> None:
        if self.down.get(group) != finding.message:
            log.error("support group cannot take posts; its tickets wait", extra={"group": group,
                      "problem": finding.message, "advice": finding.advice})  # fmt: skip
        self.down[group] = finding.message
        await self.relay.mark_desk(group, finding.message)
        if self.on_desk is not None:
            self.on_desk(group, finding)

    async def _set_up(self, group: int, finding: Finding) -> None:
        if self.down.pop(group, None) is not None:
            self.recovered_at[group] = time.time()
            log.info("support group takes posts again", extra={"group": group})
            await self.support.positions_changed()  # waiting users hear their place again
        await self.relay.mark_desk(group, None)
        if self.on_desk is not None:
            self.on_desk(group, finding)

    async def _follow_desk(self) -> None:
        """What other processes found about the groups (one process posts into a group, every one answers users)."""
        shared = await self.relay.desk_problems(self.support.groups)
        for group in self.support.groups:
            if group in shared and self.down.get(group) != shared[group]:
                self.down[group] = shared[group]
                if self.on_desk is not None:
                    self.on_desk(group, Finding("desk", Level.ERROR, shared[group]))
            elif group not in shared and group in self.down:
                del self.down[group]
                self.recovered_at[group] = time.time()
                if self.on_desk is not None:
                    self.on_desk(group, Finding("desk", Level.OK, f"group {group} takes posts"))

    async def _paced(self, group: int) -> None:
        for _ in range(10_000):  # a slot comes within one interval; the bound only guards against a broken clock
            wait = await self.relay.wait_turn(group)
            if wait <= 0:
                return
            await asyncio.sleep(wait)
        raise DeskUnavailable(1.0)

    async def post_next(self, group: int) -> bool:
        """Post the next thing waiting for `group` (a new topic with its card, a run of messages merged into
        one post, an attachment, a topic to close). False when nothing could be posted now."""
        batch = await self.relay.next_batch(group)
        if batch is None:
            return False
        ticket_id, items = batch
        topic = await self.support.topic_of(ticket_id)
        if topic is None:  # the ticket's transaction has not committed yet, or it failed
            if time.time() - items[0].at > ORPHAN_SECONDS:
                log.warning("support relay item without a ticket dropped")
                await self.relay.ack(group, ticket_id, 1)
                return True
            return False
        ticket_group, thread = topic
        if ticket_group != group:
            thread = None
        first = items[0]
        try:
            if first.kind == "open":
                if thread is None:
                    await self._paced(group)
                    thread = await self.poster.open_topic(group, first.title)
                    await self.support.set_thread(ticket_id, group, thread)
                await self._paced(group)
                backlog = await self.relay.backlog(group)
                text = first.text + self._waited(group, first) + "\n📨 " + self.support.backlog_line(backlog)
                await self.poster.post(group, thread, text, None, first.buttons)
                count = 1
            elif first.kind == "close":
                target = first.thread or thread
                if target is not None:
                    await self._paced(group)
                    await self.poster.close_topic(group, target)
                count = 1
            elif first.attachment is not None:
                await self._paced(group)
                await self.poster.post(group, first.thread or thread, first.text, first.attachment, None)
                count = 1
            else:
                run = self._run(items)
                await self._paced(group)
                await self.poster.post(group, first.thread or thread, self._merge(run), None, None)
                count = len(run)
        except DeskRefused as exc:
            # Either the group itself cannot take posts (topics off, the bot no administrator): then nothing can be
            # posted there and everything waits until it can; or only this post was wrong: it is dropped.
            if not await self.recheck(group):
                return False
            log.error("support post refused and dropped", extra={"kind": first.kind, "error": str(exc)[:120]})
            count = 1
        await self.relay.ack(group, ticket_id, count)
        return True

    def _waited(self, group: int, item: Item) -> str:
        """The card of a ticket that waited says since when and how long: one that came while its group could not
        take posts, or after a long queue."""
        waited = time.time() - item.at
        if waited < WAITED_NOTE_SECONDS and item.at > self.recovered_at.get(group, 0.0):
            return ""
        t = self.support.desk
        opened = t.datetime(datetime.fromtimestamp(item.at, self.support.profile.zone), self.support.profile.zone)
        how_long = t.gettext(WAITED_SECONDS if waited < 60 else WAITED_MINUTES).format(
            n=round(waited) if waited < 60 else round(waited / 60)
        )
        return "\n⏳ " + t.gettext(CARD_WAITED).format(time=opened, waited=how_long)

    @staticmethod
    def _run(items: list[Item]) -> list[Item]:
        """The leading messages that can go as one post: texts of one topic, up to a size."""
        run: list[Item] = []
        size = 0
        for item in items:
            if item.kind not in ("user", "sys") or item.attachment is not None or item.thread != items[0].thread:
                break
            size += len(item.text) + 12
            if run and size > MAX_MERGED:
                break
            run.append(item)
        return run

    def _merge(self, run: list[Item]) -> str:
        def line(item: Item) -> str:
            return ("ℹ️ " + item.text) if item.kind == "sys" else item.text

        if len(run) == 1:
            return line(run[0])[:4000]
        zone = self.support.profile.zone
        return "\n".join(
            datetime.fromtimestamp(item.at, zone).strftime("%H:%M:%S") + "  " + line(item) for item in run
        )[:4000]
