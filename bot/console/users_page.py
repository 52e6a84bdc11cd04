"""`/users` (admin only): who may log in, with which role, and the latest entries of the console's audit."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from bot.console.app import ADMIN, allow, console_of, render, role_name
from bot.console.users import list_users
from bot.db.models import ConsoleAudit

AUDIT_SHOWN = 100


@allow(ADMIN)
async def page(request: web.Request) -> web.Response:
    console = console_of(request)
    zone = console.app.deps.profile.zone
    async with console.sessionmaker() as db:
        users = await list_users(db)
        entries = (await db.execute(select(ConsoleAudit).order_by(ConsoleAudit.id.desc()).limit(AUDIT_SHOWN))).scalars()
        audit = [{"at": e.at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"), "actor": e.actor, "action": e.action,
                  "target": e.target or "", "address": e.address or "",
                  "detail": ", ".join(f"{k}: {v}" for k, v in sorted(e.detail.items()))} for e in entries]  # fmt: skip
    rows = [{"name": u.username, "role": role_name(u.role),
             "last_login": u.last_login_at.astimezone(zone).strftime("%Y-%m-%d %H:%M") if u.last_login_at else "–"}
            for u in users]  # fmt: skip
    return render(request, "users.html", {"users": rows, "audit": audit})


def routes(router: web.UrlDispatcher) -> None:
    router.add_get("/users", page)
