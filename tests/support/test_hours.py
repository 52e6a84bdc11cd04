"""Working hours from the profile, in its time zone: open now? when are the operators back?"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from bot.profiles import SupportHours, load_profile
from bot.services.support.hours import WorkingHours

BELGRADE = ZoneInfo("Europe/Belgrade")
HOURS = SupportHours(days=["mon", "tue", "wed", "thu", "fri", "sat"], open="08:00", close="20:00",
                     holidays=[date(2026, 12, 31), date(2027, 1, 1)])  # fmt: skip


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BELGRADE).astimezone(UTC)


def test_open_within_the_hours_of_a_working_day_in_the_profiles_zone() -> None:
    hours = WorkingHours(HOURS, BELGRADE)
    assert hours.is_open(at("2026-11-30 08:00"))  # a Monday
    assert hours.is_open(at("2026-11-30 19:59"))
    assert not hours.is_open(at("2026-11-30 20:00"))
    assert not hours.is_open(at("2026-11-30 07:59"))
    assert hours.is_open(datetime(2026, 11, 30, 7, 30, tzinfo=UTC))  # 08:30 in Belgrade


def test_when_the_operators_are_back() -> None:
    hours = WorkingHours(HOURS, BELGRADE)
    assert hours.next_opening(at("2026-11-30 12:00")) is None  # open now
    assert hours.next_opening(at("2026-11-30 21:00")) == at("2026-12-01 08:00").astimezone(BELGRADE)
    assert hours.next_opening(at("2026-11-29 12:00")) == at("2026-11-30 08:00").astimezone(BELGRADE)  # Sunday
    # New Year's Eve and Day are holidays, 2 January 2027 is a Saturday.
    assert hours.next_opening(at("2026-12-30 20:30")) == at("2027-01-02 08:00").astimezone(BELGRADE)


def test_always_open_without_hours_and_the_built_in_profiles_have_them() -> None:
    assert WorkingHours(None, BELGRADE).is_open(at("2026-11-29 03:00"))
    rs, tm = load_profile("rs"), load_profile("tm")
    assert rs.support_hours is not None and rs.support_hours.open == "08:00"
    assert tm.support_hours is not None and tm.support_hours.close == "18:00"
    assert WorkingHours(tm.support_hours, tm.zone).is_open(datetime(2026, 12, 1, 5, 0, tzinfo=UTC))  # 10:00 Ashgabat
