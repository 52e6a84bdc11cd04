"""The deployment's own pieces: the database and its schema, Redis, the profile, the keys, the listeners."""

from __future__ import annotations

import asyncio
import ipaddress
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from redis.asyncio import Redis
from sqlalchemy import Connection
from sqlalchemy.engine import make_url

from bot.config import Settings
from bot.db.base import make_engine
from bot.db.migrate import alembic_config
from bot.health import Finding, error, ok, warning
from bot.profiles import PROFILE_DIR, ProfileError, load_profile

TIMEOUT = 5.0
DATABASE = "database"


async def check_database(settings: Settings) -> list[Finding]:
    """Reachable, and migrated exactly to the newest revision this code knows."""
    url = settings.database.url
    reached = await schema_finding(url)
    if reached is None:
        return [error(DATABASE, f"{_shown(url)} does not answer", "check DATABASE_URL and that the database runs")]
    findings = [reached]
    if url.startswith("sqlite") and settings.security.environment == "production":
        findings.append(warning(DATABASE, "SQLite in production: only one mila process may use it",
                                "use PostgreSQL for several processes"))  # fmt: skip
    return findings


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


async def schema_finding(url: str) -> Finding | None:
    """Whether the schema is the one this code needs (an error says how it differs); None: no answer."""
    shown = _shown(url)
    engine = make_engine(url)
    try:
        async with asyncio.timeout(TIMEOUT), engine.connect() as conn:
            current = set(await conn.run_sync(_current_heads))
    except Exception:
        return None
    finally:
        await engine.dispose()
    scripts = ScriptDirectory.from_config(alembic_config(url))
    newest = set(scripts.get_heads())
    known = {script.revision for script in scripts.walk_revisions()}
    at, head = ", ".join(sorted(current)), ", ".join(sorted(newest))
    if current == newest:
        return ok(DATABASE, f"{shown}: reachable, at the newest revision {head}")
    if not current:
        return error(DATABASE, f"{shown}: not migrated (no schema revision)", "run `mila db upgrade`")
    if current - known:
        return error(DATABASE, f"{shown}: at revision {at}, which this version of mila does not know",
                     "a newer mila migrated it: run that version")  # fmt: skip
    behind = len(list(scripts.iterate_revisions(tuple(newest), tuple(current))))
    return error(DATABASE, f"{shown}: at revision {at}, {behind} migration(s) behind the newest {head}",
                 "run `mila db upgrade`")  # fmt: skip


def _current_heads(conn: Connection) -> tuple[str, ...]:
    return tuple(MigrationContext.configure(conn).get_current_heads())


async def check_redis(settings: Settings, redis: Redis | None = None) -> list[Finding]:
    part = "redis"
    production = settings.security.environment == "production"
    if settings.redis.url is None:
        if production:
            return [
                error(
                    part,
                    "REDIS_URL is not set: the embedded in-process store, with MILA_ENV=production",
                    "set REDIS_URL: sessions, locks and queues must be shared and outlive a process",
                )
            ]
        return [warning(part, "REDIS_URL is not set: the embedded in-process store (for the demo only)",
                        "set REDIS_URL for a real service")]  # fmt: skip
    own = redis is None
    client = redis or Redis.from_url(settings.redis.url, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT)
    shown = _without_password(settings.redis.url)
    try:
        async with asyncio.timeout(TIMEOUT):
            await client.ping()
            info: dict[str, Any] = await client.info("server")
            persistence: dict[str, Any] = await client.info("persistence")
    except Exception as exc:
        return [error(part, f"{shown} does not answer ({type(exc).__name__})",
                      "check REDIS_URL and that the Redis server runs")]  # fmt: skip
    finally:
        if own:
            await client.aclose()
    findings = [ok(part, f"{shown}: reachable (Redis {info.get('redis_version', '?')}), keys under "
                         f"{settings.redis.prefix!r}")]  # fmt: skip
    if production and not persistence.get("aof_enabled"):
        findings.append(warning(part, "Redis keeps no append-only file: a Redis restart loses what changed since its "
                                      "last snapshot (sessions, the desk's queue, dedupe)",
                                "turn on appendonly (see the README's operating guide)"))  # fmt: skip
    return findings


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1)).geturl()


def check_profile(settings: Settings) -> list[Finding]:
    part = "profile"
    name = settings.bot.profile
    try:
        profile = load_profile(name)
    except ProfileError as exc:
        return [error(part, str(exc), "fix the profile file; mila run refuses to start with it")]
    file = Path(name) if name.endswith((".yaml", ".yml")) else PROFILE_DIR / f"{name}.yaml"
    findings = [ok(part, f"{profile.id} ({file.name}): valid, languages {', '.join(profile.languages)}")]
    drafts = profile.drafts
    if drafts:
        findings.append(warning(part, f"{len(drafts)} texts marked draft: {', '.join(drafts)}",
                                "have the operator confirm them, then remove `draft: true`"))  # fmt: skip
    else:
        findings.append(ok(part, "no text is marked draft"))
    findings.extend(warning(part, gap, "add it to the profile from the operator's documents") for gap in profile.gaps())
    return findings


def check_security(settings: Settings) -> list[Finding]:
    part = "security"
    security = settings.security
    if security.environment == "production":
        return [ok(part, "MILA_ENV=production, MILA_SECRET_KEY set")]
    if security.secret_key is None:
        return [
            warning(
                part,
                f"MILA_ENV={security.environment}: the built-in demo key keys the lookup hashes",
                "set MILA_ENV=production and MILA_SECRET_KEY (`openssl rand -hex 32`) for a real service",
            )
        ]
    return [warning(part, f"MILA_ENV={security.environment}", "set MILA_ENV=production for a real service")]


def _everywhere(host: str) -> bool:
    return host in ("", "0.0.0.0", "::", "*")  # noqa: S104 - recognising it, not binding to it


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_listeners(settings: Settings) -> list[Finding]:
    """The web console's listener apart from the webhooks' one (the webhook port is open to the platforms)."""
    part = "admin"
    admin, http = settings.admin, settings.http
    if not admin.enabled:
        return [ok(part, "the web console is off (ADMIN_ENABLED=false)")]
    same_port = admin.port == http.port
    overlap = admin.host == http.host or _everywhere(admin.host) or _everywhere(http.host)
    if same_port and overlap:
        return [error(part, f"the web console (ADMIN_HOST {admin.host}, ADMIN_PORT {admin.port}) would listen on "
                            f"the webhook port (HTTP_HOST {http.host}, HTTP_PORT {http.port})",
                      "give ADMIN_PORT a port of its own that the platforms' proxy does not forward")]  # fmt: skip
    if not _loopback(admin.host):
        return [warning(part, f"the web console listens on {admin.host}:{admin.port}, beyond this machine",
                        "keep it off the public internet: a VPN, or the proxy's access rules")]  # fmt: skip
    return [ok(part, f"the web console on {admin.host}:{admin.port}, apart from the webhook port {http.port}")]
