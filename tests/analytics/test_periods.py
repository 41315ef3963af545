"""Presets and the period each is compared with."""

import datetime as dt

import pytest

from analytics.periods import Period, months_ending, preset_period

D = dt.date
ON = D(2025, 3, 20)


@pytest.mark.parametrize(
    ("name", "period", "previous"),
    [
        ("this_month", (D(2025, 3, 1), ON), (D(2025, 2, 1), D(2025, 2, 20))),
        (
            "last_month",
            (D(2025, 2, 1), D(2025, 2, 28)),
            (D(2025, 1, 1), D(2025, 1, 31)),
        ),
        ("this_quarter", (D(2025, 1, 1), ON), (D(2024, 10, 1), D(2024, 12, 20))),
        (
            "last_quarter",
            (D(2024, 10, 1), D(2024, 12, 31)),
            (D(2024, 7, 1), D(2024, 9, 30)),
        ),
        ("this_year", (D(2025, 1, 1), ON), (D(2024, 1, 1), D(2024, 3, 20))),
        (
            "last_year",
            (D(2024, 1, 1), D(2024, 12, 31)),
            (D(2023, 1, 1), D(2023, 12, 31)),
        ),
    ],
)
def test_presets_compare_with_the_previous_calendar_unit(name, period, previous):
    chosen = preset_period(name, on=ON)

    assert (chosen.start, chosen.end) == period
    assert (chosen.previous().start, chosen.previous().end) == previous


def test_this_month_on_the_31st_is_compared_with_all_of_a_shorter_month():
    chosen = preset_period("this_month", on=D(2025, 3, 31))

    assert (chosen.previous().start, chosen.previous().end) == (
        D(2025, 2, 1),
        D(2025, 2, 28),
    )


def test_custom_dates_compare_with_the_equal_period_just_before():
    chosen = Period(D(2025, 3, 10), D(2025, 3, 19))

    assert chosen.previous() == Period(D(2025, 2, 28), D(2025, 3, 9))
    assert chosen.days == chosen.previous().days == 10


def test_months_ending_cuts_the_last_month_at_the_end_day():
    months = months_ending(D(2025, 3, 20), 3)

    assert [(m.start, m.end) for m in months] == [
        (D(2025, 1, 1), D(2025, 1, 31)),
        (D(2025, 2, 1), D(2025, 2, 28)),
        (D(2025, 3, 1), D(2025, 3, 20)),
    ]
