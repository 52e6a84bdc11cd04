"""`/welcome/<token>`: a new user's one-time link (`mila admin add-user NAME --role R --link`), where they choose
their password. No session is needed: the token is the secret, and the form's CSRF token is derived from it. The
password is checked and hashed before the link is used, so a typo does not spend it; the link is then taken from
Redis atomically, so of simultaneous submissions exactly one sets the password."""

from __future__ import annotations

import asyncio

from aiohttp import web

from bot.console.app import MAX_PASSWORD, _address, console_of, public, render
from bot.console.i18n import _
from bot.console.links import link_user, use_link
from bot.console.users import MIN_PASSWORD, audit, hash_password, set_first_password


def _prefix(request: web.Request) -> str:
    return console_of(request).app.settings.redis.prefix


def _csrf(request: web.Request, token: str) -> str:
    return console_of(request).auth.login_csrf("link:" + token)


def _gone(request: web.Request) -> web.Response:
    message = _("This link no longer works: it was used already or has expired. Ask an administrator for a new one.")
    return render(request, "welcome.html", {"state": "gone", "message": message, "username": "", "token": "",
                                            "link_csrf": "", "min_password": MIN_PASSWORD}, status=410)  # fmt: skip


def _form(request: web.Request, token: str, username: str, *, error: str = "", status: int = 200) -> web.Response:
    return render(request, "welcome.html", {"state": "form", "message": error, "username": username, "token": token,
                                            "link_csrf": _csrf(request, token), "min_password": MIN_PASSWORD},
                  status=status)  # fmt: skip


@public
async def form(request: web.Request) -> web.StreamResponse:
    token = request.match_info["token"]
    username = await link_user(console_of(request).app.redis, _prefix(request), token)
    if username is None:
        return _gone(request)
    return _form(request, token, username)


@public
async def choose(request: web.Request) -> web.StreamResponse:
    console = console_of(request)
    token = request.match_info["token"]
    posted = await request.post()
    csrf = posted.get("csrf")
    if not console.auth.login_csrf_ok("link:" + token, csrf if isinstance(csrf, str) else None):
        message = _("The form has expired. Open the page again and repeat.")
        return render(request, "error.html", {"title": _("Not allowed"), "message": message}, status=403)
    username = await link_user(console.app.redis, _prefix(request), token)
    if username is None:
        return _gone(request)
    password, again = str(posted.get("password") or ""), str(posted.get("password2") or "")
    if password != again:
        return _form(request, token, username, error=_("The two passwords differ."), status=400)
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        error = _("The password must have at least {n} characters.").format(n=MIN_PASSWORD)
        return _form(request, token, username, error=error, status=400)
    hashed = await asyncio.to_thread(hash_password, password)
    # Only now is the link spent: one of any number of simultaneous submissions gets the name.
    if await use_link(console.app.redis, _prefix(request), token) != username:
        return _gone(request)
    async with console.sessionmaker() as db:
        if not await set_first_password(db, username, hashed):
            return _gone(request)
        await audit(db, username, "set_password", username, address=_address(request), detail={"link": True})
        await db.commit()
    return render(request, "welcome.html", {"state": "done", "message": "", "username": username, "token": "",
                                            "link_csrf": "", "min_password": MIN_PASSWORD})  # fmt: skip


def routes(router: web.UrlDispatcher) -> None:
    router.add_get(r"/welcome/{token:[A-Za-z0-9_-]{32,128}}", form)
    router.add_post(r"/welcome/{token:[A-Za-z0-9_-]{32,128}}", choose)
