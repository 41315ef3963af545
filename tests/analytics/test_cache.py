"""The dashboard's rollup reads are cached per generation: equal to the uncached path for
every filter, renewed by each refresh, rebuild and merge, never shared across them."""

import datetime as dt
from decimal import Decimal

import pytest

from analytics.metrics import Filters, rollup_inputs
from analytics.metrics.cache import cached_rollup_inputs
from analytics.models import ContactDay
from analytics.periods import Period, months_ending
from analytics.services import rollups_rebuild, rollups_refresh
from analytics.services.generation import rollups_generation
from crm.services.merge import contact_merge
from tests.analytics.factories import at, buy, customer

pytestmark = pytest.mark.django_db

JANUARY = Period(dt.date(2025, 1, 1), dt.date(2025, 1, 31))


@pytest.fixture
def world(agent):
    kr = customer(since=at("2024-06-01"), country="KR", owner=agent)
    us = customer(since=at("2024-06-01"), churned=at("2025-01-20"), country="US")
    buy(kr, "10.00", "USD", at("2025-01-05"))
    buy(us, "25.00", "USD", at("2025-01-06"))
    buy(us, "5.00", "USD", at("2024-12-24"))
    rollups_rebuild()
    return kr, us


def test_cached_inputs_equal_the_uncached_rollup_reads(world, agent):
    periods = [JANUARY, JANUARY.previous()]
    months = months_ending(JANUARY.end, 12)
    for filters in (
        Filters(),
        Filters(country="KR"),
        Filters(language="en"),
        Filters(owner_id=agent.pk),
    ):
        for _twice in range(2):  # the first computes, the second reads the cache
            assert cached_rollup_inputs(periods, filters) == rollup_inputs(
                periods, filters
            )
            assert cached_rollup_inputs(months, filters, detail=False) == rollup_inputs(
                months, filters, detail=False
            )


def test_a_refresh_renews_the_cache_and_nothing_else_does(world):
    kr, _us = world
    (before,) = cached_rollup_inputs([JANUARY], Filters())
    assert before.revenue == Decimal("35.0000")
    # A change the rollups do not know yet is not seen, and neither is it from the cache.
    ContactDay.objects.filter(contact_id=kr.pk).update(revenue=Decimal(1000))
    assert cached_rollup_inputs([JANUARY], Filters())[0].revenue == Decimal("35.0000")

    buy(kr, "7.00", "USD", at("2025-01-09"))
    rollups_refresh()

    (after,) = cached_rollup_inputs([JANUARY], Filters())
    assert after.revenue == Decimal("42.0000")  # 10 + 25 + 7, recomputed
    assert after == rollup_inputs([JANUARY], Filters())[0]


def test_a_merge_starts_a_new_generation(world, manager):
    kr, us = world
    generation = rollups_generation()
    cached_rollup_inputs([JANUARY], Filters())

    contact_merge(survivor=kr, merged=us, actor=manager)

    assert rollups_generation() != generation
    assert cached_rollup_inputs([JANUARY], Filters()) == rollup_inputs(
        [JANUARY], Filters()
    )


def test_segment_filters_are_never_served_from_the_cache(world):
    from crm.models import Segment

    segment = Segment.objects.create(name="Koreans", filters={"country": ["KR"]})
    rollups_refresh()
    filters = Filters(segment_id=segment.pk)
    first = cached_rollup_inputs([JANUARY], filters)
    ContactDay.objects.update(revenue=Decimal(3))

    assert cached_rollup_inputs([JANUARY], filters) != first


def test_the_refresh_job_warms_what_the_dashboard_opens_with(
    world, manager, django_assert_max_num_queries
):
    from analytics import tasks
    from analytics.periods import DEFAULT_PRESET, preset_period
    from analytics.selectors import dashboard

    kr, _us = world
    buy(kr, "7.00", "USD", at("2025-01-09"))

    tasks.metrics_refresh()

    period = preset_period(DEFAULT_PRESET)
    # Warm: no rollup query is left but the refresh time, the programme and the tier names.
    with django_assert_max_num_queries(4):
        data = dashboard(user=manager, period=period, filters=Filters())
    assert data.metrics["revenue"].value is not None
