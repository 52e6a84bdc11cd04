"""The console as an attacker meets it: no session, wrong passwords in a crowd, forged CSRF tokens, another role's
pages, a session id chosen in advance, cookie flags, an idle session, a removed user."""

from __future__ import annotations

import asyncio
import hashlib

from aiohttp import ClientResponse, ClientSession
from sqlalchemy import select

from bot.console.auth import LOGIN_COOKIE, SESSION_COOKIE
from bot.console.users import remove_user
from bot.db.models import ConsoleAudit
from tests.console.conftest import PASSWORDS, Console, ConsoleFactory, csrf_of

PAGES = ("/", "/analytics", "/analytics/export.csv?table=ratings", "/tickets", "/tickets/1", "/campaigns", "/users")


async def _audit(console: Console) -> list[tuple[str, str, str | None]]:
    async with console.app.deps.sessionmaker() as db:
        query = select(ConsoleAudit).where(ConsoleAudit.actor != "cli").order_by(ConsoleAudit.id)
        rows = (await db.execute(query)).scalars()
        return [(r.actor, r.action, r.target) for r in rows]


async def test_no_session_goes_to_login(console: Console) -> None:
    async with console.browser() as http:
        for path in PAGES:
            async with http.get(path, allow_redirects=False) as response:
                assert (response.status, response.headers["Location"]) == (302, "/login"), path
        async with http.post("/tickets/1/close", data={"reason": "x"}, allow_redirects=False) as response:
            assert (response.status, response.headers["Location"]) == (303, "/login")
        async with http.get("/analytics", cookies={SESSION_COOKIE: "forged-session-id"},
                            allow_redirects=False) as response:  # fmt: skip
            assert response.status == 302
        async with http.get("/login") as page:
            assert page.status == 200 and 'name="username"' in await page.text()
            assert page.headers["X-Frame-Options"] == "DENY" and "script-src 'none'" in page.headers[
                "Content-Security-Policy"]  # fmt: skip
        async with http.get("/nowhere", allow_redirects=False) as response:
            assert response.status == 404


async def test_login_wrong_password_and_logout(console: Console) -> None:
    async with console.browser() as http:
        wrong = await console.login(http, "ana", "not-her-password")
        assert wrong.status == 401 and "Wrong name or password." in await wrong.text()
        unknown = await console.login(http, "nobody", "whatever-password")
        assert unknown.status == 401 and "Wrong name or password." in await unknown.text()  # the same answer
        good = await console.login(http, "ana")
        assert (good.status, good.headers["Location"]) == (303, "/analytics")
        cookie = good.cookies[SESSION_COOKIE]
        assert cookie["httponly"] and cookie["samesite"] == "Strict" and not cookie["secure"]
        assert len(cookie.value) >= 40
        async with http.get("/analytics") as page:
            html = await page.text()
            assert page.status == 200 and "ana (admin)" in html
        # The id is a bearer secret: Redis keeps only its hash.
        keys = [k.decode() async for k in console.app.redis.scan_iter(match=console.app.settings.redis.prefix + "*")]
        assert not any(cookie.value in k for k in keys)
        assert any(hashlib.sha256(cookie.value.encode()).hexdigest() in k for k in keys)
        async with http.post("/logout", data={"csrf": csrf_of(html)}, allow_redirects=False) as out:
            assert (out.status, out.headers["Location"]) == (303, "/login")
        # The old id no longer opens anything, even when replayed.
        async with http.get("/analytics", cookies={SESSION_COOKIE: cookie.value}, allow_redirects=False) as again:
            assert again.status == 302
    assert await _audit(console) == [("ana", "login_failed", None), ("nobody", "login_failed", None),
                                     ("ana", "login", None), ("ana", "logout", None)]  # fmt: skip


async def _login_by_hand(http: ClientSession, name: str) -> ClientResponse:
    """The client speaks plain http to the server (the proxy's side), so it sends the Secure cookie by hand."""
    async with http.get("/login") as page:
        login_cookie = page.cookies[LOGIN_COOKIE]
        token = csrf_of(await page.text())
    assert login_cookie["secure"] and login_cookie["httponly"] and login_cookie["samesite"] == "Strict"
    return await http.post("/login", data={"username": name, "password": PASSWORDS[name], "csrf": token},
                           cookies={LOGIN_COOKIE: login_cookie.value}, allow_redirects=False)  # fmt: skip


async def test_secure_cookies_behind_https(make_console: ConsoleFactory) -> None:
    console = await make_console()
    async with console.browser(**{"X-Forwarded-Proto": "https"}) as http:
        response = await _login_by_hand(http, "ana")
        assert response.status == 303 and response.cookies[SESSION_COOKIE]["secure"]
    configured = await make_console(secure_cookies=True)
    async with configured.browser() as http:
        response = await _login_by_hand(http, "sara")
        assert response.status == 303 and response.cookies[SESSION_COOKIE]["secure"]


async def test_csrf_refused(console: Console) -> None:
    async with console.browser() as http:
        # The login form: no pre-login cookie, a wrong token, a token of another browser.
        async with http.post("/login", data={"username": "ana", "password": PASSWORDS["ana"]}) as response:
            assert response.status == 403
        async with http.get("/login") as page:
            token = csrf_of(await page.text())
        forged = {"username": "ana", "password": PASSWORDS["ana"], "csrf": token[:-2] + "xx"}
        async with http.post("/login", data=forged, allow_redirects=False) as response:
            assert response.status == 403
    sara = await console.logged_in("sara")
    other = await console.logged_in("ana")
    async with sara, other:
        async with other.get("/tickets") as page:
            others_token = csrf_of(await page.text())
        async with sara.get("/tickets") as page:
            own_token = csrf_of(await page.text())
        for data in ({}, {"csrf": ""}, {"csrf": "forged"}, {"csrf": others_token}):
            async with sara.post("/logout", data=data, allow_redirects=False) as response:
                assert response.status == 403, data
                assert "The form has expired" in await response.text()
        async with sara.post("/language", data={"lang": "tk"}, allow_redirects=False) as response:
            assert response.status == 403
        async with sara.get("/tickets") as page:  # still logged in, in English: nothing was changed
            assert page.status == 200 and "Tickets" in await page.text()
        async with sara.post("/language", data={"lang": "sr", "csrf": own_token, "next": "//evil.example/"},
                             allow_redirects=False) as response:  # fmt: skip
            assert (response.status, response.headers["Location"]) == (303, "/")
        async with sara.get("/tickets") as page:
            assert "Tiketi" in await page.text()
    assert ("sara", "language", "sr") in await _audit(console)


async def test_session_fixation(console: Console) -> None:
    """An id planted in the browser before login is never the session's; logging in again ends the old one."""
    async with console.browser() as http:
        http.cookie_jar.update_cookies({SESSION_COOKIE: "planted-by-an-attacker"})
        first = await console.login(http, "marko")
        first_id = first.cookies[SESSION_COOKIE].value
        assert first_id != "planted-by-an-attacker"
        second = await console.login(http, "marko")
        second_id = second.cookies[SESSION_COOKIE].value
        assert second_id != first_id
    async with console.browser() as attacker:
        for planted in ("planted-by-an-attacker", first_id):
            async with attacker.get("/analytics", cookies={SESSION_COOKIE: planted}, allow_redirects=False) as r:
                assert r.status == 302
        async with attacker.get("/analytics", cookies={SESSION_COOKIE: second_id}) as r:
            assert r.status == 200


async def test_roles(console: Console) -> None:
    allowed = {
        "ana": {"/analytics", "/analytics/export.csv?table=ratings", "/tickets", "/campaigns", "/users"},
        "marko": {"/analytics", "/analytics/export.csv?table=ratings", "/campaigns"},
        "sara": {"/tickets"},
    }
    for name, pages in allowed.items():
        async with await console.logged_in(name) as http:
            async with http.get("/", allow_redirects=False) as home:
                assert home.headers["Location"] == ("/tickets" if name == "sara" else "/analytics")
            for path in ("/analytics", "/analytics/export.csv?table=ratings", "/tickets", "/campaigns", "/users"):
                async with http.get(path) as response:
                    expected = 200 if path in pages else 403
                    assert response.status == expected, (name, path)
                    html = await response.text()
                    if expected == 403:
                        assert "Your role does not allow this page." in html
            async with http.get("/tickets") as page:
                token = csrf_of(await page.text()) if name != "marko" else None
            if name == "marko":
                async with http.get("/campaigns") as page:
                    token = csrf_of(await page.text())
                # A valid token of their own does not open another role's action.
                async with http.post("/tickets/1/close", data={"csrf": token, "reason": "spam"}) as response:
                    assert response.status == 403
                async with http.get("/tickets/1") as response:
                    assert response.status == 403
                async with http.get("/campaigns") as page:
                    assert 'href="/tickets"' not in await page.text()  # not in the menu either


async def test_a_removed_user_loses_the_session(console: Console) -> None:
    async with await console.logged_in("marko") as http:
        async with console.app.deps.sessionmaker() as db:
            await remove_user(db, "marko")
            await db.commit()
        async with http.get("/analytics", allow_redirects=False) as response:
            assert response.status == 302


async def test_idle_timeout(make_console: ConsoleFactory) -> None:
    console = await make_console(session_idle_seconds=60)
    async with await console.logged_in("ana") as http:
        prefix = console.app.settings.redis.prefix + "console:session:"
        (key,) = [k async for k in console.app.redis.scan_iter(match=prefix + "*")]
        assert 0 < await console.app.redis.ttl(key) <= 60
        await console.app.redis.expire(key, 5)
        async with http.get("/analytics") as response:  # a request starts the idle time again
            assert response.status == 200
        assert await console.app.redis.ttl(key) > 50
        await console.app.redis.pexpire(key, 1)
        await asyncio.sleep(0.05)
        async with http.get("/analytics", allow_redirects=False) as response:
            assert response.status == 302


async def test_concurrent_wrong_logins_reach_argon2_at_most_the_policys_attempts(make_console: ConsoleFactory) -> None:
    console = await make_console(lockout_failures=5, lockout_address_failures=1000)

    async def attempt(password: str) -> int:
        async with console.browser() as http:
            response = await console.login(http, "ana", password)
            return response.status

    statuses = await asyncio.gather(*(attempt(f"guess-number-{i}") for i in range(40)))
    assert console.verify.calls <= 5
    assert statuses.count(401) == console.verify.calls and statuses.count(429) == 40 - console.verify.calls
    # Locked: even the right password is not checked now.
    assert await attempt(PASSWORDS["ana"]) == 429
    assert console.verify.calls <= 5
    async with console.browser() as http:
        response = await console.login(http, "ana", "another-guess")
        assert "Too many attempts. Try again in 15 minutes." in await response.text()
    # Another name is not locked by these.
    async with console.browser() as http:
        assert (await console.login(http, "sara")).status == 303


async def test_one_address_trying_many_names_is_held_too(make_console: ConsoleFactory) -> None:
    console = await make_console(lockout_failures=5, lockout_address_failures=8)

    async def attempt(name: str) -> int:
        async with console.browser() as http:
            return (await console.login(http, name, "a-wrong-password")).status

    statuses = await asyncio.gather(*(attempt(f"user{i}") for i in range(30)))
    assert console.verify.calls <= 8 and statuses.count(429) >= 22
    async with console.browser() as http:  # the same address: the right password waits for the window too
        assert (await console.login(http, "ana")).status == 429


async def test_a_good_login_forgets_the_names_failures(make_console: ConsoleFactory) -> None:
    console = await make_console(lockout_failures=3)
    async with console.browser() as http:
        for _ in range(2):
            assert (await console.login(http, "ana", "wrong-wrong-wrong")).status == 401
        assert (await console.login(http, "ana")).status == 303
        for _ in range(2):
            assert (await console.login(http, "ana", "wrong-wrong-wrong")).status == 401
        assert (await console.login(http, "ana")).status == 303
