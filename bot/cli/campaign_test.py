"""`mila campaign test ID --to telegram:123 --to viber:abc`: the campaign's message to admins, before sending it.

It goes through the same channels and the same composition as the real thing (in each admin's language, or
`--lang`), without asking for consent and without a delivery row; the campaign remembers when it was tested.
"""

from __future__ import annotations

import argparse
import asyncio

from bot.app import build_app
from bot.cli.common import fail, settings_for
from bot.core.incoming import UserRef
from bot.db.base import utcnow
from bot.metrics import Metrics
from bot.profiles import load_profile
from bot.server import build_channels, pushers
from bot.services.campaigns import store
from bot.services.campaigns.message import compose
from bot.services.campaigns.store import CampaignError
from bot.services.users import UserDirectory


def _admins(targets: list[str]) -> list[UserRef]:
    admins: list[UserRef] = []
    for target in targets:
        channel, _, external_id = target.partition(":")
        if channel not in ("telegram", "viber") or not external_id:
            raise CampaignError(f"--to {target!r}: write telegram:<chat id> or viber:<user id>")
        admins.append(UserRef(channel, external_id))
    return admins


TOKENS = {"telegram": "TELEGRAM_BOT_TOKEN", "viber": "VIBER_AUTH_TOKEN"}


def send_test(args: argparse.Namespace) -> int:
    settings = settings_for(args)
    languages = load_profile(settings.bot.profile).languages
    try:
        admins = _admins(args.to)
        if args.lang is not None and args.lang not in languages:
            raise CampaignError(f"--lang {args.lang}: use one of the profile's languages ({', '.join(languages)})")
    except CampaignError as exc:
        return fail(exc)

    async def go() -> int:
        app = build_app(settings)
        channels = build_channels(app, Metrics())
        try:
            senders = pushers(channels)
            profile = app.deps.profile
            async with app.deps.sessionmaker() as db:
                campaign = await store.get(db, args.id)
                spec = store.spec_of(campaign)
                failures = 0
                for admin in admins:
                    pusher = senders.get(admin.channel)
                    if pusher is None:
                        print(f"{admin.channel}:{admin.external_id}: the {admin.channel} channel is not configured "
                              f"(set {TOKENS[admin.channel]})")  # fmt: skip
                        failures += 1
                        continue
                    known = await UserDirectory(db).get(admin)
                    language = args.lang or (known.language if known else None) or profile.default_language
                    replies = compose(spec, campaign.id, app.deps.i18n.get(language))
                    result = await pusher.push(admin, replies, purpose=f"campaign {campaign.id} test")
                    print(f"{admin.channel}:{admin.external_id} ({language}): {result.delivery.value}")
                    failures += 0 if result.sent else 1
                if failures == len(admins):
                    print(f"campaign {campaign.id}: no test message went out (not recorded as tested)")
                    return 1
                campaign.test_sent_at = utcnow()
                await db.commit()
                return 1 if failures else 0
        finally:
            for channel in channels:
                await channel.close()
            await app.close()

    try:
        return asyncio.run(go())
    except CampaignError as exc:
        return fail(exc)
