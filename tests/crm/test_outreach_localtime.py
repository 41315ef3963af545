"""Local send moments hold in every IANA zone, across DST gaps and overlaps (DESIGN §4.3)."""

import datetime as dt
import zoneinfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from crm.outreach.localtime import birthday_in_year, local_send_moment

ZONES = sorted(zoneinfo.available_timezones() - {"Factory", "localtime"})
zones = st.sampled_from(ZONES).map(zoneinfo.ZoneInfo)
days = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2037, 12, 31))
times = st.times().map(lambda t: t.replace(second=0, microsecond=0))


def transition_days(tz: zoneinfo.ZoneInfo, year: int) -> list[dt.date]:
    """Local days in ``year`` on which the zone's UTC offset changes."""
    found = []
    moment = dt.datetime(year, 1, 1, tzinfo=dt.UTC)
    offset = moment.astimezone(tz).utcoffset()
    while moment.year == year:
        moment += dt.timedelta(hours=1)
        current = moment.astimezone(tz).utcoffset()
        if current != offset:
            found.append(moment.astimezone(tz).date())
            offset = current
    return found


def day_exists(day: dt.date, tz: zoneinfo.ZoneInfo) -> bool:
    start = dt.datetime.combine(day, dt.time(), tzinfo=tz).astimezone(dt.UTC)
    return any(
        (start + dt.timedelta(hours=h)).astimezone(tz).date() == day
        for h in range(-30, 30)
    )


def check(day: dt.date, tz: zoneinfo.ZoneInfo, send_time: dt.time) -> None:
    moment = local_send_moment(day=day, tz=tz, send_time=send_time)
    assert moment.utcoffset() == dt.timedelta(0)
    wall = moment.astimezone(tz).replace(tzinfo=None)
    wanted = dt.datetime.combine(day, send_time)
    exists = (
        wanted.replace(tzinfo=tz).astimezone(dt.UTC).astimezone(tz).replace(tzinfo=None)
        == wanted
    )
    if exists:
        assert wall == wanted
        # the first occurrence of an ambiguous time: an hour earlier is not also it
        earlier = moment - dt.timedelta(minutes=1)
        assert earlier.astimezone(tz).replace(tzinfo=None) != wanted
        assert not any(
            (moment - dt.timedelta(hours=h)).astimezone(tz).replace(tzinfo=None)
            == wanted
            for h in (0.5, 1, 2)
        )
    else:  # in a gap: the first minute that exists after it
        assert wanted < wall <= wanted + dt.timedelta(hours=24)
        assert wall.second == 0
        assert wall.microsecond == 0
        before = (moment - dt.timedelta(minutes=1)).astimezone(tz).replace(tzinfo=None)
        assert before < wanted


@settings(max_examples=300, deadline=None)
@given(tz=zones, day=days)
def test_nine_oclock_is_on_the_intended_local_day(tz, day):
    assume(day_exists(day, tz))
    moment = local_send_moment(day=day, tz=tz)
    assert moment.astimezone(tz).date() == day
    check(day, tz, dt.time(9, 0))


@settings(max_examples=300, deadline=None)
@given(tz=zones, day=days, send_time=times)
def test_any_send_time_in_any_zone(tz, day, send_time):
    assume(day_exists(day, tz))
    check(day, tz, send_time)


@settings(max_examples=150, deadline=None)
@given(
    tz=zones,
    year=st.integers(2000, 2037),
    pick=st.integers(0, 10),
    send_time=times,
)
def test_dst_transition_days(tz, year, pick, send_time):
    candidates = transition_days(tz, year)
    assume(candidates)
    day = candidates[pick % len(candidates)]
    assume(day_exists(day, tz))
    check(day, tz, send_time)


@pytest.mark.parametrize(
    ("name", "day", "send_time", "expected_wall"),
    [
        # spring forward 02:00→03:00: 02:30 does not exist → 03:00
        ("America/New_York", dt.date(2027, 3, 14), dt.time(2, 30), dt.time(3, 0)),
        # fall back: 01:30 happens twice → the first (EDT, UTC-4)
        ("America/New_York", dt.date(2027, 11, 7), dt.time(1, 30), dt.time(1, 30)),
        ("Pacific/Kiritimati", dt.date(2027, 2, 28), dt.time(9), dt.time(9)),
        ("Pacific/Pago_Pago", dt.date(2027, 2, 28), dt.time(9), dt.time(9)),
        ("Asia/Kathmandu", dt.date(2028, 2, 29), dt.time(9), dt.time(9)),
    ],
)
def test_known_zones(name, day, send_time, expected_wall):
    tz = zoneinfo.ZoneInfo(name)
    moment = local_send_moment(day=day, tz=tz, send_time=send_time)
    local = moment.astimezone(tz)
    assert (local.date(), local.time()) == (day, expected_wall)
    if name == "America/New_York" and day.month == 11:
        assert local.utcoffset() == dt.timedelta(hours=-4)
    if name == "Asia/Kathmandu":
        assert moment == dt.datetime(2028, 2, 29, 3, 15, tzinfo=dt.UTC)


@settings(max_examples=100, deadline=None)
@given(year=st.integers(1901, 2400))
def test_29_february_birthdays_fire_exactly_once_a_year(year):
    day = birthday_in_year(2, 29, year)
    assert day.year == year
    assert day.month == 2
    assert day.day == (29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28)
    every_day = [
        dt.date(year, 1, 1) + dt.timedelta(days=n)
        for n in range((dt.date(year + 1, 1, 1) - dt.date(year, 1, 1)).days)
    ]
    assert sum(1 for d in every_day if d == birthday_in_year(2, 29, d.year)) == 1


def test_other_birthdays_are_their_own_day():
    assert birthday_in_year(3, 1, 2027) == dt.date(2027, 3, 1)
    assert birthday_in_year(2, 28, 2028) == dt.date(2028, 2, 28)
