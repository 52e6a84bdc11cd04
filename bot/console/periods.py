"""The period and filters a page was asked for (query string), checked, with the last 30 days as the default."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiohttp import web

CHANNELS = ("telegram", "viber")
LANGUAGES = ("sr", "sr-Cyrl", "tk")
DEFAULT_DAYS = 30
MAX_DAYS = 366
# The days a period may name: far enough from date.min and date.max that a day more or a zone away never overflows.
FIRST_YEAR, LAST_YEAR = 2000, 2999


@dataclass(frozen=True, slots=True)
class Period:
    first: date  # local days, both included
    last: date
    channel: str | None
    language: str | None
    zone: ZoneInfo
    profile: str | None = None  # the profile the conversations were recorded under (`rs`, `tm`, …)

    @property
    def since(self) -> datetime:
        return datetime.combine(self.first, time(), self.zone).astimezone(UTC)

    @property
    def until(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(), self.zone).astimezone(UTC)

    def query(self, **more: str) -> str:
        params = {"since": self.first.isoformat(), "until": self.last.isoformat(), "channel": self.channel or "",
                  "language": self.language or "", "profile": self.profile or "", **more}  # fmt: skip
        return urlencode({k: v for k, v in params.items() if v})


def _day(value: str | None) -> date | None:
    try:
        day = date.fromisoformat(value) if value else None
    except ValueError:
        return None
    return day if day is not None and FIRST_YEAR <= day.year <= LAST_YEAR else None


def period_of(request: web.Request, zone: ZoneInfo, now: datetime, profiles: Collection[str] = ()) -> Period:
    """The period asked for; a profile only when it is one of `profiles` (the pages that filter by one)."""
    today = now.astimezone(zone).date()
    last = _day(request.query.get("until")) or today
    first = _day(request.query.get("since")) or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        first, last = last, first
    if (last - first).days >= MAX_DAYS:
        first = last - timedelta(days=MAX_DAYS - 1)
    channel = request.query.get("channel")
    language = request.query.get("language")
    profile = request.query.get("profile")
    return Period(first, last, channel if channel in CHANNELS else None, language if language in LANGUAGES else None,
                  zone, profile if profile in profiles else None)  # fmt: skip
