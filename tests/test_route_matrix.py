"""Every URL pattern of the project and every role: one table says what each role gets.

The routes are enumerated from the root resolver (staff UI, portal, public pages, the DRF
router under /api/v1/, the schema and docs, and admin for every registered model), so a new
route that the table does not list fails ``test_every_route_is_in_the_table`` with the exact
lines to add. Path parameters are filled with real objects from the ``world`` fixture; objects
in the portal belong to customer A, so customer B must get a 404 that shows none of A's data.

Reading the table: each route (its name, or its pattern when it has none) maps to the statuses
for ``ROLES`` = (anonymous, customer_a, customer_b, agent, manager, admin), optionally with the
HTTP method used (write-only routes are sent an empty body with the method they accept).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.contrib import admin as django_admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Model
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

pytestmark = [pytest.mark.django_db, pytest.mark.smoke]

ROLES = ("anonymous", "customer_a", "customer_b", "agent", "manager", "admin")


@dataclass(frozen=True)
class Route:
    key: str  # the route's name, or its pattern when it has none
    pattern: str  # the full pattern, as Django prints it
    converters: tuple[str, ...]  # parameter names in order


def _walk(patterns: list[Any], prefix: str = "", namespace: str = "") -> Iterator[Any]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = namespace
            if entry.namespace:
                ns = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            pattern = prefix + str(entry.pattern)
            if entry.name:
                key = f"{namespace}:{entry.name}" if namespace else entry.name
            else:
                key = pattern
            yield key, pattern


# DRF's format-suffix twins (``contacts.json``) run the same view as the route they copy and
# share its name; they are covered by that route's entry.
FORMAT_SUFFIX = re.compile(r"\\\.\(\?P<format>|<drf_format_suffix:format>")


def all_routes() -> dict[str, str]:
    """Route key → pattern for every URL the project serves (format-suffix twins left out)."""
    routes: dict[str, str] = {}
    for key, pattern in _walk(get_resolver().url_patterns):
        if FORMAT_SUFFIX.search(pattern):
            continue
        routes.setdefault(key, pattern)
    return routes


# --- The objects every parameterised route is visited with ----------------------------------

SECRET_A = (
    "Zebulon-Quartz-7731"  # customer A's data: must never show up in B's responses
)


class World:
    """Real rows for every path parameter; the portal's ones belong to customer A."""

    def __init__(self, *, customer_a: Any, customer_b: Any, agent: Any, manager: Any):
        from axes.models import AccessAttempt, AccessFailureLog, AccessLog
        from django.contrib.contenttypes.models import ContentType
        from django_otp.plugins.otp_totp.models import TOTPDevice

        from crm.models import (
            Campaign,
            Company,
            Contact,
            ExchangeRate,
            MessageTemplate,
            OutboundMessage,
            Tag,
        )
        from crm.models.privacy import DataExport
        from crm.roles import Role
        from crm.services import (
            consents_set,
            import_job_create,
            message_template_list,
            purchase_record,
            purchase_refund,
            task_create,
        )
        from crm.services.audit import audit_record
        from crm.services.outreach import unsubscribe_token
        from feedback.models import BusinessCalendar, Holiday, SlaTarget
        from feedback.services import (
            invitations_create,
            response_submit,
            survey_create,
            ticket_open,
        )
        from feedback.services.reviews import review_submit
        from loyalty.models import Program, Tier
        from loyalty.services import reward_redeem
        from loyalty.services.referrals import referral_register
        from tests.crm.factories import ContactFactory, UserFactory
        from tests.loyalty.factories import RewardFactory, key, member

        now = timezone.now()
        Program.load()
        if not Tier.objects.exists():
            Tier.objects.create(name_en="Member", threshold=0, multiplier=1)
        self.company = Company.objects.create(name="Matrix Co")
        self.contact_a = ContactFactory(
            user=customer_a,
            email=customer_a.email,
            given_name=SECRET_A,
            family_name="Kim",
            company=self.company,
            owner=agent,
        )
        self.contact_b = ContactFactory(
            user=customer_b, email=customer_b.email, given_name="Bea"
        )
        Tag.objects.get_or_create(name="vip")
        self.task = task_create(
            title="Call back",
            due_at=now + dt.timedelta(days=1),
            assignee=agent,
            created_by=manager,
            contact=self.contact_a,
        )
        ExchangeRate.objects.create(
            currency="EUR", date=now.date(), rate=Decimal("1.1")
        )
        self.purchase, _created = purchase_record(
            contact=self.contact_a,
            amount="40.00",
            currency="USD",
            occurred_at=now - dt.timedelta(days=2),
        )
        purchase_refund(purchase=self.purchase, amount="1.00")
        self.account_a = member(500, contact=self.contact_a)
        referral_register(
            referrer_code=self.account_a.referral_code,
            referred_contact=ContactFactory(given_name="Referred"),
        )
        self.reward = RewardFactory(name_en="Matrix mug", cost=10)
        self.voucher_a = reward_redeem(
            account=self.account_a, reward=self.reward, key=key()
        )
        self.ticket_a = ticket_open(
            contact=self.contact_a,
            subject=f"Parcel of {SECRET_A}",
            description="Late",
            channel="portal",
        )
        self.survey = survey_create(title="How are we doing?", kind="nps")
        self.invitation = invitations_create(
            survey=self.survey, contacts=[self.contact_a]
        ).invited[0]
        self.review = review_submit(
            contact=self.contact_a, rating=5, text=SECRET_A, consent_to_publish=False
        )
        self.import_job = import_job_create(
            upload=SimpleUploadedFile(
                "contacts.csv", b"email,given_name\nnew@test.example,New\n"
            ),
            actor=manager,
        )
        message_template_list()  # the shipped templates (a flushed test database has none)
        self.template = MessageTemplate.objects.order_by("pk").first()
        self.onboarding_step = (
            MessageTemplate.objects.filter(occasion="onboarding")
            .order_by("-step")
            .first()
        )
        consents_set(
            contact=self.contact_a,
            consents={"marketing_email": True},
            source="staff",
            actor=manager,
        )
        audit_record(action="matrix", actor=manager, object_type="contact")
        questions = list(self.survey.questions.order_by("order"))
        response_submit(
            token=self.invitation.token,
            answers={str(questions[0].pk): 9},
            language="en",
        )
        self.message = OutboundMessage.objects.create(
            contact=self.contact_a,
            occasion="test",
            occurrence="matrix",
            status=OutboundMessage.Status.SENT,
            scheduled_for=now,
            sent_at=now,
        )
        self.campaign = Campaign.objects.create(
            name="Spring",
            subject="Hello",
            body_text="Hi",
            send_on=now.date() + dt.timedelta(days=7),
            created_by=manager,
        )
        self.contact_content_type = ContentType.objects.get_for_model(Contact)
        TOTPDevice.objects.create(  # someone else's: the roles here sign in with passwords
            user=UserFactory(role=Role.ADMIN, email="matrix.otp@test.example"),
            name="Authenticator app",
        )
        self.export_a = DataExport.objects.create(
            contact=self.contact_a, requested_by=manager, via="staff"
        )
        self.unsubscribe_token = unsubscribe_token(contact_id=self.contact_a.pk)
        BusinessCalendar.objects.get_or_create(pk=1)
        Holiday.objects.create(date=dt.date(2030, 1, 1), name="New Year")
        if not SlaTarget.objects.exists():
            SlaTarget.objects.create(
                priority="normal", first_response_minutes=60, resolution_minutes=600
            )
        Token.objects.get_or_create(user=manager)
        AccessAttempt.objects.create(
            username="x@test.example", ip_address="10.0.0.1", failures_since_start=1
        )
        AccessLog.objects.create(username="x@test.example", ip_address="10.0.0.1")
        AccessFailureLog.objects.create(
            username="x@test.example", ip_address="10.0.0.1", locked_out=False
        )

    users: dict[str, Any]

    def value(self, reference: str) -> str:
        """``"@voucher_a.public_id"`` → that attribute of this world; anything else as is."""
        if not reference.startswith("@"):
            return reference
        if reference.startswith(("@admin:", "@admin-object-url:")):
            kind, label = reference[1:].split(":")
            found_model = next(
                m for m in django_admin.site._registry if m._meta.label_lower == label
            )
            pk = self.admin_object(found_model).pk
            if kind == "admin":
                return str(pk)
            return f"/admin/{label.replace('.', '/')}/{pk}/"
        found: Any = self
        for part in reference[1:].split("."):
            found = getattr(found, part)
        return str(found)

    def admin_object(self, model: type[Model]) -> Model:
        instance = model._default_manager.order_by("pk").first()
        assert instance is not None, f"the world has no {model._meta.label} row"
        return instance


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[World]:
    """Built once for the module inside a transaction that is rolled back at the end; each
    test runs in its own savepoint within it, so a POST by one role never affects another."""
    from django.db import transaction
    from django.test import override_settings

    from crm.roles import Role
    from tests.crm.factories import UserFactory

    with (
        django_db_blocker.unblock(),
        override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("media")),
        transaction.atomic(),
    ):
        users = {
            "customer_a": UserFactory(
                role=Role.CUSTOMER, email="matrix.a@test.example", given_name="A"
            ),
            "customer_b": UserFactory(
                role=Role.CUSTOMER, email="matrix.b@test.example", given_name="B"
            ),
            "agent": UserFactory(role=Role.AGENT, email="matrix.agent@test.example"),
            "manager": UserFactory(
                role=Role.MANAGER, email="matrix.manager@test.example"
            ),
            "admin": UserFactory(role=Role.ADMIN, email="matrix.admin@test.example"),
        }
        built = World(
            customer_a=users["customer_a"],
            customer_b=users["customer_b"],
            agent=users["agent"],
            manager=users["manager"],
        )
        built.users = users
        yield built
        transaction.set_rollback(True)


# --- The table ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expect:
    statuses: tuple[int, ...]  # one per role in ROLES
    method: str = "get"
    args: tuple[
        tuple[str, str], ...
    ] = ()  # URL kwarg → "@world.attr.path" or a literal
    path: str = ""  # for routes without a name: the URL to visit


def e(statuses: str, *, method: str = "get", path: str = "", **args: str) -> Expect:
    """``e("302 403 403 200 200 200", pk="@contact_a.pk")``: statuses in ROLES order."""
    codes = tuple(int(code) for code in statuses.split())
    assert len(codes) == len(ROLES), statuses
    return Expect(codes, method, tuple(args.items()), path)


# Anonymous, customers and agents never get into admin (302 to the admin sign-in); what
# managers and admins get per model: (manager, admin) statuses for
# changelist, add, change, delete and history.
FULL = ("200 200 200 200 200", "200 200 200 200 200")
NO_ADD = ("200 403 200 200 200", "200 403 200 200 200")
READ_ONLY = ("200 403 200 403 200", "200 403 200 403 200")
SINGLETON = ("302 403 200 403 200", "302 403 200 403 200")  # the list opens the one row
USERS = ("200 403 200 403 200", FULL[1])  # managers see users, only admins change them
ADMIN_ONLY = ("403 403 403 403 403", FULL[1])
ADMIN_READ_DELETE = ("403 403 403 403 403", "200 403 200 200 200")  # sign-in records
ADMIN_READ = ("403 403 403 403 403", "200 403 200 403 200")  # append-only audit log

ADMIN_MODELS: dict[str, tuple[str, str]] = {
    "auth.group": ADMIN_ONLY,
    "authtoken.tokenproxy": ADMIN_ONLY,
    "otp_totp.totpdevice": ADMIN_ONLY,
    "axes.accessattempt": ADMIN_READ_DELETE,
    "axes.accessfailurelog": ADMIN_READ_DELETE,
    "axes.accesslog": ADMIN_READ_DELETE,
    "crm.auditentry": ADMIN_READ,
    "crm.campaign": FULL,
    "crm.company": FULL,
    "crm.consentevent": READ_ONLY,
    "crm.contact": FULL,
    "crm.exchangerate": FULL,
    "crm.importjob": NO_ADD,
    "crm.messagetemplate": FULL,
    "crm.purchase": READ_ONLY,
    "crm.refund": READ_ONLY,
    "crm.tag": FULL,
    "crm.user": USERS,
    "feedback.businesscalendar": NO_ADD,
    "feedback.holiday": FULL,
    "feedback.invitation": FULL,
    "feedback.question": FULL,
    "feedback.response": FULL,
    "feedback.review": FULL,
    "feedback.slatarget": FULL,
    "feedback.survey": FULL,
    "feedback.ticket": NO_ADD,
    "loyalty.lotuse": READ_ONLY,
    "loyalty.loyaltyaccount": READ_ONLY,
    "loyalty.pointsentry": READ_ONLY,
    "loyalty.program": SINGLETON,
    "loyalty.redemption": READ_ONLY,
    "loyalty.referral": READ_ONLY,
    "loyalty.reward": FULL,
    "loyalty.tier": FULL,
    "loyalty.tierchange": READ_ONLY,
}
ADMIN_ACTIONS = ("changelist", "add", "change", "delete", "history")

# Every other route. "@name.attr" arguments are taken from the world fixture.
ROUTES: dict[str, Expect] = {
    "analytics:cohorts-csv": e("302 403 403 200 200 200"),
    "analytics:dashboard": e("302 403 403 200 200 200"),
    "analytics:drilldown": e("302 403 403 200 200 200", kind="lost"),
    "analytics:drilldown-csv": e("302 403 403 200 200 200", kind="lost"),
    "analytics:export-csv": e("302 403 403 200 200 200", group="customers"),
    "api-docs": e("401 403 403 200 200 200"),
    "api:analytics-cohorts": e("401 403 403 400 400 400"),
    "api:analytics-metrics": e("401 403 403 400 400 400"),
    "api:api-root": e("401 403 403 200 200 200"),
    "api:campaign-cancel": e(
        "401 403 403 403 200 200", method="post", pk="@campaign.pk"
    ),
    "api:campaign-detail": e("401 403 403 200 200 200", pk="@campaign.pk"),
    "api:campaign-list": e("401 403 403 200 200 200"),
    "api:campaign-recipients": e("401 403 403 200 200 200", pk="@campaign.pk"),
    "api:campaign-schedule": e(
        "401 403 403 403 400 400", method="post", pk="@campaign.pk"
    ),
    "api:campaign-test-send": e(
        "401 403 403 403 400 400", method="post", pk="@campaign.pk"
    ),
    "api:company-detail": e("401 403 403 200 200 200", pk="@company.pk"),
    "api:company-list": e("401 403 403 200 200 200"),
    "api:contact-bulk-assign": e("401 403 403 403 400 400", method="post"),
    "api:contact-bulk-tag": e("401 403 403 400 400 400", method="post"),
    "api:contact-detail": e("401 403 403 200 200 200", pk="@contact_a.pk"),
    "api:contact-export-list": e("401 403 403 403 200 200"),
    "api:contact-list": e("401 403 403 200 200 200"),
    "api:contact-merge": e(
        "401 403 403 403 400 400", method="post", pk="@contact_a.pk"
    ),
    "api:contact-timeline": e("401 403 403 200 200 200", pk="@contact_a.pk"),
    "api:exchange-rate-detail": e("401 403 403 404 404 404", pk="0"),
    "api:exchange-rate-list": e("401 403 403 200 200 200"),
    "api:import-detail": e("401 403 403 403 200 200", id="@import_job.public_id"),
    "api:import-list": e("401 403 403 403 200 200"),
    "api:import-report": e("401 403 403 403 200 200", id="@import_job.public_id"),
    "api:import-resume": e(
        "401 403 403 403 400 400", method="post", id="@import_job.public_id"
    ),
    "api:interaction-detail": e("401 403 403 404 404 404", pk="0"),
    "api:interaction-list": e("401 403 403 200 200 200"),
    "api:invitation-list": e("401 403 403 200 200 200"),
    "api:loyalty-account-detail": e(
        "401 403 403 200 200 200", contact_id="@contact_a.pk"
    ),
    "api:loyalty-account-entries": e(
        "401 403 403 200 200 200", contact_id="@contact_a.pk"
    ),
    "api:loyalty-adjustment-list": e("401 403 403 403 400 400", method="post"),
    "api:loyalty-redemption-cancel": e(
        "401 403 403 403 200 200", method="post", id="@voucher_a.public_id"
    ),
    "api:loyalty-redemption-detail": e(
        "401 403 403 200 200 200", id="@voucher_a.public_id"
    ),
    "api:loyalty-redemption-list": e("401 403 403 200 200 200"),
    "api:loyalty-redemption-use": e(
        "401 403 403 200 200 200", method="post", id="@voucher_a.public_id"
    ),
    "api:loyalty-referral-list": e("401 403 403 200 200 200"),
    "api:loyalty-reward-detail": e("401 403 403 200 200 200", pk="@reward.pk"),
    "api:loyalty-reward-list": e("401 403 403 200 200 200"),
    "api:me": e("401 403 403 200 200 200"),
    "api:message-template-detail": e("401 403 403 200 200 200", pk="@template.pk"),
    "api:message-template-list": e("401 403 403 200 200 200"),
    "api:message-template-preview": e(
        "401 403 403 400 400 400", method="post", pk="@template.pk"
    ),
    "api:outbound-message-detail": e("401 403 403 200 200 200", pk="@message.pk"),
    "api:outbound-message-list": e("401 403 403 200 200 200"),
    "api:purchase-detail": e("401 403 403 200 200 200", pk="@purchase.pk"),
    "api:purchase-list": e("401 403 403 200 200 200"),
    "api:purchase-refund": e(
        "401 403 403 403 400 400", method="post", pk="@purchase.pk"
    ),
    "api:review-detail": e("401 403 403 200 200 200", pk="@review.pk"),
    "api:review-list": e("401 403 403 200 200 200"),
    "api:review-moderate": e("401 403 403 403 400 400", method="post", pk="@review.pk"),
    "api:segment-detail": e("401 403 403 404 404 404", pk="0"),
    "api:segment-list": e("401 403 403 200 200 200"),
    "api:survey-detail": e("401 403 403 200 200 200", pk="@survey.pk"),
    "api:survey-list": e("401 403 403 200 200 200"),
    "api:survey-response-detail": e("401 403 403 404 404 404", pk="0"),
    "api:survey-response-list": e("401 403 403 200 200 200"),
    "api:survey-results": e("401 403 403 200 200 200", pk="@survey.pk"),
    "api:task-detail": e("401 403 403 200 200 200", pk="@task.pk"),
    "api:task-list": e("401 403 403 200 200 200"),
    "api:ticket-detail": e("401 403 403 200 200 200", pk="@ticket_a.pk"),
    "api:ticket-list": e("401 403 403 200 200 200"),
    "api:ticket-messages": e("401 403 403 200 200 200", pk="@ticket_a.pk"),
    "crm:campaign": e("302 403 403 200 200 200", pk="@campaign.pk"),
    "crm:campaign_cancel": e("302 403 403 403 200 200", pk="@campaign.pk"),
    "crm:campaign_create": e("302 403 403 403 200 200"),
    "crm:campaign_delete": e("302 403 403 403 200 200", pk="@campaign.pk"),
    "crm:campaign_edit": e("302 403 403 403 200 200", pk="@campaign.pk"),
    "crm:campaign_preview": e("302 403 403 200 200 200", method="post"),
    "crm:campaign_schedule": e("302 403 403 403 200 200", pk="@campaign.pk"),
    "crm:campaign_test_send": e(
        "302 403 403 403 302 302", method="post", pk="@campaign.pk"
    ),
    "crm:campaigns": e("302 403 403 200 200 200"),
    "crm:companies": e("302 403 403 200 200 200"),
    "crm:company": e("302 403 403 200 200 200", pk="@company.pk"),
    "crm:contact": e("302 403 403 200 200 200", pk="@contact_a.pk"),
    "crm:contact_create": e("302 403 403 200 200 200"),
    "crm:contact_delete": e("302 403 403 403 200 200", pk="@contact_a.pk"),
    "crm:contact_edit": e("302 403 403 200 200 200", pk="@contact_a.pk"),
    "crm:contact_task_add": e(
        "302 403 403 200 200 200", method="post", pk="@contact_a.pk"
    ),
    "crm:contact_timeline": e("302 403 403 302 302 302", pk="@contact_a.pk"),
    "crm:contacts": e("302 403 403 200 200 200"),
    "crm:contacts_bulk": e("302 403 403 302 302 302", method="post"),
    "crm:duplicates": e("302 403 403 403 200 200"),
    "crm:export_csv": e("302 403 403 403 200 200"),
    "crm:export_vcard": e("302 403 403 403 200 200"),
    "crm:import": e("302 403 403 403 200 200"),
    "crm:import_mapping": e(
        "302 403 403 403 200 200", public_id="@import_job.public_id"
    ),
    "crm:import_progress": e(
        "302 403 403 403 200 200", public_id="@import_job.public_id"
    ),
    "crm:import_report": e(
        "302 403 403 403 200 200", public_id="@import_job.public_id"
    ),
    "crm:import_retry": e(
        "302 403 403 403 302 302", method="post", public_id="@import_job.public_id"
    ),
    "crm:imports": e("302 403 403 403 200 200"),
    "crm:interaction_log": e(
        "302 403 403 200 200 200", method="post", pk="@contact_a.pk"
    ),
    "crm:merge": e("302 403 403 403 302 302"),
    "crm:message_template": e("302 403 403 200 200 200", pk="@template.pk"),
    "crm:message_template_preview": e(
        "302 403 403 200 200 200", method="post", pk="@template.pk"
    ),
    "crm:message_templates": e("302 403 403 200 200 200"),
    "crm:onboarding_step_add": e("302 403 403 403 302 302", method="post"),
    "crm:onboarding_step_delete": e(
        "302 403 403 403 200 200", pk="@onboarding_step.pk"
    ),
    "crm:outreach": e("302 403 403 200 200 200"),
    "crm:outreach_message": e("302 403 403 200 200 200", pk="@message.pk"),
    "crm:outreach_message_retry": e(
        "302 403 403 403 302 302", method="post", pk="@message.pk"
    ),
    "crm:outreach_preferences": e(
        "200 200 200 200 200 200", token="@unsubscribe_token"
    ),
    "crm:outreach_unsubscribe": e(
        "200 200 200 200 200 200", token="@unsubscribe_token"
    ),
    "crm:preview_contacts": e("302 403 403 200 200 200"),
    "crm:purchase_record": e(
        "302 403 403 200 200 200", method="post", pk="@contact_a.pk"
    ),
    "crm:segment_save": e("302 403 403 302 302 302", method="post"),
    "crm:task_complete": e("302 403 403 302 302 302", method="post", pk="@task.pk"),
    "crm:task_reassign": e("302 403 403 302 302 302", method="post", pk="@task.pk"),
    "crm:tasks": e("302 403 403 200 200 200"),
    "feedback:portal_review": e("302 200 200 403 403 403"),
    "feedback:public_reviews": e("200 200 200 200 200 200"),
    "feedback:public_survey": e("200 200 200 200 200 200", token="@invitation.token"),
    "feedback:public_survey_review": e(
        "302 302 302 302 302 302", token="@invitation.token"
    ),
    "feedback:review_moderate": e(
        "302 403 403 403 302 302", method="post", pk="@review.pk"
    ),
    "feedback:reviews": e("302 403 403 200 200 200"),
    "feedback:reviews_feed": e("200 200 200 200 200 200"),
    "feedback:survey": e("302 403 403 200 200 200", pk="@survey.pk"),
    "feedback:survey_edit": e("302 403 403 403 200 200", pk="@survey.pk"),
    "feedback:survey_export": e("302 403 403 200 200 200", pk="@survey.pk"),
    "feedback:survey_new": e("302 403 403 403 200 200"),
    "feedback:survey_preview": e(
        "302 403 403 200 200 200", pk="@survey.pk", language="ko"
    ),
    "feedback:survey_send": e(
        "302 403 403 403 302 302", method="post", pk="@survey.pk"
    ),
    "feedback:surveys": e("302 403 403 200 200 200"),
    "feedback:ticket": e("302 403 403 200 200 200", pk="@ticket_a.pk"),
    "feedback:ticket_delete": e(
        "302 403 403 403 302 302", method="post", pk="@ticket_a.pk"
    ),
    "feedback:ticket_new": e("302 403 403 200 200 200"),
    "feedback:ticket_reply": e(
        "302 403 403 302 302 302", method="post", pk="@ticket_a.pk"
    ),
    "feedback:ticket_tags": e(
        "302 403 403 302 302 302", method="post", pk="@ticket_a.pk"
    ),
    "feedback:ticket_update": e(
        "302 403 403 302 302 302", method="post", pk="@ticket_a.pk"
    ),
    "feedback:tickets": e("302 403 403 200 200 200"),
    "health": e("200 200 200 200 200 200"),
    "home": e("302 403 403 200 200 200"),
    "login": e("200 302 302 302 302 302"),
    "logout": e("302 302 302 302 302 302", method="post"),
    "loyalty:contact_adjust": e(
        "302 403 403 403 302 302", method="post", contact_id="@contact_a.pk"
    ),
    "loyalty:contact_redeem": e(
        "302 403 403 302 302 302", method="post", contact_id="@contact_a.pk"
    ),
    "loyalty:contact_referral": e(
        "302 403 403 302 302 302", method="post", contact_id="@contact_a.pk"
    ),
    "loyalty:overview": e("302 403 403 200 200 200"),
    "loyalty:redemption_cancel": e(
        "302 403 403 403 200 200", public_id="@voucher_a.public_id"
    ),
    "portal:enter": e("410 410 410 410 410 410"),
    "portal:history": e("302 200 200 403 403 403"),
    "portal:home": e("302 200 200 403 403 403"),
    "portal:join": e("200 200 200 200 200 200", code="@account_a.referral_code"),
    "portal:language": e("302 302 302 403 403 403", method="post"),
    "portal:link_request": e("400 400 400 400 400 400", method="post"),
    "portal:login": e("200 302 302 302 302 302"),
    "portal:logout": e("302 302 302 302 302 302", method="post"),
    "portal:preferences": e("302 200 200 403 403 403"),
    "portal:redeem": e("302 200 200 403 403 403", pk="@reward.pk"),
    "portal:referrals": e("302 200 200 403 403 403"),
    "portal:rewards": e("302 200 200 403 403 403"),
    "portal:ticket": e("302 200 404 403 403 403", public_id="@ticket_a.public_id"),
    "portal:ticket_new": e("302 200 200 403 403 403"),
    "portal:tickets": e("302 200 200 403 403 403"),
    "portal:voucher": e("302 200 404 403 403 403", public_id="@voucher_a.public_id"),
    "portal:vouchers": e("302 200 200 403 403 403"),
    "schema": e("401 403 403 200 200 200"),
    "set_language": e("302 302 302 302 302 302", method="post"),
    # Two-factor sign-in (crm/views/security.py).
    "login_verify": e(
        "302 302 302 302 302 302"
    ),  # no code pending: on to the next page
    "account_security": e("302 403 403 200 200 200"),
    # Personal data (privacy issue): exports and erasure.
    "crm:privacy_export": e(
        "302 403 403 403 302 302", method="post", pk="@contact_a.pk"
    ),
    "crm:privacy_erase": e("302 403 403 403 200 200", pk="@contact_a.pk"),
    "crm:privacy_export_status": e(
        "302 403 403 403 302 302", public_id="@export_a.public_id"
    ),
    "crm:privacy_export_download": e(
        "302 403 403 403 410 410", public_id="@export_a.public_id"
    ),
    "api:audit-entry-list": e("401 403 403 403 403 200"),
    "api:audit-entry-detail": e("401 403 403 403 403 404", pk="0"),
    "api:contact-consents": e("401 403 403 200 200 200", pk="@contact_a.pk"),
    "api:contact-erase": e(
        "401 403 403 403 400 400", method="post", pk="@contact_a.pk"
    ),
    "api:contact-personal-data-export": e(
        "401 403 403 403 200 200", pk="@contact_a.pk"
    ),
    "api:privacy-export": e("401 403 403 403 200 200", public_id="@export_a.public_id"),
    "api:privacy-export-download": e(
        "401 403 403 403 410 410", public_id="@export_a.public_id"
    ),
    "portal:my_data": e("302 200 200 403 403 403"),
    "portal:my_data_export_request": e("302 302 302 403 403 403", method="post"),
    "portal:my_data_export": e(
        "302 302 404 403 403 403", public_id="@export_a.public_id"
    ),
    "portal:my_data_download": e(
        "302 410 404 403 403 403", public_id="@export_a.public_id"
    ),
    "portal:erase_request": e("302 200 200 403 403 403", method="post"),
    "portal:erase_confirm": e("400 400 400 400 400 400", token="not-a-real-token"),
    # Admin's own pages (its model pages come from ADMIN_MODELS).
    # django-otp's admin pages with a device's secret: Admins only.
    "admin:otp_totp_totpdevice_config": e(
        "302 302 302 302 403 200", pk="@admin:otp_totp.totpdevice"
    ),
    "admin:otp_totp_totpdevice_qrcode": e(
        "302 302 302 302 403 200", pk="@admin:otp_totp.totpdevice"
    ),
    "admin:index": e("302 302 302 302 200 200"),
    "admin:login": e("200 200 200 200 302 302"),
    "admin:logout": e("302 302 302 302 302 302", method="post"),
    "admin:password_change": e("302 302 302 302 200 200"),
    "admin:password_change_done": e("302 302 302 302 200 200"),
    "admin:autocomplete": e("302 302 302 302 403 403"),
    "admin:jsi18n": e("302 302 302 302 200 200"),
    "admin:app_list": e("302 302 302 302 200 200", app_label="crm"),
    "admin:view_on_site": e(
        "302 302 302 302 302 302",
        content_type_id="@contact_content_type.pk",
        object_id="@contact_a.pk",
    ),
    "admin:auth_user_password_change": e(
        "302 302 302 302 403 200", id="@contact_a.user_id"
    ),
    "admin/(?P<url>.*)$": e("302 302 302 302 404 404", path="/admin/no-such-page/"),
}


def _admin_routes() -> dict[str, Expect]:
    """ADMIN_MODELS spelled out as route → Expect, plus the bare object URL (a redirect)."""
    expanded: dict[str, Expect] = {}
    for label, (manager, admin) in ADMIN_MODELS.items():
        app_label, model_name = label.split(".")
        for action, for_manager, for_admin in zip(
            ADMIN_ACTIONS, manager.split(), admin.split(), strict=True
        ):
            args = (
                {"object_id": f"@admin:{label}"}
                if action not in {"changelist", "add"}
                else {}
            )
            expanded[f"admin:{app_label}_{model_name}_{action}"] = e(
                f"302 302 302 302 {for_manager} {for_admin}", **args
            )
        expanded[f"admin/{app_label}/{model_name}/<path:object_id>/"] = e(
            "302 302 302 302 302 302", path=f"@admin-object-url:{label}"
        )
    return expanded


EXPECTED: dict[str, Expect] = {**ROUTES, **_admin_routes()}


# --- The tests ------------------------------------------------------------------------------


def _suggestion(key: str, pattern: str) -> str:
    match = re.fullmatch(r"admin:(\w+?)_(\w+)_changelist", key)
    if match:
        return (
            f'ADMIN_MODELS: "{match[1]}.{match[2]}": READ_ONLY,  # or FULL, NO_ADD, …'
        )
    args = ", ".join(
        f'{name}="@…"'
        for name in re.findall(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>", pattern)
        and [a or b for a, b in re.findall(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>", pattern)]
    )
    args = f", {args}" if args else ""
    return f'ROUTES: "{key}": e("??? ??? ??? ??? ??? ???"{args}),  # {pattern}'


def test_every_route_is_in_the_table():
    """A new URL must say what each role gets: add the printed lines to the table."""
    routes = all_routes()
    admin_details = re.compile(r"admin:(\w+?)_(\w+)_(add|change|delete|history)$")
    admin_bare = re.compile(r"admin/(\w+)/(\w+)/<path:object_id>/$")
    missing = [
        _suggestion(key, pattern)
        for key, pattern in sorted(routes.items())
        if key not in EXPECTED
        and not admin_details.match(key)  # reported once, by their changelist
        and not admin_bare.match(key)
    ]
    missing += [
        f"{key} (its model is missing from ADMIN_MODELS)"
        for key in sorted(routes)
        if key not in EXPECTED
        and (admin_details.match(key) or admin_bare.match(key))
        and not any(line.startswith("ADMIN_MODELS") for line in missing)
    ]
    assert not missing, (
        "Routes the role matrix (tests/test_route_matrix.py) does not list yet; add:\n  "
        + "\n  ".join(missing)
    )


def test_the_table_lists_no_route_that_is_gone():
    gone = sorted(set(EXPECTED) - set(all_routes()))
    assert not gone, (
        f"Remove from the role matrix, these routes no longer exist: {gone}"
    )


CASES = [(key, role) for key in sorted(EXPECTED) for role in ROLES]


def _url(world: World, key: str, expect: Expect) -> str:
    if expect.path:
        return world.value(expect.path)
    return reverse(key, kwargs={name: world.value(v) for name, v in expect.args})


def _body(response: Any) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return bytes(response.content)


@pytest.mark.parametrize(("key", "role"), CASES, ids=[f"{k}-{r}" for k, r in CASES])
def test_each_role_gets_exactly_what_the_table_says(world, db, key, role):
    expect = EXPECTED[key]
    expected = expect.statuses[ROLES.index(role)]
    url = _url(world, key, expect)
    client = Client()
    if role != "anonymous":
        client.force_login(world.users[role])
    response = getattr(client, expect.method)(url)
    assert response.status_code == expected, (
        f"{role} {expect.method.upper()} {url}: {response.status_code}, "
        f"the table says {expected}"
    )
    if expected >= 300 or (role == "customer_b" and url.startswith("/portal/")):
        # Refused, redirected, or B's own portal: nothing of customer A may leak. (Pages
        # opened by a signed token from A's email, such as email preferences, show A's name
        # to whoever holds the token, by design.)
        body = _body(response)
        for secret in (SECRET_A, world.voucher_a.voucher_code, world.ticket_a.subject):
            assert secret.encode() not in body, f"{role} on {url} sees {secret!r}"


def test_another_customers_objects_are_404_in_the_portal(world):
    """Customer B's 404s are the portal pages of A's objects, nothing else (DESIGN §4.5)."""
    refused = {key for key, exp in EXPECTED.items() if exp.statuses[2] == 404}
    assert {"portal:voucher", "portal:ticket"} <= refused
