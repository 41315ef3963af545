"""Reporting periods: whole calendar days in the company's time zone, and their presets."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from analytics.services.rollups import company_tz

PRESETS = {
    "this_month": _("This month"),
    "last_month": _("Last month"),
    "this_quarter": _("This quarter"),
    "last_quarter": _("Last quarter"),
    "this_year": _("This year"),
    "last_year": _("Last year"),
    "custom": _("Custom dates"),
}
DEFAULT_PRESET = "this_month"
UNIT_MONTHS = {"month": 1, "quarter": 3, "year": 12}


@dataclass(frozen=True)
class Period:
    """The days ``start`` … ``end``, both included: moments from 00:00 on ``start`` to 00:00
    after ``end`` in ``TIME_ZONE``. "Customers at start" are those at 00:00 on ``start``."""

    start: dt.date
    end: dt.date
    # "month", "quarter" or "year" for a preset: compared with the previous calendar unit.
    unit: str = ""

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def start_moment(self) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time(), tzinfo=company_tz())

    @property
    def end_moment(self) -> dt.datetime:
        """00:00 on the day after ``end``: the period is [start_moment, end_moment)."""
        return dt.datetime.combine(
            self.end + dt.timedelta(days=1), dt.time(), tzinfo=company_tz()
        )

    def previous(self) -> Period:
        """The period to compare with: the previous month, quarter or year for a preset (a
        partial one, such as this month so far, against the same days of the previous unit);
        otherwise the same number of days ending the day before."""
        if self.unit in UNIT_MONTHS:
            start = _month_start(self.start, UNIT_MONTHS[self.unit])
            last = self.start - dt.timedelta(days=1)
            if self.end == month_end(
                _month_start(self.start, 1 - UNIT_MONTHS[self.unit])
            ):
                return Period(
                    start, last, self.unit
                )  # a whole unit: the whole previous one
            # So far in this unit: up to the same date of the previous one (31 Mar -> 28 Feb).
            back = _month_start(self.end, UNIT_MONTHS[self.unit])
            same_day = min(self.end.day, month_end(back).day)
            return Period(start, min(back.replace(day=same_day), last), self.unit)
        end = self.start - dt.timedelta(days=1)
        return Period(start=end - dt.timedelta(days=self.days - 1), end=end)

    def as_dict(self) -> dict[str, str | int]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "days": self.days,
        }


def today() -> dt.date:
    return timezone.now().astimezone(company_tz()).date()


def _month_start(day: dt.date, back: int = 0) -> dt.date:
    index = day.year * 12 + day.month - 1 - back
    return dt.date(index // 12, index % 12 + 1, 1)


def month_end(first: dt.date) -> dt.date:
    return _month_start(first, -1) - dt.timedelta(days=1)


def preset_period(name: str, *, on: dt.date | None = None) -> Period:
    """This/last month, quarter or year around ``on`` (today); "this" periods end today."""
    on = on or today()
    if name == "last_month":
        first = _month_start(on, 1)
        return Period(first, month_end(first), "month")
    if name in ("this_quarter", "last_quarter"):
        first = dt.date(on.year, (on.month - 1) // 3 * 3 + 1, 1)
        if name == "last_quarter":
            first = _month_start(first, 3)
            return Period(
                first, _month_start(first, -3) - dt.timedelta(days=1), "quarter"
            )
        return Period(first, on, "quarter")
    if name == "this_year":
        return Period(dt.date(on.year, 1, 1), on, "year")
    if name == "last_year":
        return Period(dt.date(on.year - 1, 1, 1), dt.date(on.year - 1, 12, 31), "year")
    return Period(_month_start(on), on, "month")


def months_ending(end: dt.date, count: int) -> list[Period]:
    """The ``count`` calendar months up to the one holding ``end`` (that one cut at ``end``)."""
    periods = []
    for back in range(count - 1, -1, -1):
        first = _month_start(end, back)
        periods.append(Period(first, min(month_end(first), end)))
    return periods
