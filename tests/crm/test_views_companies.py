"""Companies: the list with contact counts, search and keyset pages; a company's contacts and
combined revenue in the base currency."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.models import Company
from crm.services import (
    company_create,
    contact_create,
    exchange_rate_set,
    purchase_record,
    purchase_refund,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _base_usd(settings):
    settings.BASE_CURRENCY = "USD"


@pytest.fixture
def hanbit():
    company = company_create(name="Hanbit Trading", country="KR")
    for given in ("길동", "서연"):
        contact_create(
            given_name=given, family_name="홍", language="ko", company=company
        )
    return company


def test_company_pages_permissions(client, agent, customer_a, hanbit):
    for url in (reverse("crm:companies"), reverse("crm:company", args=[hanbit.pk])):
        assert client.get(url)["Location"] == f"/accounts/login/?next={url}"
        client.force_login(customer_a)
        assert client.get(url).status_code == 403
        client.force_login(agent)
        assert client.get(url).status_code == 200
        client.logout()


def test_the_list_counts_contacts_and_searches_names(client, agent, hanbit):
    company_create(name="Acme GmbH", country="DE")
    client.force_login(agent)
    response = client.get(reverse("crm:companies"))
    counts = {c.name: c.contact_count for c in response.context["page"].object_list}
    assert counts == {"Acme GmbH": 0, "Hanbit Trading": 2}
    response = client.get(
        reverse("crm:companies"), {"q": "hanbit"}, HTTP_HX_REQUEST="true"
    )
    assert [c.name for c in response.context["page"].object_list] == ["Hanbit Trading"]
    assert "<html" not in response.content.decode()


def test_the_list_pages_by_keyset(client, agent):
    for i in range(55):
        Company.objects.create(name=f"Company {i:02d}")
    client.force_login(agent)
    html = client.get(reverse("crm:companies")).content.decode()
    first = re.findall(r'href="/companies/(\d+)/"', html)
    cursor = re.search(r'href="\?([^"]*)" rel="next"', html).group(1)
    html = client.get(f"{reverse('crm:companies')}?{cursor.replace('&amp;', '&')}")
    second = re.findall(r'href="/companies/(\d+)/"', html.content.decode())
    assert len(first) == 50
    assert len(second) == 5
    assert not set(first) & set(second)


def test_a_company_shows_its_contacts_and_revenue_in_the_base_currency(
    client, agent, hanbit
):
    exchange_rate_set(
        currency="KRW", date=timezone.localdate() - dt.timedelta(days=1), rate="0.00075"
    )
    gildong, seoyeon = hanbit.contacts.order_by("given_name")
    now = timezone.now()
    purchase_record(contact=gildong, amount="100000", currency="KRW", occurred_at=now)
    usd, _created = purchase_record(
        contact=seoyeon, amount="20.00", currency="USD", occurred_at=now
    )
    purchase_refund(purchase=usd, amount="5.00")
    client.force_login(agent)
    response = client.get(reverse("crm:company", args=[hanbit.pk]))
    revenue = response.context["revenue"]
    assert str(revenue["gross"]) == "95.0000"
    assert str(revenue["net"]) == "90.0000"
    assert revenue["orders"] == 2
    html = response.content.decode()
    assert "$90.00" in html
    assert "$95.00" in html
    assert "홍길동" in html
    assert "홍서연" in html


def test_an_unknown_company_is_404(client, agent):
    client.force_login(agent)
    assert client.get(reverse("crm:company", args=[999_999])).status_code == 404
