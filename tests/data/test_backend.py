"""The built-in operator backend over the demo data: lookups by keyed hash, verification, accounts, orders."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.incoming import UserRef
from bot.db.base import utcnow
from bot.db.models import AuditEntry, ChannelUser, Order, OrderKind, OutboxMessage, Subscriber
from bot.profiles import Profile
from bot.services.backend import OperatorBackend, OrderRequest, TableBackend, UnknownAccount
from bot.services.demo import seed_demo
from tests.data.conftest import KEY

Sessions = async_sessionmaker[AsyncSession]


async def _seeded(sessionmaker: Sessions, profile: Profile) -> None:
    async with sessionmaker() as db:
        await seed_demo(db, profile, KEY)
        await db.commit()


@pytest.mark.parametrize("typed", ["+381 64 1234567", "064/123-45-67", "00381641234567", "0641234567"])
async def test_find_by_phone_however_it_is_written(sessionmaker: Sessions, rs: Profile, typed: str) -> None:
    await _seeded(sessionmaker, rs)
    async with sessionmaker() as db:
        found = await TableBackend(db, rs, KEY).find_by_phone(typed)
        assert found is not None and found.customer_code == "1234567" and found.full_name == "Petar Petrović"


async def test_lookups_use_the_keyed_hash_not_the_number(sessionmaker: Sessions, rs: Profile) -> None:
    await _seeded(sessionmaker, rs)
    async with sessionmaker() as db:
        assert await TableBackend(db, rs, b"another-key-" * 3).find_by_phone("+381641234567") is None
        backend: OperatorBackend = TableBackend(db, rs, KEY)
        assert (await backend.find_by_phone("011 7654321")).customer_code == "4567890"  # type: ignore[union-attr]
        assert await backend.find_by_phone("+381 60 0000000") is None
        assert await backend.find_by_phone("not a phone") is None
        subscriber = (await db.execute(select(Subscriber).where(Subscriber.customer_code == "1234567"))).scalar_one()
        assert "1234567" not in (subscriber.contact_phone_hmac or "") and len(subscriber.contact_phone_hmac or "") == 64
        assert "Šljiva" not in (subscriber.code_word_hash or "") and subscriber.passport_hmac != "012345678"


async def test_find_by_customer_code_or_account_number(sessionmaker: Sessions, rs: Profile) -> None:
    await _seeded(sessionmaker, rs)
    async with sessionmaker() as db:
        backend = TableBackend(db, rs, KEY)
        for typed in ("4567890", " 4567890 ", "4567890/2"):
            found = await backend.find_by_customer_code(typed)
            assert found is not None and found.segment == "corporate"
        assert await backend.find_by_customer_code("9999999") is None
        assert await backend.find_by_customer_code("") is None


async def test_code_word_and_passport_in_turkmen(sessionmaker: Sessions, tm: Profile) -> None:
    await _seeded(sessionmaker, tm)
    async with sessionmaker() as db:
        backend = TableBackend(db, tm, KEY)
        aýna = await backend.find_by_phone("65 123456")
        assert aýna is not None and aýna.has_code_word and aýna.has_passport
        assert await backend.verify_code_word(aýna.id, "GÜLÄLEK")
        # Folded as people type on a phone: Turkmen letters as plain Latin count, a wrong letter does not.
        assert await backend.verify_code_word(aýna.id, "Gulalek")
        assert not await backend.verify_code_word(aýna.id, "Gulalak")
        assert await backend.verify_name_passport(aýna.id, "aýna  öwezowa", "i-aş 123456")
        assert not await backend.verify_name_passport(aýna.id, "Aýna Öwezowa", "I-AŞ 123457")
        assert await backend.verify_name_passport(aýna.id, "Owezowa Ayna", "IAS123456")
        assert not await backend.verify_name_passport(aýna.id, "Aýna Öwezow", "I-AŞ 123456")
        gülşat = await backend.find_by_customer_code("8100003")
        assert gülşat is not None and not gülşat.has_code_word
        assert not await backend.verify_code_word(gülşat.id, "anything")
        žemal = await backend.find_by_phone("+993 71 667788")
        assert žemal is not None and await backend.verify_code_word(žemal.id, "ÝAŇY  GÜN")
        assert not await backend.verify_code_word(10**6, "Gülälek")


async def test_serbian_code_word_and_name_in_cyrillic(sessionmaker: Sessions, rs: Profile) -> None:
    await _seeded(sessionmaker, rs)
    async with sessionmaker() as db:
        backend = TableBackend(db, rs, KEY)
        petar = await backend.find_by_customer_code("1234567")
        assert petar is not None
        assert await backend.verify_code_word(petar.id, "ШЉИВА")
        assert await backend.verify_name_passport(petar.id, "Петар Петровић", "012 345 678")


async def test_accounts_and_services(sessionmaker: Sessions, rs: Profile) -> None:
    await _seeded(sessionmaker, rs)
    async with sessionmaker() as db:
        backend = TableBackend(db, rs, KEY)
        petar = await backend.find_by_customer_code("1234567")
        assert petar is not None
        accounts = await backend.accounts(petar.id)
        assert [a.number for a in accounts] == ["1234567/1", "1234567/2"]
        mobile = accounts[0]
        assert (mobile.kind, mobile.status, mobile.disconnect_reason) == ("mobile", "disconnected", "debt")
        assert mobile.debt == Decimal("2340.50") and mobile.currency == "RSD" and mobile.phone == "+381641234567"
        assert mobile.service("gprs").enabled and not mobile.service("roaming").enabled  # type: ignore[union-attr]
        assert await backend.account(mobile.id) == mobile
        assert await backend.account(10**6) is None
        milica = await backend.find_by_customer_code("5678901")
        assert milica is not None
        assert (await backend.accounts(milica.id))[0].tariff == "Prepaid Basic"


async def test_an_order_is_placed_once_with_its_outbox_row_and_audit(sessionmaker: Sessions, rs: Profile) -> None:
    await _seeded(sessionmaker, rs)
    user = UserRef("test", "orderer")
    async with sessionmaker() as db:
        db.add(ChannelUser(channel=user.channel, external_id=user.external_id))
        backend = TableBackend(db, rs, KEY)
        petar = await backend.find_by_customer_code("1234567", actor=user)
        assert petar is not None
        account = (await backend.accounts(petar.id))[0]
        request = OrderRequest(OrderKind.RECONNECT_ON_PROMISE, account.id, "reconnect:1234567/1:2026-11-22",
                               requested_by=user, payload={"debt": "2340.50"})  # fmt: skip
        first = await backend.place_order(request)
        again = await backend.place_order(request)
        await db.commit()
    assert first.created and not again.created and first.number == again.number
    assert first.number.startswith("N-") and len(first.number) == 10
    assert first.account_number == "1234567/1" and first.status == "pending"
    async with sessionmaker() as db:
        assert await db.scalar(select(func.count()).select_from(Order)) == 1
        outbox = (await db.execute(select(OutboxMessage))).scalar_one()
        assert outbox.idempotency_key == "reconnect:1234567/1:2026-11-22"
        assert (
            outbox.body["order"]["kind"] == "reconnect_on_promise" and outbox.body["account"]["number"] == "1234567/1"
        )
        actions = (await db.execute(select(AuditEntry.action, AuditEntry.outcome).order_by(AuditEntry.id))).all()
        assert [tuple(a) for a in actions] == [("identify", "ok"), ("order", "ok")]
        order = (await db.execute(select(Order))).scalar_one()
        assert order.requested_by_id is not None


async def test_an_order_for_an_unknown_account_is_refused(sessionmaker: Sessions, rs: Profile) -> None:
    async with sessionmaker() as db:
        with pytest.raises(UnknownAccount):
            await TableBackend(db, rs, KEY).place_order(OrderRequest(OrderKind.SUSPEND, 12345, "k"))


async def test_failed_attempts_are_audited_without_secrets(sessionmaker: Sessions, tm: Profile) -> None:
    await _seeded(sessionmaker, tm)
    async with sessionmaker() as db:
        backend = TableBackend(db, tm, KEY)
        aýna = await backend.find_by_phone("+99365123456")
        assert aýna is not None
        await backend.verify_code_word(aýna.id, "wrong-word")
        await backend.find_by_phone("+99365000000")
        await db.commit()
        rows = (await db.execute(select(AuditEntry).order_by(AuditEntry.id))).scalars().all()
    assert [(r.action, r.outcome) for r in rows] == [
        ("identify", "ok"), ("verify_code_word", "mismatch"), ("identify", "not_found")
    ]  # fmt: skip
    dumped = repr([(r.detail, r.action, r.outcome) for r in rows])
    assert "wrong-word" not in dumped and "65000000" not in dumped and "123456" not in dumped


async def test_a_chat_is_linked_to_its_subscriber_and_consents_are_dated(sessionmaker: Sessions, rs: Profile) -> None:
    from bot.services.users import UserDirectory

    await _seeded(sessionmaker, rs)
    user = UserRef("test", "linked")
    async with sessionmaker() as db:
        petar = await TableBackend(db, rs, KEY).find_by_customer_code("1234567")
        assert petar is not None
        directory = UserDirectory(db)
        await directory.link_subscriber(user, petar.id)
        await directory.set_marketing_consent(user, False, utcnow())
        await db.commit()
        row = await directory.get(user)
        assert row is not None and row.subscriber_id == petar.id
        assert row.marketing_consent is False and row.marketing_consent_at is not None
