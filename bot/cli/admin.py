"""`mila admin add-user|list-users|remove-user`: who may log in to the web console, and with which role.

The password is asked twice on the terminal (never echoed), or read from the first line of standard input with
`--password-stdin` (for scripts); it is stored only as an Argon2id hash. With `--link` nobody types it on the
server: a one-time link is printed, which the new user opens to choose it (bot.console.links).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import signal
import sys

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.cli.common import add_profile_option, database, fail, settings_for
from bot.console.links import create_link, link_url
from bot.console.users import UserError, add_user, list_users, remove_user
from bot.db.models import ConsoleRole


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("admin", help="users of the web console")
    actions = parser.add_subparsers(dest="admin_command", required=True, metavar="ACTION")
    add = actions.add_parser("add-user", help="a new console user (the password is asked)")
    add.add_argument("name", help="the login name")
    add.add_argument("--role", required=True, choices=[r.value for r in ConsoleRole],
                     help="admin: everything; marketing: analytics and campaigns; support: tickets")  # fmt: skip
    given = add.add_mutually_exclusive_group()
    given.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    given.add_argument("--link", action="store_true", help="print a one-time link to choose the password (needs REDIS)")
    add.set_defaults(func=_add)
    listing = actions.add_parser("list-users", help="the console users, their roles and last logins")
    listing.set_defaults(func=_list)
    remove = actions.add_parser("remove-user", help="remove a console user (their sessions end)")
    remove.add_argument("name")
    remove.set_defaults(func=_remove)
    serve = actions.add_parser("serve", help="only the web console, without the channels (mila run serves it too)")
    add_profile_option(serve)
    serve.set_defaults(func=_serve)


def _password(from_stdin: bool) -> str | None:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != first:
        return None
    return first


def _add(args: argparse.Namespace) -> int:
    if args.link:
        return _add_with_link(args)
    password = _password(args.password_stdin)
    if password is None:
        return fail("the two passwords differ")
    settings = settings_for(args)

    async def run() -> None:
        async with database(settings) as db:
            await add_user(db, args.name, args.role, password)
            await db.commit()

    try:
        asyncio.run(run())
    except UserError as exc:
        return fail(exc)
    print(f"added {args.name} ({args.role})")
    return 0


def _add_with_link(args: argparse.Namespace) -> int:
    settings = settings_for(args)
    if settings.redis.url is None:
        return fail("--link needs REDIS_URL: the link is kept where the console's sessions are")
    url = settings.redis.url

    async def run() -> str:
        async with database(settings) as db:
            await add_user(db, args.name, args.role, None)
            redis = Redis.from_url(url)
            try:
                token = await create_link(redis, settings.redis.prefix, args.name, settings.admin.link_seconds)
            finally:
                await redis.aclose()
            await db.commit()  # after the link is stored: no user is left without a way to set a password
        return link_url(settings.admin, token)

    try:
        link = asyncio.run(run())
    except UserError as exc:
        return fail(exc)
    except RedisError as exc:  # nothing was added: the user's row is committed only once the link is stored
        return fail(f"Redis does not answer at REDIS_URL, no user added: {exc}")
    ttl = settings.admin.link_seconds
    span = f"{ttl // 3600} hour{'s' if ttl != 3600 else ''}" if ttl % 3600 == 0 else f"{max(1, ttl // 60)} minutes"
    print(f"added {args.name} ({args.role}); the password is chosen at this link, which works once "
          f"within {span}:\n{link}")  # fmt: skip
    return 0


def _list(args: argparse.Namespace) -> int:
    settings = settings_for(args)

    async def run() -> list[tuple[str, str, str, str]]:
        async with database(settings) as db:
            return [(u.username, u.role, f"{u.created_at:%Y-%m-%d %H:%M}",
                     f"{u.last_login_at:%Y-%m-%d %H:%M}" if u.last_login_at else "-")
                    for u in await list_users(db)]  # fmt: skip

    rows = [("name", "role", "created", "last login"), *asyncio.run(run())]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
    print(f"({len(rows) - 1} users, times in UTC)")
    return 0


def _remove(args: argparse.Namespace) -> int:
    settings = settings_for(args)

    async def run() -> bool:
        async with database(settings) as db:
            removed = await remove_user(db, args.name)
            await db.commit()
            return removed

    if not asyncio.run(run()):
        return fail(f"no user named {args.name}")
    print(f"removed {args.name}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    settings = settings_for(args)
    # Imported here: the console's templates and charts are no concern of the other commands.
    from bot.app import build_app
    from bot.console.serve import console_url, start_console
    from bot.server import refuse_a_schema_not_ours

    if settings.redis.url is None and settings.security.environment == "production":
        return fail("REDIS_URL is required when MILA_ENV=production (the console's sessions and lockout live there)")

    async def run() -> int:
        await refuse_a_schema_not_ours(settings)
        app = build_app(settings)
        try:
            runner = await start_console(app)
        except OSError as exc:
            await app.close()
            return fail(f"the web console cannot listen on {settings.admin.host}:{settings.admin.port}: {exc}")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        print(f"the web console: {console_url(app)} (Ctrl-C stops it)", flush=True)
        try:
            await stop.wait()
        finally:
            await runner.cleanup()
            await app.close()
        return 0

    return asyncio.run(run())
