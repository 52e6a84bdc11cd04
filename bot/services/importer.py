"""Loading the operator's subscriber data: `mila import FILE.json` and the demo data.

The file is read as a stream (ijson), record by record, and written in batches, so memory stays flat however
large the file is. The whole file is one transaction: the first bad record (an unknown account kind, a phone
that is not a number, a negative debt, a service the profile's catalogue does not know, a customer code seen
twice) stops the import with a message naming the record and the field, and nothing of the file is written.

Importing is a refresh: each record is the truth about that subscriber, so accounts and services it no longer
lists are removed, and a subscriber the file does not mention is left alone. Running the same file twice changes
nothing (a code word that still matches its stored hash keeps that hash rather than getting a new salt).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, BinaryIO, cast

import ijson
from sqlalchemy import Column, MetaData, String, Table, delete, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.base import utcnow
from bot.db.models import (
    Account,
    AccountKind,
    AccountService,
    AccountStatus,
    Bill,
    DisconnectReason,
    Segment,
    Subscriber,
)
from bot.profiles import Profile
from bot.services.personal_data import (
    BadPhone,
    hash_code_word,
    is_current_hash,
    normalize_phone,
    open_sim_code,
    passport_hash,
    phone_hash,
    seal_sim_code,
    verify_code_word,
)

BATCH_SIZE = 500
_CODE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.-]{0,31}$")
_ACCOUNT_NUMBER = re.compile(r"^[0-9A-Za-z][0-9A-Za-z./-]{0,31}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_PUK = re.compile(r"^[0-9]{8}$")
_SEEN_TABLE = "mila_import_seen"
# Core tables, not ORM entities, for the bulk inserts: the ORM splits a batch into runs of rows whose NULL columns
# match, which turns one multi-row INSERT into dozens; Core sends the batch as one statement.
_SEEN = Table(_SEEN_TABLE, MetaData(), Column("key", String(40), primary_key=True))
_SUBSCRIBERS = cast(Table, Subscriber.__table__)
_ACCOUNTS = cast(Table, Account.__table__)
_SERVICES = cast(Table, AccountService.__table__)
_BILLS = cast(Table, Bill.__table__)
_PERIOD = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")


SEGMENTS = [s.value for s in Segment]
KINDS = [k.value for k in AccountKind]
STATUSES = [s.value for s in AccountStatus]
REASONS = [r.value for r in DisconnectReason]


class ImportProblem(Exception):
    """A bad file or record; the message names the record and the field."""


@dataclass
class ImportReport:
    records: int = 0
    subscribers_created: int = 0
    subscribers_updated: int = 0
    accounts_created: int = 0
    accounts_updated: int = 0
    accounts_removed: int = 0
    services_changed: int = 0
    bills_changed: int = 0

    @property
    def changed(self) -> bool:
        return any(
            (self.subscribers_created, self.subscribers_updated, self.accounts_created, self.accounts_updated,
             self.accounts_removed, self.services_changed, self.bills_changed)
        )  # fmt: skip

    def summary(self) -> str:
        return (
            f"{self.records} records: subscribers {self.subscribers_created} new, {self.subscribers_updated} updated; "
            f"accounts {self.accounts_created} new, {self.accounts_updated} updated, {self.accounts_removed} removed; "
            f"services {self.services_changed} changed; bills {self.bills_changed} changed"
        )


@dataclass
class _Account:
    number: str
    kind: str
    phone: str | None
    phone_hmac: str | None
    status: str
    disconnect_reason: str | None
    debt: Decimal
    currency: str
    tariff: str | None
    services: dict[str, bool]
    puk: str | None = None  # in memory only while importing: stored sealed
    bills: list[tuple[str, Decimal, date]] = field(default_factory=list)  # (period, amount, due date), unpaid


@dataclass
class _Record:
    index: int
    customer_code: str
    full_name: str
    segment: str
    contact_phone: str | None
    contact_phone_hmac: str | None
    code_word: str | None
    passport_hmac: str | None
    accounts: list[_Account] = field(default_factory=list)

    def where(self, path: str) -> str:
        return f"record {self.index} (customer_code {self.customer_code}): {path}"


class Validator:
    """Turns one raw record into clean values, or raises `ImportProblem` naming the record and the field."""

    def __init__(self, profile: Profile, key: bytes) -> None:
        self.profile = profile
        self.key = key
        self.serbian = profile.country == "RS"
        self.catalogue = {service.code for service in profile.services}

    def record(self, raw: Any, index: int) -> _Record:
        where = f"record {index}"
        if not isinstance(raw, dict):
            raise ImportProblem(f"{where}: expected an object")
        code = raw.get("customer_code")
        if isinstance(code, int) and not isinstance(code, bool):
            code = str(code)
        if not isinstance(code, str) or not _CODE.match(code.strip()):
            raise ImportProblem(f"{where}: customer_code: expected up to 32 letters or digits, no slash")
        code = code.strip()
        where = f"record {index} (customer_code {code})"
        name = raw.get("full_name")
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            raise ImportProblem(f"{where}: full_name: expected a name of 1–200 characters")
        segment = raw.get("segment", Segment.PRIVATE.value)
        if segment not in SEGMENTS:
            raise ImportProblem(f"{where}: segment: expected one of {', '.join(SEGMENTS)}")
        phone = self._phone(raw.get("phone"), f"{where}: phone")
        code_word = self._optional_text(raw.get("code_word"), f"{where}: code_word", 100)
        passport = self._optional_text(raw.get("passport"), f"{where}: passport", 64)
        accounts_raw = raw.get("accounts", [])
        if not isinstance(accounts_raw, list):
            raise ImportProblem(f"{where}: accounts: expected a list")
        record = _Record(
            index=index,
            customer_code=code,
            full_name=" ".join(name.split()),
            segment=segment,
            contact_phone=phone,
            contact_phone_hmac=phone_hash(self.key, phone) if phone else None,
            code_word=code_word,
            passport_hmac=passport_hash(self.key, passport) if passport else None,
        )
        numbers: set[str] = set()
        for position, account_raw in enumerate(accounts_raw):
            account = self.account(account_raw, f"{where}: accounts[{position}]")
            if account.number in numbers:
                raise ImportProblem(f"{where}: accounts[{position}].number: {account.number} is listed twice")
            numbers.add(account.number)
            record.accounts.append(account)
        return record

    def account(self, raw: Any, where: str) -> _Account:
        if not isinstance(raw, dict):
            raise ImportProblem(f"{where}: expected an object")
        number = raw.get("number")
        if not isinstance(number, str) or not _ACCOUNT_NUMBER.match(number.strip()):
            raise ImportProblem(f"{where}.number: expected up to 32 letters, digits, '/', '.' or '-'")
        kind = raw.get("kind")
        if kind not in KINDS:
            raise ImportProblem(f"{where}.kind: unknown kind {kind!r} (expected one of {', '.join(KINDS)})")
        status = raw.get("status", AccountStatus.ACTIVE.value)
        if status not in STATUSES:
            raise ImportProblem(f"{where}.status: unknown status {status!r} (expected one of {', '.join(STATUSES)})")
        reason = raw.get("disconnect_reason")
        if reason is not None and (reason not in REASONS or status != AccountStatus.DISCONNECTED.value):
            raise ImportProblem(
                f"{where}.disconnect_reason: expected one of {', '.join(REASONS)}, and only on a disconnected account"
            )
        phone = self._phone(raw.get("phone"), f"{where}.phone")
        debt = self._debt(raw.get("debt", "0"), f"{where}.debt")
        currency = raw.get("currency", self.profile.currency)
        if not isinstance(currency, str) or not _CURRENCY.match(currency):
            raise ImportProblem(f"{where}.currency: expected a three-letter code such as {self.profile.currency}")
        tariff = self._optional_text(raw.get("tariff"), f"{where}.tariff", 64)
        puk = raw.get("puk")
        if puk is not None and (not isinstance(puk, str) or not _PUK.match(puk) or kind != AccountKind.MOBILE.value):
            raise ImportProblem(f"{where}.puk: expected the 8 digits of a mobile line's PUK as text")
        services_raw = raw.get("services", {})
        if not isinstance(services_raw, dict):
            raise ImportProblem(f"{where}.services: expected an object of service code → true/false")
        services: dict[str, bool] = {}
        for code, enabled in services_raw.items():
            if code not in self.catalogue:
                raise ImportProblem(
                    f"{where}.services.{code}: unknown service code (the {self.profile.id} catalogue has "
                    f"{', '.join(sorted(self.catalogue))})"
                )
            if not isinstance(enabled, bool):
                raise ImportProblem(f"{where}.services.{code}: expected true or false")
            services[code] = enabled
        bills = self._bills(raw.get("bills", []), f"{where}.bills")
        return _Account(
            number=number.strip(),
            kind=kind,
            phone=phone,
            phone_hmac=phone_hash(self.key, phone) if phone else None,
            status=status,
            disconnect_reason=reason,
            debt=debt,
            currency=currency,
            tariff=tariff,
            services=services,
            puk=puk,
            bills=bills,
        )

    def _bills(self, raw: Any, where: str) -> list[tuple[str, Decimal, date]]:
        """The account's unpaid bills: [{"period": "2026-11", "amount": "1200.00", "due": "2026-12-15"}, …]."""
        if not isinstance(raw, list):
            raise ImportProblem(f"{where}: expected a list of unpaid bills")
        bills: list[tuple[str, Decimal, date]] = []
        for position, bill in enumerate(raw):
            at = f"{where}[{position}]"
            if not isinstance(bill, dict):
                raise ImportProblem(f"{at}: expected an object with period, amount and due")
            period = bill.get("period")
            if not isinstance(period, str) or not _PERIOD.match(period):
                raise ImportProblem(f"{at}.period: expected the month billed as YYYY-MM")
            if any(period == seen for seen, _amount, _due in bills):
                raise ImportProblem(f"{at}.period: {period} is listed twice")
            amount = self._debt(bill.get("amount"), f"{at}.amount")
            if amount <= 0:
                raise ImportProblem(f"{at}.amount: an unpaid bill is more than 0")
            due = bill.get("due")
            try:
                due_on = date.fromisoformat(due) if isinstance(due, str) else None
            except ValueError:
                due_on = None
            if due_on is None:
                raise ImportProblem(f"{at}.due: expected the day it is due as YYYY-MM-DD")
            bills.append((period, amount, due_on))
        return sorted(bills)

    def _phone(self, raw: Any, where: str) -> str | None:
        if raw is None or raw == "":
            return None
        if not isinstance(raw, str):
            raise ImportProblem(f"{where}: expected a phone number as text")
        try:
            return normalize_phone(raw, self.profile.country)
        except BadPhone:
            # The value itself is not repeated: it is personal data and this message may end up in a log.
            raise ImportProblem(f"{where}: not a phone number") from None

    @staticmethod
    def _debt(raw: Any, where: str) -> Decimal:
        if isinstance(raw, bool) or not isinstance(raw, str | int | Decimal):
            raise ImportProblem(f'{where}: expected an amount such as "2340.50"')
        try:
            amount = Decimal(str(raw).strip())
        except InvalidOperation:
            raise ImportProblem(f"{where}: not an amount") from None
        if not amount.is_finite():
            raise ImportProblem(f"{where}: not an amount")
        if amount < 0:
            raise ImportProblem(f"{where}: negative debt")
        if amount != amount.quantize(Decimal("0.01")):
            raise ImportProblem(f"{where}: more than two decimals")
        if amount >= Decimal("1e12"):
            raise ImportProblem(f"{where}: too large")
        return amount.quantize(Decimal("0.01"))

    @staticmethod
    def _optional_text(raw: Any, where: str, limit: int) -> str | None:
        if raw is None:
            return None
        if not isinstance(raw, str) or not raw.strip() or len(raw) > limit:
            raise ImportProblem(f"{where}: expected text of 1–{limit} characters")
        return raw.strip()


def _sealed_puk(key: bytes, puk: str | None, stored: str | None) -> str | None:
    """A PUK that still opens from its stored seal keeps that seal (sealing is randomised: a fresh seal of the same
    code would count as a change on every import)."""
    if puk is None:
        return None
    if open_sim_code(key, stored) == puk:
        return stored
    return seal_sim_code(key, puk)


class Importer:
    """Writes validated records in batches inside the caller's transaction; the caller commits or rolls back."""

    def __init__(self, db: AsyncSession, profile: Profile, key: bytes, *, batch_size: int = BATCH_SIZE) -> None:
        self.db = db
        self.validator = Validator(profile, key)
        self.serbian = profile.country == "RS"
        self.batch_size = batch_size
        self.report = ImportReport()
        self._batch: list[_Record] = []
        self._started = False
        self._batches = 0
        self._next_analyze = 1

    async def add(self, raw: Any) -> None:
        if not self._started:
            await self._start()
        self.report.records += 1
        self._batch.append(self.validator.record(raw, self.report.records))
        if len(self._batch) >= self.batch_size:
            await self._flush()

    async def finish(self) -> ImportReport:
        if not self._started:
            await self._start()
        await self._flush()
        await self.db.execute(text(f"DROP TABLE IF EXISTS {_SEEN_TABLE}"))
        return self.report

    async def _start(self) -> None:
        """Keys seen in this file go to a temporary table, not a Python set: duplicates are found in any file size."""
        self._started = True
        await self.db.execute(text(f"DROP TABLE IF EXISTS {_SEEN_TABLE}"))
        await self.db.execute(text(f"CREATE TEMPORARY TABLE {_SEEN_TABLE} (key VARCHAR(40) PRIMARY KEY)"))

    async def _flush(self) -> None:
        batch, self._batch = self._batch, []
        if not batch:
            return
        await self._check_duplicates(batch)
        now = utcnow()
        subscriber_ids, known = await self._write_subscribers(batch, now)
        account_ids = await self._write_accounts(batch, subscriber_ids, known, now)
        await self._write_services(batch, account_ids)
        await self._write_bills(batch, account_ids)
        self._batches += 1
        if self._batches == self._next_analyze:
            await self._analyze()
            self._next_analyze *= 2

    async def _analyze(self) -> None:
        """Refresh PostgreSQL's statistics as the tables grow inside this transaction (after 1, 2, 4, 8… batches).

        A table that started empty looks empty to the planner until analyzed; it then scans instead of using the
        indexes, and every batch gets slower than the one before. ANALYZE inside the transaction counts its own
        rows; doing it at doubling intervals costs O(log n) runs.
        """
        if self.db.get_bind().dialect.name != "postgresql":
            return
        await self.db.execute(text(f"ANALYZE subscribers, accounts, account_services, {_SEEN_TABLE}"))

    async def _check_duplicates(self, batch: list[_Record]) -> None:
        keys: dict[str, tuple[_Record, str, str]] = {}
        for record in batch:
            entries = [(f"c:{record.customer_code}", "customer_code", record.customer_code)]
            entries += [(f"a:{a.number}", f"accounts[{i}].number", a.number) for i, a in enumerate(record.accounts)]
            for key, path, value in entries:
                if key in keys:
                    raise ImportProblem(f"{record.where(path)}: {value} appears in an earlier record")
                keys[key] = (record, path, value)
        # Claim the keys: the primary key refuses one seen before, so duplicates are found by the index, never by
        # scanning what this file has already written.
        dialect_insert = postgresql_insert if self.db.get_bind().dialect.name == "postgresql" else sqlite_insert
        claimed: set[str] = set()
        every = list(keys)
        for start in range(0, len(every), 5000):  # one statement per 5,000 keys stays under the drivers' limits
            rows = [{"key": key} for key in every[start : start + 5000]]
            claim = dialect_insert(_SEEN).values(rows).on_conflict_do_nothing().returning(_SEEN.c.key)
            claimed.update((await self.db.execute(claim)).scalars())
        if len(claimed) < len(keys):
            record, path, value = min((keys[k] for k in keys if k not in claimed), key=lambda item: item[0].index)
            raise ImportProblem(f"{record.where(path)}: {value} appears in an earlier record")

    async def _write_subscribers(self, batch: list[_Record], now: Any) -> tuple[dict[str, int], set[int]]:
        existing = {
            row.customer_code: row
            for row in (
                await self.db.execute(
                    select(
                        Subscriber.id, Subscriber.customer_code, Subscriber.full_name, Subscriber.segment,
                        Subscriber.contact_phone, Subscriber.contact_phone_hmac, Subscriber.code_word_hash,
                        Subscriber.passport_hmac,
                    ).where(Subscriber.customer_code.in_([r.customer_code for r in batch]))
                )
            )
        }  # fmt: skip
        ids = {code: row.id for code, row in existing.items()}
        known = set(ids.values())
        new_rows: list[dict[str, Any]] = []
        for record in batch:
            old = existing.get(record.customer_code)
            code_word_hash = self._code_word_hash(record.code_word, old.code_word_hash if old else None)
            values = {
                "full_name": record.full_name,
                "segment": record.segment,
                "contact_phone": record.contact_phone,
                "contact_phone_hmac": record.contact_phone_hmac,
                "code_word_hash": code_word_hash,
                "passport_hmac": record.passport_hmac,
            }
            if old is None:
                new_rows.append({"customer_code": record.customer_code, "created_at": now, "updated_at": now, **values})
                continue
            if any(getattr(old, name) != value for name, value in values.items()):
                await self.db.execute(
                    update(Subscriber).where(Subscriber.id == old.id).values(updated_at=now, **values)
                )
                self.report.subscribers_updated += 1
        if new_rows:
            result = await self.db.execute(
                insert(_SUBSCRIBERS).returning(_SUBSCRIBERS.c.id, _SUBSCRIBERS.c.customer_code), new_rows
            )
            ids.update({code: id_ for id_, code in result})
            self.report.subscribers_created += len(new_rows)
        return ids, known

    def _code_word_hash(self, word: str | None, stored: str | None) -> str | None:
        if word is None:
            return None
        # The same word keeps its hash (no new salt, no write); a hash of the form before folding is made anew.
        if is_current_hash(stored) and verify_code_word(word, stored, serbian=self.serbian):
            return stored
        return hash_code_word(word)

    async def _write_accounts(
        self, batch: list[_Record], subscriber_ids: dict[str, int], known: set[int], now: Any
    ) -> dict[str, int]:
        """`known` are the subscribers that existed before this batch: only they can have accounts to remove."""
        numbers = [a.number for r in batch for a in r.accounts]
        columns = (
            Account.id, Account.number, Account.subscriber_id, Account.kind, Account.phone, Account.phone_hmac,
            Account.status, Account.disconnect_reason, Account.debt, Account.currency, Account.tariff,
            Account.puk_sealed,
        )  # fmt: skip
        existing: dict[str, Any] = {}
        # Two queries, each on its own index: one `number IN … OR subscriber_id IN …` makes PostgreSQL scan the
        # table, and the import slows down as the table grows.
        if numbers:
            for row in await self.db.execute(select(*columns).where(Account.number.in_(numbers))):
                existing[row.number] = row
        if known:
            for row in await self.db.execute(select(*columns).where(Account.subscriber_id.in_(sorted(known)))):
                existing[row.number] = row
        listed = set(numbers)
        stale = [row.id for number, row in existing.items() if number not in listed]
        if stale:
            await self.db.execute(delete(Account).where(Account.id.in_(stale)))
            self.report.accounts_removed += len(stale)
        ids = {number: row.id for number, row in existing.items() if number in listed}
        new_rows: list[dict[str, Any]] = []
        for record in batch:
            for account in record.accounts:
                values = {
                    "subscriber_id": subscriber_ids[record.customer_code],
                    "kind": account.kind,
                    "phone": account.phone,
                    "phone_hmac": account.phone_hmac,
                    "status": account.status,
                    "disconnect_reason": account.disconnect_reason,
                    "debt": account.debt,
                    "currency": account.currency,
                    "tariff": account.tariff,
                }
                old = existing.get(account.number)
                values["puk_sealed"] = _sealed_puk(self.validator.key, account.puk, old.puk_sealed if old else None)
                if old is None:
                    new_rows.append({"number": account.number, "updated_at": now, **values})
                elif any(getattr(old, name) != value for name, value in values.items()):
                    await self.db.execute(update(Account).where(Account.id == old.id).values(updated_at=now, **values))
                    self.report.accounts_updated += 1
        if new_rows:
            result = await self.db.execute(insert(_ACCOUNTS).returning(_ACCOUNTS.c.id, _ACCOUNTS.c.number), new_rows)
            ids.update({number: id_ for id_, number in result})
            self.report.accounts_created += len(new_rows)
        return ids

    async def _write_services(self, batch: list[_Record], account_ids: dict[str, int]) -> None:
        wanted = {
            (account_ids[a.number], code): enabled
            for r in batch
            for a in r.accounts
            for code, enabled in a.services.items()
        }
        have = {
            (row.account_id, row.code): (row.id, row.enabled)
            for row in await self.db.execute(
                select(AccountService.id, AccountService.account_id, AccountService.code, AccountService.enabled).where(
                    AccountService.account_id.in_(list(account_ids.values()))
                )
            )
        }
        stale = [id_ for key, (id_, _enabled) in have.items() if key not in wanted]
        if stale:
            await self.db.execute(delete(AccountService).where(AccountService.id.in_(stale)))
        flips = [(have[key][0], enabled) for key, enabled in wanted.items() if key in have and have[key][1] != enabled]
        for id_, enabled in flips:
            await self.db.execute(update(AccountService).where(AccountService.id == id_).values(enabled=enabled))
        new_rows = [
            {"account_id": account_id, "code": code, "enabled": enabled}
            for (account_id, code), enabled in wanted.items()
            if (account_id, code) not in have
        ]
        if new_rows:
            await self.db.execute(insert(_SERVICES), new_rows)
        self.report.services_changed += len(stale) + len(flips) + len(new_rows)

    async def _write_bills(self, batch: list[_Record], account_ids: dict[str, int]) -> None:
        """Each account's unpaid bills are what the file lists: paid ones (gone from the file) are removed."""
        wanted = {
            (account_ids[a.number], period): (amount, due_on)
            for r in batch
            for a in r.accounts
            for period, amount, due_on in a.bills
        }
        have = {
            (row.account_id, row.period): (row.id, Decimal(row.amount), row.due_on)
            for row in await self.db.execute(
                select(Bill.id, Bill.account_id, Bill.period, Bill.amount, Bill.due_on).where(
                    Bill.account_id.in_(list(account_ids.values()))
                )
            )
        }
        differ = {key for key, row in have.items() if wanted.get(key) != row[1:]} | (wanted.keys() - have.keys())
        stale = [row[0] for key, row in have.items() if key in differ]
        if stale:
            await self.db.execute(delete(Bill).where(Bill.id.in_(stale)))
        new_rows = [
            {"account_id": account_id, "period": period, "amount": amount, "due_on": due_on}
            for (account_id, period), (amount, due_on) in wanted.items()
            if (account_id, period) in differ
        ]
        if new_rows:
            await self.db.execute(insert(_BILLS), new_rows)
        self.report.bills_changed += len(differ)


async def import_records(
    db: AsyncSession, records: Iterable[Any] | AsyncIterator[Any], profile: Profile, key: bytes
) -> ImportReport:
    """Import already-parsed records (the demo data) in the caller's transaction."""
    importer = Importer(db, profile, key)
    if isinstance(records, AsyncIterator):
        async for raw in records:
            await importer.add(raw)
    else:
        for raw in records:
            await importer.add(raw)
    return await importer.finish()


def file_profile(stream: BinaryIO) -> str | None:
    """The file's "profile" field, read without loading the file."""
    try:
        for value in ijson.items(stream, "profile"):
            return value if isinstance(value, str) else ""
    except ijson.JSONError as exc:
        raise ImportProblem(f"not valid JSON: {exc}") from None
    return None


def stream_records(stream: BinaryIO) -> Iterator[Any]:
    """Subscribers one at a time; amounts come as `Decimal`, never float."""
    try:
        yield from ijson.items(stream, "subscribers.item", use_float=False)
    except ijson.JSONError as exc:
        raise ImportProblem(f"not valid JSON: {exc}") from None


async def import_file(db: AsyncSession, path: Path, profile: Profile, key: bytes) -> ImportReport:
    """Import one file in the caller's transaction; raises `ImportProblem` before anything is committed."""
    try:
        with path.open("rb") as stream:
            declared = file_profile(stream)
    except OSError as exc:
        raise ImportProblem(f"{path}: cannot read: {exc.strerror}") from None
    if declared is not None and declared != profile.id:
        raise ImportProblem(f"{path}: profile: the file is for {declared!r}, this database serves {profile.id!r}")
    importer = Importer(db, profile, key)
    with path.open("rb") as stream:
        for raw in stream_records(stream):
            await importer.add(raw)
    if importer.report.records == 0:
        with path.open("rb") as stream:
            has_list = any(isinstance(value, list) for value in ijson.items(stream, "subscribers"))
        if not has_list:
            raise ImportProblem(f"{path}: subscribers: expected a list of subscribers")
    return await importer.finish()
