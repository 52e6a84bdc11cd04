"""Query strings no page makes (a number too big for the database, a digit that int() does not read, a day at the
end of the calendar) answer a page or 404, never an error."""

from __future__ import annotations

import pytest

from tests.console.conftest import Console, ConsoleFactory, csrf_of


@pytest.mark.parametrize("path", ["/tickets?q=%C2%B2", "/tickets?q=99999999999999999999", "/tickets?q=2147483648",
                                  "/tickets/99999999999999999999", "/tickets/2147483648",
                                  "/analytics?since=0001-01-01&until=9999-12-31", "/analytics?since=9999-12-31",
                                  "/tickets?since=0001-01-01", "/analytics/export.csv?table=ratings&until=0001-01-01",
                                  "/campaigns?since=9999-12-31"])  # fmt: skip
async def test_odd_queries_answer_without_an_error(make_console: ConsoleFactory, database_url: str, path: str) -> None:
    console = await make_console(database_url=database_url)
    async with await console.logged_in("ana") as http, http.get(path, allow_redirects=False) as response:
        assert response.status in (200, 404), (path, response.status)


@pytest.mark.parametrize("start", ["0001-01-01T00:00", "9999-12-31T23:59"])
async def test_a_campaign_start_at_the_end_of_the_calendar_is_refused(console: Console, start: str) -> None:
    async with await console.logged_in("marko") as http:
        async with http.get("/campaigns/new") as page:
            token = csrf_of(await page.text())
        form = {"csrf": token, "name": "Kraj kalendara", "text_sr": "Tekst.", "text_tk": "Tekst.", "start": start,
                "action": "create"}  # fmt: skip
        async with http.post("/campaigns/new", data=form, allow_redirects=False) as response:
            assert response.status == 400
            assert "write a start between 2000 and 2999" in await response.text()
