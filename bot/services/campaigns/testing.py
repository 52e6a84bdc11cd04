"""A campaign's test send: its message to a few admins, before it goes out (`mila campaign test`, the console).

It goes through the same channels and the same composition as the real thing (in each admin's language, or the one
asked for), without asking for consent and without a delivery row; the campaign remembers when a test went out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.i18n import I18n
from bot.core.incoming import UserRef
from bot.core.push import Pusher
from bot.db.models import Campaign
from bot.services.campaigns import store
from bot.services.campaigns.message import compose
from bot.services.users import UserDirectory

TEST_CHANNELS = ("telegram", "viber")


def parse_target(target: str) -> UserRef | None:
    """`telegram:<chat id>` or `viber:<user id>`; None for anything else."""
    channel, _, external_id = target.strip().partition(":")
    if channel not in TEST_CHANNELS or not external_id.strip():
        return None
    return UserRef(channel, external_id.strip())


@dataclass(frozen=True, slots=True)
class Outcome:
    admin: UserRef
    language: str | None  # None: the admin's channel is not configured here
    delivery: str | None
    sent: bool


async def send_test(
    db: AsyncSession, campaign_id: int, admins: Sequence[UserRef], senders: Mapping[str, Pusher], i18n: I18n,
    default_language: str, now: datetime, *, language: str | None = None,
) -> tuple[Campaign, list[Outcome]]:  # fmt: skip
    """Send the test; `test_sent_at` is set (not committed) when at least one admin got it."""
    campaign = await store.get(db, campaign_id)
    spec = store.spec_of(campaign)
    outcomes: list[Outcome] = []
    for admin in admins:
        pusher = senders.get(admin.channel)
        if pusher is None:
            outcomes.append(Outcome(admin, None, None, False))
            continue
        known = await UserDirectory(db).get(admin)
        code = language or (known.language if known else None) or default_language
        replies = compose(spec, campaign.id, i18n.get(code))
        result = await pusher.push(admin, replies, purpose=f"campaign {campaign.id} test")
        outcomes.append(Outcome(admin, code, result.delivery.value, result.sent))
    if any(outcome.sent for outcome in outcomes):
        campaign.test_sent_at = now
    return campaign, outcomes
