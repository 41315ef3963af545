"""``@idempotent`` on its own: the stored answer, the replay and the answers never kept."""

import pytest
from rest_framework import status, viewsets
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate

from crm.idempotency import REPLAYED_HEADER, idempotent
from crm.models import IdempotencyRecord

pytestmark = [pytest.mark.django_db, pytest.mark.smoke]


class Counter(viewsets.ViewSet):
    """Answers with the next status in ``answers`` and counts how often it really ran."""

    answers: list[int] = []
    runs = 0

    @idempotent
    def create(self, request):
        type(self).runs += 1
        return Response({"run": type(self).runs}, status=type(self).answers.pop(0))


def post(user, key: str, body: dict):
    request = APIRequestFactory().post(
        "/counter/", body, format="json", HTTP_IDEMPOTENCY_KEY=key
    )
    force_authenticate(request, user=user)
    return Counter.as_view({"post": "create"})(request)


@pytest.fixture(autouse=True)
def _fresh_counter():
    Counter.answers, Counter.runs = [], 0


def test_a_5xx_answer_is_not_kept_so_the_retry_runs_and_its_answer_is_replayed(agent):
    Counter.answers = [status.HTTP_503_SERVICE_UNAVAILABLE, status.HTTP_201_CREATED]
    first = post(agent, "k-1", {"a": 1})
    assert first.status_code == 503
    assert not IdempotencyRecord.objects.filter(user=agent, key="k-1").exists()
    second = post(agent, "k-1", {"a": 1})
    assert (second.status_code, second.data) == (201, {"run": 2})
    third = post(agent, "k-1", {"a": 1})
    assert (third.status_code, third.data) == (201, {"run": 2})
    assert third[REPLAYED_HEADER] == "true"
    assert Counter.runs == 2
    record = IdempotencyRecord.objects.get(user=agent, key="k-1")
    assert (record.status_code, record.body) == (201, {"run": 2})


def test_keys_belong_to_their_user(agent, manager):
    Counter.answers = [status.HTTP_201_CREATED, status.HTTP_201_CREATED]
    assert post(agent, "shared", {"a": 1}).data == {"run": 1}
    assert post(manager, "shared", {"a": 1}).data == {"run": 2}
    assert IdempotencyRecord.objects.filter(key="shared").count() == 2


def test_another_request_with_a_used_key_is_422_and_changes_nothing(agent):
    Counter.answers = [status.HTTP_201_CREATED]
    post(agent, "k-2", {"a": 1})
    response = post(agent, "k-2", {"a": 2})
    assert response.status_code == 422
    assert Counter.runs == 1
    assert IdempotencyRecord.objects.get(user=agent, key="k-2").body == {"run": 1}
