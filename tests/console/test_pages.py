"""The console's pages on demo history and hand-made tickets: analytics charts and CSV agree with `dashboard()`,
tickets show numbers masked as on the desk card, a waiting ticket is closed with a reason (audited), campaigns
show their funnel."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, time, timedelta

from aiohttp import ClientSession
from sqlalchemy import select

from bot.db.models import ConsoleAudit, Subscriber, SupportMessage, SupportStatus, SupportTicket
from bot.services.analytics import dashboard, start_conversation, to_csv
from bot.services.demo import seed_demo
from bot.services.demo_history import seed_history
from tests.console.conftest import Console, ConsoleFactory, csrf_of

VALUE = re.compile(r'<desc class="value">([^<]*)</desc>')


async def _history(console: Console) -> None:
    app = console.app
    async with app.deps.sessionmaker() as db:
        await seed_demo(db, app.deps.profile, app.settings.security.key())
        await seed_history(db, app.deps.profile)
        await db.commit()


def _chart(page: str, name: str) -> str:
    found = re.search(rf'<figure class="chart" data-chart="{re.escape(name)}">(.*?)</figure>', page, re.S)
    assert found, f"no chart {name}"
    return found.group(1)


def _numbers(svg: str) -> list[float]:
    return [float(v.replace(",", "")) for v in VALUE.findall(svg) if v.strip()]


def datetime_range(console: Console) -> tuple[datetime, datetime]:
    """The page's default period (the last 30 local days) as the dashboard takes it."""
    zone = console.app.deps.profile.zone
    last = datetime.now(UTC).astimezone(zone).date()
    first = last - timedelta(days=29)
    return datetime.combine(first, time(), zone).astimezone(UTC), datetime.combine(
        last + timedelta(days=1), time(), zone
    ).astimezone(UTC)


async def test_analytics_charts_and_csv_agree_with_the_dashboard(
    make_console: ConsoleFactory, database_url: str
) -> None:
    console = await make_console(database_url=database_url)
    await _history(console)
    zone = console.app.deps.profile.zone
    since, until = datetime_range(console)
    first, last = since.astimezone(zone).date(), (until - timedelta(days=1)).astimezone(zone).date()
    query = f"since={first.isoformat()}&until={last.isoformat()}"
    async with console.app.deps.sessionmaker() as db:
        board = await dashboard(db, since=since, until=until, zone=zone)
        viber = await dashboard(db, since=since, until=until, zone=zone, channel="viber")
    assert board.conversations.total > 100 and viber.conversations.total < board.conversations.total

    async with await console.logged_in("marko") as http:
        async with http.get(f"/analytics?{query}") as response:
            assert response.status == 200
            page = await response.text()
        for name in ("conversations", "containment", "intents", "not_understood", "orders", "identification",
                     "queue", "ratings"):  # fmt: skip
            assert "<svg" in _chart(page, name)
        days = _numbers(_chart(page, "conversations"))
        assert sum(days) == board.conversations.total
        assert _numbers(_chart(page, "ratings")) == [board.ratings.counts[n] for n in range(1, 6)]
        assert _numbers(_chart(page, "identification")) == [board.identification.identified,
                                                           board.identification.failures,
                                                           board.identification.lockouts]  # fmt: skip
        assert sorted(_numbers(_chart(page, "containment"))) == sorted(
            [board.conversations.contained, board.conversations.handed_off]
        )
        assert f"<strong>{board.conversations.total}</strong>" in page
        top = board.understanding.not_understood[0]
        assert html.escape(top.text, quote=False) in html.unescape(page) or top.text in html.unescape(page)
        for table in board.tables():
            async with http.get(f"/analytics/export.csv?{query}&table={table.name}") as csv:
                assert csv.status == 200 and csv.content_type == "text/csv"
                assert f'filename="{table.name}-{first.isoformat()}-{last.isoformat()}.csv"' in csv.headers[
                    "Content-Disposition"]  # fmt: skip
                assert await csv.text() == to_csv(table)
            assert f'id="csv-{table.name}"' in page
        async with http.get(f"/analytics/export.csv?{query}&table=nothing") as csv:
            assert csv.status == 404
        async with http.get(f"/analytics?{query}&channel=viber") as response:
            assert f"<strong>{viber.conversations.total}</strong>" in await response.text()
        async with http.get(f"/analytics/export.csv?{query}&channel=viber&table=conversations") as csv:
            assert await csv.text() == to_csv(viber.conversations.table)
        # Marketing never sees a subscriber's number on it.
        assert "+381" not in page and "•" not in page


async def _tickets(console: Console) -> tuple[int, int]:
    now = datetime.now(UTC)
    async with console.app.deps.sessionmaker() as db:
        petar = Subscriber(customer_code="1002003", full_name="Petar Petrović", contact_phone="+381641234567")
        db.add(petar)
        await db.flush()
        waiting = SupportTicket(channel="telegram", external_id="501", subscriber_id=petar.id, language="sr",
                                status=SupportStatus.WAITING.value, topic="Ne radi internet, broj 064 1234567",
                                created_at=now - timedelta(minutes=5), last_activity_at=now)  # fmt: skip
        closed = SupportTicket(channel="viber", external_id="v-1", language="tk", status=SupportStatus.CLOSED.value,
                               topic="Hasabym barada", created_at=now - timedelta(hours=3), closed_at=now,
                               closed_by="operator", operator_name="Aýna", rating=5,
                               last_activity_at=now)  # fmt: skip
        db.add_all([waiting, closed])
        await db.flush()
        db.add_all([
            SupportMessage(ticket_id=waiting.id, direction="in", text="Moj broj je 064 1234567, pasoš 012345678",
                           created_at=now - timedelta(minutes=5)),
            SupportMessage(ticket_id=waiting.id, direction="note", author="Ana", text="zvao i juče sa +381641234567",
                           created_at=now - timedelta(minutes=4)),
            SupportMessage(ticket_id=closed.id, direction="in", text="Salam", created_at=now - timedelta(hours=3)),
        ])  # fmt: skip
        await db.commit()
        return waiting.id, closed.id


async def test_tickets_masked_searched_and_closed(make_console: ConsoleFactory, database_url: str) -> None:
    console = await make_console(database_url=database_url)
    waiting_id, closed_id = await _tickets(console)
    async with await console.logged_in("sara") as http:
        async with http.get("/tickets") as response:
            listing = await response.text()
        assert f'id="ticket-{waiting_id}"' in listing and f'id="ticket-{closed_id}"' in listing
        assert "+381 64 ••• •• 67" in listing and "1234567" not in listing
        async with http.get("/tickets?status=waiting") as response:
            only = await response.text()
            assert f'id="ticket-{waiting_id}"' in only and f'id="ticket-{closed_id}"' not in only
        for query in ("channel=viber", "language=tk", "q=hasab", f"q={closed_id}"):
            async with http.get(f"/tickets?{query}") as response:
                found = await response.text()
                assert f'id="ticket-{closed_id}"' in found and f'id="ticket-{waiting_id}"' not in found, query
        old = (date.today() - timedelta(days=90)).isoformat()
        async with http.get(f"/tickets?since={old}&until={old}") as response:
            assert 'id="ticket-' not in await response.text()

        async with http.get(f"/tickets/{waiting_id}") as response:
            ticket = await response.text()
        assert "Identified: +381 64 ••• •• 67, customer code 1002003" in ticket  # as on the desk card
        assert "Moj broj je +381 64 ••• •• 67, pasoš " in ticket and "012345678" not in ticket and "•• 78" in ticket
        assert "zvao i juče sa +381 64 ••• •• 67" in ticket and "note Ana" in ticket
        assert "1234567" not in ticket.replace("1002003", "") and "Petrović" not in ticket
        token = csrf_of(ticket)

        async with http.post(f"/tickets/{waiting_id}/close", data={"csrf": token, "reason": "  "},
                             allow_redirects=False) as response:  # fmt: skip
            assert response.headers["Location"] == f"/tickets/{waiting_id}?error=reason"
        async with http.post(f"/tickets/{waiting_id}/close", data={"csrf": token, "reason": "Rešeno telefonom"},
                             allow_redirects=False) as response:  # fmt: skip
            assert (response.status, response.headers["Location"]) == (303, f"/tickets/{waiting_id}")
        async with http.get(f"/tickets/{waiting_id}") as response:
            after = await response.text()
        assert "Closed from the console: Rešeno telefonom" in after and 'id="close"' not in after
        async with http.post(f"/tickets/{closed_id}/close", data={"csrf": token, "reason": "again"}) as response:
            assert response.status == 409
        async with http.get("/tickets/99999") as response:
            assert response.status == 404

    async with console.app.deps.sessionmaker() as db:
        row = await db.get(SupportTicket, waiting_id)
        assert row is not None and row.status == "closed" and row.closed_by == "operator"
        audit = (await db.execute(select(ConsoleAudit).where(ConsoleAudit.action == "close_ticket"))).scalars().all()
        assert [(a.actor, a.target, a.detail) for a in audit] == [
            ("sara", f"ticket {waiting_id}", {"reason": "Rešeno telefonom"})
        ]


async def test_campaigns_show_their_funnel(make_console: ConsoleFactory, database_url: str) -> None:
    console = await make_console(database_url=database_url)
    await _history(console)
    async with await console.logged_in("marko") as http, http.get("/campaigns") as response:
        assert response.status == 200
        page = await response.text()
    assert 'class="state done"' in page
    chart = re.search(r'data-chart="funnel-(\d+)"', page)
    assert chart is not None
    svg = _chart(page, f"funnel-{chart.group(1)}")
    assert sum(_numbers(svg)) > 0
    assert "+381" not in page and "demo-history-" not in page  # counts only, never a recipient


async def test_a_ticket_taken_meanwhile_is_not_closed(make_console: ConsoleFactory, database_url: str) -> None:
    console = await make_console(database_url=database_url)
    waiting_id, _ = await _tickets(console)
    support = console.app.deps.support
    async with await console.logged_in("sara") as http:
        async with http.get(f"/tickets/{waiting_id}") as response:
            token = csrf_of(await response.text())
        await support.take(waiting_id, "9001", "Ana")  # an operator takes it while the page is open
        async with http.post(f"/tickets/{waiting_id}/close", data={"csrf": token, "reason": "x"}) as response:
            assert response.status == 409
    # The service's own check, for a take that lands between the page's check and the close.
    assert not (await support.close(waiting_id, "operator", "sara", only_waiting=True)).ok
    async with console.app.deps.sessionmaker() as db:
        ticket = await db.get(SupportTicket, waiting_id)
        assert ticket is not None and ticket.status == "with_operator"
        assert (await db.execute(select(ConsoleAudit).where(ConsoleAudit.action == "close_ticket"))).first() is None


async def test_tickets_by_operator_and_rating(make_console: ConsoleFactory, database_url: str) -> None:
    console = await make_console(database_url=database_url)
    waiting_id, closed_id = await _tickets(console)  # the closed one: Aýna, rated 5
    now = datetime.now(UTC)
    async with console.app.deps.sessionmaker() as db:
        other = SupportTicket(channel="viber", external_id="v-2", language="tk", status=SupportStatus.CLOSED.value,
                              topic="Tarif", created_at=now - timedelta(hours=2), closed_at=now,
                              closed_by="operator", operator_name="Bojan", rating=2,
                              last_activity_at=now)  # fmt: skip
        taken = SupportTicket(channel="telegram", external_id="502", language="sr",
                              status=SupportStatus.WITH_OPERATOR.value, topic="Račun",
                              created_at=now - timedelta(hours=1), taken_at=now, operator_name="Aýna",
                              last_activity_at=now)  # fmt: skip
        db.add_all([other, taken])
        await db.commit()
        other_id, taken_id = other.id, taken.id
    every = {waiting_id, closed_id, other_id, taken_id}

    async def shown(http: ClientSession, query: str) -> set[int]:
        async with http.get(f"/tickets?{query}") as response:
            assert response.status == 200
            page = await response.text()
        return {int(n) for n in re.findall(r'id="ticket-(\d+)"', page)}

    async with await console.logged_in("sara") as http:
        async with http.get("/tickets") as response:
            listing = await response.text()
        # The operators of the period to choose from, and the five ratings.
        assert '<option value="Aýna">Aýna</option>' in listing and '<option value="Bojan">Bojan</option>' in listing
        assert all(f'<option value="{n}">{n}</option>' in listing for n in range(1, 6))
        assert await shown(http, "") == every
        assert await shown(http, "operator=A%C3%BDna") == {closed_id, taken_id}
        assert await shown(http, "operator=Bojan") == {other_id}
        assert await shown(http, "operator=Nobody") == set()
        assert await shown(http, "rating=5") == {closed_id}
        assert await shown(http, "rating=2") == {other_id}
        assert await shown(http, "rating=3") == set()
        assert await shown(http, "rating=9") == every  # not a rating: no filter
        assert await shown(http, "operator=A%C3%BDna&rating=5&channel=viber&status=closed") == {closed_id}
        assert await shown(http, "operator=A%C3%BDna&rating=2") == set()
        async with http.get("/tickets?operator=Bojan&rating=2") as response:
            page = await response.text()
        assert '<option value="Bojan" selected>' in page and '<option value="2" selected>' in page
    async with await console.logged_in("marko") as http, http.get("/tickets?operator=Bojan") as response:
        assert response.status == 403


def _series(svg: str) -> list[list[float]]:
    """The values of each series of a pygal chart, in the order the series were added."""
    parts = re.split(r'<g class="series serie-\d+ color-\d+">', svg)[1:]
    return [_numbers(part) for part in parts]


async def test_analytics_per_channel_language_and_profile(make_console: ConsoleFactory, database_url: str) -> None:
    console = await make_console(database_url=database_url)
    await _history(console)
    zone = console.app.deps.profile.zone
    since, until = datetime_range(console)
    async with console.app.deps.sessionmaker() as db:
        # Two conversations recorded under another profile (as a second deployment on the same database would).
        for channel in ("telegram", "viber"):
            await start_conversation(db, at=until - timedelta(hours=3), profile="tm", channel=channel, language="tk",
                                     external_id=None)  # fmt: skip
        await db.commit()
        board = await dashboard(db, since=since, until=until, zone=zone)
        rs = await dashboard(db, since=since, until=until, zone=zone, profile="rs")
        tm = await dashboard(db, since=since, until=until, zone=zone, profile="tm")
        tm_viber = await dashboard(db, since=since, until=until, zone=zone, profile="tm", channel="viber")
    conv = board.conversations
    assert [s.key for s in conv.channels] == ["telegram", "viber"] and len(conv.languages) >= 2
    assert tm.conversations.total == 2 and rs.conversations.total == conv.total - 2

    async with await console.logged_in("marko") as http:
        async with http.get("/analytics") as response:
            page = await response.text()
        # A series per channel: each day's conversations of that channel.
        per_channel = _series(_chart(page, "conversations_by_channel"))
        assert per_channel == [[float(p.conversations) for p in s.days] for s in conv.channels]
        assert sum(map(sum, per_channel)) == conv.total
        assert "telegram" in _chart(page, "conversations_by_channel") and "viber" in page
        per_language = _series(_chart(page, "conversations_by_language"))
        assert per_language == [[float(p.conversations) for p in s.days] for s in conv.languages]
        # Containment and handoffs of each channel and language, in percent.
        for name, slices in (("channel", conv.channels), ("language", conv.languages)):
            shares = _series(_chart(page, f"containment_by_{name}"))
            assert shares == [
                [round(s.containment * 100, 1) for s in slices if s.containment is not None],
                [round(s.handoff_rate * 100, 1) for s in slices if s.handoff_rate is not None],
            ]
        # The profile filter: the figures of that profile only, the choice kept in the form and the CSV links.
        assert '<option value="rs">rs</option>' in page and '<option value="tm">tm</option>' in page
        assert 'id="profile-note"' not in page
        for profile, figures in (("rs", rs), ("tm", tm)):
            async with http.get(f"/analytics?profile={profile}") as response:
                shown = await response.text()
            assert f"<strong>{figures.conversations.total}</strong>" in shown
            assert f'<option value="{profile}" selected>' in shown and 'id="profile-note"' in shown
            assert f"profile={profile}&amp;table=conversations" in shown
            assert _series(_chart(shown, "conversations_by_channel")) == [
                [float(p.conversations) for p in s.days] for s in figures.conversations.channels]  # fmt: skip
        async with http.get("/analytics/export.csv?profile=tm&channel=viber&table=by_channel") as csv:
            assert await csv.text() == to_csv(tm_viber.conversations.channels_table)
            assert "viber,1,1,0,1.0,0.0" in await csv.text()
        async with http.get("/analytics/export.csv?profile=tm&table=days_by_language") as csv:
            assert await csv.text() == to_csv(tm.conversations.language_days_table)
        async with http.get("/analytics?profile=xx") as response:  # not a profile: all of them
            assert f"<strong>{conv.total}</strong>" in await response.text()
        assert "+381" not in page and "•" not in page
