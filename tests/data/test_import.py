"""`mila import`: good files load, running twice changes nothing, a bad record writes nothing and says where."""

from __future__ import annotations

import json
import tracemalloc
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.cli import main
from bot.db.base import make_engine, make_sessionmaker
from bot.db.models import Account, AccountService, Bill, Subscriber
from bot.profiles import Profile
from bot.services.importer import Importer, ImportProblem, import_file
from bot.services.personal_data import open_sim_code
from tests.data.conftest import KEY, petar

Sessions = async_sessionmaker[AsyncSession]


def write(path: Path, subscribers: list[dict[str, Any]], profile: str = "rs") -> Path:
    path.write_text(json.dumps({"profile": profile, "subscribers": subscribers}, ensure_ascii=False), encoding="utf-8")
    return path


async def _import(sessionmaker: Sessions, path: Path, profile: Profile) -> Any:
    async with sessionmaker() as db:
        try:
            report = await import_file(db, path, profile, KEY)
        except ImportProblem:
            await db.rollback()
            raise
        await db.commit()
        return report


async def _counts(sessionmaker: Sessions) -> tuple[int, int, int]:
    async with sessionmaker() as db:
        return (
            await db.scalar(select(func.count()).select_from(Subscriber)) or 0,
            await db.scalar(select(func.count()).select_from(Account)) or 0,
            await db.scalar(select(func.count()).select_from(AccountService)) or 0,
        )


async def _snapshot(sessionmaker: Sessions) -> list[tuple[Any, ...]]:
    async with sessionmaker() as db:
        rows = await db.execute(
            select(Subscriber.customer_code, Subscriber.updated_at, Subscriber.code_word_hash, Account.number,
                   Account.updated_at, Account.debt, Account.status, Account.puk_sealed)
            .join(Account).order_by(Account.number)
        )  # fmt: skip
        return [tuple(row) for row in rows]


async def test_a_good_file_loads_and_a_second_run_changes_nothing(
    sessionmaker: Sessions, rs: Profile, tmp_path: Path
) -> None:
    ana = {"customer_code": "7654321", "full_name": "Ana Anić", "segment": "corporate", "accounts": []}
    with_puk = petar()
    with_puk["accounts"][0]["puk"] = "40817263"
    path = write(tmp_path / "export.json", [with_puk, ana])
    report = await _import(sessionmaker, path, rs)
    assert (report.records, report.subscribers_created, report.accounts_created, report.services_changed) == (
        2,
        2,
        2,
        2,
    )
    assert await _counts(sessionmaker) == (2, 2, 2)
    before = await _snapshot(sessionmaker)
    again = await _import(sessionmaker, path, rs)
    assert not again.changed and again.records == 2
    assert await _snapshot(sessionmaker) == before  # the code word kept its hash and salt, the PUK its seal
    async with sessionmaker() as db:
        sealed = (await db.execute(select(Account.puk_sealed).where(Account.number == "1234567/1"))).scalar_one()
    assert sealed is not None and "40817263" not in sealed and open_sim_code(KEY, sealed) == "40817263"
    assert open_sim_code(b"another server's secret", sealed) is None


async def test_a_new_puk_is_sealed_anew_and_a_missing_one_is_removed(
    sessionmaker: Sessions, rs: Profile, tmp_path: Path
) -> None:
    record = petar()
    record["accounts"][0]["puk"] = "40817263"
    await _import(sessionmaker, write(tmp_path / "a.json", [record]), rs)
    record["accounts"][0]["puk"] = "11112222"
    report = await _import(sessionmaker, write(tmp_path / "b.json", [record]), rs)
    assert report.accounts_updated == 1
    del record["accounts"][0]["puk"]
    await _import(sessionmaker, write(tmp_path / "c.json", [record]), rs)
    async with sessionmaker() as db:
        assert (await db.execute(select(Account.puk_sealed).where(Account.number == "1234567/1"))).scalar_one() is None


async def test_a_refresh_updates_and_removes_what_the_record_no_longer_lists(
    sessionmaker: Sessions, rs: Profile, tmp_path: Path
) -> None:
    await _import(sessionmaker, write(tmp_path / "a.json", [petar()]), rs)
    changed = petar(code_word="Nova reč")
    changed["accounts"] = [dict(changed["accounts"][0], status="active", disconnect_reason=None, debt="0",
                                services={"gprs": False, "sms": True})]  # fmt: skip
    report = await _import(sessionmaker, write(tmp_path / "b.json", [changed]), rs)
    assert (report.subscribers_updated, report.accounts_updated, report.accounts_removed) == (1, 1, 1)
    assert report.services_changed == 3  # gprs flipped, roaming removed, sms added
    async with sessionmaker() as db:
        account = (await db.execute(select(Account))).scalar_one()
        assert (account.status, account.debt, account.number) == ("active", Decimal(0), "1234567/1")
        services = {code: on for code, on in await db.execute(select(AccountService.code, AccountService.enabled))}
        assert services == {"gprs": False, "sms": True}


def _bad(field: str, value: Any) -> dict[str, Any]:
    record = petar()
    target: Any = record
    *path, last = field.split(".")
    for part in path:
        target = target[int(part)] if part.isdigit() else target[part]
    target[last] = value
    return record


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (_bad("accounts.0.kind", "satellite"), "record 2 (customer_code 1234567): accounts[0].kind: unknown kind"),
        (_bad("phone", "call me maybe"), "record 2 (customer_code 1234567): phone: not a phone number"),
        (_bad("accounts.1.phone", "12"), "record 2 (customer_code 1234567): accounts[1].phone: not a phone number"),
        (_bad("accounts.0.debt", "-5.00"), "record 2 (customer_code 1234567): accounts[0].debt: negative debt"),
        (_bad("accounts.0.debt", "12.345"), "accounts[0].debt: more than two decimals"),
        (_bad("accounts.0.services", {"teleport": True}), "accounts[0].services.teleport: unknown service code"),
        (_bad("accounts.0.status", "asleep"), "accounts[0].status: unknown status"),
        (_bad("segment", "vip"), "record 2 (customer_code 1234567): segment:"),
        (_bad("full_name", ""), "record 2 (customer_code 1234567): full_name:"),
        (_bad("customer_code", "12/3"), "record 2: customer_code:"),
        (_bad("customer_code", "1000001"), "record 2 (customer_code 1000001): customer_code: 1000001 appears in an"),
        (_bad("accounts.1.number", "1000001/1"), "accounts[1].number: 1000001/1 appears in an earlier record"),
        (_bad("accounts.0.puk", "1234"), "accounts[0].puk: expected the 8 digits of a mobile line's PUK"),
        (_bad("accounts.0.puk", 40817263), "accounts[0].puk: expected the 8 digits"),
        (_bad("accounts.1.puk", "40817263"), "accounts[1].puk: expected the 8 digits of a mobile line's PUK"),
    ],
)  # fmt: skip
async def test_a_bad_record_stops_the_import_and_writes_nothing(
    sessionmaker: Sessions, rs: Profile, tmp_path: Path, record: dict[str, Any], message: str
) -> None:
    first = petar(customer_code="1000001", accounts=[dict(petar()["accounts"][0], number="1000001/1")])
    path = write(tmp_path / "bad.json", [first, record, petar(customer_code="1000003", accounts=[])])
    with pytest.raises(ImportProblem) as caught:
        await _import(sessionmaker, path, rs)
    assert message in str(caught.value)
    assert "64 1234567" not in str(caught.value)  # personal data is not echoed
    assert await _counts(sessionmaker) == (0, 0, 0)


async def test_a_duplicate_in_a_later_batch_is_found_too(sessionmaker: Sessions, rs: Profile) -> None:
    records = [{"customer_code": str(1000 + n), "full_name": f"Korisnik {n}"} for n in range(7)]
    records.append({"customer_code": "1002", "full_name": "Opet"})
    async with sessionmaker() as db:
        importer = Importer(db, rs, KEY, batch_size=3)
        with pytest.raises(ImportProblem, match=r"record 8 \(customer_code 1002\): customer_code: 1002 appears"):
            for raw in records:
                await importer.add(raw)
            await importer.finish()
        await db.rollback()
    assert await _counts(sessionmaker) == (0, 0, 0)


async def test_the_file_must_match_the_profile_and_be_json(sessionmaker: Sessions, rs: Profile, tmp_path: Path) -> None:
    with pytest.raises(ImportProblem, match="the file is for 'tm'"):
        await _import(sessionmaker, write(tmp_path / "tm.json", [], profile="tm"), rs)
    broken = tmp_path / "broken.json"
    broken.write_text('{"profile": "rs", "subscribers": [{"customer_code": "1", ', encoding="utf-8")
    with pytest.raises(ImportProblem, match="not valid JSON"):
        await _import(sessionmaker, broken, rs)
    with pytest.raises(ImportProblem, match="subscribers: expected a list"):
        await _import(sessionmaker, write(tmp_path / "none.json", {"x": 1}), rs)  # type: ignore[arg-type]
    assert await _counts(sessionmaker) == (0, 0, 0)


async def test_turkmen_data(sessionmaker: Sessions, tm: Profile, tmp_path: Path) -> None:
    record = {"customer_code": "8200001", "full_name": "Güljemal Ataýewa", "phone": "+993 65 765432",
              "code_word": "Çynar", "passport": "I-AŞ 765432",
              "accounts": [{"number": "8200001/1", "kind": "mobile", "phone": "65 765432", "debt": 12.5,
                            "currency": "TMT", "services": {"gprs": True}}]}  # fmt: skip
    await _import(sessionmaker, write(tmp_path / "tm.json", [record], profile="tm"), tm)
    async with sessionmaker() as db:
        account = (await db.execute(select(Account))).scalar_one()
        assert account.phone == "+99365765432" and str(account.debt) == "12.50"


def test_mila_import_on_the_command_line(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("MILA_PROFILE", "rs")
    good = write(tmp_path / "good.json", [petar()])
    assert main(["import", str(good)]) == 0
    assert "1 records: subscribers 1 new" in capsys.readouterr().out
    assert main(["import", str(good)]) == 0
    assert "subscribers 0 new, 0 updated" in capsys.readouterr().out
    bad = write(tmp_path / "bad.json", [petar(customer_code="555"), _bad("accounts.0.kind", "pager")])
    assert main(["import", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "record 2 (customer_code 1234567): accounts[0].kind: unknown kind 'pager'" in err
    assert "nothing was imported" in err


def _records(n: int) -> list[dict[str, Any]]:
    return [
        {"customer_code": str(3_000_000 + i), "full_name": f"Korisnik Broj {i}", "phone": f"+38164{5_000_000 + i}",
         "accounts": [{"number": f"{3_000_000 + i}/1", "kind": "mobile", "phone": f"+38164{5_000_000 + i}",
                       "debt": "10.00", "services": {"gprs": True, "sms": True}}]}
        for i in range(n)
    ]  # fmt: skip


async def test_memory_does_not_grow_with_the_file(sqlite_url: str, rs: Profile, tmp_path: Path) -> None:
    """Peak memory of importing 4,000 records is that of importing 500: the file is streamed, batches are bounded."""
    engine = make_engine(sqlite_url)
    sessionmaker = make_sessionmaker(engine)
    peaks = []
    for n, name in ((500, "small.json"), (4000, "large.json")):
        path = write(tmp_path / name, _records(n))
        async with sessionmaker() as db:
            tracemalloc.start()
            importer_report = await import_file(db, path, rs, KEY)
            peaks.append(tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
            await db.rollback()
        assert importer_report.records == n
    await engine.dispose()
    assert peaks[1] < peaks[0] * 1.5, peaks


async def _bills(sessionmaker: Sessions) -> list[tuple[str, str, str, str]]:
    async with sessionmaker() as db:
        rows = await db.execute(
            select(Account.number, Bill.period, Bill.amount, Bill.due_on).join(Account).order_by(Bill.period)
        )
        return [(number, period, f"{amount:.2f}", due.isoformat()) for number, period, amount, due in rows]


async def test_unpaid_bills_load_refresh_and_a_second_run_changes_nothing(
    sessionmaker: Sessions, rs: Profile, tmp_path: Path
) -> None:
    record = petar()
    record["accounts"][0]["bills"] = [
        {"period": "2026-11", "amount": "1170.25", "due": "2026-12-15"},
        {"period": "2026-10", "amount": "1170.25", "due": "2026-11-15"},
    ]
    path = write(tmp_path / "bills.json", [record])
    report = await _import(sessionmaker, path, rs)
    assert report.bills_changed == 2 and "bills 2 changed" in report.summary()
    assert await _bills(sessionmaker) == [
        ("1234567/1", "2026-10", "1170.25", "2026-11-15"),
        ("1234567/1", "2026-11", "1170.25", "2026-12-15"),
    ]
    again = await _import(sessionmaker, path, rs)
    assert not again.changed and again.bills_changed == 0
    # October paid (gone from the export), November's amount corrected.
    record["accounts"][0]["bills"] = [{"period": "2026-11", "amount": "1000.00", "due": "2026-12-15"}]
    report = await _import(sessionmaker, write(tmp_path / "paid.json", [record]), rs)
    assert report.bills_changed == 2
    assert await _bills(sessionmaker) == [("1234567/1", "2026-11", "1000.00", "2026-12-15")]


@pytest.mark.parametrize(
    ("bills", "message"),
    [
        ({"period": "2026-11"}, "accounts[0].bills: expected a list of unpaid bills"),
        ([{"period": "11/2026", "amount": "1", "due": "2026-12-15"}], "accounts[0].bills[0].period: expected"),
        ([{"period": "2026-13", "amount": "1", "due": "2026-12-15"}], "accounts[0].bills[0].period: expected"),
        ([{"period": "2026-11", "amount": "0", "due": "2026-12-15"}], "bills[0].amount: an unpaid bill is more"),
        ([{"period": "2026-11", "amount": "-5", "due": "2026-12-15"}], "bills[0].amount: negative"),
        ([{"period": "2026-11", "amount": "5", "due": "15.12.2026"}], "bills[0].due: expected the day it is due"),
        ([{"period": "2026-11", "amount": "5", "due": "2026-12-15"},
          {"period": "2026-11", "amount": "6", "due": "2026-12-15"}], "bills[1].period: 2026-11 is listed twice"),
    ],
)  # fmt: skip
async def test_a_bad_bill_stops_the_import_and_says_where(
    sessionmaker: Sessions, rs: Profile, tmp_path: Path, bills: Any, message: str
) -> None:
    record = petar()
    record["accounts"][0]["bills"] = bills
    with pytest.raises(ImportProblem) as caught:
        await _import(sessionmaker, write(tmp_path / "bad.json", [record]), rs)
    assert message in str(caught.value)
    assert await _counts(sessionmaker) == (0, 0, 0)
