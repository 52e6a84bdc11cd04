"""Fixtures for the subscriber data tests: a session factory on each database, the profiles, demo-like records."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import DEMO_SECRET_KEY
from bot.db.base import make_engine, make_sessionmaker
from bot.profiles import Profile, load_profile

KEY = DEMO_SECRET_KEY.encode()


@pytest.fixture
async def sessionmaker(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(database_url)
    yield make_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
def rs() -> Profile:
    return load_profile("rs")


@pytest.fixture
def tm() -> Profile:
    return load_profile("tm")


def petar(**changes: Any) -> dict[str, Any]:
    """The issue's example record, with changes."""
    record: dict[str, Any] = {
        "customer_code": "1234567",
        "full_name": "Petar Petrović",
        "segment": "private",
        "phone": "+381 64 1234567",
        "code_word": "Šljiva",
        "passport": "012345678",
        "accounts": [
            {
                "number": "1234567/1",
                "kind": "mobile",
                "phone": "+381641234567",
                "status": "disconnected",
                "disconnect_reason": "debt",
                "debt": "2340.50",
                "currency": "RSD",
                "tariff": "Postpaid S",
                "services": {"gprs": True, "roaming": False},
            },
            {"number": "1234567/2", "kind": "fixed", "phone": "011 3456789", "debt": "0", "currency": "RSD"},
        ],
    }
    record.update(changes)
    return record
