"""Working hours of the operators, from the profile: open now? when do they come back?

Computed in the profile's time zone, so a desk in Belgrade opens at 08:00 Belgrade time whatever the server's
clock; holidays are closed all day.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.profiles import WEEKDAYS, SupportHours

_LOOKAHEAD_DAYS = 40  # longer than any run of holidays and closed days


def _clock(value: str) -> time:
    hours, minutes = (int(part) for part in value.split(":"))
    return time.max if hours == 24 else time(hours, minutes)


class WorkingHours:
    def __init__(self, hours: SupportHours | None, zone: ZoneInfo) -> None:
        self.hours = hours
        self.zone = zone

    def _open_on(self, day: date) -> bool:
        assert self.hours is not None
        return WEEKDAYS[day.weekday()] in self.hours.days and day not in self.hours.holidays

    def is_open(self, now: datetime) -> bool:
        if self.hours is None:
            return True
        local = now.astimezone(self.zone)
        if not self._open_on(local.date()):
            return False
        return _clock(self.hours.open) <= local.time() < _clock(self.hours.close)

    def next_opening(self, now: datetime) -> datetime | None:
        """The next time the desk opens, in the profile's zone (None when it is open now or always open)."""
        if self.hours is None or self.is_open(now):
            return None
        local = now.astimezone(self.zone)
        opens = _clock(self.hours.open)
        for offset in range(_LOOKAHEAD_DAYS):
            day = local.date() + timedelta(days=offset)
            start = datetime.combine(day, opens, self.zone)
            if self._open_on(day) and start > local:
                return start
        return None
