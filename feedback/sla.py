"""Business-hours arithmetic for SLA clocks: pure functions, no database.

Open hours are wall-clock intervals in the calendar's IANA time zone. Each local day's
intervals are built as local datetimes and converted to UTC one by one, so a DST change
(a 23- or 25-hour day) moves the UTC instants, never the length of an open interval
beyond what the wall clock really shows. All arithmetic happens in UTC.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Collection, Iterator, Mapping
from typing import Any, Protocol

UTC = dt.UTC
DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# A calendar without a single open minute in this many days cannot meet any deadline.
MAX_DAYS = 3660

Hours = dict[
    int, list[tuple[dt.time, dt.time | None]]
]  # weekday → [(start, end|None=24:00)]


class CalendarLike(Protocol):
    timezone: str
    weekly_hours: Any


def zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"Unknown time zone: {name!r}") from error


def _parse_time(value: str) -> dt.time | None:
    if value == "24:00":
        return None  # midnight at the end of the day
    try:
        return dt.time.fromisoformat(value)
    except (TypeError, ValueError) as error:
        raise ValueError(f"Not a time of day (HH:MM): {value!r}") from error


def parse_weekly_hours(weekly_hours: Mapping[str, Any]) -> Hours:
    """``{"mon": [["09:00", "18:00"]], …}`` → weekday number → sorted (start, end) pairs."""
    if not isinstance(weekly_hours, Mapping):
        raise ValueError("Weekly hours must map weekdays (mon…sun) to intervals.")
    unknown = set(weekly_hours) - set(DAY_KEYS)
    if unknown:
        raise ValueError(f"Unknown weekdays: {', '.join(sorted(unknown))}")
    hours: Hours = {}
    for index, key in enumerate(DAY_KEYS):
        intervals = []
        for pair in weekly_hours.get(key) or []:
            if not isinstance(pair, list | tuple) or len(pair) != 2:
                raise ValueError(f"{key}: each interval is [start, end].")
            start, end = _parse_time(pair[0]), _parse_time(pair[1])
            if start is None or (end is not None and end <= start):
                raise ValueError(f"{key}: {pair[0]}-{pair[1]} ends before it starts.")
            intervals.append((start, end))
        hours[index] = sorted(intervals, key=lambda item: item[0])
    return hours


def _intervals_from(
    moment: dt.datetime, calendar: CalendarLike, holidays: Collection[dt.date]
) -> Iterator[tuple[dt.datetime, dt.datetime]]:
    """Open intervals in UTC, in order, from the local day containing ``moment`` onwards."""
    tz = zone(calendar.timezone)
    hours = parse_weekly_hours(calendar.weekly_hours)
    if not any(hours.values()):
        raise ValueError("The business calendar has no open hours.")
    day = moment.astimezone(tz).date()
    for _offset in range(MAX_DAYS):
        if day not in holidays:
            for start, end in hours[day.weekday()]:
                local_start = dt.datetime.combine(day, start, tzinfo=tz)
                if end is None:
                    local_end = dt.datetime.combine(
                        day + dt.timedelta(days=1), dt.time.min, tzinfo=tz
                    )
                else:
                    local_end = dt.datetime.combine(day, end, tzinfo=tz)
                yield local_start.astimezone(UTC), local_end.astimezone(UTC)
        day += dt.timedelta(days=1)
    raise ValueError("No open business hours within ten years.")


def _require_aware(*moments: dt.datetime) -> None:
    for moment in moments:
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError("Business-hours arithmetic needs aware datetimes.")


def add_business_minutes(
    start: dt.datetime,
    minutes: float,
    calendar: CalendarLike,
    holidays: Collection[dt.date] = (),
) -> dt.datetime:
    """The instant (UTC) when ``minutes`` open minutes have passed since ``start``.

    A start outside open hours begins counting at the next opening; zero minutes is ``start``.
    """
    _require_aware(start)
    start = start.astimezone(UTC)
    if minutes <= 0:
        return start
    remaining = dt.timedelta(minutes=minutes)
    for opens, closes in _intervals_from(start, calendar, holidays):
        if closes <= start:
            continue
        begin = max(opens, start)
        available = closes - begin
        if remaining <= available:
            return begin + remaining
        remaining -= available
    raise AssertionError("unreachable")  # pragma: no cover


def business_minutes_between(
    a: dt.datetime,
    b: dt.datetime,
    calendar: CalendarLike,
    holidays: Collection[dt.date] = (),
) -> int:
    """Whole open minutes between ``a`` and ``b`` (0 when ``b`` is not after ``a``)."""
    _require_aware(a, b)
    a, b = a.astimezone(UTC), b.astimezone(UTC)
    if b <= a:
        return 0
    total = dt.timedelta()
    for opens, closes in _intervals_from(a, calendar, holidays):
        if opens >= b:
            break
        if closes <= a:
            continue
        total += min(closes, b) - max(opens, a)
    return int(total.total_seconds() // 60)
