"""Query strings no page makes (a number too big for the database, a digit that int() does not read, a day at the
end of the calendar) answer a page or 404, never an error."""

from __future__ import annotations

import pytest

from tests.console.conftest import ConsoleFactory


@pytest.mark.parametrize("path", ["/tickets?q=%C2%B2", "/tickets?q=99999999999999999999", "/tickets?q=2147483648",
                                  "/tickets/99999999999999999999", "/tickets/2147483648",
                                  "/analytics?since=0001-01-01&until=9999-12-31", "/analytics?since=9999-12-31",
                                  "/tickets?since=0001-01-01", "/analytics/export.csv?table=ratings&until=0001-01-01",
                                  "/campaigns?since=9999-12-31"])  # fmt: skip
async def test_odd_queries_answer_without_an_error(make_console: ConsoleFactory, database_url: str, path: str) -> None:
    console = await make_console(database_url=database_url)
    async with await console.logged_in("ana") as http, http.get(path, allow_redirects=False) as response:
        assert response.status in (200, 404), (path, response.status)
