"""Money services: exchange rates, purchases, refunds, customer periods (DESIGN §4.7, §5)."""

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, localcontext

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from crm import hooks
from crm.currencies import (
    convert,
    format_money,
    is_currency,
    minor_units,
    quantize,
)
from crm.models import Contact, ExchangeRate, Purchase, Refund
from crm.services import (
    contacts_mark_churned,
    exchange_rate_for,
    exchange_rate_set,
    purchase_record,
    purchase_refund,
)
from crm.tasks import contacts_mark_churned_daily
from tests.crm.factories import ContactFactory

pytestmark = pytest.mark.django_db

UTC = dt.UTC


def at(day: str, time: str = "12:00") -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{time}:00+00:00")


@pytest.fixture(autouse=True)
def _base_usd(settings):
    settings.BASE_CURRENCY = "USD"
    settings.TIME_ZONE = "UTC"
    settings.CHURN_WINDOW_DAYS = 365


@pytest.fixture
def contact():
    return ContactFactory()


@pytest.fixture
def krw_rates():
    for day, rate in [
        ("2025-03-01", "0.00075"),
        ("2025-03-10", "0.00070"),
        ("2025-03-20", "0.00080"),
    ]:
        exchange_rate_set(currency="KRW", date=dt.date.fromisoformat(day), rate=rate)


def errors_of(excinfo: pytest.ExceptionInfo[ValidationError]) -> dict[str, list[str]]:
    return excinfo.value.message_dict


# --- currencies ----------------------------------------------------------------------------


def test_minor_units_follow_iso_4217():
    assert minor_units("KRW") == 0
    assert minor_units("JPY") == 0
    assert minor_units("USD") == 2
    assert minor_units("bhd") == 3


def test_only_currencies_in_use_are_known():
    assert is_currency("KRW")
    assert is_currency("usd")
    assert not is_currency("XXX")  # "no currency"
    assert not is_currency("DEM")  # retired in 2002
    assert not is_currency("")
    assert not is_currency(None)


def test_quantize_rounds_half_up_to_the_minor_unit():
    assert quantize(Decimal("1.005"), "USD") == Decimal("1.01")
    assert quantize(Decimal("1500.5"), "KRW") == Decimal("1501")
    assert quantize(Decimal("0.0005"), "BHD") == Decimal("0.001")


def test_money_helpers_refuse_floats():
    with pytest.raises(TypeError):
        quantize(19.99, "USD")  # type: ignore[arg-type]


def test_format_money_is_localised():
    assert format_money(Decimal("15000"), "KRW", "ko") == "₩15,000"
    assert "1.500" in format_money(Decimal("1.5"), "BHD", "en")


@hypothesis_settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    code=st.sampled_from(["KRW", "USD", "BHD", "JPY", "EUR"]),
    amount=st.decimals(
        min_value=Decimal("0.0001"),
        max_value=Decimal("100000000"),
        places=4,
        allow_nan=False,
        allow_infinity=False,
    ),
    rate=st.decimals(
        min_value=Decimal("0.0000000001"),
        max_value=Decimal("10000"),
        places=10,
        allow_nan=False,
        allow_infinity=False,
    ),
)
def test_conversion_is_exact_then_rounded_to_the_target_currency(code, amount, rate):
    result = convert(amount, rate, code)
    assert type(result) is Decimal
    assert result.as_tuple().exponent == -minor_units(code)
    with localcontext() as context:
        context.prec = 80
        exact = amount * rate
        assert abs(result - exact) <= Decimal(1).scaleb(-minor_units(code)) / 2


# --- exchange rates ------------------------------------------------------------------------


def test_the_rate_used_is_the_latest_on_or_before_the_date(krw_rates):
    on = dt.date.fromisoformat
    assert exchange_rate_for(currency="KRW", on=on("2025-03-01")) == Decimal("0.00075")
    assert exchange_rate_for(currency="KRW", on=on("2025-03-09")) == Decimal("0.00075")
    assert exchange_rate_for(currency="KRW", on=on("2025-03-10")) == Decimal("0.00070")
    assert exchange_rate_for(currency="krw", on=on("2025-03-15")) == Decimal("0.00070")
    assert exchange_rate_for(currency="KRW", on=on("2026-01-01")) == Decimal("0.00080")


def test_the_base_currency_needs_no_rate(contact):
    assert exchange_rate_for(currency="USD", on=dt.date(2025, 1, 1)) == 1
    purchase, created = purchase_record(
        contact=contact, amount="19.99", currency="USD", occurred_at=at("2025-01-01")
    )
    assert created
    assert purchase.amount_base == Decimal("19.99")
    assert purchase.exchange_rate == 1
    assert purchase.base_currency == "USD"


def test_a_missing_rate_is_refused_naming_the_currency_and_the_date(contact):
    exchange_rate_set(currency="KRW", date=dt.date(2025, 3, 2), rate="0.0007")
    with pytest.raises(ValidationError) as excinfo:
        purchase_record(
            contact=contact,
            amount="15000",
            currency="KRW",
            occurred_at=at("2025-03-01"),
        )
    (message,) = errors_of(excinfo)["currency"]
    assert "KRW" in message
    assert "2025-03-01" in message
    assert not Purchase.objects.exists()
    contact.refresh_from_db()
    assert contact.last_purchase_at is None


def test_the_rate_day_is_the_companys_day(contact, settings):
    settings.TIME_ZONE = "Asia/Seoul"
    exchange_rate_set(currency="KRW", date=dt.date(2025, 3, 1), rate="0.00075")
    exchange_rate_set(currency="KRW", date=dt.date(2025, 3, 2), rate="0.00070")
    # 20:00 UTC on 1 March is already 2 March in Seoul.
    purchase, _created = purchase_record(
        contact=contact,
        amount="10000",
        currency="KRW",
        occurred_at=at("2025-03-01", "20:00"),
    )
    assert purchase.exchange_rate == Decimal("0.00070")
    assert purchase.amount_base == Decimal("7.00")


def test_setting_a_days_rate_again_replaces_it():
    exchange_rate_set(currency="EUR", date=dt.date(2025, 1, 1), rate="1.05")
    rate = exchange_rate_set(currency="eur", date=dt.date(2025, 1, 1), rate="1.08")
    assert ExchangeRate.objects.get().rate == Decimal("1.08")
    assert rate.currency == "EUR"


@pytest.mark.parametrize(
    ("currency", "rate", "field"),
    [
        ("USD", "1", "currency"),  # the base currency
        ("XYZ", "1", "currency"),
        ("EUR", "0", "rate"),
        ("EUR", "-1.2", "rate"),
        ("EUR", "abc", "rate"),
        ("EUR", "0.00000000001", "rate"),  # more than 10 decimals
    ],
)
def test_a_bad_rate_is_refused_naming_the_field(currency, rate, field):
    with pytest.raises(ValidationError) as excinfo:
        exchange_rate_set(currency=currency, date=dt.date(2025, 1, 1), rate=rate)
    assert list(errors_of(excinfo)) == [field]
    assert not ExchangeRate.objects.exists()


# --- recording ----------------------------------------------------------------------------


def test_a_purchase_is_converted_with_the_dated_rate(contact, krw_rates, agent):
    purchase, created = purchase_record(
        contact=contact,
        amount=Decimal("15000"),
        currency="krw",
        occurred_at=at("2025-03-15"),
        external_id="  order-1 ",
        actor=agent,
    )
    purchase.refresh_from_db()
    assert created
    assert purchase.currency == "KRW"
    assert purchase.exchange_rate == Decimal("0.00070")
    assert purchase.amount_base == Decimal("10.50")
    assert purchase.external_id == "order-1"
    assert purchase.recorded_by == agent


@pytest.mark.parametrize(
    ("currency", "amount", "ok"),
    [
        ("KRW", "15000", True),
        ("KRW", "15000.00", True),  # no decimals actually used
        ("KRW", "15000.5", False),
        ("BHD", "1.234", True),
        ("BHD", "1.2345", False),
        ("USD", "19.999", False),
        ("USD", "0", False),
        ("USD", "-5", False),
        ("USD", "NaN", False),
        ("USD", "ten", False),
        ("USD", "1e100", False),
        ("USD", "99999999999999", True),
        ("USD", "100000000000000", False),
    ],
)
def test_amounts_are_positive_and_have_the_currencys_decimals(
    contact, currency, amount, ok
):
    for code in ("KRW", "BHD"):
        exchange_rate_set(currency=code, date=dt.date(2025, 1, 1), rate="1")
    kwargs = {
        "contact": contact,
        "amount": amount,
        "currency": currency,
        "occurred_at": at("2025-02-01"),
    }
    if ok:
        assert purchase_record(**kwargs)[1]
    else:
        with pytest.raises(ValidationError) as excinfo:
            purchase_record(**kwargs)
        assert list(errors_of(excinfo)) == ["amount"]
        assert not Purchase.objects.exists()


def test_krw_decimal_error_says_krw_has_none(contact):
    exchange_rate_set(currency="KRW", date=dt.date(2025, 1, 1), rate="0.0007")
    with pytest.raises(ValidationError) as excinfo:
        purchase_record(
            contact=contact, amount="10.5", currency="KRW", occurred_at=at("2025-02-01")
        )
    assert errors_of(excinfo) == {"amount": ["KRW amounts have no decimal places."]}


def test_floats_are_refused(contact):
    with pytest.raises(TypeError):
        purchase_record(
            contact=contact, amount=19.99, currency="USD", occurred_at=at("2025-02-01")
        )


def test_an_unknown_currency_is_refused(contact):
    with pytest.raises(ValidationError) as excinfo:
        purchase_record(
            contact=contact, amount="1", currency="EURO", occurred_at=at("2025-02-01")
        )
    assert list(errors_of(excinfo)) == ["currency"]


def test_the_time_must_be_aware_and_not_in_the_future(contact):
    naive = dt.datetime(2025, 2, 1, 12, 0)  # noqa: DTZ001 (the point of the test)
    with pytest.raises(ValidationError) as excinfo:
        purchase_record(contact=contact, amount="1", currency="USD", occurred_at=naive)
    assert list(errors_of(excinfo)) == ["occurred_at"]
    with pytest.raises(ValidationError) as excinfo:
        purchase_record(
            contact=contact,
            amount="1",
            currency="USD",
            occurred_at=timezone.now() + dt.timedelta(hours=1),
        )
    assert list(errors_of(excinfo)) == ["occurred_at"]
    # A sender's clock a minute fast is fine.
    assert purchase_record(
        contact=contact,
        amount="1",
        currency="USD",
        occurred_at=timezone.now() + dt.timedelta(minutes=1),
    )[1]


def test_the_same_external_id_again_returns_the_first_purchase_and_changes_nothing(
    contact,
):
    first, created = purchase_record(
        contact=contact,
        amount="10.00",
        currency="USD",
        occurred_at=at("2025-02-01"),
        external_id="shop-17",
    )
    other = ContactFactory()
    again, created_again = purchase_record(
        contact=other,
        amount="99.00",
        currency="USD",
        occurred_at=at("2025-05-01"),
        external_id="shop-17",
    )
    assert created
    assert not created_again
    assert again.pk == first.pk
    assert again.amount == Decimal("10.00")
    assert Purchase.objects.count() == 1
    other.refresh_from_db()
    assert other.last_purchase_at is None


def test_purchases_without_external_id_never_collide(contact):
    for _ in range(2):
        assert purchase_record(
            contact=contact, amount="5", currency="USD", occurred_at=at("2025-02-01")
        )[1]
    assert Purchase.objects.count() == 2


# --- derived contact fields ---------------------------------------------------------------


def test_purchases_maintain_customer_since_last_purchase_and_stage(contact):
    assert contact.lifecycle_stage == Contact.LifecycleStage.LEAD
    purchase_record(
        contact=contact, amount="5", currency="USD", occurred_at=at("2025-02-01")
    )
    purchase_record(
        contact=contact, amount="5", currency="USD", occurred_at=at("2025-04-01")
    )
    purchase_record(  # a late-arriving older order moves neither date
        contact=contact, amount="5", currency="USD", occurred_at=at("2025-03-01")
    )
    contact.refresh_from_db()
    assert contact.customer_since == at("2025-02-01")
    assert contact.last_purchase_at == at("2025-04-01")
    assert contact.churned_at is None
    assert contact.lifecycle_stage == Contact.LifecycleStage.CUSTOMER


def test_an_evangelist_stays_an_evangelist():
    contact = ContactFactory(lifecycle_stage=Contact.LifecycleStage.EVANGELIST)
    purchase_record(
        contact=contact, amount="5", currency="USD", occurred_at=at("2025-02-01")
    )
    contact.refresh_from_db()
    assert contact.lifecycle_stage == Contact.LifecycleStage.EVANGELIST


def test_a_purchase_after_churn_starts_a_new_customer_period():
    contact = ContactFactory(
        customer_since=at("2022-01-01"),
        last_purchase_at=at("2023-01-01"),
        churned_at=at("2024-01-01"),
    )
    purchase_record(  # a backfilled order from before the churn does not reactivate
        contact=contact, amount="5", currency="USD", occurred_at=at("2023-06-01")
    )
    contact.refresh_from_db()
    assert contact.churned_at == at("2024-01-01")
    assert contact.customer_since == at("2022-01-01")
    assert contact.last_purchase_at == at("2023-06-01")

    purchase_record(
        contact=contact, amount="5", currency="USD", occurred_at=at("2025-02-01")
    )
    contact.refresh_from_db()
    assert contact.churned_at is None
    assert contact.customer_since == at("2025-02-01")
    assert contact.last_purchase_at == at("2025-02-01")
    assert contact.lifecycle_stage == Contact.LifecycleStage.CUSTOMER


def test_a_purchase_exactly_at_the_churn_moment_reactivates():
    contact = ContactFactory(
        customer_since=at("2022-01-01"),
        last_purchase_at=at("2023-01-01"),
        churned_at=at("2024-01-01"),
    )
    purchase_record(
        contact=contact, amount="5", currency="USD", occurred_at=at("2024-01-01")
    )
    contact.refresh_from_db()
    assert contact.churned_at is None
    assert contact.customer_since == at("2024-01-01")


# --- hooks --------------------------------------------------------------------------------


@pytest.fixture
def registered():
    """Register real functions with a hook for one test, and remove them afterwards."""
    added: list[tuple[hooks.Hook, object]] = []

    def register(hook, function):
        hook.register(function)
        added.append((hook, function))

    yield register
    for hook, function in added:
        hook._functions.remove(function)  # Hook has no unregister (test-only need)


def test_purchase_recorded_hooks_run_inside_the_transaction(contact, registered):
    seen = []

    def on_recorded(*, purchase_id):
        seen.append(
            (
                purchase_id,
                Purchase.objects.filter(pk=purchase_id).exists(),
                connection.in_atomic_block,
            )
        )

    registered(hooks.purchase_recorded, on_recorded)
    purchase, _created = purchase_record(
        contact=contact, amount="5", currency="USD", occurred_at=at("2025-02-01")
    )
    assert seen == [(purchase.pk, True, True)]


def test_a_failing_purchase_hook_rolls_the_purchase_back(contact, registered):
    def on_recorded(*, purchase_id):
        raise ValidationError("loyalty is down")

    registered(hooks.purchase_recorded, on_recorded)
    with pytest.raises(ValidationError):
        purchase_record(
            contact=contact, amount="5", currency="USD", occurred_at=at("2025-02-01")
        )
    assert not Purchase.objects.exists()
    contact.refresh_from_db()
    assert contact.last_purchase_at is None
    assert contact.customer_since is None


def test_refund_hooks_run_inside_the_transaction(contact, registered):
    purchase, _created = purchase_record(
        contact=contact, amount="50", currency="USD", occurred_at=at("2025-02-01")
    )
    seen = []
    registered(hooks.purchase_refunded, lambda *, refund_id: seen.append(refund_id))
    refund = purchase_refund(purchase=purchase, amount="10")
    assert seen == [refund.pk]

    def failing(*, refund_id):
        raise ValidationError("loyalty is down")

    registered(hooks.purchase_refunded, failing)
    with pytest.raises(ValidationError):
        purchase_refund(purchase=purchase, amount="10")
    purchase.refresh_from_db()
    assert purchase.refunded_amount == Decimal("10")
    assert Refund.objects.count() == 1


# --- refunds ------------------------------------------------------------------------------


@pytest.fixture
def eur_purchase(contact):
    exchange_rate_set(currency="EUR", date=dt.date(2025, 1, 1), rate="1.1")
    purchase, _created = purchase_record(
        contact=contact, amount="100.00", currency="EUR", occurred_at=at("2025-02-01")
    )
    return purchase


def test_partial_then_full_refund(eur_purchase, manager):
    refund = purchase_refund(
        purchase=eur_purchase,
        amount="30",
        reason=" damaged ",
        occurred_at=at("2025-02-03"),
        actor=manager,
    )
    assert refund.amount_base == Decimal("33.00")
    assert refund.reason == "damaged"
    assert refund.recorded_by == manager
    eur_purchase.refresh_from_db()
    assert eur_purchase.refunded_amount == Decimal("30")

    purchase_refund(purchase=eur_purchase, amount="70.00")
    eur_purchase.refresh_from_db()
    assert eur_purchase.refunded_amount == eur_purchase.amount
    assert eur_purchase.net_amount == 0


def test_a_refund_larger_than_what_remains_is_refused_and_changes_nothing(
    eur_purchase,
):
    purchase_refund(purchase=eur_purchase, amount="30")
    with pytest.raises(ValidationError) as excinfo:
        purchase_refund(purchase=eur_purchase, amount="70.01")
    (message,) = errors_of(excinfo)["amount"]
    assert "70.00" in message
    eur_purchase.refresh_from_db()
    assert eur_purchase.refunded_amount == Decimal("30")
    assert Refund.objects.count() == 1

    purchase_refund(purchase=eur_purchase, amount="70")
    with pytest.raises(ValidationError) as excinfo:
        purchase_refund(purchase=eur_purchase, amount="0.01")
    assert errors_of(excinfo) == {
        "amount": ["This purchase has already been refunded in full."]
    }


@pytest.mark.parametrize("amount", ["0", "-1", "0.001", "abc"])
def test_a_refund_amount_must_be_positive_with_the_currencys_decimals(
    eur_purchase, amount
):
    with pytest.raises(ValidationError) as excinfo:
        purchase_refund(purchase=eur_purchase, amount=amount)
    assert list(errors_of(excinfo)) == ["amount"]
    assert not Refund.objects.exists()


def test_a_refund_cannot_predate_its_purchase_or_be_in_the_future(eur_purchase):
    for moment in (at("2025-01-31"), timezone.now() + dt.timedelta(hours=1)):
        with pytest.raises(ValidationError) as excinfo:
            purchase_refund(purchase=eur_purchase, amount="1", occurred_at=moment)
        assert list(errors_of(excinfo)) == ["occurred_at"]
    assert not Refund.objects.exists()


def test_a_fully_refunded_purchase_nets_to_zero_in_the_base_currency(contact):
    exchange_rate_set(currency="EUR", date=dt.date(2025, 1, 1), rate="1.005")
    purchase, _created = purchase_record(
        contact=contact, amount="1.00", currency="EUR", occurred_at=at("2025-02-01")
    )
    assert purchase.amount_base == Decimal("1.01")  # 1.005 rounds half up
    first = purchase_refund(purchase=purchase, amount="0.50")
    last = purchase_refund(purchase=purchase, amount="0.50")
    assert first.amount_base == Decimal("0.50")  # 0.5025
    assert last.amount_base == Decimal("0.51")  # whatever remains, not 0.50 again
    assert first.amount_base + last.amount_base == purchase.amount_base


# --- churn --------------------------------------------------------------------------------


def test_contacts_churn_exactly_one_window_after_their_last_purchase(settings):
    settings.CHURN_WINDOW_DAYS = 30
    now = at("2025-06-30", "09:00")
    window = dt.timedelta(days=30)
    on_the_edge = ContactFactory(
        customer_since=at("2025-01-01"), last_purchase_at=now - window
    )
    just_past = ContactFactory(
        customer_since=at("2025-01-01"),
        last_purchase_at=now - window - dt.timedelta(microseconds=1),
    )
    already = ContactFactory(
        customer_since=at("2025-01-01"),
        last_purchase_at=at("2025-01-01"),
        churned_at=at("2025-01-15"),
    )
    never_bought = ContactFactory()

    assert contacts_mark_churned(now=now) == 1
    assert contacts_mark_churned(now=now) == 0  # safe to run twice

    for contact in (on_the_edge, just_past, already, never_bought):
        contact.refresh_from_db()
    assert on_the_edge.churned_at is None
    assert just_past.churned_at == now - dt.timedelta(microseconds=1)
    assert already.churned_at == at("2025-01-15")
    assert never_bought.churned_at is None
    assert list(Contact.objects.customers_at(now)) == [on_the_edge]


def test_the_daily_churn_task_uses_the_default_window():
    stale = ContactFactory(
        customer_since=timezone.now() - dt.timedelta(days=800),
        last_purchase_at=timezone.now() - dt.timedelta(days=400),
    )
    assert contacts_mark_churned_daily() == 1
    stale.refresh_from_db()
    assert stale.churned_at == stale.last_purchase_at + dt.timedelta(days=365)


# --- property: conversion through the service ---------------------------------------------


@hypothesis_settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    code=st.sampled_from(["KRW", "EUR", "BHD", "JPY"]),
    units=st.integers(min_value=1, max_value=10**10),
    rate=st.decimals(
        min_value=Decimal("0.0000000001"),
        max_value=Decimal("1000"),
        places=10,
        allow_nan=False,
        allow_infinity=False,
    ),
)
def test_recorded_base_amount_is_the_rounded_exact_product(code, units, rate):
    amount = Decimal(units).scaleb(-minor_units(code))  # valid decimals by construction
    exchange_rate_set(currency=code, date=dt.date(2025, 1, 1), rate=rate)
    purchase, _created = purchase_record(
        contact=ContactFactory(),
        amount=str(amount),
        currency=code,
        occurred_at=at("2025-02-01"),
    )
    purchase.refresh_from_db()
    with localcontext() as context:
        context.prec = 80
        product = amount * rate
        expected = product.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    assert type(purchase.amount_base) is Decimal
    assert type(purchase.exchange_rate) is Decimal
    assert purchase.exchange_rate == rate
    assert purchase.amount_base == expected == quantize(product, "USD")
