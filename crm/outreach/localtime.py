"""When a contact's occasion happens in their own time zone (DESIGN §4.3). Pure functions."""

from __future__ import annotations

import calendar
import datetime as dt
import zoneinfo

DEFAULT_SEND_TIME = dt.time(9, 0)


def birthday_in_year(month: int, day: int, year: int) -> dt.date:
    """The day a birthday is celebrated in ``year``: 29 February falls on 28 February in common years."""
    if month == 2 and day == 29 and not calendar.isleap(year):
        return dt.date(year, 2, 28)
    return dt.date(year, month, day)


def _wall(moment: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    return moment.astimezone(tz).replace(tzinfo=None)


def local_send_moment(
    *, day: dt.date, tz: dt.tzinfo, send_time: dt.time = DEFAULT_SEND_TIME
) -> dt.datetime:
    """The UTC instant of ``send_time`` on ``day`` in ``tz``.

    A local time skipped by a DST jump moves forward to the first minute that exists; a local
    time that happens twice (clocks going back) is its first occurrence.
    """
    wanted = dt.datetime.combine(day, send_time.replace(tzinfo=None, fold=0))
    first = wanted.replace(tzinfo=tz, fold=0).astimezone(dt.UTC)
    if _wall(first, tz) == wanted:
        return first  # exists (fold=0 is the earlier of two in an overlap)
    # In a gap: the two folds bracket the transition; the first instant whose wall clock has
    # reached the wanted time is the first valid minute after the jump.
    second = wanted.replace(tzinfo=tz, fold=1).astimezone(dt.UTC)
    low, high = min(first, second), max(first, second)
    while high - low > dt.timedelta(minutes=1):
        middle = low + (high - low) / 2
        middle = middle.replace(second=0, microsecond=0)
        if middle <= low:
            break
        if _wall(middle, tz) >= wanted:
            high = middle
        else:
            low = middle
    return high


def zone(name: str | None, default: str) -> zoneinfo.ZoneInfo:
    """The IANA zone called ``name``, or ``default`` when it is empty."""
    return zoneinfo.ZoneInfo(str(name) if name else default)


def after_quiet_hours(
    *, moment: dt.datetime, tz: dt.tzinfo, start: dt.time, end: dt.time
) -> dt.datetime:
    """``moment``, or the end of the quiet hours [start, end) in ``tz`` when it falls in them.

    Quiet hours may wrap midnight (21:00-08:00); equal start and end means none.
    """
    if start == end:
        return moment
    local = moment.astimezone(tz)
    wall = local.time().replace(tzinfo=None)
    if start < end:
        quiet = start <= wall < end
        end_day = local.date()
    else:
        quiet = wall >= start or wall < end
        end_day = local.date() + dt.timedelta(days=1 if wall >= start else 0)
    if not quiet:
        return moment
    return local_send_moment(day=end_day, tz=tz, send_time=end)
