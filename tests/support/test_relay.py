"""The relay into the operators' group: per ticket in order, several messages merged into one post, the pace
shared by every process (kept in Redis), one process posting into a group at a time."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from bot.health import Finding, error, ok
from bot.services.support.relay import RelayQueue
from bot.services.support.worker import DeskRefused, SupportWorker
from tests.chat import Chat
from tests.conftest import REDIS_URL
from tests.support.conftest import GROUP, OTHER_GROUP, SupportAppFactory


@dataclass
class Desk:
    """Stands in for the Telegram group (the end-to-end tests post into the fake Bot API)."""

    posts: list[tuple[float, str, int | None, str]] = field(default_factory=list)
    topics: int = 100

    async def check(self, group: int) -> Finding:
        return ok("desk", f"group {group} takes posts")

    async def open_topic(self, group: int, title: str) -> int:
        self.topics += 1
        self.posts.append((time.monotonic(), "topic", self.topics, title))
        return self.topics

    async def post(self, group: int, thread: int | None, text: str, attachment: dict[str, str] | None,
                   buttons: list[list[str]] | None) -> None:  # fmt: skip
        self.posts.append((time.monotonic(), "photo" if attachment else "text", thread, text))

    async def close_topic(self, group: int, thread: int) -> None:
        self.posts.append((time.monotonic(), "close", thread, ""))


async def test_messages_of_a_ticket_are_merged_in_order_at_the_configured_pace(
    make_support_app: SupportAppFactory,
) -> None:
    app, support, _ = await make_support_app(relay_rate=20, relay_window_seconds=1.0)
    first, second = Chat(app.engine), Chat(app.engine)
    for chat, name in ((first, "prvi"), (second, "drugi")):
        await chat.first_contact("Srpski")
        await chat.say("operater")
        await chat.say(f"Pitanje: {name}")
        for n in range(1, 4):
            await chat.say(f"{name} {n}")
    await second.send_photo("slika.jpg")
    desk, other_desk = Desk(), Desk()
    while await SupportWorker(support, desk).post_next(GROUP):
        pass
    while await SupportWorker(support, other_desk).post_next(OTHER_GROUP):
        pass

    # Two support groups share the tickets: the second went to the group with fewer open tickets.
    assert [(kind, thread) for _, kind, thread, _ in desk.posts] == [("topic", 101), ("text", 101), ("text", 101)]
    assert [(kind, thread) for _, kind, thread, _ in other_desk.posts] == [("topic", 101), ("text", 101),
                                                                          ("text", 101), ("photo", 101)]  # fmt: skip
    assert desk.posts[0][3] == "Tiket #1 · Test · Srpski (latinica)"
    assert "Pita: Pitanje: prvi" in desk.posts[1][3] and "Prosleđivanje u ovu grupu: čeka" in desk.posts[1][3]
    merged = desk.posts[2][3].splitlines()
    assert [line.split("  ", 1)[1] for line in merged] == ["prvi 1", "prvi 2", "prvi 3"]
    assert [line.split("  ", 1)[1] for line in other_desk.posts[2][3].splitlines()] == ["drugi 1", "drugi 2", "drugi 3"]
    # 20 a second at most, evenly spaced (the slots are given out by Redis; the clock here sees them with the
    # jitter of a round trip, hence the allowance).
    span = desk.posts[-1][0] - desk.posts[0][0]
    assert span >= (len(desk.posts) - 1) * support.relay.interval_ms / 1000 - 0.03, span
    assert (await support.relay.backlog(GROUP)).pending == 0


async def test_the_pace_and_the_group_are_shared_between_processes(make_support_app: SupportAppFactory) -> None:
    app, support, _ = await make_support_app(relay_rate=20, relay_window_seconds=60.0)
    other = RelayQueue(app.redis.from_url(REDIS_URL), app.settings.redis.prefix, rate=20, window_seconds=60.0)
    try:
        assert await support.relay.wait_turn(GROUP) == 0
        assert 2.5 < await other.wait_turn(GROUP) <= 3.15  # another process waits for the same slot
        assert await support.relay.hold(GROUP)
        assert not await other.hold(GROUP)  # one process posts into a group at a time
        await support.relay.release(GROUP)
        assert await other.hold(GROUP)
    finally:
        await other.release(GROUP)
        await other.redis.aclose()


@dataclass
class BrokenDesk(Desk):
    """A group that refuses every post while `problem` is set, the way Telegram refuses posts into a group whose
    topics were turned off or whose bot lost its rights; `refuse_once` refuses one post of a group that works."""

    problem: str | None = None
    refuse_once: bool = False
    checks: int = 0

    async def check(self, group: int) -> Finding:
        self.checks += 1
        return error("desk", self.problem, "fix the group") if self.problem else ok("desk", "works")

    async def open_topic(self, group: int, title: str) -> int:
        self._refuse()
        return await super().open_topic(group, title)

    async def post(self, group: int, thread: int | None, text: str, attachment: dict[str, str] | None,
                   buttons: list[list[str]] | None) -> None:  # fmt: skip
        self._refuse()
        await super().post(group, thread, text, attachment, buttons)

    def _refuse(self) -> None:
        if self.problem:
            raise DeskRefused("Bad Request: not enough rights to create a topic")
        if self.refuse_once:
            self.refuse_once = False
            raise DeskRefused("Bad Request: message is too long")


async def test_a_group_that_stops_taking_posts_keeps_its_tickets_until_it_works_again(
    make_support_app: SupportAppFactory,
) -> None:
    app, support, _ = await make_support_app(relay_rate=600, relay_window_seconds=60.0)
    support.settings.chat_ids = str(GROUP)  # one group: when it is down, no operator can be reached
    chat = Chat(app.engine)
    await chat.first_contact("Srpski")
    await chat.say("operater")
    await chat.say("Ne radi mi internet")
    chat.expect("Vaše mesto u redu: 1.")  # nobody knew yet: the group broke after its last post
    desk = BrokenDesk(problem="group -1001234567890: topics are off")
    seen: list[tuple[int, str]] = []
    worker = SupportWorker(support, desk, on_desk=lambda group, finding: seen.append((group, finding.summary)))

    assert not await worker.post_next(GROUP)  # refused: the group is checked, found down, the post kept
    assert desk.posts == [] and (await support.relay.backlog(GROUP)).pending == 1
    assert seen == [(GROUP, "error: group -1001234567890: topics are off")]
    assert await support.relay.desk_down([GROUP])  # every process now tells users the truth
    other = Chat(app.engine)
    await other.first_contact("Srpski")
    await other.say("operater")
    await other.say("I meni")
    other.expect("Naši operateri trenutno nisu dostupni. Vaša poruka je sačuvana (tiket #2)", "0800 100 100")
    other.expect_not("u redu")

    assert not await worker.recheck(GROUP)  # still down: nothing is posted
    desk.problem = None
    assert await worker.recheck(GROUP)
    assert seen[-1] == (GROUP, "ok") and not await support.relay.desk_down([GROUP])
    while await worker.post_next(GROUP):
        pass
    kinds = [kind for _, kind, _, _ in desk.posts]
    assert kinds == ["topic", "text", "topic", "text"]  # both tickets, each with its card
    assert "⏳ Otvoren " in desk.posts[1][3] and "; korisnik čeka " in desk.posts[1][3]

    desk.refuse_once = True  # a post refused by a group that works is only that post: dropped, the queue moves
    await other.say("Još nešto")
    await other.say("I još")
    assert await worker.post_next(GROUP)  # the first of the refused post's messages is dropped
    assert [kind for _, kind, _, _ in desk.posts] == kinds and desk.checks == 4  # refused, twice again, once now
    assert await worker.post_next(GROUP) and not await worker.post_next(GROUP)
    assert desk.posts[-1][3] == "I još" and (await support.relay.backlog(GROUP)).pending == 0
