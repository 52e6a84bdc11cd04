"""The checks of a deployment against the real services: `mila doctor` prints them, `mila run` acts on them at start.

Each check reads or probes; none sends anything to a subscriber (see each module). A finding is ok, a warning
(works, but not as it should in production, or could not be told) or an error (that part cannot do its job).
"""

from __future__ import annotations

import asyncio

from bot.channels.telegram.checks import check_telegram
from bot.channels.viber.checks import check_viber
from bot.checks.local import check_database, check_listeners, check_profile, check_redis, check_security
from bot.checks.remote import check_provisioning, check_sms, check_smtp
from bot.config import Settings
from bot.health import Finding, error


def check_channels(settings: Settings) -> list[Finding]:
    viber = settings.viber.auth_token is not None and settings.viber.auth_token.get_secret_value()
    if settings.telegram.bot_token is None and not viber:
        return [error("channels", "neither TELEGRAM_BOT_TOKEN nor VIBER_AUTH_TOKEN is set: mila run has nothing to "
                                  "serve", "configure at least one channel")]  # fmt: skip
    return []


__all__ = ["check_provisioning", "check_smtp", "check_telegram", "check_viber", "run_checks"]


async def run_checks(settings: Settings, *, probe: bool) -> list[Finding]:
    """Every check, in the order `mila doctor` prints them; the services are asked at the same time."""
    local = [*check_profile(settings), *check_security(settings), *check_listeners(settings), *check_channels(settings)]
    groups = await asyncio.gather(
        check_database(settings),
        check_redis(settings),
        check_telegram(settings.telegram, settings.support.groups),
        check_viber(settings.viber),
        check_smtp(settings.mail),
        check_provisioning(settings.provisioning, probe=probe),
        check_sms(settings.identification, probe=probe),
    )
    database, redis, *services = groups
    return [*database, *redis, *local, *(finding for group in services for finding in group)]
