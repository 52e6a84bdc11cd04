"""The console against what an attacker tries past the obvious: a redirect hidden behind characters a browser drops,
a session kept across its user removed and added again, odd bytes in the login name, headers on every answer, a
masked number guessed through the search or shown in an attachment's name."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.console.users import add_user, remove_user
from bot.db.models import SupportMessage
from tests.console.conftest import Console, ConsoleFactory, csrf_of
from tests.console.test_pages import _tickets


@pytest.mark.parametrize("back", ["/\t/evil.example/", "/\n/evil.example/", "/\r/evil.example/", "/\t\\evil.example",
                                  "\t//evil.example/", " //evil.example/"])  # fmt: skip
async def test_the_language_form_never_sends_off_the_console(console: Console, back: str) -> None:
    # A browser drops tabs and newlines from a URL: "/\t/evil.example/" is "//evil.example/", another site.
    async with await console.logged_in("sara") as http:
        async with http.get("/tickets") as page:
            token = csrf_of(await page.text())
        async with http.post("/language", data={"lang": "sr", "csrf": token, "next": back},
                             allow_redirects=False) as response:  # fmt: skip
            assert (response.status, response.headers["Location"]) == (303, "/"), back


async def test_the_language_form_goes_back_to_the_page(console: Console) -> None:
    async with await console.logged_in("ana") as http:
        async with http.get("/tickets") as page:
            token = csrf_of(await page.text())
        back = "/tickets?status=waiting&q=ra%C4%8Dun"
        async with http.post("/language", data={"lang": "tk", "csrf": token, "next": back},
                             allow_redirects=False) as response:  # fmt: skip
            assert (response.status, response.headers["Location"]) == (303, back)


async def test_a_session_ends_when_its_user_is_removed_and_added_again(console: Console) -> None:
    """`remove-user` then `add-user` is how a password is reset: a session opened with the old one must not go on."""
    async with await console.logged_in("marko") as http:
        async with console.app.deps.sessionmaker() as db:
            await remove_user(db, "marko")
            await add_user(db, "marko", "admin", "a-brand-new-password")
            await db.commit()
        for path in ("/analytics", "/users"):
            async with http.get(path, allow_redirects=False) as response:
                assert (response.status, response.headers.get("Location")) == (302, "/login"), path
        assert (await console.login(http, "marko", "a-brand-new-password")).status == 303
        async with http.get("/users") as response:
            assert response.status == 200


async def test_odd_bytes_in_the_login_name(make_console: ConsoleFactory, database_url: str) -> None:
    console = await make_console(database_url=database_url)
    async with console.browser() as http:
        async with http.get("/login") as page:
            token = csrf_of(await page.text())
        nul = {"username": "an\x00a", "password": "a-wrong-password", "csrf": token}
        async with http.post("/login", data=nul, allow_redirects=False) as response:
            assert response.status == 400 and "The request could not be read." in await response.text()
        for name in ("ana\r\nlogin ok", "\u0430na", "ＡＮＡ", "a" * 5000):
            response = await console.login(http, name, "a-wrong-password")
            assert response.status == 401, repr(name)
            assert "Wrong name or password." in await response.text()
        assert (await console.login(http, "ana")).status == 303
        # A NUL byte is refused before it reaches the database (PostgreSQL answers it with an error, the page a 500).
        async with http.get("/tickets", params={"q": "ra\x00\u010dun"}) as response:
            assert response.status == 400 and "The request could not be read." in await response.text()
        async with http.get("/tickets") as page:
            token = csrf_of(await page.text())
        async with http.post("/tickets/1/close", data={"csrf": token, "reason": "spam\x00"}) as response:
            assert response.status == 400


async def test_headers_on_redirects_and_errors(console: Console) -> None:
    async with console.browser() as http:
        for path, status in (("/analytics", 302), ("/nowhere", 404)):
            async with http.get(path, allow_redirects=False) as response:
                assert response.status == status
                assert response.headers["Cache-Control"] == "no-store", path
                assert response.headers["X-Frame-Options"] == "DENY", path
                assert "script-src 'none'" in response.headers["Content-Security-Policy"], path
        good = await console.login(http, "ana")
        assert good.status == 303 and good.headers["Cache-Control"] == "no-store"


async def test_the_ticket_search_does_not_unmask_a_number(make_console: ConsoleFactory, database_url: str) -> None:
    """The topic shows `+381 64 ••• •• 67`: searching its hidden digits one guess at a time must not tell them."""
    console = await make_console(database_url=database_url)
    waiting_id, _ = await _tickets(console)  # its topic: "Ne radi internet, broj 064 1234567"
    async with await console.logged_in("sara") as http:
        for q in ("064 123", "1234567", "064 1234", "4 12", "broj 064 1"):
            async with http.get("/tickets", params={"q": q}) as response:
                assert f'id="ticket-{waiting_id}"' not in await response.text(), q
        for q in ("radi internet", "+381 64 ••• •• 67", "•• 67", "broj +381"):  # what is shown is found
            async with http.get("/tickets", params={"q": q}) as response:
                assert f'id="ticket-{waiting_id}"' in await response.text(), q


async def test_an_attachments_name_is_masked_too(console: Console) -> None:
    waiting_id, _ = await _tickets(console)
    async with console.app.deps.sessionmaker() as db:
        db.add(SupportMessage(ticket_id=waiting_id, direction="in", text="evo slike", attachment_kind="document",
                              attachment_name="racun 064 1234567 pasos 012345678.pdf",
                              created_at=datetime.now(UTC)))  # fmt: skip
        await db.commit()
    async with await console.logged_in("sara") as http, http.get(f"/tickets/{waiting_id}") as response:
        ticket = await response.text()
    assert "[racun +381 64 ••• •• 67 pasos " in ticket and "78.pdf]" in ticket
    assert "1234567" not in ticket.replace("1002003", "") and "012345678" not in ticket


async def test_good_logins_from_one_address_are_never_a_lockout(make_console: ConsoleFactory) -> None:
    """An office behind one address: the per-address limit counts failures, not the logins that succeeded."""
    console = await make_console(lockout_failures=5, lockout_address_failures=3)
    for _ in range(6):
        async with console.browser() as http:
            assert (await console.login(http, "sara")).status == 303
    async with console.browser() as http:
        for _ in range(3):
            assert (await console.login(http, "marko", "a-wrong-password")).status == 401
        assert (await console.login(http, "ana")).status == 429  # the failures still hold the address
