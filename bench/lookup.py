"""Subscriber lookups must not grow with the table; import must be fast and flat in memory.

On a throwaway PostgreSQL database: the median time of a lookup by phone and by customer code through the real
backend (`TableBackend`, keyed hash of the number, audit entry included) with 10,000 subscribers, then with
1,000,000, and their ratio (target <= 2). Rows are bulk-loaded with COPY so that the large table takes a minute,
not an hour. Then the import rate and peak memory of `mila import` for 100,000 subscribers (and, to show that
memory does not grow with the file, for 10,000), each in a child process of its own so its peak is its own.

    TEST_POSTGRES_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/test .venv/bin/python bench/lookup.py
        [--small 10000] [--large 1000000] [--imports 10000,100000] [--lookups 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.config import DEMO_SECRET_KEY
from bot.db.base import make_engine, make_sessionmaker
from bot.db.migrate import upgrade_async
from bot.profiles import load_profile
from bot.services.backend import TableBackend
from bot.services.importer import import_file
from bot.services.personal_data import passport_hash, phone_hash

POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL") or os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
KEY = DEMO_SECRET_KEY.encode()
CHUNK = 50_000


def code(i: int) -> str:
    return str(1_000_000 + i)


def phone(i: int) -> str:
    return f"+38160{i:07d}"


async def admin(sql: str) -> None:
    engine = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(sql))
    await engine.dispose()


async def create_database(tag: str) -> str:
    name = f"mila_bench_{tag}_{uuid.uuid4().hex[:8]}"
    await admin(f'CREATE DATABASE "{name}"')
    url = POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    await upgrade_async(url)
    return url


async def drop_database(url: str) -> None:
    await admin(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def _rows(start: int, stop: int) -> Iterator[tuple[list[tuple[object, ...]], list[tuple[object, ...]]]]:
    now = datetime.now(UTC)
    for first in range(start, stop, CHUNK):
        subscribers: list[tuple[object, ...]] = []
        accounts: list[tuple[object, ...]] = []
        for i in range(first, min(first + CHUNK, stop)):
            digest = phone_hash(KEY, phone(i))
            subscribers.append((i + 1, code(i), f"Pretplatnik {i}", "private", phone(i), digest, None,
                                passport_hash(KEY, f"P{i:08d}"), now, now))  # fmt: skip
            accounts.append((i + 1, i + 1, f"{code(i)}/1", "mobile", phone(i), digest, "active", None,
                             Decimal("0.00"), "RSD", "Postpaid S", now))  # fmt: skip
        yield subscribers, accounts


async def bulk_load(url: str, start: int, stop: int) -> float:
    """COPY subscribers and their mobile accounts [start, stop) straight into the tables; returns seconds."""
    started = time.perf_counter()
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        for subscribers, accounts in _rows(start, stop):
            await conn.copy_records_to_table(
                "subscribers", records=subscribers,
                columns=["id", "customer_code", "full_name", "segment", "contact_phone", "contact_phone_hmac",
                         "code_word_hash", "passport_hmac", "created_at", "updated_at"],
            )  # fmt: skip
            await conn.copy_records_to_table(
                "accounts", records=accounts,
                columns=["id", "subscriber_id", "number", "kind", "phone", "phone_hmac", "status",
                         "disconnect_reason", "debt", "currency", "tariff", "updated_at"],
            )  # fmt: skip
        await conn.execute("ANALYZE subscribers; ANALYZE accounts")
    finally:
        await conn.close()
    return time.perf_counter() - started


async def measure(url: str, population: int, lookups: int) -> tuple[float, float]:
    """Median seconds of one lookup by phone and by customer code, over random existing subscribers."""
    profile = load_profile("rs")
    engine = make_engine(url)
    sessionmaker = make_sessionmaker(engine)
    rng = random.Random(population)

    async def timed(lookup: Callable[[TableBackend, int], Awaitable[object]]) -> float:
        times = []
        async with sessionmaker() as db:
            backend = TableBackend(db, profile, KEY)
            for _ in range(100):  # warm the connection and the caches
                await lookup(backend, rng.randrange(population))
            for _ in range(lookups):
                i = rng.randrange(population)
                started = time.perf_counter()
                found = await lookup(backend, i)
                times.append(time.perf_counter() - started)
                assert found is not None
            await db.rollback()  # the audit entries of the benchmark are not kept
        return statistics.median(times)

    async def by_phone(backend: TableBackend, i: int) -> object:
        return await backend.find_by_phone(f"060 {i:07d}")

    async def by_code(backend: TableBackend, i: int) -> object:
        return await backend.find_by_customer_code(code(i))

    result = (await timed(by_phone), await timed(by_code))
    await engine.dispose()
    return result


def write_import_file(path: Path, count: int) -> None:
    """A realistic export, written as a stream: every subscriber with a passport, a mobile account and services."""
    with path.open("w", encoding="utf-8") as out:
        out.write('{"profile": "rs", "subscribers": [\n')
        for i in range(count):
            record = {
                "customer_code": str(5_000_000 + i), "full_name": f"Pretplatnik Uvoza {i}", "segment": "private",
                "phone": f"+38169{i:07d}", "passport": f"P{i:08d}",
                "accounts": [{"number": f"{5_000_000 + i}/1", "kind": "mobile", "phone": f"+38169{i:07d}",
                              "status": "active" if i % 10 else "disconnected",
                              "disconnect_reason": None if i % 10 else "debt", "debt": f"{i % 5000}.50",
                              "currency": "RSD", "tariff": "Postpaid S",
                              "services": {"sms": True, "gprs": i % 2 == 0, "roaming": False}}],
            }  # fmt: skip
            out.write(("," if i else "") + json.dumps(record, ensure_ascii=False) + "\n")
        out.write("]}\n")


def rss_peak_kib() -> int:
    """This process's peak resident memory. Linux keeps `ru_maxrss` across exec (it would report the parent's
    peak in a child), so the kernel's own high-water mark of this address space is read when there is one."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


async def import_child(path: Path, url: str) -> None:
    """Runs in a child process: import the file, print records/s and this process's peak RSS."""
    baseline = rss_peak_kib()
    engine = make_engine(url)
    started = time.perf_counter()
    async with make_sessionmaker(engine)() as db:
        report = await import_file(db, path, load_profile("rs"), KEY)
        await db.commit()
    seconds = time.perf_counter() - started
    await engine.dispose()
    peak = rss_peak_kib()
    print(json.dumps({"records": report.records, "seconds": seconds, "peak_kib": peak, "baseline_kib": baseline}))


def run_import(count: int, url: str, tmp: Path) -> dict[str, float]:
    path = tmp / f"import-{count}.json"
    write_import_file(path, count)
    size = path.stat().st_size
    out = subprocess.run(
        [sys.executable, __file__, "--import-child", str(path), url], check=True, capture_output=True, text=True
    ).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    result["file_mib"] = size / 2**20
    path.unlink()
    return result


async def lookups(args: argparse.Namespace) -> None:
    url = await create_database("lookup")
    try:
        load_small = await bulk_load(url, 0, args.small)
        small_phone, small_code = await measure(url, args.small, args.lookups)
        load_large = await bulk_load(url, args.small, args.large)
        large_phone, large_code = await measure(url, args.large, args.lookups)
    finally:
        await drop_database(url)
    print(f"bulk load (COPY): {args.small:,} subscribers in {load_small:.1f} s, "
          f"up to {args.large:,} in {load_large:.1f} s more")  # fmt: skip
    print(
        f"lookup by phone,         median: {small_phone * 1e3:7.3f} ms at {args.small:>9,}   "
        f"{large_phone * 1e3:7.3f} ms at {args.large:>9,}   ratio {large_phone / small_phone:5.2f}  (target <= 2)"
    )
    print(
        f"lookup by customer code, median: {small_code * 1e3:7.3f} ms at {args.small:>9,}   "
        f"{large_code * 1e3:7.3f} ms at {args.large:>9,}   ratio {large_code / small_code:5.2f}  (target <= 2)"
    )


async def imports(counts: list[int]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for count in counts:
            url = await create_database("import")
            try:
                r = run_import(count, url, Path(tmp))
            finally:
                await drop_database(url)
            rate = r["records"] / r["seconds"]
            print(f"import {count:>7,} subscribers ({r['file_mib']:.0f} MiB of JSON): {rate:8.0f} records/s, "
                  f"peak RSS {r['peak_kib'] / 1024:.0f} MiB "
                  f"({(r['peak_kib'] - r['baseline_kib']) / 1024:.0f} MiB above the child's start)")  # fmt: skip


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--imports", default="10000,100000")
    parser.add_argument("--lookups", type=int, default=2000)
    parser.add_argument("--only-import", action="store_true", help="skip the lookups")
    parser.add_argument("--import-child", nargs=2, metavar=("FILE", "URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.import_child:
        await import_child(Path(args.import_child[0]), args.import_child[1])
        return
    if not args.only_import:
        await lookups(args)
    await imports([int(n) for n in args.imports.split(",")])


if __name__ == "__main__":
    asyncio.run(main())
