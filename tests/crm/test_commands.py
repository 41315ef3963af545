import io

import pytest
from django.core.management import CommandError, call_command

from crm.models import Company, Contact, ExchangeRate, Interaction, Purchase, Task, User
from crm.roles import Role
from crm.selectors import duplicate_candidates

pytestmark = [pytest.mark.django_db, pytest.mark.smoke]


def test_seed_demo_loads_the_four_users_and_hundreds_of_international_contacts():
    call_command("seed_demo", stdout=io.StringIO())
    roles = {user.email: user.role for user in User.objects.all()}
    assert roles == {
        "admin@rapport.example": Role.ADMIN,
        "manager@rapport.example": Role.MANAGER,
        "agent@rapport.example": Role.AGENT,
        "customer@rapport.example": Role.CUSTOMER,
    }
    assert Contact.objects.count() >= 300
    assert set(Contact.objects.values_list("country", flat=True)) >= {
        "KR",
        "US",
        "JP",
        "DE",
        "BR",
    }
    assert Contact.objects.filter(language="ko").exists()
    assert Contact.objects.get(user__email="customer@rapport.example").language == "ko"
    assert User.objects.get(email="agent@rapport.example").check_password(
        "rapport-demo"
    )


def test_seed_demo_twice_adds_nothing_the_second_time():
    call_command("seed_demo", stdout=io.StringIO())
    models = (User, Contact, Company, Purchase, Interaction, Task, ExchangeRate)
    counts = [model.objects.count() for model in models]
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert [model.objects.count() for model in models] == counts
    assert "contacts added: 0" in out.getvalue()


def test_create_api_token_prints_a_working_token(api_client, agent):
    out = io.StringIO()
    call_command("create_api_token", agent.email.upper(), stdout=out)
    key = out.getvalue().strip()
    assert len(key) == 40
    assert (
        api_client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {key}").status_code
        == 200
    )


def test_create_api_token_refuses_unknown_users_and_customers(customer_a):
    with pytest.raises(CommandError, match="No user"):
        call_command("create_api_token", "nobody@example.com")
    with pytest.raises(CommandError, match="staff"):
        call_command("create_api_token", customer_a.email)


def test_seed_demo_adds_purchases_in_several_currencies_interactions_tasks_and_duplicates():
    call_command("seed_demo", stdout=io.StringIO())
    assert set(Purchase.objects.values_list("currency", flat=True)) >= {
        "KRW",
        "USD",
        "JPY",
        "EUR",
        "BRL",
    }
    assert Interaction.objects.filter(
        contact__language="ko", subject="배송 문의"
    ).exists()
    assert (
        Task.objects.filter(completed_at__isnull=True).count() >= 12
    )  # + survey follow-ups
    manager = User.objects.get(email="manager@rapport.example")
    assert len(duplicate_candidates(user=manager)) >= 3
    # derived fields come from the purchases themselves
    buyer = Purchase.objects.select_related("contact").first().contact
    assert (
        buyer.last_purchase_at
        == buyer.purchases.order_by("-occurred_at").first().occurred_at
    )
