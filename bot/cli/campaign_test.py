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
from bot.services.campaigns import testing
from bot.services.campaigns.store import CampaignError
from bot.services.campaigns.testing import parse_target


def _admins(targets: list[str]) -> list[UserRef]:
    admins: list[UserRef] = []
    for target in targets:
        admin = parse_target(target)
        if admin is None:
            raise CampaignError(f"--to {target!r}: write telegram:<chat id> or viber:<user id>")
        admins.append(admin)
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
            async with app.deps.sessionmaker() as db:
                campaign, outcomes = await testing.send_test(
                    db, args.id, admins, pushers(channels), app.deps.i18n, app.deps.profile.default_language,
                    utcnow(), language=args.lang,
                )  # fmt: skip
                for outcome in outcomes:
                    admin = outcome.admin
                    if outcome.language is None:
                        print(f"{admin.channel}:{admin.external_id}: the {admin.channel} channel is not configured "
                              f"(set {TOKENS[admin.channel]})")  # fmt: skip
                    else:
                        print(f"{admin.channel}:{admin.external_id} ({outcome.language}): {outcome.delivery}")
                if not any(outcome.sent for outcome in outcomes):
                    print(f"campaign {campaign.id}: no test message went out (not recorded as tested)")
                    return 1
                await db.commit()
                return 0 if all(outcome.sent for outcome in outcomes) else 1
        finally:
            for channel in channels:
                await channel.close()
            await app.close()

    try:
        return asyncio.run(go())
    except CampaignError as exc:
        return fail(exc)
