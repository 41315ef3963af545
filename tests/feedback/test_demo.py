import io

import pytest
from django.core.management import call_command
from django.db.models.functions import TruncMonth

from feedback.models import Response, Review, Ticket

pytestmark = pytest.mark.django_db


def test_demo_data_has_survey_answers_across_months_reviews_and_tickets_once():
    call_command("seed_demo", stdout=io.StringIO())
    counts = (Response.objects.count(), Review.objects.count(), Ticket.objects.count())
    assert counts[0] >= 50
    assert (
        Response.objects.annotate(month=TruncMonth("submitted_at"))
        .values("month")
        .distinct()
        .count()
        >= 12
    )
    assert Response.objects.filter(score__lte=6).exclude(follow_up_task=None).exists()
    assert Review.objects.filter(
        status=Review.Status.APPROVED, consent_to_publish=True
    ).exists()
    assert set(Ticket.objects.values_list("status", flat=True)) == set(
        Ticket.Status.values
    )
    call_command("seed_demo", stdout=io.StringIO())
    assert (
        Response.objects.count(),
        Review.objects.count(),
        Ticket.objects.count(),
    ) == counts
