"""Business-hours arithmetic (feedback.sla): pure functions, no database."""

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from feedback.sla import add_business_minutes, business_minutes_between

UTC = dt.UTC
NY = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS_9_18 = {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
EVERY_DAY = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass
class Cal:
    timezone: str = "America/New_York"
    weekly_hours: Any = field(default_factory=lambda: dict(WEEKDAYS_9_18))


def ny(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=NY)


def test_minutes_within_one_day_are_plain_minutes():
    start = ny(2026, 3, 2, 10, 0)  # a Monday
    assert add_business_minutes(start, 60, Cal()) == ny(2026, 3, 2, 11, 0)
    assert business_minutes_between(start, ny(2026, 3, 2, 11, 0), Cal()) == 60


def test_the_night_is_skipped():
    start = ny(2026, 3, 2, 17, 30)
    assert add_business_minutes(start, 60, Cal()) == ny(2026, 3, 3, 9, 30)
    assert business_minutes_between(start, ny(2026, 3, 3, 9, 30), Cal()) == 60


def test_the_weekend_is_skipped():
    start = ny(2026, 3, 6, 17, 0)  # Friday
    assert add_business_minutes(start, 120, Cal()) == ny(2026, 3, 9, 10, 0)
    assert business_minutes_between(start, ny(2026, 3, 9, 10, 0), Cal()) == 120


def test_a_holiday_is_skipped():
    start = ny(2026, 3, 6, 17, 0)
    holidays = {dt.date(2026, 3, 9)}
    assert add_business_minutes(start, 120, Cal(), holidays) == ny(2026, 3, 10, 10, 0)
    assert (
        business_minutes_between(start, ny(2026, 3, 10, 10, 0), Cal(), holidays) == 120
    )


@pytest.mark.parametrize(
    "start",
    [ny(2026, 3, 7, 12, 0), ny(2026, 3, 9, 7, 0), ny(2026, 3, 6, 20, 0)],
    ids=["saturday", "before-opening", "after-closing"],
)
def test_a_start_outside_hours_counts_from_the_next_opening(start):
    assert add_business_minutes(start, 30, Cal()) == ny(2026, 3, 9, 9, 30)
    assert business_minutes_between(start, ny(2026, 3, 9, 9, 0), Cal()) == 0


def test_zero_minutes_is_the_start_and_reversed_ranges_are_zero():
    start = ny(2026, 3, 7, 12, 0)
    assert add_business_minutes(start, 0, Cal()) == start
    assert business_minutes_between(ny(2026, 3, 3, 12), ny(2026, 3, 2, 12), Cal()) == 0


def test_results_are_utc_instants_whatever_the_input_zone():
    start = ny(2026, 3, 2, 10, 0).astimezone(ZoneInfo("Asia/Seoul"))
    result = add_business_minutes(start, 60, Cal())
    assert result.tzinfo == UTC
    assert result == dt.datetime(2026, 3, 2, 16, 0, tzinfo=UTC)


def test_new_york_spring_forward_keeps_opening_at_nine_local():
    """8 March 2026: clocks jump 02:00 → 03:00; 09:00 is 14:00 UTC before, 13:00 UTC after."""
    cal = Cal(weekly_hours={d: [["09:00", "18:00"]] for d in EVERY_DAY})
    start = ny(2026, 3, 7, 17, 0)  # Saturday 22:00 UTC
    due = add_business_minutes(start, 120, cal)
    assert due == ny(2026, 3, 8, 10, 0)
    assert due == dt.datetime(2026, 3, 8, 14, 0, tzinfo=UTC)
    assert business_minutes_between(start, due, cal) == 120


def test_new_york_fall_back_keeps_opening_at_nine_local():
    cal = Cal(weekly_hours={d: [["09:00", "18:00"]] for d in EVERY_DAY})
    start = ny(2026, 10, 31, 17, 0)  # Saturday, EDT
    due = add_business_minutes(start, 120, cal)
    assert due == dt.datetime(2026, 11, 1, 15, 0, tzinfo=UTC)  # 10:00 EST
    assert business_minutes_between(start, due, cal) == 120


def test_round_the_clock_days_are_23_and_25_hours_long_on_dst_days():
    cal = Cal(weekly_hours={d: [["00:00", "24:00"]] for d in EVERY_DAY})
    spring = business_minutes_between(ny(2026, 3, 8), ny(2026, 3, 9), cal)
    fall = business_minutes_between(ny(2026, 11, 1), ny(2026, 11, 2), cal)
    assert (spring, fall) == (23 * 60, 25 * 60)
    assert add_business_minutes(ny(2026, 3, 8), 23 * 60, cal) == ny(2026, 3, 9)


def test_berlin_hours_that_span_the_dst_jump_count_the_real_minutes():
    """An interval 01:00-04:00 lasts two real hours on 29 March and four on 25 October."""
    cal = Cal(
        timezone="Europe/Berlin",
        weekly_hours={d: [["01:00", "04:00"]] for d in EVERY_DAY},
    )
    spring_day = dt.datetime(2026, 3, 29, tzinfo=BERLIN)
    fall_day = dt.datetime(2026, 10, 25, tzinfo=BERLIN)
    assert (
        business_minutes_between(spring_day, spring_day + dt.timedelta(hours=12), cal)
        == 120
    )
    assert (
        business_minutes_between(fall_day, fall_day + dt.timedelta(hours=12), cal)
        == 240
    )
    # 90 minutes after 01:00 CET (00:00 UTC) on the spring day is 01:30 UTC = 03:30 CEST.
    assert add_business_minutes(spring_day, 90, cal) == dt.datetime(
        2026, 3, 29, 1, 30, tzinfo=UTC
    )


def test_berlin_office_hours_across_the_spring_weekend():
    cal = Cal(timezone="Europe/Berlin")
    friday = dt.datetime(2026, 3, 27, 17, 0, tzinfo=BERLIN)  # 16:00 UTC (CET)
    due = add_business_minutes(friday, 120, cal)
    assert due == dt.datetime(2026, 3, 30, 10, 0, tzinfo=BERLIN)
    assert due == dt.datetime(2026, 3, 30, 8, 0, tzinfo=UTC)  # CEST now


@pytest.mark.parametrize("minutes", [1, 59, 540, 541, 2880, 7200, 10_000])
def test_adding_then_measuring_gives_back_the_minutes(minutes):
    cal = Cal(
        weekly_hours={**WEEKDAYS_9_18, "mon": [["08:00", "12:00"], ["13:00", "17:00"]]}
    )
    holidays = {dt.date(2026, 3, 10)}
    start = ny(2026, 3, 5, 16, 20)
    due = add_business_minutes(start, minutes, cal, holidays)
    assert business_minutes_between(start, due, cal, holidays) == minutes


def test_split_days_skip_the_lunch_break():
    cal = Cal(weekly_hours={"mon": [["08:00", "12:00"], ["13:00", "17:00"]]})
    assert add_business_minutes(ny(2026, 3, 2, 11, 30), 60, cal) == ny(
        2026, 3, 2, 13, 30
    )


def test_naive_datetimes_and_bad_calendars_are_refused():
    with pytest.raises(ValueError, match="aware"):
        add_business_minutes(dt.datetime(2026, 3, 2, 10), 5, Cal())  # noqa: DTZ001
    with pytest.raises(ValueError, match="no open hours"):
        add_business_minutes(ny(2026, 3, 2), 5, Cal(weekly_hours={}))
    with pytest.raises(ValueError, match="time zone"):
        add_business_minutes(ny(2026, 3, 2), 5, Cal(timezone="Mars/Olympus"))
    with pytest.raises(ValueError, match="ends before"):
        add_business_minutes(
            ny(2026, 3, 2), 5, Cal(weekly_hours={"mon": [["18:00", "09:00"]]})
        )
