"""`/campaigns/{id}`: start, pause, resume, cancel through the same service functions as `mila campaign` (so the same
transitions), each audited; CSRF refused; support gets 403; the progress endpoint counts as `mila campaign send`
follows; the page's script is the console's own, under a Content-Security-Policy of 'self' only."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.console import campaigns
from bot.core.incoming import UserRef
from bot.core.push import Delivery, PushResult
from bot.core.replies import Reply
from bot.db.models import Campaign, CampaignDelivery, ConsoleAudit, DeliveryStatus
from bot.services.campaigns import store
from bot.services.campaigns.spec import parse
from tests.console.conftest import Console, ConsoleFactory, csrf_of
from tests.console.test_pages import _history


async def _draft(console: Console) -> int:
    spec = parse({"name": "Start 20 GB", "profile": "rs", "text": {"sr": "Nova tarifa.", "tk": "Täze tarif."}})
    async with console.app.deps.sessionmaker() as db:
        campaign = await store.create(db, spec, profile="rs", timezone="Europe/Belgrade", now=datetime.now(UTC))
        await db.commit()
        return campaign.id


async def _status(console: Console, campaign_id: int) -> str:
    async with console.app.deps.sessionmaker() as db:
        return (await store.get(db, campaign_id)).status


async def test_start_pause_resume_cancel(make_console: ConsoleFactory, database_url: str) -> None:
    console = await make_console(database_url=database_url)
    await _history(console)
    campaign_id = await _draft(console)
    async with await console.logged_in("marko") as http:
        async with http.get(f"/campaigns/{campaign_id}") as response:
            assert response.status == 200
            page = await response.text()
            csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "http" not in csp and "unsafe-eval" not in csp
        assert '<script src="/static/campaign.js"></script>' in page
        assert 'id="start-button"' in page and 'id="pause-button"' not in page
        token = csrf_of(page)
        async with http.get("/static/campaign.js") as response:
            assert response.status == 200 and "fetch(url" in await response.text()

        async with http.post(f"/campaigns/{campaign_id}/start", data={"csrf": "forged"}) as response:
            assert response.status == 403
        assert await _status(console, campaign_id) == "draft"

        async with http.post(f"/campaigns/{campaign_id}/start", data={"csrf": token},
                             allow_redirects=False) as response:  # fmt: skip
            assert response.status == 303 and response.headers["Location"] == f"/campaigns/{campaign_id}"
        assert await _status(console, campaign_id) == "sending"
        async with console.app.deps.sessionmaker() as db:
            totals = await store.totals(db, campaign_id)
        assert totals.total > 0 and totals.count(DeliveryStatus.PENDING) == totals.total

        async with http.get(f"/campaigns/{campaign_id}/progress") as response:
            assert response.status == 200
            shown = await response.json()
        assert shown["status"] == "sending" and shown["total"] == totals.total and shown["sent"] == 0
        assert shown["pending"] == totals.total and shown["seconds_left"] is None

        # Some rows sent a moment ago, one failed: the endpoint counts them, and a rate and time left follow.
        async with console.app.deps.sessionmaker() as db:
            ids = list((await db.execute(select(CampaignDelivery.id).where(
                CampaignDelivery.campaign_id == campaign_id).order_by(CampaignDelivery.id))).scalars())  # fmt: skip
            await db.execute(update(CampaignDelivery).where(CampaignDelivery.id.in_(ids[:2]))
                             .values(status=DeliveryStatus.SENT.value, sent_at=datetime.now(UTC)))  # fmt: skip
            await db.execute(update(CampaignDelivery).where(CampaignDelivery.id == ids[2])
                             .values(status=DeliveryStatus.FAILED.value))  # fmt: skip
            await db.commit()
        async with http.get(f"/campaigns/{campaign_id}/progress") as response:
            shown = await response.json()
        assert (shown["sent"], shown["failed"], shown["done"]) == (2, 1, 3)
        assert shown["rate"] > 0 and shown["seconds_left"] == round((len(ids) - 3) / (2 / 60))

        for action, status in (("pause", "paused"), ("resume", "sending"), ("pause", "paused")):
            async with http.post(f"/campaigns/{campaign_id}/{action}", data={"csrf": token}) as response:
                assert response.status == 200  # the campaign's page again
                page = await response.text()
            assert await _status(console, campaign_id) == status
            assert f'data-status="{status}"' in page
        # Not allowed by the state: refused as `mila campaign` refuses it, nothing changed.
        async with http.post(f"/campaigns/{campaign_id}/pause", data={"csrf": token}) as response:
            assert response.status == 409
        assert await _status(console, campaign_id) == "paused"
        async with http.post(f"/campaigns/{campaign_id}/cancel", data={"csrf": token}) as response:
            assert response.status == 200
        assert await _status(console, campaign_id) == "cancelled"
        async with console.app.deps.sessionmaker() as db:
            totals = await store.totals(db, campaign_id)
        assert totals.count(DeliveryStatus.PENDING) == 0 and totals.count(DeliveryStatus.SKIPPED) == len(ids) - 3
        async with http.post(f"/campaigns/{campaign_id}/resume", data={"csrf": token}) as response:
            assert response.status == 409
        async with http.post("/campaigns/999999/start", data={"csrf": token}) as response:
            assert response.status == 404

    async with console.app.deps.sessionmaker() as db:
        rows = (await db.execute(select(ConsoleAudit).where(ConsoleAudit.action.like("%_campaign"))
                                 .order_by(ConsoleAudit.id))).scalars().all()  # fmt: skip
    assert [(a.actor, a.action, a.target) for a in rows] == [
        ("marko", f"{action}_campaign", f"campaign {campaign_id}")
        for action in ("start", "pause", "resume", "pause", "cancel")
    ]
    assert rows[0].detail["recipients"] == len(ids)


async def test_support_cannot_steer_a_campaign(make_console: ConsoleFactory, database_url: str) -> None:
    console = await make_console(database_url=database_url)
    campaign_id = await _draft(console)
    async with await console.logged_in("sara") as http:
        async with http.get("/tickets") as page:
            token = csrf_of(await page.text())
        for path in (f"/campaigns/{campaign_id}", f"/campaigns/{campaign_id}/progress"):
            async with http.get(path) as response:
                assert response.status == 403, path
        for action in ("start", "cancel"):
            async with http.post(f"/campaigns/{campaign_id}/{action}", data={"csrf": token}) as response:
                assert response.status == 403
    assert await _status(console, campaign_id) == "draft"
    async with await console.logged_in("ana") as http:
        async with http.get(f"/campaigns/{campaign_id}") as response:
            token = csrf_of(await response.text())
        async with http.post(f"/campaigns/{campaign_id}/cancel", data={"csrf": token}) as response:
            assert response.status == 200
    assert await _status(console, campaign_id) == "cancelled"
    async with console.app.deps.sessionmaker() as db:
        assert (await db.execute(select(Campaign.status))).scalars().all() == ["cancelled"]


@dataclass
class FakeTelegram:
    """A configured Telegram channel (no Viber): what it was asked to send, and who has blocked the bot."""

    name: str = "telegram"
    sent: list[tuple[str, str]] = field(default_factory=list)

    async def push(self, user: UserRef, replies: Sequence[Reply], *, purpose: str, **_: Any) -> PushResult:
        if user.external_id == "666":
            return PushResult(Delivery.UNREACHABLE)
        self.sent.append((user.external_id, str(getattr(replies[0], "text", ""))))
        return PushResult(Delivery.SENT, ("1",))


async def test_a_test_send_to_chosen_chat_ids(
    make_console: ConsoleFactory, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    console = await make_console(database_url=database_url)
    campaign_id = await _draft(console)
    telegram = FakeTelegram()

    @asynccontextmanager
    async def senders(app: object) -> AsyncIterator[dict[str, FakeTelegram]]:
        yield {"telegram": telegram}

    monkeypatch.setattr(campaigns, "open_senders", senders)
    async with await console.logged_in("marko") as http:
        async with http.get(f"/campaigns/{campaign_id}") as response:
            page = await response.text()
        assert "Not tested yet." in page
        token = csrf_of(page)
        async with http.post(f"/campaigns/{campaign_id}/test", data={"csrf": "forged", "to": "telegram:1"}) as r:
            assert r.status == 403
        for to in ("", "telegram:", "sms:123\ntelegram:1", "\n".join(f"telegram:{n}" for n in range(11))):
            async with http.post(f"/campaigns/{campaign_id}/test", data={"csrf": token, "to": to}) as response:
                assert response.status == 400 and 'id="test-error"' in await response.text(), to
        async with http.post(f"/campaigns/{campaign_id}/test", data={"csrf": token, "to": "telegram:1", "lang": "en"}
                             ) as response:  # fmt: skip
            assert response.status == 400
        assert telegram.sent == []

        to = "telegram:8100\ntelegram:666, viber:vbAdmin=="
        async with http.post(f"/campaigns/{campaign_id}/test", data={"csrf": token, "to": to, "lang": "sr-Cyrl"}
                             ) as response:  # fmt: skip
            assert response.status == 200
            page = await response.text()
        assert telegram.sent == [("8100", "Нова тарифа.")]
        assert '<tr class="sent"><td>telegram:8100</td><td>sr-Cyrl</td><td>sent</td></tr>' in page
        assert '<tr class="not-sent"><td>telegram:666</td><td>sr-Cyrl</td><td>unreachable</td></tr>' in page
        assert '<tr class="not-sent"><td>viber:vbAdmin==</td><td>–</td><td>channel not configured</td></tr>' in page
        assert "Last test: " in page
    async with console.app.deps.sessionmaker() as db:
        campaign = await store.get(db, campaign_id)
        assert campaign.test_sent_at is not None and campaign.status == "draft"
        (row,) = (await db.execute(select(ConsoleAudit).where(ConsoleAudit.action == "test_campaign"))).scalars()
    assert (row.actor, row.target, row.detail) == ("marko", f"campaign {campaign_id}", {"addresses": 3, "sent": 1})
    async with await console.logged_in("sara") as http:
        async with http.get("/tickets") as page_:
            token = csrf_of(await page_.text())
        async with http.post(f"/campaigns/{campaign_id}/test", data={"csrf": token, "to": "telegram:1"}) as r:
            assert r.status == 403
    assert len(telegram.sent) == 1
