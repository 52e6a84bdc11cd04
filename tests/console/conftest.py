"""The console on a real aiohttp server, over the real app (Redis, a fresh database), with users of each role."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import ClientResponse, ClientSession, CookieJar
from aiohttp.test_utils import TestServer

from bot.app import App
from bot.console.app import build_console
from bot.console.users import add_user, find_user, verify_password
from tests.conftest import AppFactory
from tests.console.browser import Browser

PASSWORDS = {"ana": "ana-admin-password", "marko": "marko-marketing-pw", "sara": "sara-support-pw"}
ROLES = {"ana": "admin", "marko": "marketing", "sara": "support"}
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Counting:
    """The password check, counted: how many logins reached Argon2."""

    calls: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, stored: str | None, password: str) -> bool:
        with self.lock:
            self.calls += 1
        return verify_password(stored, password)


@dataclass
class Console:
    app: App
    server: TestServer
    verify: Counting

    @property
    def url(self) -> str:
        return str(self.server.make_url(""))

    def browser(self, **headers: str) -> ClientSession:
        """A client of its own cookies, as one browser (cookies of an IP address kept)."""
        return ClientSession(base_url=self.url, cookie_jar=CookieJar(unsafe=True), headers=headers)

    async def login(self, http: ClientSession, name: str, password: str | None = None) -> ClientResponse:
        async with http.get("/login") as page:
            token = csrf_of(await page.text())
        return await http.post("/login", data={"username": name, "password": password or PASSWORDS[name],
                                               "csrf": token}, allow_redirects=False)  # fmt: skip

    async def logged_in(self, name: str, **headers: str) -> ClientSession:
        http = self.browser(**headers)
        response = await self.login(http, name)
        assert response.status == 303, await response.text()
        return http


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, html
    return found.group(1)


ConsoleFactory = Callable[..., Awaitable[Console]]


@pytest.fixture
async def make_console(make_app: AppFactory) -> AsyncIterator[ConsoleFactory]:
    servers: list[TestServer] = []

    async def factory(profile: str = "rs", database_url: str | None = None, **admin: object) -> Console:
        app = await make_app(profile, database_url=database_url)
        for name, value in admin.items():
            setattr(app.settings.admin, name, value)
        async with app.deps.sessionmaker() as db:
            for name, role in ROLES.items():
                if await find_user(db, name) is None:  # a second console of the same test shares the database
                    await add_user(db, name, role, PASSWORDS[name])
            await db.commit()
        verify = Counting()
        server = TestServer(build_console(app, verify=verify), host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        return Console(app, server, verify)

    yield factory
    for server in servers:
        await server.close()


@pytest.fixture
async def console(make_console: ConsoleFactory) -> Console:
    return await make_console()


@pytest.fixture
async def page(chromium: Any, console: Console, request: pytest.FixtureRequest) -> AsyncIterator[Browser]:
    """The browser on a console of this test's own, with no cookie of an earlier test."""
    await asyncio.to_thread(chromium.execute_cdp_cmd, "Network.clearBrowserCookies", {})
    yield Browser(chromium, console.url, request.node.name)
    await asyncio.to_thread(chromium.execute_cdp_cmd, "Network.clearBrowserCookies", {})
