"""The handoff to operators, tested for real: the engine on Redis and SQLite/PostgreSQL with a support group
configured, a profile whose working hours the test chooses, and the users' channels replaced by a recorder of
what was pushed (the end-to-end tests use the real channels through `mila run`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml
from pydantic import SecretStr

from bot.app import App, build_app
from bot.config import BotSettings, DatabaseSettings, RedisSettings, Settings, SupportSettings, TelegramSettings
from bot.core.incoming import UserRef
from bot.core.outbound import RateLimiter
from bot.core.push import Delivery, PushResult
from bot.core.replies import Reply, Text
from bot.profiles import PROFILE_DIR
from bot.services.support.service import Support
from tests.conftest import REDIS_URL

GROUP = -1001234567890
OTHER_GROUP = -1009876543210


def write_profile(directory: Path, *, open_now: bool, base: str = "rs") -> Path:
    """The built-in profile with working hours that are open around the clock, or closed today and tomorrow."""
    data = yaml.safe_load((PROFILE_DIR / f"{base}.yaml").read_text(encoding="utf-8"))
    if open_now:
        data["support_hours"] = {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "open": "00:00",
                                 "close": "24:00", "holidays": []}  # fmt: skip
    else:
        today = date.today()
        data["support_hours"] = {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "open": "08:00",
                                 "close": "20:00",
                                 "holidays": [today - timedelta(days=1), today, today + timedelta(days=1)]}  # fmt: skip
    path = directory / f"{base}-{'open' if open_now else 'closed'}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@dataclass
class Recorder:
    """Stands in for a user's channel: keeps what the support service pushed, per user."""

    name: str = "test"
    pushed: dict[str, list[Reply]] = field(default_factory=dict)
    busy: int = 0  # this many pushes are answered "retry later" (Viber's status 12, Telegram's 429) first

    async def push(
        self,
        user: UserRef,
        replies: Sequence[Reply],
        *,
        purpose: str,
        paid_broadcast: bool = False,
        bulk: RateLimiter | None = None,
    ) -> PushResult:
        if self.busy > 0:
            self.busy -= 1
            return PushResult(Delivery.RETRY_LATER, retry_after=0.01)
        self.pushed.setdefault(user.external_id, []).extend(replies)
        return PushResult(Delivery.SENT, ("1",))

    def texts(self, user: UserRef) -> list[str]:
        return [r.text for r in self.pushed.get(user.external_id, []) if isinstance(r, Text)]


def support_settings(profile: Path, database_url: str, redis_prefix: str, **support: object) -> Settings:
    return Settings(
        bot=BotSettings(profile=str(profile)),
        database=DatabaseSettings(url=database_url),
        redis=RedisSettings(url=REDIS_URL, prefix=redis_prefix),
        telegram=TelegramSettings(bot_token=SecretStr("123456789:TEST-token-for-the-fake-bot-api")),
        support=SupportSettings(chat_ids=f"{GROUP},{OTHER_GROUP}", **support),  # type: ignore[arg-type]
    )


SupportAppFactory = Callable[..., Awaitable[tuple[App, Support, Recorder]]]


@pytest.fixture
async def make_support_app(database_url: str, redis_prefix: str, tmp_path: Path) -> AsyncIterator[SupportAppFactory]:
    apps: list[App] = []

    async def factory(*, open_now: bool = True, **support_options: object) -> tuple[App, Support, Recorder]:
        profile = write_profile(tmp_path, open_now=open_now)
        app = build_app(support_settings(profile, database_url, redis_prefix, **support_options))
        apps.append(app)
        support = app.deps.support
        assert isinstance(support, Support) and support.enabled
        recorder = Recorder()
        support.pushers["test"] = recorder
        return app, support, recorder

    yield factory
    for app in apps:
        await app.close()
