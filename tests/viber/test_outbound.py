"""Viber replies on the one outbound path, against the fake Viber API enforcing a rate: answers beyond it in any one
second get status 12 (tooManyRequests), as Viber's do. Status 12 pauses the bot's sending as Telegram's 429 does:
every sender waits the pause out, then the sends leave at the rate, one by one."""

from __future__ import annotations

import asyncio
import itertools

from tests.viber.conftest import Viber, ViberFactory


async def test_a_burst_of_users_gets_every_reply_within_vibers_rate(viber: Viber) -> None:
    viber.api.rate_limit(30)
    users = [viber.user() for _ in range(75)]  # two and a half seconds of the whole rate, all at once
    statuses = await asyncio.gather(*(user.say("zdravo") for user in users))
    assert statuses == [200] * len(users)
    assert viber.api.too_many == 0  # no status 12: the replies kept to the rate
    for user in users:
        user.expect("Izaberite jezik")
    sent = sorted(c.at for c in viber.api.send_calls() if c.status == 0)
    assert sent[-1] - sent[0] > 74 / 30 * 0.9  # at the rate, not faster


async def test_status_12_pauses_every_send_then_they_leave_at_the_rate(make_viber: ViberFactory) -> None:
    """One send is told "too many requests": no other reply, in this process or another, goes during the pause;
    after it the waiting replies go one by one at the rate, never as a herd that would be refused again."""
    here, there = await make_viber("rs"), await make_viber("rs")  # two `mila run` processes, one bot
    for viber in (here, there):
        viber.channel.client.retry_delays = (0.5, 1.0, 2.0)
    here.api.rate_limit(30)
    here.api.answer(12)  # the very next send
    users = [(here if n % 2 else there).user() for n in range(30)]
    statuses = await asyncio.gather(*(user.say("zdravo") for user in users))
    assert statuses == [200] * len(users)
    for user in users:
        user.expect("Izaberite jezik")
    calls = here.api.send_calls()
    assert [c.status for c in calls].count(12) == 1 and here.api.too_many == 0
    refused = next(c.at for c in calls if c.status == 12)
    during = [c.at - refused for c in calls if refused < c.at < refused + 0.5]
    assert during == [], during  # paused: nobody sent while Viber had said "too many"
    sent = sorted(c.at for c in calls if c.status == 0)
    assert len(sent) == 30
    after = [at for at in sent if at > refused]
    gaps = [b - a for a, b in itertools.pairwise(after)]
    assert sum(1 for gap in gaps if gap < 0.015) <= 2, gaps  # one by one at the rate, no herd
