"""The console's aiohttp application: login and sessions, CSRF on every POST, roles, the pages.

Every request but `/login` and a new user's one-time link (`/welcome/…`) needs a session (else a redirect to
`/login`); every POST needs the session's CSRF token (else 403); each page names the roles that may see it (else
403). A user removed with `mila admin remove-user` loses their sessions at their next request; a role changed takes
effect at once.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import aiohttp_jinja2
import jinja2
from aiohttp import web

from bot.app import App
from bot.console import i18n
from bot.console.auth import LOGIN_COOKIE, SESSION_COOKIE, Auth, LockoutPolicy, Session
from bot.console.i18n import CONSOLE_LANGUAGES, LANGUAGE_NAMES, Catalogs, _, choose, ngettext
from bot.console.users import audit, find_user, verify_password
from bot.db.base import utcnow
from bot.db.models import ConsoleRole, ConsoleUser

log = logging.getLogger("mila.console")

TEMPLATES = Path(__file__).resolve().parent / "templates"
MAX_BODY = 64 * 1024
MAX_NAME = 64
MAX_PASSWORD = 1024
ADMIN, MARKETING, SUPPORT = ConsoleRole.ADMIN.value, ConsoleRole.MARKETING.value, ConsoleRole.SUPPORT.value
HOME = {ADMIN: "/analytics", MARKETING: "/analytics", SUPPORT: "/tickets"}
# Which pages each role finds in the menu (the pages themselves check again).
MENU = (("/analytics", (ADMIN, MARKETING)), ("/campaigns", (ADMIN, MARKETING)), ("/tickets", (ADMIN, SUPPORT)),
        ("/users", (ADMIN,)))  # fmt: skip
CSP = ("default-src 'self'; script-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "frame-ancestors 'none'; form-action 'self'; base-uri 'none'")  # fmt: skip

Verify = Callable[[str | None, str], bool]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
H = TypeVar("H", bound=Handler)


def allow(*roles: str) -> Callable[[H], H]:
    """The roles that may open this page; anyone else gets 403."""

    def mark(handler: H) -> H:
        handler.roles = frozenset(roles)  # type: ignore[attr-defined]
        return handler

    return mark


def public(handler: H) -> H:
    handler.public = True  # type: ignore[attr-defined]
    return handler


@dataclass
class Console:
    app: App
    auth: Auth
    catalogs: Catalogs
    verify: Verify

    @property
    def sessionmaker(self) -> Any:
        return self.app.deps.sessionmaker

    def secure(self, request: web.Request) -> bool:
        return (self.app.settings.admin.secure_cookies or request.secure
                or request.headers.get("X-Forwarded-Proto", "").lower() == "https")  # fmt: skip

    async def record(self, request: web.Request, action: str, target: str | None = None, **detail: Any) -> None:
        """Who did what, and when: one row of console_audit."""
        user: ConsoleUser | None = request.get(USER)
        actor = user.username if user is not None else str(detail.pop("actor", "-"))[:MAX_NAME]
        async with self.sessionmaker() as db:
            await audit(db, actor, action, target, address=_address(request), detail=detail)
            await db.commit()


CONSOLE_KEY: web.AppKey[Console] = web.AppKey("console", Console)
LANGUAGE: web.RequestKey[str] = web.RequestKey("console_language", str)
SESSION: web.RequestKey[Session] = web.RequestKey("console_session", Session)
USER: web.RequestKey[ConsoleUser] = web.RequestKey("console_user", ConsoleUser)


def console_of(request: web.Request) -> Console:
    return request.app[CONSOLE_KEY]


def _address(request: web.Request) -> str:
    return (request.remote or "-")[:64]


def role_name(role: str) -> str:
    names = {ADMIN: _("admin"), MARKETING: _("marketing"), SUPPORT: _("support")}
    return names.get(role, role)


def render(request: web.Request, template: str, context: dict[str, Any], status: int = 200) -> web.Response:
    user: ConsoleUser | None = request.get(USER)
    session: Session | None = request.get(SESSION)
    base = {
        "user": user,
        "role_name": role_name(user.role) if user is not None else "",
        "csrf": session.csrf if session else "",
        "menu": [path for path, roles in MENU if user is not None and user.role in roles],
        "path_now": request.path,
        "path_qs": request.path_qs,
        "language": request.get(LANGUAGE, "en"),
        "console_languages": [(code, LANGUAGE_NAMES[code]) for code in CONSOLE_LANGUAGES],
    }
    return aiohttp_jinja2.render_template(template, request, {**base, **context}, status=status)


def forbidden(request: web.Request) -> web.Response:
    return render(request, "error.html", {"title": _("Not allowed"),
                                          "message": _("Your role does not allow this page.")}, status=403)  # fmt: skip


def expired(request: web.Request) -> web.Response:
    """A POST without the right CSRF token."""
    message = _("The form has expired. Open the page again and repeat.")
    return render(request, "error.html", {"title": _("Not allowed"), "message": message}, status=403)


def _protect(response: web.StreamResponse) -> None:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"


@web.middleware
async def headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:  # a redirect or an error raised: the same headers as a page
        _protect(exc)
        raise
    _protect(response)
    return response


def _has_nul(values: Any) -> bool:
    return any(isinstance(value, str) and "\x00" in value for value in values)


def bad_request(request: web.Request) -> web.Response:
    return render(request, "error.html", {"title": _("Not understood"),
                                          "message": _("The request could not be read.")}, status=400)  # fmt: skip


def safe_next(back: str) -> str:
    """A path of this console to go back to, else `/`: never another site, however the browser would read it."""
    # A browser drops tabs and newlines from a URL ("/\t/evil" is "//evil") and reads a backslash as a slash.
    if any(c < " " or c == "\x7f" or c == "\\" for c in back):
        return "/"
    if not back.startswith("/") or back.startswith("//"):
        return "/"
    return back


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Session, language, CSRF and role, before any page runs."""
    if request.match_info.http_exception is not None:
        raise request.match_info.http_exception
    console = console_of(request)
    language = choose(request.headers.get("Accept-Language"))
    console.catalogs.use(language)
    request[LANGUAGE] = language
    # A NUL byte is never text a page expects (and PostgreSQL refuses it): refused before any handler runs.
    if _has_nul(request.query.values()):
        return bad_request(request)
    if getattr(handler, "public", False):
        if request.method == "POST" and _has_nul((await request.post()).values()):
            return bad_request(request)
        return await handler(request)
    session = await console.auth.load(request.cookies.get(SESSION_COOKIE))
    user = None
    if session is not None:
        async with console.sessionmaker() as db:
            user = await find_user(db, session.username)
        # A user removed and added again (how a password is reset) is not the session's user any more.
        if user is None or not console.auth.owned_by(session, user.password_hash):
            user = None
            await console.auth.end(session.id)
    if session is None or user is None:
        response = web.HTTPSeeOther("/login") if request.method == "POST" else web.HTTPFound("/login")
        response.del_cookie(SESSION_COOKIE)
        raise response
    if session.language in CONSOLE_LANGUAGES:
        request[LANGUAGE] = session.language
        console.catalogs.use(session.language)
    request[SESSION], request[USER] = session, user
    if request.method == "POST":
        form = await request.post()
        token = form.get("csrf")
        if not Auth.csrf_ok(session, token if isinstance(token, str) else None):
            log.warning("console: a POST without its CSRF token refused", extra={"path": request.path})
            return expired(request)
        if _has_nul(form.values()):
            return bad_request(request)
    roles = getattr(handler, "roles", None)
    if roles is None or user.role not in roles:
        return forbidden(request)
    return await handler(request)


# --- login ---------------------------------------------------------------------------------------------------------
def _login_page(request: web.Request, token: str, *, error: str = "", username: str = "", status: int = 200
                ) -> web.Response:  # fmt: skip
    console = console_of(request)
    response = render(request, "login.html", {"login_csrf": console.auth.login_csrf(token), "error": error,
                                              "username": username}, status=status)  # fmt: skip
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="Strict", secure=console.secure(request),
                        path="/login")  # fmt: skip
    return response


@public
async def login_form(request: web.Request) -> web.StreamResponse:
    return _login_page(request, request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(32))


@public
async def login(request: web.Request) -> web.StreamResponse:
    console = console_of(request)
    form = await request.post()
    token = request.cookies.get(LOGIN_COOKIE)
    csrf = form.get("csrf")
    if not console.auth.login_csrf_ok(token, csrf if isinstance(csrf, str) else None):
        return expired(request)
    assert token is not None
    username = str(form.get("username") or "").strip()[:MAX_NAME]
    password = str(form.get("password") or "")
    address = _address(request)
    if not username or not password:
        return _login_page(request, token, error=_("Enter your name and password."), username=username, status=400)
    if not await console.auth.reserve_attempt(username, address):
        minutes = max(1, console.auth.lockout.window_seconds // 60)
        log.warning("console: login refused, too many attempts", extra={"address": address})
        message = ngettext(
            "Too many attempts. Try again in {n} minute.", "Too many attempts. Try again in {n} minutes.", minutes
        ).format(n=minutes)
        return _login_page(request, token, error=message, username=username, status=429)
    async with console.sessionmaker() as db:
        user = await find_user(db, username)
        stored = user.password_hash if user is not None else None
        good = len(password) <= MAX_PASSWORD and await asyncio.to_thread(console.verify, stored, password)
        if not good or user is None:
            await audit(db, username, "login_failed", address=address)
            await db.commit()
            return _login_page(request, token, error=_("Wrong name or password."), username=username, status=401)
        user.last_login_at = utcnow()
        await audit(db, user.username, "login", address=address)
        await db.commit()
    await console.auth.succeeded(username, address)
    # A new session id at every login: whatever id the browser had before (given by anyone) is dropped.
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        await console.auth.end(old)
    session = await console.auth.create(user.username, None, user.password_hash)
    response = web.HTTPSeeOther(HOME[user.role])
    response.set_cookie(SESSION_COOKIE, session.id, httponly=True, samesite="Strict", secure=console.secure(request),
                        path="/")  # fmt: skip
    response.del_cookie(LOGIN_COOKIE, path="/login")
    raise response


@allow(ADMIN, MARKETING, SUPPORT)
async def logout(request: web.Request) -> web.StreamResponse:
    console = console_of(request)
    await console.record(request, "logout")
    await console.auth.end(request[SESSION].id)
    response = web.HTTPSeeOther("/login")
    response.del_cookie(SESSION_COOKIE)
    raise response


@allow(ADMIN, MARKETING, SUPPORT)
async def set_language(request: web.Request) -> web.StreamResponse:
    console = console_of(request)
    form = await request.post()
    code = str(form.get("lang") or "")
    if code in CONSOLE_LANGUAGES:
        await console.auth.set_language(request[SESSION], code)
        await console.record(request, "language", code)
    raise web.HTTPSeeOther(safe_next(str(form.get("next") or "/")))


@allow(ADMIN, MARKETING, SUPPORT)
async def home(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound(HOME[request[USER].role])


def build_console(app: App, *, verify: Verify = verify_password) -> web.Application:
    """The console of this process's app (its settings, database and Redis)."""
    from bot.console import analytics, campaigns, tickets, users_page, welcome

    admin = app.settings.admin
    policy = LockoutPolicy(per_name=admin.lockout_failures, per_address=admin.lockout_address_failures,
                           window_seconds=admin.lockout_seconds)  # fmt: skip
    auth = Auth(app.redis, app.settings.redis.prefix, app.settings.security.key(),
                idle_seconds=admin.session_idle_seconds, lockout=policy)  # fmt: skip
    console = Console(app, auth, Catalogs(app.settings.bot.locales_dir), verify)
    web_app = web.Application(middlewares=[headers, guard], client_max_size=MAX_BODY)
    web_app[CONSOLE_KEY] = console
    env = aiohttp_jinja2.setup(web_app, loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                               extensions=["jinja2.ext.i18n"], undefined=jinja2.StrictUndefined)  # fmt: skip
    env.install_gettext_callables(i18n._, ngettext, newstyle=True)  # type: ignore[attr-defined]
    router = web_app.router
    router.add_get("/", home)
    router.add_get("/login", login_form)
    router.add_post("/login", login)
    router.add_post("/logout", logout)
    router.add_post("/language", set_language)
    analytics.routes(router)
    tickets.routes(router)
    campaigns.routes(router)
    users_page.routes(router)
    welcome.routes(router)
    return web_app
