"""My tasks: sections by the viewer's local day, complete/reopen and reassignment (HTMX)."""

import datetime as dt
import zoneinfo

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.models import Task
from crm.services import contact_create, task_complete, task_create

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
SEOUL = zoneinfo.ZoneInfo("Asia/Seoul")


def make_task(assignee, due_at, title="Call back", **fields):
    return task_create(
        title=title, due_at=due_at, assignee=assignee, created_by=assignee, **fields
    )


def sections(response):
    return {
        section["key"]: [task.title for task in section["tasks"]]
        for section in response.context["sections"]
    }


def test_tasks_page_permissions(client, agent, customer_a):
    url = reverse("crm:tasks")
    assert client.get(url)["Location"] == f"/accounts/login/?next={url}"
    client.force_login(customer_a)
    assert client.get(url).status_code == 403
    client.force_login(agent)
    assert client.get(url).status_code == 200


def test_tasks_is_in_the_navigation_after_contacts(client, agent):
    client.force_login(agent)
    labels = [item["label"] for item in client.get("/").context["navigation"]]
    assert labels[labels.index("Contacts") + 1] == "Tasks"


def test_sections_follow_the_viewers_local_day(client, agent, manager):
    agent.timezone = SEOUL
    agent.save()
    now = timezone.now()
    today = now.astimezone(SEOUL).date()
    tomorrow = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), SEOUL)
    make_task(agent, now - dt.timedelta(hours=2), "Overdue call")
    # (skipped in the last minute of a Seoul day)
    if tomorrow - now > dt.timedelta(minutes=2):
        make_task(agent, tomorrow - dt.timedelta(minutes=1), "Late tonight")
    make_task(agent, tomorrow + dt.timedelta(minutes=1), "Just after midnight")
    make_task(agent, now + dt.timedelta(days=5), "Next week")
    done = make_task(agent, now + dt.timedelta(days=1), "Sent the quote")
    task_complete(task=done)
    make_task(manager, now - dt.timedelta(hours=1), "Someone else's")

    client.force_login(agent)
    response = client.get(reverse("crm:tasks"))
    found = sections(response)
    assert found["overdue"] == ["Overdue call"]
    assert found["today"] in (["Late tonight"], [])
    assert found["upcoming"] == ["Just after midnight", "Next week"]
    assert found["done"] == ["Sent the quote"]
    html = response.content.decode()
    assert "Asia/Seoul" in html

    everyone = sections(client.get(reverse("crm:tasks"), {"whose": "all"}))
    assert "Someone else's" in everyone["overdue"]


def test_completing_and_reopening_with_htmx_returns_the_board(client, agent):
    task = make_task(agent, timezone.now() + dt.timedelta(days=2), "Send catalogue")
    client.force_login(agent)
    response = client.post(
        reverse("crm:task_complete", args=[task.pk]), {"done": "1"}, **HTMX
    )
    task.refresh_from_db()
    assert task.completed_at is not None
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="task-board"')
    assert "“Send catalogue” is done." in html
    assert sections(response)["done"] == ["Send catalogue"]

    response = client.post(
        reverse("crm:task_complete", args=[task.pk]), {"done": "0"}, **HTMX
    )
    task.refresh_from_db()
    assert task.completed_at is None
    assert sections(response)["upcoming"] == ["Send catalogue"]


def test_completing_without_javascript_redirects_to_the_board(client, agent):
    task = make_task(agent, timezone.now() + dt.timedelta(days=2))
    client.force_login(agent)
    response = client.post(reverse("crm:task_complete", args=[task.pk]), {"done": "1"})
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('crm:tasks')}?whose=me"


def test_reassigning_moves_the_task_to_another_staff_member(client, agent, manager):
    contact = contact_create(given_name="Anna", family_name="Schmidt")
    task = make_task(agent, timezone.now() + dt.timedelta(days=1), contact=contact)
    client.force_login(agent)
    response = client.post(
        reverse("crm:task_reassign", args=[task.pk]), {"assignee": manager.pk}, **HTMX
    )
    task.refresh_from_db()
    assert task.assignee == manager
    assert sections(response)["upcoming"] == []
    assert "is now assigned to Mina" in response.content.decode()


def test_a_task_cannot_go_to_a_customer(client, agent, customer_a):
    task = make_task(agent, timezone.now() + dt.timedelta(days=1))
    client.force_login(agent)
    client.post(
        reverse("crm:task_reassign", args=[task.pk]),
        {"assignee": customer_a.pk},
        **HTMX,
    )
    task.refresh_from_db()
    assert task.assignee == agent


def test_customers_cannot_complete_tasks(client, agent, customer_a):
    task = make_task(agent, timezone.now() + dt.timedelta(days=1))
    client.force_login(customer_a)
    assert client.post(reverse("crm:task_complete", args=[task.pk])).status_code == 403
    task.refresh_from_db()
    assert task.completed_at is None


@pytest.mark.parametrize("count", [5, 40])
def test_the_board_runs_a_fixed_number_of_queries(
    client, agent, django_assert_max_num_queries, count
):
    now = timezone.now()
    contact = contact_create(given_name="Anna", family_name="Schmidt")
    for i in range(count):
        make_task(
            agent, now + dt.timedelta(hours=i - count // 2), f"T{i}", contact=contact
        )
    client.force_login(agent)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("crm:tasks"))
    assert sum(len(s["tasks"]) for s in response.context["sections"]) == count
    assert Task.objects.count() == count
