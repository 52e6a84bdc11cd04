"""Who a campaign reaches: consent and reachability always, then the segment — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from bot.db.base import utcnow
from bot.db.models import Account, Subscriber
from bot.services.campaigns import store
from bot.services.campaigns.spec import parse
from tests.broadcasts.harness import Person, add_users, campaign_file


async def test_the_segment_and_the_dry_run(database_url: str) -> None:
    engine = create_async_engine(database_url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    now = utcnow()
    try:
        async with sessions() as db, db.begin():
            petar = Subscriber(customer_code="1234567", full_name="Petar Petrović")
            petar.accounts = [Account(number="1234567/1", kind="mobile", currency="RSD", tariff="Postpaid S")]
            firma = Subscriber(customer_code="4567890", full_name="Firma", segment="corporate")
            firma.accounts = [Account(number="4567890/1", kind="fixed", currency="RSD", tariff="Biznis")]
            db.add_all([petar, firma])
        await add_users(sessions, [
            Person("telegram", "1", "sr", subscriber_id=petar.id),
            Person("viber", "v2", "tk", subscriber_id=firma.id),
            Person("telegram", "3", "sr-Cyrl", last_seen=now - timedelta(days=200)),
            Person("viber", "v4", "sr"),
            Person("telegram", "5", "sr", consent=False, subscriber_id=petar.id),
            Person("viber", "v6", "sr", unreachable=True),
            Person("console", "local", "sr", subscriber_id=petar.id),  # `mila chat`: nothing can send to it later
        ])  # fmt: skip

        async def who(**segment: object) -> dict[tuple[str, str], int]:
            async with sessions() as db:
                spec = parse(campaign_file(segment=segment))
                result = await store.dry_run(db, spec, "sr", now, Decimal("0.0312"), "EUR")
                return result.by_channel_language

        everyone = {("telegram", "sr"): 1, ("viber", "tk"): 1, ("telegram", "sr-Cyrl"): 1, ("viber", "sr"): 1}
        assert await who() == everyone
        assert await who(channels=["viber"]) == {("viber", "tk"): 1, ("viber", "sr"): 1}
        assert await who(languages=["sr-Cyrl"]) == {("telegram", "sr-Cyrl"): 1}
        assert await who(identified=True) == {("telegram", "sr"): 1, ("viber", "tk"): 1}
        assert await who(identified=False) == {("telegram", "sr-Cyrl"): 1, ("viber", "sr"): 1}
        assert await who(account_kinds=["mobile"]) == {("telegram", "sr"): 1}
        assert await who(tariffs=["Biznis"]) == {("viber", "tk"): 1}
        assert await who(account_kinds=["mobile"], tariffs=["Biznis"]) == {}
        assert await who(active_days=30) == {("telegram", "sr"): 1, ("viber", "tk"): 1, ("viber", "sr"): 1}

        async with sessions() as db:
            dry = await store.dry_run(db, parse(campaign_file()), "sr", now, Decimal("0.0312"), "EUR")
        assert (dry.total, dry.viber_messages, dry.viber_cost) == (4, 2, Decimal("0.0624"))

        async with sessions() as db, db.begin():
            campaign = await store.create(db, parse(campaign_file()), profile="rs", timezone="Europe/Belgrade", now=now)
            assert await store.enqueue(db, campaign.id, "sr", now) == 4
            assert await store.enqueue(db, campaign.id, "sr", now) == 0  # `send` again: nothing added
            assert campaign.status == "sending"
    finally:
        await engine.dispose()
