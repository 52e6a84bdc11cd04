"""A new console user's one-time link: `mila admin add-user NAME --role R --link` prints it, the user chooses their
password there, and it works once — also when many submissions arrive at the same moment — on SQLite and
PostgreSQL, through the console's own server."""

from __future__ import annotations

import asyncio
import re
from urllib.parse import urlsplit

import pytest
from aiohttp import ClientSession
from redis.asyncio import Redis
from sqlalchemy import select

from bot.cli import main
from bot.console.links import PENDING, create_link
from bot.console.users import add_user, find_user, remove_user, verify_password
from bot.db.models import ConsoleAudit
from tests.conftest import REDIS_URL
from tests.console.conftest import Console, ConsoleFactory, csrf_of
from tests.service import free_port


async def _linked(console: Console, name: str, role: str = "support", ttl: int = 3600) -> str:
    """A user added with a link, as the command does; the link's path."""
    async with console.app.deps.sessionmaker() as db:
        await add_user(db, name, role, None)
        token = await create_link(console.app.redis, console.app.settings.redis.prefix, name, ttl)
        await db.commit()
    return f"/welcome/{token}"


async def test_the_command_prints_a_link_that_sets_the_password_once(
    make_console: ConsoleFactory, database_url: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    console = await make_console(database_url=database_url)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("REDIS_URL", REDIS_URL)
    monkeypatch.setenv("REDIS_PREFIX", console.app.settings.redis.prefix)
    monkeypatch.setenv("ADMIN_PUBLIC_URL", "https://console.example.rs/")
    assert await asyncio.to_thread(main, ["admin", "add-user", "nina", "--role", "support", "--link"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "added nina (support); the password is chosen at this link, which works once within 24 hours:"
    link = urlsplit(out[1])
    assert (link.scheme, link.netloc) == ("https", "console.example.rs") and re.fullmatch(
        r"/welcome/[A-Za-z0-9_-]{43}", link.path)  # fmt: skip
    token = link.path.rsplit("/", 1)[1]
    # Redis keeps only the token's hash, with its lifetime.
    redis = Redis.from_url(REDIS_URL)
    try:
        keys = [
            k.decode() if isinstance(k, bytes) else k
            for k in await redis.keys(f"{console.app.settings.redis.prefix}console:link:*")
        ]
        assert len(keys) == 1 and token not in keys[0]
        assert 0 < await redis.ttl(keys[0]) <= 24 * 3600
    finally:
        await redis.aclose()
    async with console.app.deps.sessionmaker() as db:
        nina = await find_user(db, "nina")
        assert nina is not None and nina.role == "support" and nina.password_hash == PENDING

    async with console.browser() as http:
        # Before the link is used nobody logs in as nina, whatever the password.
        response = await console.login(http, "nina", PENDING)
        assert response.status == 401
        async with http.get(link.path) as page:
            assert page.status == 200
            form = await page.text()
        assert "nina" in form and 'name="password2"' in form
        csrf = csrf_of(form)
        # A typo or a short password does not spend the link.
        for first, second in (("nina-password-1", "nina-password-2"), ("short", "short")):
            async with http.post(link.path, data={"csrf": csrf, "password": first, "password2": second}) as bad:
                assert bad.status == 400
        async with http.post(link.path, data={"csrf": "x", "password": "nina-password-1",
                                              "password2": "nina-password-1"}) as forged:  # fmt: skip
            assert forged.status == 403
        async with http.post(link.path, data={"csrf": csrf, "password": "nina-password-1",
                                              "password2": "nina-password-1"}) as done:  # fmt: skip
            assert done.status == 200 and 'id="done"' in await done.text()
        # Used: the link is gone, a second use changes nothing.
        async with http.get(link.path) as again:
            assert again.status == 410 and 'id="gone"' in await again.text()
        async with http.post(link.path, data={"csrf": csrf, "password": "other-password-9",
                                              "password2": "other-password-9"}) as again:  # fmt: skip
            assert again.status == 410
        response = await console.login(http, "nina", "nina-password-1")
        assert (response.status, response.headers["Location"]) == (303, "/tickets")
    async with console.app.deps.sessionmaker() as db:
        nina = await find_user(db, "nina")
        assert nina is not None and verify_password(nina.password_hash, "nina-password-1")
        audit = [(a.actor, a.action, a.target, a.detail) for a in (await db.execute(
            select(ConsoleAudit).where(ConsoleAudit.action.in_(["add_user", "set_password"]), ConsoleAudit.actor
                                       .in_(["cli", "nina"])).order_by(ConsoleAudit.id))).scalars()]  # fmt: skip
    assert audit[-2:] == [("cli", "add_user", "nina", {"role": "support", "link": True}),
                          ("nina", "set_password", "nina", {"link": True})]  # fmt: skip


async def test_simultaneous_uses_of_a_link_set_one_password(make_console: ConsoleFactory, database_url: str) -> None:
    console = await make_console(database_url=database_url)
    path = await _linked(console, "vesna", "marketing")
    browsers = [console.browser() for _ in range(6)]
    try:
        forms = []
        for http in browsers:
            async with http.get(path) as page:
                forms.append(csrf_of(await page.text()))
        passwords = [f"vesna-password-{n}" for n in range(len(browsers))]

        async def submit(http: ClientSession, csrf: str, password: str) -> tuple[int, str]:
            async with http.post(path, data={"csrf": csrf, "password": password, "password2": password}) as r:
                return r.status, password

        results = await asyncio.gather(*(submit(h, c, p) for h, c, p in zip(browsers, forms, passwords, strict=True)))
    finally:
        for http in browsers:
            await http.close()
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] + [410] * (len(browsers) - 1), results
    winner = next(password for status, password in results if status == 200)
    async with console.app.deps.sessionmaker() as db:
        vesna = await find_user(db, "vesna")
        assert vesna is not None
        assert [p for p in passwords if verify_password(vesna.password_hash, p)] == [winner]
        set_password = (await db.execute(select(ConsoleAudit).where(ConsoleAudit.action == "set_password"))).all()
        assert len(set_password) == 1


async def test_a_link_expires_and_refusals(
    make_console: ConsoleFactory, database_url: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    console = await make_console(database_url=database_url)
    path = await _linked(console, "goran", ttl=1)
    await asyncio.sleep(1.5)
    async with console.browser() as http:
        async with http.get(path) as page:
            assert page.status == 410
        async with http.get("/welcome/" + "A" * 43) as page:  # never made
            assert page.status == 410
    path = await _linked(console, "jovan")
    for language, said in (("sr", "Izaberite lozinku"), ("tk", "Parolyňyzy saýlaň")):  # in the browser's language
        async with console.browser(**{"Accept-Language": language}) as http, http.get(path) as page:
            assert said in await page.text()
    async with console.browser(**{"Accept-Language": "tk"}) as http:
        async with http.get("/welcome/" + "B" * 43) as page:
            assert "Bu salgy indi işlemeýär" in await page.text()
        async with http.get("/welcome/short", allow_redirects=False) as page:  # not a token at all
            assert page.status == 404
    # A removed user's link sets nothing.
    path = await _linked(console, "dragan")
    async with console.app.deps.sessionmaker() as db:
        assert await remove_user(db, "dragan")
        await db.commit()
    async with console.browser() as http:
        async with http.get(path) as page:
            csrf = csrf_of(await page.text())
        async with http.post(path, data={"csrf": csrf, "password": "dragan-password", "password2": "dragan-password"}
                             ) as response:  # fmt: skip
            assert response.status == 410
    # The command: a link needs Redis; a link and a password on stdin exclude each other; an existing name refused.
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert await asyncio.to_thread(main, ["admin", "add-user", "mira", "--role", "support", "--link"]) == 1
    assert "REDIS_URL" in capsys.readouterr().err
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")  # nobody listens there
    assert await asyncio.to_thread(main, ["admin", "add-user", "mira", "--role", "support", "--link"]) == 1
    assert "Redis does not answer at REDIS_URL, no user added" in capsys.readouterr().err
    async with console.app.deps.sessionmaker() as db:
        assert await find_user(db, "mira") is None
    monkeypatch.setenv("REDIS_URL", REDIS_URL)
    monkeypatch.setenv("REDIS_PREFIX", console.app.settings.redis.prefix)
    assert await asyncio.to_thread(main, ["admin", "add-user", "sara", "--role", "support", "--link"]) == 1
    assert "already exists" in capsys.readouterr().err
    monkeypatch.setenv("ADMIN_LINK_TTL", "3600")
    assert await asyncio.to_thread(main, ["admin", "add-user", "mira", "--role", "support", "--link"]) == 0
    assert "which works once within 1 hour:" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["admin", "add-user", "mira", "--role", "support", "--link", "--password-stdin"])
