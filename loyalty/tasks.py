"""Nightly and daily loyalty jobs (scheduled in config/celery.py); each is safe to run twice."""

from celery import shared_task
from django.utils import timezone


@shared_task
def loyalty_expire_points_nightly() -> int:
    """Nightly: expire every lot whose date has passed, one expire entry per lot."""
    from loyalty.services import points_expire_due

    return points_expire_due(now=timezone.now())


@shared_task
def loyalty_reevaluate_tiers_nightly() -> int:
    """Nightly: upgrades, grace periods and downgrades after grace."""
    from loyalty.services import tiers_reevaluate

    return tiers_reevaluate(now=timezone.now())


@shared_task
def loyalty_warn_expiring_daily() -> int:
    """Daily: the ``points_expiring`` contact event, once per lot about to expire."""
    from loyalty.services import points_warn_expiring

    return points_warn_expiring(now=timezone.now())


@shared_task
def loyalty_birthday_bonus_hourly() -> int:
    """Hourly: the birthday bonus on each member's birthday in their own time zone, once a year."""
    from loyalty.services import birthday_bonuses_grant_due

    return birthday_bonuses_grant_due(now=timezone.now())
