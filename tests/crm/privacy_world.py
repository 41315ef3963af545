"""A contact with personal data in every app, made the real way (services), for the privacy
tests: each identifying value is a unique random string, so a search can find every copy."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field
from decimal import Decimal

from axes.models import AccessAttempt
from django.core.files.base import ContentFile
from django.utils import timezone

from crm.models import (
    AuditEntry,
    Contact,
    DataExport,
    ImportJob,
    ImportRejection,
    OutboundMessage,
    Purchase,
    User,
)
from crm.services import (
    consents_set,
    contact_create,
    contact_merge,
    customer_account_get_or_create,
    interaction_log,
    purchase_record,
    purchase_refund,
    task_create,
)
from crm.services.audit import audit_record
from crm.services.privacy import data_export_request, data_export_run
from feedback.models import Question
from feedback.services.reviews import review_submit
from feedback.services.surveys import (
    invitations_create,
    response_submit,
    survey_create,
)
from feedback.services.tickets import ticket_customer_reply, ticket_open, ticket_reply
from loyalty.models import Program, Reward, Tier
from loyalty.services import account_get_or_create, reward_redeem
from loyalty.services.accounts import points_adjust
from loyalty.services.referrals import referral_register


def unique(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(6)}"


@dataclass
class World:
    contact: Contact
    user: User
    given_name: str
    family_name: str
    email: str
    phone: str
    note: str
    merged_email: str
    texts: list[str] = field(default_factory=list)
    planned_message_id: int = 0
    export: DataExport | None = None

    @property
    def needles(self) -> list[str]:
        """Everything that must be gone after erasure (phone as stored and typed)."""
        return [
            self.given_name,
            self.family_name,
            self.email,
            self.phone,
            self.phone.lstrip("+"),
            self.note,
            self.merged_email,
            *self.texts,
        ]


def _programme() -> None:
    program = Program.load()
    program.points_per_unit = Decimal(1)
    program.referrer_points = 0
    program.referred_points = 0
    program.welcome_bonus = 0
    program.save()
    if not Tier.objects.filter(threshold=0).exists():
        Tier.objects.create(name_en="Member", name_ko="멤버", threshold=Decimal(0))


def populate(*, manager: User, agent: User) -> World:
    """A contact with a profile, portal account, consents, interactions, a task, purchases and
    a refund, points, a redemption, a referral, a survey answer in words, a review, a ticket
    thread, outbox messages, an import rejection and its file, a built export, an audit entry,
    a failed sign-in record and a merged duplicate."""
    _programme()
    given, family = unique("Given"), unique("Family")
    email = f"{unique('person')}@example.com"
    phone = "+8210" + str(secrets.randbelow(10**8)).zfill(8)
    note = unique("Secret note about the person ")
    world = World(
        contact=None,  # type: ignore[arg-type]
        user=None,  # type: ignore[arg-type]
        given_name=given,
        family_name=family,
        email=email,
        phone=phone,
        note=note,
        merged_email=f"{unique('other')}@example.com",
    )
    contact = contact_create(
        actor=manager,
        given_name=given,
        family_name=family,
        email=email,
        phone=phone,
        birthday="1990-04-05",
        country="KR",
        language="en",
        tags=["vip"],
        attributes={"shoe_size": unique("size")},
        consents={"marketing_email": True, "surveys": True},
        ip_address="203.0.113.9",
    )
    world.texts.append(contact.attributes["shoe_size"])
    world.contact = contact
    # A duplicate of the same person, merged in: ContactMerge keeps what it looked like.
    duplicate = contact_create(
        actor=manager, given_name=given, family_name="Dup", email=world.merged_email
    )
    contact_merge(survivor=contact, merged=duplicate, actor=manager)
    contact.refresh_from_db()
    world.user = customer_account_get_or_create(contact=contact)
    consents_set(
        contact=contact,
        consents={"marketing_email": True},
        source="portal",
        ip_address="203.0.113.10",
    )

    interaction_log(contact=contact, author=agent, kind="note", body=note)
    call_text = unique("Called about order ")
    world.texts.append(call_text)
    interaction_log(contact=contact, author=agent, kind="call", subject=call_text)
    task_text = unique("Task notes ")
    world.texts.append(task_text)
    task_create(
        title=f"Call {given}",
        due_at=timezone.now() + dt.timedelta(days=2),
        assignee=agent,
        created_by=manager,
        contact=contact,
        notes=task_text,
    )

    # Money and points.
    account, _created = account_get_or_create(contact=contact)
    purchase, _created = purchase_record(
        contact=contact,
        amount="120.00",
        currency="USD",
        occurred_at=timezone.now() - dt.timedelta(days=3),
        external_id=unique("order-"),
    )
    refund_reason = unique("Refund because ")
    world.texts.append(refund_reason)
    purchase_refund(purchase=purchase, amount="20.00", reason=refund_reason)
    adjust_reason = unique("Goodwill for ")
    world.texts.append(adjust_reason)
    points_adjust(
        account=account,
        points=500,
        reason=adjust_reason,
        actor=manager,
        key=unique("k"),
    )
    reward = Reward.objects.create(name_en="Coffee", name_ko="커피", cost=50)
    reward_redeem(account=account, reward=reward, key=unique("redeem-"))
    friend = contact_create(
        actor=manager, given_name="Friend", email=f"{unique('friend')}@example.org"
    )
    account.refresh_from_db()
    referral_register(referrer_code=account.referral_code, referred_contact=friend)

    # Feedback.
    survey = survey_create(title="How are we doing?", kind="nps", created_by=manager)
    invitation = invitations_create(survey=survey, contacts=[contact]).invited[0]
    questions = list(survey.questions.order_by("order"))
    answer_text = unique("I answered in words ")
    world.texts.append(answer_text)
    response_submit(
        token=invitation.token,
        answers={
            str(q.pk): (9 if q.type == Question.Type.RATING_SCALE else answer_text)
            for q in questions
        },
        language="en",
    )
    review_text = unique("My review says ")
    world.texts.append(review_text)
    review_submit(contact=contact, rating=5, text=review_text, consent_to_publish=True)
    ticket_subject, ticket_body = unique("Broken thing "), unique("Description ")
    reply, customer_reply = unique("Staff reply "), unique("Customer reply ")
    world.texts += [ticket_subject, ticket_body, reply, customer_reply]
    ticket = ticket_open(
        contact=contact, subject=ticket_subject, description=ticket_body, actor=agent
    )
    ticket_reply(ticket=ticket, author=agent, body=reply)
    ticket_customer_reply(ticket=ticket, author=world.user, body=customer_reply)

    # Outreach: one sent (its body names them), one planned for later.
    sent_body = f"Happy birthday, {given}! " + unique("body ")
    world.texts.append(sent_body)
    OutboundMessage.objects.create(
        contact=contact,
        occasion="birthday",
        occurrence="2025",
        purpose="marketing_email",
        subject=f"Dear {given}",
        body_text=sent_body,
        status=OutboundMessage.Status.SENT,
        scheduled_for=timezone.now() - dt.timedelta(days=30),
        sent_at=timezone.now() - dt.timedelta(days=30),
    )
    planned = OutboundMessage.objects.create(
        contact=contact,
        occasion="win_back",
        occurrence="2026",
        purpose="marketing_email",
        scheduled_for=timezone.now() + dt.timedelta(days=5),
    )
    world.planned_message_id = planned.pk

    # An import whose file and rejection report hold their row.
    job = ImportJob(
        original_name="contacts.csv",
        format=ImportJob.Format.CSV,
        status=ImportJob.Status.DONE,
        created_by=manager,
    )
    job.file.save(
        "contacts.csv",
        ContentFile(
            f"email,given_name\nkeep@example.net,Keep\n{email},{given}\n".encode()
        ),
        save=False,
    )
    job.save()
    ImportRejection.objects.create(
        job=job,
        line=3,
        reason="A contact with this email address already exists.",
        data={"email": email, "given_name": given, "phone": phone},
    )

    # A finished export (a ZIP of all the above in media), an audit entry, a failed sign-in.
    export = data_export_request(contact=contact, actor=manager, via="staff")
    data_export_run(export_id=export.pk)
    export.refresh_from_db()
    world.export = export
    audit_record(
        action=AuditEntry.Action.SIGN_IN_FAILED,
        object_type="crm.user",
        contact_id=contact.pk,
        sealed={"email": email, "name": f"{given} {family}"},
        path="/portal/login/",
    )
    AccessAttempt.objects.create(
        username=email,
        ip_address="203.0.113.9",
        user_agent="test",
        get_data="",
        post_data="",
        http_accept="",
        path_info="/portal/login/",
        failures_since_start=1,
    )
    assert Purchase.objects.filter(contact=contact).exists()
    return world
