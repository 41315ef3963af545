"""Reviews: consent, moderation and the public page and feed."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from crm.models import Contact
from feedback.models import Review
from feedback.services import (
    invitations_create,
    response_submit,
    review_moderate,
    review_submit,
    survey_create,
)
from tests.crm.factories import ContactFactory

pytestmark = pytest.mark.django_db


def _review(consent=True, status="approved", **contact):
    review = review_submit(
        contact=ContactFactory(**contact),
        rating=5,
        text="Great",
        consent_to_publish=consent,
    )
    Review.objects.filter(pk=review.pk).update(status=status)
    return review


def test_a_new_review_waits_for_moderation():
    review = review_submit(contact=ContactFactory(), rating=4, consent_to_publish=True)
    assert review.status == Review.Status.PENDING
    assert not Review.objects.published().exists()


def test_a_rating_outside_1_to_5_is_refused():
    with pytest.raises(ValidationError) as error:
        review_submit(contact=ContactFactory(), rating=6)
    assert "rating" in error.value.message_dict


def test_only_approved_and_consented_reviews_are_published(client):
    shown = _review(given_name="Mina", family_name="Kim", country="KR")
    _review(consent=False, given_name="Hidden")
    _review(status="pending", given_name="Waiting")
    _review(status="rejected", given_name="Rejected")
    page = client.get(reverse("feedback:public_reviews")).content.decode()
    assert "Mina" in page
    assert "Kim" not in page
    assert "Hidden" not in page
    assert "Waiting" not in page
    assert "Rejected" not in page
    feed = client.get(reverse("feedback:reviews_feed")).json()["reviews"]
    assert feed == [
        {
            "id": shown.pk,
            "rating": 5,
            "text": "Great",
            "first_name": "Mina",
            "country": "KR",
            "featured": False,
            "created_at": feed[0]["created_at"],
        }
    ]


def test_a_review_without_consent_cannot_be_featured(manager):
    review = _review(consent=False)
    with pytest.raises(ValidationError):
        review_moderate(
            review=review, status="approved", moderator=manager, featured=True
        )


def test_moderation_records_who_and_when(manager):
    review = review_submit(contact=ContactFactory(), rating=5, consent_to_publish=True)
    review = review_moderate(review=review, status="approved", moderator=manager)
    assert review.moderated_by == manager
    assert review.moderated_at is not None


def test_agents_read_reviews_but_only_managers_moderate(api_client, agent, manager):
    review = _review(status="pending")
    api_client.force_authenticate(agent)
    assert api_client.get("/api/v1/reviews/").status_code == 200
    url = f"/api/v1/reviews/{review.pk}/moderate/"
    assert api_client.post(url, {"status": "approved"}).status_code == 403
    api_client.force_authenticate(manager)
    assert api_client.post(url, {"status": "approved"}).json()["status"] == "approved"


def test_customers_get_403_on_the_reviews_api(api_client, customer_a):
    api_client.force_authenticate(customer_a)
    assert api_client.get("/api/v1/reviews/").status_code == 403


def test_staff_moderate_from_the_page(client, manager, agent):
    review = _review(status="pending")
    client.force_login(agent)
    assert client.get(reverse("feedback:reviews")).status_code == 200
    assert (
        client.post(
            reverse("feedback:review_moderate", args=[review.pk]),
            {"status": "approved"},
        ).status_code
        == 403
    )
    client.force_login(manager)
    client.post(
        reverse("feedback:review_moderate", args=[review.pk]), {"status": "approved"}
    )
    assert Review.objects.get().status == "approved"


def test_a_portal_customer_leaves_a_review(client, customer_a):
    ContactFactory(user=customer_a)
    client.force_login(customer_a)
    assert client.get(reverse("feedback:portal_review")).status_code == 200
    response = client.post(
        reverse("feedback:portal_review"),
        {"rating": "5", "text": "좋아요", "consent_to_publish": "on"},
    )
    assert response.status_code == 200
    review = Review.objects.get()
    assert review.contact == Contact.objects.get(user=customer_a)
    assert review.language == "ko"
    assert review.consent_to_publish
    assert review.status == "pending"


def test_a_signed_in_user_without_a_contact_cannot_review(client, customer_b):
    client.force_login(customer_b)
    assert client.get(reverse("feedback:portal_review")).status_code == 403


def test_a_promoter_reviews_from_the_thank_you_page_but_a_detractor_cannot(client):
    survey = survey_create(title="n", kind="nps")
    question = survey.questions.get(is_score=True)
    promoter, detractor = ContactFactory.create_batch(2)
    tokens = {}
    for contact, score in ((promoter, 10), (detractor, 2)):
        token = invitations_create(survey=survey, contacts=[contact]).invited[0].token
        response_submit(token=token, answers={str(question.pk): score}, language="en")
        tokens[score] = token
    url = reverse("feedback:public_survey_review", args=[tokens[2]])
    assert client.get(url).status_code == 302
    client.post(
        reverse("feedback:public_survey_review", args=[tokens[10]]),
        {"rating": "5", "text": "Love it"},
    )
    review = Review.objects.get()
    assert review.contact == promoter
    assert review.consent_to_publish is False
