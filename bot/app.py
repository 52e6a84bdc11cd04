"""The one place that builds everything: settings → profile → catalogs → database → Redis → engine.

Every entry point (console chat, `mila run`, tests, benchmarks) goes through `build_app`, so what is tested is
what runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from redis.asyncio import BlockingConnectionPool, Redis
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import RedisSettings, Settings
from bot.core.engine import Engine, pseudonym
from bot.core.i18n import I18n
from bot.core.incoming import Kind
from bot.core.router import Router
from bot.core.session import SessionStore
from bot.core.turn import Deps, Turn
from bot.db.base import make_engine, make_sessionmaker, utcnow
from bot.profiles import Profile, load_profile
from bot.services.analytics import ConversationRecords
from bot.services.backend import table_backend_factory
from bot.services.code_quota import CodeQuota, CodeQuotaPolicy
from bot.services.guard_events import GuardEvents
from bot.services.identity import IdentityPolicy
from bot.services.lockout import Lockout, LockoutPolicy
from bot.services.otp import OneTimeCodes
from bot.services.sms import HttpSmsGateway, OutboxSmsGateway, SmsGateway
from bot.services.support.relay import RelayQueue
from bot.services.support.service import Support
from bot.services.users import UserDirectory

log = logging.getLogger("mila.app")


def make_redis(settings: RedisSettings) -> Redis:
    """The real server when REDIS_URL is set; otherwise an in-process Redis-compatible store (demo only)."""
    if settings.url:
        # A burst of updates makes more Redis calls at once than the pool has connections (redis-py's default is
        # 100, refused beyond): a call waits for a free connection instead, up to the socket timeout.
        pool = BlockingConnectionPool.from_url(
            settings.url, socket_timeout=5, socket_connect_timeout=5, max_connections=100, timeout=5
        )
        return Redis.from_pool(pool)  # the client owns the pool and closes it
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


@dataclass(frozen=True, slots=True)
class Identification:
    """One-time codes, the guards and the SMS gateway of the identification flow (fields of `Deps`)."""

    otp: OneTimeCodes
    lockout: Lockout
    code_quota: CodeQuota
    guard_events: GuardEvents  # what the guards did, for `/metrics`
    sms: SmsGateway
    identity_policy: IdentityPolicy


def identification_services(settings: Settings, redis: Redis, key: bytes) -> Identification:
    ident = settings.identification
    prefix = settings.redis.prefix
    sms: SmsGateway
    if ident.sms_gateway_url:
        token = ident.sms_gateway_token.get_secret_value() if ident.sms_gateway_token else None
        sms = HttpSmsGateway(ident.sms_gateway_url, token)
    else:
        sms = OutboxSmsGateway()
    events = GuardEvents()
    lockout = LockoutPolicy(
        threshold=ident.lockout_failures,
        window_seconds=ident.lockout_window_seconds,
        lock_seconds=ident.lockout_seconds,
        chat_daily=ident.lockout_chat_daily,
        total_threshold=ident.lockout_total,
    )
    quota = CodeQuotaPolicy(
        per_number=ident.codes_per_number,
        per_chat=ident.codes_per_chat,
        total=ident.codes_total,
        window_seconds=ident.codes_window_seconds,
    )
    return Identification(
        otp=OneTimeCodes(redis, prefix, key, ttl_seconds=ident.otp_ttl_seconds, max_tries=ident.otp_tries),
        lockout=Lockout(redis, prefix, key, lockout, events),
        code_quota=CodeQuota(redis, prefix, key, quota, events),
        guard_events=events,
        sms=sms,
        identity_policy=IdentityPolicy(ident.idle_seconds, ident.max_age_seconds, ident.step_up_seconds),
    )


async def load_user_profile(turn: Turn) -> None:
    """First turn of a session: the lasting profile (language) comes from the database, once; a (un)subscription
    marks whether the user can be reached."""
    directory = UserDirectory(turn.db)
    try:
        user = await directory.ensure(turn.user)
        # Any event but an unsubscription means the user can be reached again (they unblocked the bot).
        unreachable = turn.incoming.kind is Kind.UNSUBSCRIBED
        if user.unreachable != unreachable:
            user.unreachable = unreachable
    except (SQLAlchemyError, OSError, TimeoutError):
        # The menu works without the database; flows that need it will say so themselves.
        log.warning("profile not loaded: database unavailable", extra={"user": pseudonym(turn.user.key)})
        await turn.uow.session.rollback()
        return
    if user.language is not None and user.language in turn.profile.languages:
        turn.set_language(user.language)


def support_service(
    settings: Settings,
    redis: Redis,
    *,
    profile: Profile,
    i18n: I18n,
    sessionmaker: async_sessionmaker[AsyncSession],
    sessions: SessionStore,
    clock: Callable[[], datetime],
) -> Support:
    """The handoff to operators; enabled when there is a support group and a Telegram bot to post in it."""
    support = settings.support
    relay = RelayQueue(
        redis, settings.redis.prefix, rate=support.relay_rate, window_seconds=support.relay_window_seconds
    )
    return Support(
        settings=support, profile=profile, i18n=i18n, sessionmaker=sessionmaker, sessions=sessions, relay=relay,
        redis=redis, prefix=settings.redis.prefix, clock=clock,
        enabled=bool(support.groups) and settings.telegram.bot_token is not None,
    )  # fmt: skip


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
    sessionmaker = make_sessionmaker(db_engine)
    key = settings.security.key()
    ident = identification_services(settings, redis, key)
    support = support_service(
        settings, redis, profile=profile, i18n=i18n, sessionmaker=sessionmaker, sessions=sessions, clock=clock
    )
    deps = Deps(
        settings=settings.bot,
        profile=profile,
        i18n=i18n,
        sessionmaker=sessionmaker,
        sessions=sessions,
        clock=clock,
        conversations=ConversationRecords(),
        backend=table_backend_factory(profile, key),
        secret=key,
        otp=ident.otp,
        lockout=ident.lockout,
        code_quota=ident.code_quota,
        guard_events=ident.guard_events,
        sms=ident.sms,
        identity_policy=ident.identity_policy,
        support=support,
    )
    flows = Router()
    flows.session_start(load_user_profile, also_on=(Kind.SUBSCRIBED, Kind.UNSUBSCRIBED))  # before the flows' own
    flows.include(router or build_router())
    engine = Engine(deps, flows)
    return App(settings=settings, deps=deps, engine=engine, redis=redis, db_engine=db_engine)
