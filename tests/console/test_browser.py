"""The console in a real Chromium: log in, a wrong password and the lockout, a forged CSRF token refused, each
role's 403s, the analytics charts with the demo history, tickets masked, a ticket closed; a screenshot of each page
is kept under var/test-artefacts/console/."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import select, update

from bot.console.users import add_user
from bot.db.models import Campaign, CampaignDelivery, DeliveryStatus
from bot.services.analytics import dashboard
from tests.console.browser import Browser
from tests.console.conftest import PASSWORDS, Console
from tests.console.test_pages import _history, _tickets, datetime_range


async def test_log_in_see_the_charts_and_log_out(page: Browser, console: Console) -> None:
    await _history(console)
    await page.open("/analytics")
    assert page.path == "/login"
    await page.screenshot("login")
    await page.login("marko", PASSWORDS["marko"])
    assert page.path == "/analytics"
    assert "marko (marketing)" in await page.text()
    charts = await page.texts("figure.chart")
    assert len(charts) == 12
    # What Chromium rendered: pygal's values in the SVG, against the dashboard's own figures.
    ratings = [float(v) for v in await page.texts('figure[data-chart="ratings"] desc.value')]
    days = [float(v) for v in await page.texts('figure[data-chart="conversations"] desc.value')]
    async with console.app.deps.sessionmaker() as db:
        since, until = datetime_range(console)
        board = await dashboard(db, since=since, until=until, zone=console.app.deps.profile.zone)
    assert ratings == [board.ratings.counts[n] for n in range(1, 6)] and sum(ratings) > 0
    assert sum(days) == board.conversations.total
    # Per channel too: a series of each channel's days, drawn.
    per_channel = [float(v) for v in await page.texts('figure[data-chart="conversations_by_channel"] desc.value')]
    assert sum(per_channel) == board.conversations.total
    assert sorted(per_channel) == sorted(float(p.conversations) for s in board.conversations.channels for p in s.days)
    visible = await page.script(
        "return [...document.querySelectorAll('figure.chart svg')].every(s => s.getBoundingClientRect().height > 100)"
    )
    assert visible is True
    await page.screenshot("analytics")
    await page.open("/campaigns")
    assert "done" in await page.text()
    await page.screenshot("campaigns")
    await page.click("#logout")
    assert page.path == "/login"
    await page.open("/analytics")
    assert page.path == "/login"


async def test_wrong_password_then_lockout(page: Browser, console: Console) -> None:
    await page.login("ana", "not-the-password")
    assert page.path == "/login" and "Wrong name or password." in await page.text()
    await page.screenshot("wrong-password")
    for _ in range(4):
        await page.login("ana", "still-not-it")
    await page.login("ana", "and-again")
    assert "Too many attempts. Try again in 15 minutes." in await page.text()
    await page.login("ana", PASSWORDS["ana"])  # locked: the right one waits too
    assert page.path == "/login" and "Too many attempts" in await page.text()
    await page.screenshot("locked")
    assert console.verify.calls == 5


async def test_a_forged_csrf_token_is_refused(page: Browser, console: Console) -> None:
    await page.login("ana", PASSWORDS["ana"])
    assert page.path == "/analytics"
    await page.script("document.querySelectorAll('input[name=csrf]').forEach(i => i.value = 'forged')")
    await page.click("#logout")
    assert "The form has expired." in await page.text()
    await page.screenshot("csrf-refused")
    await page.open("/users")  # still logged in: the forged logout did nothing
    assert page.path == "/users" and "ana" in await page.text()
    await page.script("document.querySelectorAll('input[name=csrf]').forEach(i => i.remove())")
    await page.click("#logout")
    assert "The form has expired." in await page.text()


async def test_each_role_meets_its_403s(page: Browser, console: Console) -> None:
    await _tickets(console)
    await page.login("marko", PASSWORDS["marko"])
    assert "Tickets" not in await page.texts("header nav a")
    for path in ("/tickets", "/tickets/1", "/users"):
        await page.open(path)
        assert "Your role does not allow this page." in await page.text(), path
        assert "+381" not in await page.text()
    await page.screenshot("marketing-403")
    await page.click("#logout")
    await page.login("sara", PASSWORDS["sara"])
    assert page.path == "/tickets"
    for path in ("/analytics", "/campaigns", "/users"):
        await page.open(path)
        assert "Your role does not allow this page." in await page.text(), path
    await page.screenshot("support-403")


async def test_tickets_masked_and_one_closed(page: Browser, console: Console) -> None:
    waiting_id, _closed = await _tickets(console)
    await page.login("sara", PASSWORDS["sara"])
    listing = await page.text()
    assert "+381 64 ••• •• 67" in listing and "1234567" not in listing
    await page.screenshot("tickets")
    await page.click(f"#ticket-{waiting_id}")
    shown = await page.text()
    assert "Identified: +381 64 ••• •• 67, customer code 1002003" in shown and "641234567" not in shown
    await page.fill("#reason", "Rešeno telefonom")
    await page.screenshot("ticket")
    await page.click("#close-button")
    after = await page.text()
    assert page.path == f"/tickets/{waiting_id}"
    assert "Closed from the console: Rešeno telefonom" in after and "Close the ticket" not in after
    await page.screenshot("ticket-closed")


async def test_the_console_in_serbian(page: Browser, console: Console) -> None:
    async with console.app.deps.sessionmaker() as db:
        await add_user(db, "jelena", "admin", "jelena-long-password")
        await db.commit()
    await page.login("jelena", "jelena-long-password")
    await page.script("document.querySelector('select[name=lang]').value = 'sr'")
    await page.click("#language")
    text = await page.text()
    assert "Analitika" in text and "Odjavite se" in text and "Razgovori po danu" in text
    await page.script("document.querySelector('select[name=lang]').value = 'tk'")
    await page.click("#language")
    assert "Çykyş" in await page.text()
    await page.screenshot("turkmen")
    await asyncio.sleep(0)


async def test_a_campaign_draft_from_the_form(page: Browser, console: Console) -> None:
    await _history(console)
    await page.login("marko", PASSWORDS["marko"])
    await page.open("/campaigns")
    await page.click("#new-campaign")
    assert page.path == "/campaigns/new"
    await page.fill("#name", "Praznični paket")
    await page.fill("#text_sr", "Praznični paket: dupli internet do kraja meseca.")
    await page.fill("#text_tk", "Baýramçylyk bukjasy: aýyň ahyryna çenli iki esse internet.")
    await page.click("#preview-button")
    shown = await page.text()
    assert "Празнични пакет: дупли интернет до краја месеца." in shown
    total = int((await page.texts("#recipients-total"))[0])
    assert total > 0
    await page.screenshot("campaign-preview")
    await page.click("#create-button")
    assert page.path.startswith("/campaigns")
    assert "Praznični paket" in await page.text() and "draft" in await page.text()
    await page.screenshot("campaign-draft")


async def test_a_campaign_started_paused_and_followed(page: Browser, console: Console) -> None:
    await _history(console)
    await page.login("marko", PASSWORDS["marko"])
    await page.open("/campaigns/new")
    await page.fill("#name", "Vikend internet")
    await page.fill("#text_sr", "Vikend internet: neograničeno za 199 RSD.")
    await page.fill("#text_tk", "Dynç günleri internet: çäksiz.")
    await page.click("#create-button")
    async with console.app.deps.sessionmaker() as db:
        campaign_id = (await db.execute(select(Campaign.id).where(Campaign.name == "Vikend internet"))).scalar_one()
    await page.click(f"#open-{campaign_id}")
    assert page.path == f"/campaigns/{campaign_id}"
    await page.click("#start-button")
    assert (await page.texts("#state")) == ["sending"] and await page.texts("#pause-button")
    total = int((await page.texts("#progress-total"))[0])
    assert total > 0 and (await page.texts("#progress-sent")) == ["0"]
    # The workers' part, done here: three rows sent, one unreachable. The page's script shows it without a reload.
    async with console.app.deps.sessionmaker() as db:
        ids = list((await db.execute(select(CampaignDelivery.id).where(CampaignDelivery.campaign_id == campaign_id)
                                     .order_by(CampaignDelivery.id))).scalars())  # fmt: skip
        await db.execute(update(CampaignDelivery).where(CampaignDelivery.id.in_(ids[:3]))
                         .values(status=DeliveryStatus.SENT.value, sent_at=datetime.now(UTC)))  # fmt: skip
        await db.execute(update(CampaignDelivery).where(CampaignDelivery.id == ids[3])
                         .values(status=DeliveryStatus.UNREACHABLE.value))  # fmt: skip
        await db.commit()
    await page.script("document.getElementById('progress').setAttribute('data-marker', 'same page')")
    for _ in range(100):
        if (await page.texts("#progress-sent")) == ["3"]:
            break
        await asyncio.sleep(0.1)
    assert (await page.texts("#progress-sent")) == ["3"] and (await page.texts("#progress-unreachable")) == ["1"]
    assert (await page.texts("#progress-done")) == ["4"]
    assert float((await page.texts("#progress-rate"))[0]) > 0 and (await page.texts("#progress-time_left")) != ["–"]
    assert await page.script("return document.getElementById('progress').getAttribute('data-marker')") == "same page"
    assert await page.script("return document.getElementById('progress-bar').value") == 4
    await page.screenshot("campaign-sending")
    await page.click("#pause-button")
    assert (await page.texts("#state")) == ["paused"] and await page.texts("#resume-button")
    assert (await page.texts("#progress-sent")) == ["3"]
    await page.screenshot("campaign-paused")


async def test_the_draft_preview_follows_the_typing(page: Browser, console: Console) -> None:
    await _history(console)
    await page.login("marko", PASSWORDS["marko"])
    await page.open("/campaigns/new")
    assert await page.texts("#preview") == []
    await page.fill("#name", "Uživo")
    await page.fill("#text_sr", "Leto: 50 GB za 1200 RSD.")
    await page.fill("#text_tk", "Tomus: 50 GB.")
    for _ in range(100):  # no button pressed: the page's script asks for the preview
        if await page.texts('.phone.telegram[data-language="sr-Cyrl"] .bubble-text'):
            break
        await asyncio.sleep(0.1)
    assert (await page.texts('.phone.telegram[data-language="sr-Cyrl"] .bubble-text')) == ["Лето: 50 GB за 1200 RSD."]
    assert int((await page.texts("#recipients-total"))[0]) > 0
    assert page.path == "/campaigns/new"
    await page.screenshot("campaign-live-preview")
