"""The one place that builds everything: settings → profile → catalogs → database → Redis → engine.

Every entry point (console chat, `mila run`, tests, benchmarks) goes through `build_app`, so what is tested is
what runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import RedisSettings, Settings
from bot.core.engine import Engine
from bot.core.i18n import I18n
from bot.core.router import Router
from bot.core.session import SessionStore
from bot.core.turn import Deps
from bot.db.base import make_engine, make_sessionmaker, utcnow
from bot.profiles import load_profile
from bot.services.backend import table_backend_factory

log = logging.getLogger("mila.app")


def make_redis(settings: RedisSettings) -> Redis:
    """The real server when REDIS_URL is set; otherwise an in-process Redis-compatible store (demo only)."""
    if settings.url:
        return Redis.from_url(settings.url, socket_timeout=5, socket_connect_timeout=5)
    import fakeredis

    log.info("REDIS_URL is not set: using the embedded in-process store (for the demo, not for production)")
    store: Redis = fakeredis.FakeAsyncRedis()
    return store


@dataclass
class App:
    settings: Settings
    deps: Deps
    engine: Engine
    redis: Redis
    db_engine: AsyncEngine

    async def close(self) -> None:
        await self.redis.aclose()
        await self.db_engine.dispose()


def build_app(
    settings: Settings,
    *,
    redis: Redis | None = None,
    router: Router | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> App:
    from handlers import build_router

    profile = load_profile(settings.bot.profile)
    i18n = I18n(settings.bot.locales_dir, profile.languages)
    redis = redis if redis is not None else make_redis(settings.redis)
    db_engine = make_engine(settings.database.url, echo=settings.database.echo)
    sessions = SessionStore(redis, settings.redis.prefix, ttl_seconds=settings.bot.session_ttl_seconds)
    deps = Deps(
        settings=settings.bot,
        profile=profile,
        i18n=i18n,
        sessionmaker=make_sessionmaker(db_engine),
        sessions=sessions,
        clock=clock,
    )
    deps.services["backend"] = table_backend_factory(profile, settings.security.key())
    engine = Engine(deps, router or build_router())
    return App(settings=settings, deps=deps, engine=engine, redis=redis, db_engine=db_engine)
