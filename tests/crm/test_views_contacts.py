"""The staff contact pages: list (search, filters, keyset pages, bulk actions, segments), the
form, the contact page with its timeline and inline HTMX forms, deletion, duplicates, merging."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crm import hooks
from crm.models import (
    Company,
    Consent,
    Contact,
    ContactMerge,
    Interaction,
    Purchase,
    Segment,
    Task,
)
from crm.services import (
    contact_create,
    exchange_rate_set,
    interaction_log,
    purchase_record,
    task_create,
)

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def _base_usd(settings):
    settings.BASE_CURRENCY = "USD"
    settings.TIME_ZONE = "UTC"


def make(**fields):
    fields.setdefault("given_name", "Anna")
    fields.setdefault("family_name", "Schmidt")
    return contact_create(**fields)


def names(response):
    return [c.display_name for c in response.context["page"].object_list]


@pytest.fixture
def hong(agent):
    return make(
        given_name="길동",
        family_name="홍",
        language="ko",
        email="gildong@example.kr",
        phone="+82 10-1234-5678",
        country="KR",
        birthday="--03-14",
        timezone="Asia/Seoul",
        tags=["vip"],
        owner=agent,
    )


# --- Who may see what ------------------------------------------------------------------------

STAFF_PAGES = ["crm:contacts", "crm:contact_create"]
CONTACT_PAGES = ["crm:contact", "crm:contact_edit"]


@pytest.mark.parametrize("name", STAFF_PAGES)
def test_staff_pages_open_for_agents_and_refuse_customers(
    client, agent, customer_a, name
):
    url = reverse(name)
    assert client.get(url).status_code == 302
    assert client.get(url)["Location"].startswith("/accounts/login/?next=")
    client.force_login(customer_a)
    assert client.get(url).status_code == 403
    client.force_login(agent)
    assert client.get(url).status_code == 200


@pytest.mark.parametrize("name", CONTACT_PAGES)
def test_contact_pages_open_for_agents_and_refuse_customers(
    client, agent, customer_a, hong, name
):
    url = reverse(name, args=[hong.pk])
    assert client.get(url)["Location"] == f"/accounts/login/?next={url}"
    client.force_login(customer_a)
    assert client.get(url).status_code == 403
    client.force_login(agent)
    assert client.get(url).status_code == 200


def test_manager_only_pages_refuse_agents(client, agent, manager, hong):
    other = make(email="other@example.com")
    urls = [
        reverse("crm:duplicates"),
        f"{reverse('crm:merge')}?a={hong.pk}&b={other.pk}",
        reverse("crm:contact_delete", args=[hong.pk]),
    ]
    client.force_login(agent)
    for url in urls:
        assert client.get(url).status_code == 403, url
    client.force_login(manager)
    for url in urls:
        assert client.get(url).status_code == 200, url


def test_an_unknown_contact_is_404(client, agent):
    client.force_login(agent)
    assert client.get(reverse("crm:contact", args=[999_999])).status_code == 404


# --- The list: search, filters, sorting, pages -----------------------------------------------


def test_a_korean_name_is_found_by_the_full_name_and_by_the_given_name(
    client, agent, hong
):
    make(given_name="Anna", family_name="Schmidt", email="anna@example.de")
    client.force_login(agent)
    for query in ("홍길동", "길동"):
        response = client.get(reverse("crm:contacts"), {"q": query})
        assert names(response) == ["홍길동"], query
    html = client.get(reverse("crm:contacts"), {"q": "길동"}).content.decode()
    assert "+82 10-1234-5678" in html  # the phone in international format


def test_a_search_lists_newest_first_unless_sorted_by_name(client, agent):
    for given in ("Ara", "Minjun"):
        make(given_name=given, family_name="Kim", email=f"{given}@example.com")
    client.force_login(agent)
    url = reverse("crm:contacts")
    assert names(client.get(url, {"q": "kim"})) == ["Minjun Kim", "Ara Kim"]
    assert names(client.get(url, {"q": "kim", "ordering": "name"})) == [
        "Ara Kim",
        "Minjun Kim",
    ]
    page = client.get(url, {"q": "kim"}).content.decode()
    assert "Name, or newest first when searching" in page


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"country": "KR"}, ["홍길동"]),
        ({"language": "en"}, ["Anna Schmidt"]),
        ({"lifecycle_stage": "customer"}, ["Anna Schmidt"]),
        ({"tag": "vip"}, ["홍길동"]),
        ({"owner": "me"}, ["홍길동"]),
        ({"owner": "none"}, ["Anna Schmidt"]),
        ({"has_purchased": "true"}, []),
        ({"has_purchased": "false"}, ["Anna Schmidt", "홍길동"]),
        ({"birthday_month": "3"}, ["홍길동"]),
        ({"q": "example.de"}, ["Anna Schmidt"]),
        ({"q": "01012345678"}, ["홍길동"]),
    ],
)
def test_each_filter_narrows_the_list(client, agent, hong, params, expected):
    make(
        email="anna@example.de",
        country="DE",
        language="en",
        lifecycle_stage="customer",
        owner=None,
    )
    client.force_login(agent)
    assert sorted(names(client.get(reverse("crm:contacts"), params))) == expected


def test_a_segment_filter_applies_the_segments_filters(client, agent, hong):
    make(email="anna@example.de", country="DE")
    segment = Segment.objects.create(name="Korea", filters={"country": ["KR"]})
    client.force_login(agent)
    response = client.get(reverse("crm:contacts"), {"segment": segment.pk})
    assert names(response) == ["홍길동"]


@pytest.mark.parametrize(
    ("params", "label"),
    [
        ({"lifecycle_stage": "bogus"}, "Lifecycle stage"),
        ({"birthday_month": "13"}, "Birthday month"),
        ({"owner": "someone"}, "Owner"),
        ({"segment": "424242"}, "Segment"),
        ({"ordering": "shoe-size"}, "Sort by"),
    ],
)
def test_a_bad_filter_is_a_message_naming_the_filter_not_a_500(
    client, agent, hong, params, label
):
    client.force_login(agent)
    response = client.get(reverse("crm:contacts"), params)
    assert response.status_code == 200
    assert f"{label}: " in " ".join(response.context["filter_errors"])
    assert f"{label}: " in response.content.decode()


def test_htmx_gets_only_the_results_fragment(client, agent, hong):
    client.force_login(agent)
    response = client.get(reverse("crm:contacts"), {"q": "길동"}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="contact-results"')
    assert "<html" not in html
    assert "홍길동" in html
    assert "HX-Request" in response["Vary"]
    full = client.get(reverse("crm:contacts"), {"q": "길동"}).content.decode()
    assert "<html" in full
    assert 'hx-push-url="true"' in full


def test_the_empty_list_invites_to_add_the_first_contact(client, agent):
    client.force_login(agent)
    html = client.get(reverse("crm:contacts")).content.decode()
    assert "No contacts yet" in html
    assert reverse("crm:contact_create") in html


def test_no_match_offers_to_clear_the_filters(client, agent, hong):
    client.force_login(agent)
    html = client.get(reverse("crm:contacts"), {"q": "nobody-like-this"}).content
    assert "No contacts match" in html.decode()


def _cursor(html, rel):
    match = re.search(rf'href="\?([^"]*)" rel="{rel}"', html)
    return match and match.group(1).replace("&amp;", "&")


@pytest.mark.parametrize("ordering", ["name", "-created", "created", "-last_purchase"])
def test_keyset_pages_cover_every_contact_once_in_order(client, agent, ordering):
    for i in range(62):
        contact = make(given_name=f"N{i:02d}", family_name="Kim" if i % 2 else "Lee")
        if i % 3 == 0:  # some have purchases, most not: NULLs must page correctly too
            purchase_record(
                contact=contact,
                amount="10",
                currency="USD",
                occurred_at=timezone.now() - dt.timedelta(days=i),
            )
    client.force_login(agent)
    seen, query, pages = [], f"ordering={ordering}", 0
    while query is not None:
        html = client.get(f"{reverse('crm:contacts')}?{query}").content.decode()
        seen += re.findall(r'name="ids" value="(\d+)"', html)
        query = _cursor(html, "next")
        pages += 1
    assert pages == 2
    assert len(seen) == len(set(seen)) == 62
    expected = {
        "name": Contact.objects.order_by("family_name", "given_name", "id"),
        "-created": Contact.objects.order_by("-created_at", "-id"),
        "created": Contact.objects.order_by("created_at", "id"),
        "-last_purchase": Contact.objects.order_by(timezone_desc_nulls_last(), "-id"),
    }[ordering]
    assert [int(pk) for pk in seen] == list(expected.values_list("pk", flat=True))

    # Back from the second page to the first: the same rows again, and no page before it.
    html = client.get(f"{reverse('crm:contacts')}?ordering={ordering}").content
    second = client.get(
        f"{reverse('crm:contacts')}?{_cursor(html.decode(), 'next')}"
    ).content.decode()
    first_again = client.get(
        f"{reverse('crm:contacts')}?{_cursor(second, 'prev')}"
    ).content.decode()
    assert re.findall(r'name="ids" value="(\d+)"', first_again) == seen[:50]
    assert _cursor(first_again, "prev") is None


def timezone_desc_nulls_last():
    from django.db.models import F

    return F("last_purchase_at").desc(nulls_last=True)


def test_a_cursor_we_did_not_make_shows_the_first_page(client, agent, hong):
    client.force_login(agent)
    response = client.get(reverse("crm:contacts"), {"cursor": "not-a-cursor"})
    assert names(response) == ["홍길동"]


def _tagged_contacts(count, owner):
    for i in range(count):
        make(
            given_name=f"G{i}",
            family_name=f"F{i}",
            email=f"c{i}@example.com",
            tags=["vip", f"t{i % 5}"],
            owner=owner,
            company=None,
        )


@pytest.mark.parametrize("count", [30, 60])
def test_the_list_page_runs_a_fixed_number_of_queries(
    client, manager, django_assert_max_num_queries, count
):
    _tagged_contacts(count, manager)
    Company.objects.create(name="Acme")
    client.force_login(manager)
    # session, user, role, the filter selects' tags, staff and segments, the page of
    # contacts, their tags and consents, and the owners for the bulk-assign select
    with django_assert_max_num_queries(10):
        response = client.get(reverse("crm:contacts"), {"tag": "vip"})
    assert response.status_code == 200
    assert len(response.context["page"].object_list) == min(count, 50)


# --- Bulk actions and segments ---------------------------------------------------------------


def test_an_agent_tags_the_ticked_contacts(client, agent, hong):
    other = make(email="other@example.com")
    untouched = make(email="untouched@example.com")
    client.force_login(agent)
    response = client.post(
        reverse("crm:contacts_bulk"),
        {
            "ids": [hong.pk, other.pk],
            "action": "tag",
            "tags": "event-2026, wholesale",
            "next": "/contacts/?country=KR",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/contacts/?country=KR"
    assert set(other.tags.values_list("name", flat=True)) == {"event-2026", "wholesale"}
    assert "event-2026" in hong.tags.values_list("name", flat=True)
    assert not untouched.tags.exists()


def test_only_managers_assign_an_owner_in_bulk(client, agent, manager, hong):
    client.force_login(agent)
    data = {"ids": [hong.pk], "action": "assign", "owner": manager.pk}
    assert client.post(reverse("crm:contacts_bulk"), data).status_code == 403
    hong.refresh_from_db()
    assert hong.owner == agent
    client.force_login(manager)
    assert client.post(reverse("crm:contacts_bulk"), data).status_code == 302
    hong.refresh_from_db()
    assert hong.owner == manager


def test_bulk_assign_controls_show_for_managers_only(client, agent, manager, hong):
    client.force_login(agent)
    html = client.get(reverse("crm:contacts")).content.decode()
    assert 'value="tag"' in html
    assert 'value="assign"' not in html
    assert reverse("crm:export_csv") not in html
    client.force_login(manager)
    html = client.get(reverse("crm:contacts"), {"country": "KR"}).content.decode()
    assert 'value="assign"' in html
    assert f"{reverse('crm:export_csv')}?country=KR" in html
    assert f"{reverse('crm:export_vcard')}?country=KR" in html
    assert reverse("crm:import") in html
    assert reverse("crm:imports") in html


def test_saving_the_filters_as_a_segment_shows_its_live_count(client, agent, hong):
    make(email="kr2@example.kr", country="KR")
    make(email="de@example.de", country="DE")
    client.force_login(agent)
    response = client.post(
        reverse("crm:segment_save"),
        {"name": "Korea", "country": "KR", "q": ""},
        **HTMX,
    )
    segment = Segment.objects.get()
    assert segment.filters == {"country": ["KR"]}
    assert segment.created_by == agent
    html = response.content.decode()
    assert "Segment “Korea” saved: 2 contacts right now." in html
    assert f"?segment={segment.pk}" in html


def test_a_segment_needs_a_name_and_a_filter(client, agent):
    client.force_login(agent)
    response = client.post(reverse("crm:segment_save"), {"name": "Everyone"}, **HTMX)
    assert "Choose at least one filter" in response.content.decode()
    assert not Segment.objects.exists()


# --- New and edit ----------------------------------------------------------------------------


def test_creating_a_contact_with_consents_a_new_company_and_a_yearless_birthday(
    client, agent
):
    client.force_login(agent)
    response = client.post(
        reverse("crm:contact_create"),
        {
            "given_name": "길동",
            "family_name": "홍",
            "email": "Gildong@Example.kr",
            "phone": "010-1234-5678",
            "company": "Hanbit Trading",
            "country": "KR",
            "language": "ko",
            "timezone": "Asia/Seoul",
            "birthday": "--03-14",
            "tags": "vip, wholesale",
            "owner": agent.pk,
            "lifecycle_stage": "lead",
            "consent_marketing_email": "on",
            "consent_sms": "",
        },
        REMOTE_ADDR="203.0.113.9",
    )
    contact = Contact.objects.get()
    assert response.status_code == 302
    assert response["Location"] == contact.get_absolute_url()
    assert contact.email == "gildong@example.kr"
    assert str(contact.phone) == "+821012345678"
    assert contact.company.name == "Hanbit Trading"
    assert contact.birthday_iso == "--03-14"
    assert str(contact.timezone) == "Asia/Seoul"
    assert sorted(contact.tags.values_list("name", flat=True)) == ["vip", "wholesale"]
    consent = Consent.objects.get(contact=contact)
    assert (consent.purpose, consent.granted, consent.source) == (
        "marketing_email",
        True,
        "staff",
    )
    assert consent.ip_address == "203.0.113.9"
    assert consent.changed_by == agent


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"phone": "12"}, "phone", "Enter a valid phone number for Germany"),
        ({"email": "GILDONG@example.kr"}, "email", "already exists"),
        ({"birthday": "1990-02-30"}, "birthday", "This date does not exist."),
        ({"timezone": "Mars/Olympus"}, "timezone", "Select a valid choice"),
        ({"email": "not-an-email"}, "email", "Enter a valid email address."),
    ],
)
def test_form_errors_name_the_field_and_nothing_is_stored(
    client, agent, hong, changes, field, message
):
    client.force_login(agent)
    data = {
        "given_name": "Anna",
        "company": "Brand New Company",
        "country": "DE",
        "language": "en",
        "lifecycle_stage": "lead",
        "consent_sms": "on",
        **changes,
    }
    response = client.post(reverse("crm:contact_create"), data)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert message in " ".join(errors[field])
    assert Contact.objects.count() == 1
    assert not Company.objects.filter(name="Brand New Company").exists()
    assert not Consent.objects.exists()
    html = response.content.decode()
    assert "Nothing was saved" in html
    assert f'id="id_{field}_error"' in html
    assert 'aria-invalid="true"' in html


def test_a_birthday_in_the_wrong_shape_is_an_error_on_the_birthday(client, agent):
    client.force_login(agent)
    response = client.post(
        reverse("crm:contact_create"),
        {
            "given_name": "Anna",
            "language": "en",
            "birthday": "14 March",
            "lifecycle_stage": "lead",
        },
    )
    assert "--MM-DD" in " ".join(response.context["form"].errors["birthday"])
    assert not Contact.objects.exists()


def test_a_contact_needs_a_name(client, agent):
    client.force_login(agent)
    response = client.post(
        reverse("crm:contact_create"), {"language": "en", "lifecycle_stage": "lead"}
    )
    assert "given_name" in response.context["form"].errors
    assert not Contact.objects.exists()


def test_editing_shows_the_current_values_and_saves_changes(client, agent, hong):
    client.force_login(agent)
    form = client.get(reverse("crm:contact_edit", args=[hong.pk])).context["form"]
    assert form.initial["birthday"] == "--03-14"
    assert form.initial["tags"] == "vip"
    assert form.initial["timezone"] == "Asia/Seoul"
    data = {**form.initial, "owner": agent.pk, "tags": "vip, partner"}
    data["lifecycle_stage"] = "opportunity"
    data = {k: ("on" if v is True else v) for k, v in data.items() if v is not False}
    response = client.post(reverse("crm:contact_edit", args=[hong.pk]), data)
    assert response.status_code == 302
    hong.refresh_from_db()
    assert hong.lifecycle_stage == "opportunity"
    assert sorted(hong.tags.values_list("name", flat=True)) == ["partner", "vip"]
    assert not Consent.objects.exists()  # untouched boxes record nothing


# --- The contact page ------------------------------------------------------------------------


def test_the_contact_page_shows_the_profile(client, agent, hong):
    client.force_login(agent)
    html = client.get(hong.get_absolute_url()).content.decode()
    assert "홍길동" in html
    assert "+82 10-1234-5678" in html
    assert "South Korea" in html
    assert "Asia/Seoul" in html
    assert "there now" in html
    assert "March 14" in html  # no year: day and month only
    assert "Korean" in html
    assert "Not asked" in html


def test_the_contact_page_in_korean(client, agent, hong):
    agent.language = "ko"
    agent.save()
    client.force_login(agent)
    html = client.get(hong.get_absolute_url()).content.decode()
    assert "3월 14일" in html


def timeline_context(response):
    """The contact page's own template context (other apps' panels render templates too)."""
    return next(context for context in response.context if "chips" in context)


@pytest.mark.parametrize("interactions", [5, 40])
def test_the_contact_page_runs_a_fixed_number_of_queries(
    client, agent, hong, django_assert_max_num_queries, interactions
):
    for i in range(interactions):
        interaction_log(
            contact=hong,
            author=agent,
            kind="call",
            subject=f"Call {i}",
            occurred_at=timezone.now() - dt.timedelta(hours=i),
        )
    task_create(
        title="Call back",
        due_at=timezone.now() + dt.timedelta(days=1),
        assignee=agent,
        created_by=agent,
        contact=hong,
    )
    client.force_login(agent)
    # Other apps' timeline sources and panels (loyalty…) bring their own fixed queries.
    request = RequestFactory().get(hong.get_absolute_url())
    request.user = agent
    with CaptureQueriesContext(connection) as other_apps:
        for source in hooks.timeline_sources:
            source(contact_id=hong.pk, kinds=None, before=None, limit=20)
        for panel in hooks.contact_page_panels:
            panel(request=request, contact=hong)
    # session, user, role, the contact with its tags and consents, one query per crm
    # timeline source (interactions, purchases, refunds, tasks, merges, outbound messages),
    # the assignee select, the consent history and the audit entry for the view
    with django_assert_max_num_queries(15 + len(other_apps)):
        response = client.get(hong.get_absolute_url())
    assert response.status_code == 200
    assert len(timeline_context(response)["entries"]) == min(interactions + 1, 20)


def test_logging_an_interaction_inline_returns_the_new_timeline_entry(
    client, agent, hong
):
    client.force_login(agent)
    response = client.post(
        reverse("crm:interaction_log", args=[hong.pk]),
        {
            "kind": "call",
            "direction": "outbound",
            "subject": "Asked about the spring catalogue",
            "body": "Wants the Korean edition.",
            "occurred_at": "",
            "duration_minutes": "12",
        },
        **HTMX,
    )
    interaction = Interaction.objects.get()
    assert (interaction.kind, interaction.duration_seconds) == ("call", 720)
    assert interaction.author == agent
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert f'id="entry-call-{interaction.pk}"' in html
    assert "is-new" in html
    assert "Asked about the spring catalogue" in html
    assert "12 min" in html
    assert 'id="interaction-form"' in html
    assert 'hx-swap-oob="true"' in html


def test_an_interaction_without_subject_or_notes_is_refused_in_place(
    client, agent, hong
):
    client.force_login(agent)
    response = client.post(
        reverse("crm:interaction_log", args=[hong.pk]),
        {"kind": "call", "direction": "outbound"},
        **HTMX,
    )
    assert response["HX-Retarget"] == "#interaction-form"
    assert response["HX-Reswap"] == "outerHTML"
    assert "Write a subject or some notes." in response.content.decode()
    assert not Interaction.objects.exists()


def test_without_javascript_logging_redirects_back_to_the_contact(client, agent, hong):
    client.force_login(agent)
    response = client.post(
        reverse("crm:interaction_log", args=[hong.pk]),
        {"kind": "note", "direction": "internal", "body": "Prefers email."},
    )
    assert response.status_code == 302
    assert response["Location"] == hong.get_absolute_url()
    assert Interaction.objects.get().body == "Prefers email."


def test_a_purchase_in_krw_shows_the_amount_converted_to_usd(client, agent, hong):
    exchange_rate_set(
        currency="KRW",
        date=timezone.localdate() - dt.timedelta(days=3),
        rate="0.0007425",
    )
    client.force_login(agent)
    response = client.post(
        reverse("crm:purchase_record", args=[hong.pk]),
        {"amount": "120000", "currency": "KRW", "external_id": "ORD-1"},
        **HTMX,
    )
    purchase = Purchase.objects.get()
    assert purchase.amount_base == Decimal("89.10")
    html = response.content.decode()
    assert "₩120,000" in html
    assert "$89.10" in html
    assert 'id="contact-profile"' in html  # the profile's customer dates, out of band
    hong.refresh_from_db()
    assert hong.lifecycle_stage == "customer"


def test_a_purchase_without_a_rate_names_the_currency_and_the_date(client, agent, hong):
    client.force_login(agent)
    response = client.post(
        reverse("crm:purchase_record", args=[hong.pk]),
        {"amount": "120000", "currency": "KRW"},
        **HTMX,
    )
    html = response.content.decode()
    assert response["HX-Retarget"] == "#purchase-form"
    assert "No exchange rate for KRW on or before" in html
    assert timezone.localdate().isoformat() in html
    assert not Purchase.objects.exists()


def test_adding_a_follow_up_task_inline(client, agent, manager, hong):
    client.force_login(agent)
    due = (timezone.localtime() + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        reverse("crm:contact_task_add", args=[hong.pk]),
        {"title": "Send the catalogue", "due_at": due, "assignee": manager.pk},
        **HTMX,
    )
    task = Task.objects.get()
    assert (task.title, task.assignee, task.contact) == (
        "Send the catalogue",
        manager,
        hong,
    )
    assert f'id="entry-task-{task.pk}"' in response.content.decode()


def test_a_task_without_a_due_time_is_refused(client, agent, hong):
    client.force_login(agent)
    response = client.post(
        reverse("crm:contact_task_add", args=[hong.pk]),
        {"title": "Send the catalogue", "assignee": agent.pk},
        **HTMX,
    )
    assert "due_at" in response.context["task_form"].errors
    assert not Task.objects.exists()


def test_the_timeline_loads_more_and_filters_by_kind(client, agent, hong):
    now = timezone.now()
    for i in range(25):
        interaction_log(
            contact=hong,
            author=agent,
            kind="call" if i % 5 else "email",
            subject=f"Entry {i}",
            occurred_at=now - dt.timedelta(hours=i + 1),
        )
    client.force_login(agent)
    page = client.get(hong.get_absolute_url())
    assert len(timeline_context(page)["entries"]) == 20
    before = timeline_context(page)["next_before"]
    more = client.get(
        reverse("crm:contact_timeline", args=[hong.pk]), {"before": before}, **HTMX
    )
    html = more.content.decode()
    assert html.count('class="timeline__entry') == 5
    assert "Entry 24" in html
    assert "Load more" not in html

    emails = client.get(
        reverse("crm:contact_timeline", args=[hong.pk]), {"kind": "email"}, **HTMX
    )
    assert emails.content.decode().count('class="timeline__entry') == 5
    assert 'aria-current="true">Email<' in emails.content.decode()


# --- Delete, duplicates and merge ------------------------------------------------------------


def test_a_manager_deletes_a_contact_after_confirming(client, manager, hong):
    client.force_login(manager)
    assert client.get(reverse("crm:contact_delete", args=[hong.pk])).status_code == 200
    response = client.post(reverse("crm:contact_delete", args=[hong.pk]))
    assert response["Location"] == reverse("crm:contacts")
    assert not Contact.objects.exists()


def test_a_contact_with_purchases_is_not_deleted_and_the_reason_is_shown(
    client, manager, hong
):
    purchase_record(
        contact=hong, amount="10", currency="USD", occurred_at=timezone.now()
    )
    client.force_login(manager)
    response = client.post(reverse("crm:contact_delete", args=[hong.pk]))
    assert response.status_code == 400
    assert "This contact has purchases" in response.content.decode()
    assert Contact.objects.filter(pk=hong.pk).exists()


def test_duplicates_are_listed_with_their_reason(client, manager, hong):
    twin = make(given_name="Gildong", family_name="Hong", phone="+821012345678")
    client.force_login(manager)
    html = client.get(reverse("crm:duplicates")).content.decode()
    assert "Same phone number" in html
    assert f"?a={hong.pk}&amp;b={twin.pk}" in html


def test_merge_moves_everything_to_the_survivor_and_records_the_merge(
    client, manager, agent, hong
):
    twin = make(given_name="Gildong", family_name="Hong", email="gd@shop.example")
    interaction_log(contact=twin, author=agent, kind="note", body="From the shop")
    purchase_record(
        contact=twin, amount="25", currency="USD", occurred_at=timezone.now()
    )
    task_create(
        title="Follow up",
        due_at=timezone.now() + dt.timedelta(days=1),
        assignee=agent,
        created_by=agent,
        contact=twin,
    )
    client.force_login(manager)
    url = f"{reverse('crm:merge')}?a={hong.pk}&b={twin.pk}"
    page = client.get(url).content.decode()
    assert "gd@shop.example" in page
    assert "gildong@example.kr" in page

    response = client.post(url, {"survivor": hong.pk})
    assert response["Location"] == hong.get_absolute_url()
    assert not Contact.objects.filter(pk=twin.pk).exists()
    assert Interaction.objects.get().contact == hong
    assert Purchase.objects.get().contact == hong
    assert Task.objects.get().contact == hong
    merge = ContactMerge.objects.get()
    assert (merge.survivor, merge.merged_contact_id, merge.merged_by) == (
        hong,
        twin.pk,
        manager,
    )
    page = client.get(hong.get_absolute_url()).content.decode()
    assert "Merged with Gildong Hong" in page
    assert "was merged into" in page  # the success message


def test_merge_needs_a_choice_of_survivor(client, manager, hong):
    twin = make(email="twin@example.com")
    client.force_login(manager)
    url = f"{reverse('crm:merge')}?a={hong.pk}&b={twin.pk}"
    response = client.post(url, {"survivor": "12345"})
    assert response.status_code == 400
    assert Contact.objects.count() == 2


def test_merge_with_starts_by_finding_the_other_contact(client, manager, hong):
    twin = make(given_name="길동", family_name="홍", email="twin@example.com")
    client.force_login(manager)
    html = client.get(reverse("crm:merge"), {"a": hong.pk, "q": "길동"}).content
    assert f"?a={hong.pk}&amp;b={twin.pk}" in html.decode()
