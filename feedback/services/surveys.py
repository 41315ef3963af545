"""Survey writes: surveys and questions, invitations (cap, reminders, triggers) and responses."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from crm import hooks
from crm.models import Contact, Purchase, Segment, Task, User
from crm.roles import STAFF_ROLES, role_of
from crm.selectors import contact_filter
from crm.services import task_create
from feedback.models import Answer, Invitation, Question, Response, Survey

# The default questions of each kind, in English and Korean (the first market).
NPS_REASON = (
    "What is the main reason for your score?",
    "그렇게 평가하신 가장 큰 이유는 무엇인가요?",
)
DEFAULT_QUESTIONS: dict[str, list[dict[str, Any]]] = {
    Survey.Kind.NPS: [
        {
            "type": Question.Type.RATING_SCALE,
            "text": "How likely are you to recommend us to a friend or colleague?",
            "text_ko": "저희를 친구나 동료에게 추천하실 가능성은 얼마나 되나요?",
            "min_value": 0,
            "max_value": 10,
            "is_score": True,
        },
        {
            "type": Question.Type.FREE_TEXT,
            "text": NPS_REASON[0],
            "text_ko": NPS_REASON[1],
            "required": False,
        },
    ],
    Survey.Kind.CSAT: [
        {
            "type": Question.Type.RATING_SCALE,
            "text": "How satisfied are you with our service?",
            "text_ko": "저희 서비스에 얼마나 만족하시나요?",
            "min_value": 1,
            "max_value": 5,
            "is_score": True,
        },
        {
            "type": Question.Type.FREE_TEXT,
            "text": "What could we do better?",
            "text_ko": "저희가 무엇을 더 잘할 수 있을까요?",
            "required": False,
        },
    ],
    Survey.Kind.CES: [
        {
            "type": Question.Type.RATING_SCALE,
            "text": "How easy was it to get what you needed?",
            "text_ko": "원하시는 것을 얼마나 쉽게 해결하셨나요?",
            "min_value": 1,
            "max_value": 7,
            "is_score": True,
        },
        {
            "type": Question.Type.FREE_TEXT,
            "text": "What made it easy or hard?",
            "text_ko": "무엇이 쉽거나 어려웠나요?",
            "required": False,
        },
    ],
    Survey.Kind.CUSTOM: [],
}
SCORE_RANGES = {
    Survey.Kind.NPS: (0, 10),
    Survey.Kind.CSAT: (1, 5),
    Survey.Kind.CES: (1, 7),
}
QUESTION_FIELDS = {
    "type",
    "text",
    "text_en",
    "text_ko",
    "choices",
    "choices_en",
    "choices_ko",
    "min_value",
    "max_value",
    "required",
    "is_score",
    "show_if",
}
SURVEY_FIELDS = {
    "after_ticket_resolved",
    "title",
    "title_en",
    "title_ko",
    "kind",
    "active",
    "follow_up_question",
    "follow_up_question_en",
    "follow_up_question_ko",
    "max_reminders",
    "reminder_interval_days",
    "expiry_days",
    "days_after_purchase",
}


class SurveyLinkError(Exception):
    """A survey link that cannot be answered: unknown (404) or expired (410)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason  # "unknown" | "expired"
        self.message = message


@dataclass
class InvitationBatch:
    """What ``invitations_create`` did: who was invited and who was skipped, with why."""

    invited: list[Invitation] = field(default_factory=list)
    skipped: list[tuple[Contact, str]] = field(default_factory=list)


@dataclass
class SubmitResult:
    response: Response
    created: bool  # False: the link was already used; the first answers were kept


def survey_public_path(invitation: Invitation) -> str:
    return reverse("feedback:public_survey", args=[invitation.token])


def survey_public_url(invitation: Invitation) -> str:
    """The absolute link when PUBLIC_BASE_URL is set (emails need it), else the path."""
    base = getattr(settings, "PUBLIC_BASE_URL", "").rstrip("/")
    return base + survey_public_path(invitation)


def _emit(invitation: Invitation, event: str) -> None:
    data = {
        "invitation_id": invitation.pk,
        "survey_id": invitation.survey_id,
        "url": survey_public_url(invitation),
        "expires_at": invitation.expires_at.isoformat(),
        "reminder": invitation.reminders_sent,
        # Outreach answers a ticket's CSAT invitation with its own occasion and text.
        "trigger": (
            "after_ticket_resolved"
            if invitation.source == Invitation.Source.TRIGGER
            and invitation.survey.after_ticket_resolved
            else invitation.source
        ),
    }
    for function in hooks.contact_events:
        function(contact_id=invitation.contact_id, event=event, data=data)


# Surveys -----------------------------------------------------------------------------------


def _check_question(data: Mapping[str, Any], position: int) -> dict[str, Any]:
    label = _("Question %(number)s") % {"number": position}
    if unknown := set(data) - QUESTION_FIELDS:
        raise ValidationError(
            {
                "questions": _("%(question)s: unknown fields %(fields)s.")
                % {"question": label, "fields": ", ".join(sorted(unknown))}
            }
        )
    clean = dict(data)
    if not clean.get("text") and clean.get("text_en"):
        clean["text"] = clean["text_en"]
    if not clean.get("choices") and clean.get("choices_en"):
        clean["choices"] = clean["choices_en"]
    qtype = clean.get("type")
    if qtype not in Question.Type.values:
        raise ValidationError(
            {
                "questions": _("%(question)s: choose a type from %(types)s.")
                % {"question": label, "types": ", ".join(Question.Type.values)}
            }
        )
    if not (clean.get("text") or clean.get("text_en")):
        raise ValidationError(
            {
                "questions": _("%(question)s: the text is required.")
                % {"question": label}
            }
        )
    if qtype == Question.Type.RATING_SCALE:
        low, high = clean.get("min_value"), clean.get("max_value")
        if low is None or high is None or int(low) >= int(high):
            raise ValidationError(
                {
                    "questions": _(
                        "%(question)s: a rating needs a minimum below its maximum."
                    )
                    % {"question": label}
                }
            )
    if qtype in (Question.Type.SINGLE_CHOICE, Question.Type.MULTIPLE_CHOICE):
        options = clean.get("choices") or clean.get("choices_en")
        if not isinstance(options, list) or len(options) < 2:
            raise ValidationError(
                {
                    "questions": _("%(question)s: give at least two choices.")
                    % {"question": label}
                }
            )
    show_if = clean.get("show_if")
    if show_if is not None and not (
        isinstance(show_if, dict)
        and isinstance(show_if.get("question"), int)
        and 0 < show_if["question"] < position
        and isinstance(show_if.get("values"), list)
    ):
        raise ValidationError(
            {
                "questions": ValidationError(
                    _(
                        "%(question)s: “show if” needs an earlier question number and a list of values."
                    ),
                    code="show_if",
                    params={"question": label, "position": position},
                )
            }
        )
    return clean


def _replace_questions(survey: Survey, questions: Iterable[Mapping[str, Any]]) -> None:
    cleaned = [_check_question(q, i) for i, q in enumerate(questions, start=1)]
    if sum(1 for q in cleaned if q.get("is_score")) > 1:
        raise ValidationError(
            {"questions": _("Only one question can be the main score.")}
        )
    survey.questions.all().delete()
    for order, data in enumerate(cleaned, start=1):
        question = Question(survey=survey, order=order, **data)
        question.full_clean(exclude=["survey"])
        question.save()


@transaction.atomic
def survey_create(
    *,
    title: str,
    kind: str = Survey.Kind.NPS,
    created_by: User | None = None,
    questions: list[Mapping[str, Any]] | None = None,
    **fields: Any,
) -> Survey:
    """A survey; without ``questions`` it gets its kind's standard questions (in en and ko)."""
    if unknown := set(fields) - SURVEY_FIELDS:
        raise ValidationError(
            {name: _("This field cannot be set.") for name in unknown}
        )
    survey = Survey(
        title=(title or "").strip(), kind=kind, created_by=created_by, **fields
    )
    survey.full_clean()
    survey.save()
    _replace_questions(
        survey, DEFAULT_QUESTIONS[kind] if questions is None else questions
    )
    return survey


@transaction.atomic
def survey_update(
    *, survey: Survey, questions: list[Mapping[str, Any]] | None = None, **fields: Any
) -> Survey:
    """Change a survey's settings; questions can be replaced only until the first response."""
    if unknown := set(fields) - SURVEY_FIELDS:
        raise ValidationError(
            {name: _("This field cannot be set.") for name in unknown}
        )
    survey = Survey.objects.select_for_update().get(pk=survey.pk)
    if "kind" in fields and fields["kind"] != survey.kind and survey.responses.exists():
        raise ValidationError({"kind": _("The kind cannot change once answers exist.")})
    for name, value in fields.items():
        setattr(survey, name, value.strip() if isinstance(value, str) else value)
    survey.full_clean()
    survey.save()
    if questions is not None:
        if survey.responses.exists():
            raise ValidationError(
                {
                    "questions": _(
                        "Questions cannot change once answers exist; copy the survey."
                    )
                }
            )
        _replace_questions(survey, questions)
    return survey


# Invitations -------------------------------------------------------------------------------


def cap_days() -> int:
    return int(getattr(settings, "SURVEY_CONTACT_CAP_DAYS", 30))


@transaction.atomic
def invitations_create(
    *,
    survey: Survey,
    contacts: Iterable[Contact] | None = None,
    segment: Segment | None = None,
    source: str = Invitation.Source.MANUAL,
    send_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> InvitationBatch:
    """Invite contacts (or a segment's members), skipping anyone invited to any survey in the
    last ``SURVEY_CONTACT_CAP_DAYS`` days; invitations due now are emitted as ``survey_invited``."""
    now = now or timezone.now()
    if not survey.active:
        raise ValidationError({"survey": _("This survey is not active.")})
    if (contacts is None) == (segment is None):
        raise ValidationError(_("Give either contacts or a segment."))
    if segment is not None:
        qs = contact_filter(Contact.objects.all(), {"segment": [str(segment.pk)]})
        source = (
            Invitation.Source.SEGMENT if source == Invitation.Source.MANUAL else source
        )
    else:
        qs = Contact.objects.filter(pk__in=[c.pk for c in contacts or []])
    # Lock the contacts so two concurrent sends cannot both pass the cap check.
    targets = list(qs.select_for_update(of=("self",)).order_by("pk"))
    since = now - dt.timedelta(days=cap_days())
    recent = set(
        Invitation.objects.filter(
            contact__in=[c.pk for c in targets], created_at__gt=since
        ).values_list("contact_id", flat=True)
    )
    batch = InvitationBatch()
    send_at = send_at or now
    expires_at = send_at + dt.timedelta(days=survey.expiry_days)
    for contact in targets:
        if contact.pk in recent:
            batch.skipped.append(
                (
                    contact,
                    _("Invited in the last %(days)s days.") % {"days": cap_days()},
                )
            )
            continue
        invitation = Invitation.objects.create(
            survey=survey,
            contact=contact,
            send_at=send_at,
            expires_at=expires_at,
            sent_at=now if send_at <= now else None,
            source=source,
        )
        if invitation.sent_at is not None:
            _emit(invitation, "survey_invited")
        batch.invited.append(invitation)
    return batch


@transaction.atomic
def invitations_send_due(*, now: dt.datetime, limit: int = 500) -> int:
    """Emit triggered invitations whose send date has come; each is claimed once."""
    ids = list(
        Invitation.objects.filter(sent_at__isnull=True, send_at__lte=now)
        .order_by("send_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    sent = 0
    for invitation in Invitation.objects.filter(pk__in=ids).select_for_update(
        skip_locked=True
    ):
        # Conditional claim: a second beat finds sent_at already set and does nothing.
        if Invitation.objects.filter(pk=invitation.pk, sent_at__isnull=True).update(
            sent_at=now
        ):
            invitation.sent_at = now
            if invitation.expires_at > now:
                _emit(invitation, "survey_invited")
                sent += 1
    return sent


def invitations_due_reminders(now: dt.datetime) -> list[Invitation]:
    """Sent, unanswered, unexpired invitations below their survey's reminder limit whose last
    message (invitation or reminder) is at least the survey's interval old."""
    candidates = (
        Invitation.objects.open(now)
        .filter(sent_at__isnull=False, reminders_sent__lt=F("survey__max_reminders"))
        .select_related("survey")
        .order_by("pk")
    )
    due = []
    for invitation in candidates:
        last = invitation.last_reminded_at or invitation.sent_at
        assert last is not None
        if now - last >= dt.timedelta(days=invitation.survey.reminder_interval_days):
            due.append(invitation)
    return due


@transaction.atomic
def invitation_reminders_send(*, now: dt.datetime) -> int:
    """Emit one ``survey_reminder`` per due invitation; the conditional update makes a retried
    run harmless (the counter it matched has moved on)."""
    sent = 0
    for invitation in invitations_due_reminders(now):
        claimed = Invitation.objects.filter(
            pk=invitation.pk,
            reminders_sent=invitation.reminders_sent,
            responded_at__isnull=True,
        ).update(reminders_sent=F("reminders_sent") + 1, last_reminded_at=now)
        if claimed:
            invitation.reminders_sent += 1
            invitation.last_reminded_at = now
            _emit(invitation, "survey_reminder")
            sent += 1
    return sent


def invite_after_purchase(*, purchase_id: int) -> None:
    """crm ``purchase_recorded``: schedule each "N days after a purchase" survey for the buyer."""
    purchase = Purchase.objects.select_related("contact").get(pk=purchase_id)
    surveys = Survey.objects.filter(active=True, days_after_purchase__isnull=False)
    for survey in surveys:
        assert survey.days_after_purchase is not None
        invitations_create(
            survey=survey,
            contacts=[purchase.contact],
            source=Invitation.Source.TRIGGER,
            send_at=purchase.occurred_at
            + dt.timedelta(days=survey.days_after_purchase),
        )


def invite_after_ticket_resolved(*, contact_id: int) -> int:
    """A resolved ticket invites its contact to every active "after a ticket" survey (CSAT)."""
    contact = Contact.objects.get(pk=contact_id)
    invited = 0
    for survey in Survey.objects.filter(active=True, after_ticket_resolved=True):
        batch = invitations_create(
            survey=survey, contacts=[contact], source=Invitation.Source.TRIGGER
        )
        invited += len(batch.invited)
    return invited


def survey_contacts_merge(*, survivor_id: int, merged_id: int) -> None:
    """crm ``contact_merged``: the merged contact's invitations, responses and reviews move."""
    from feedback.models import Review

    Invitation.objects.filter(contact_id=merged_id).update(contact_id=survivor_id)
    Response.objects.filter(contact_id=merged_id).update(contact_id=survivor_id)
    Review.objects.filter(contact_id=merged_id).update(contact_id=survivor_id)


# Responses ---------------------------------------------------------------------------------


def question_is_shown(question: Question, values_by_order: Mapping[int, Any]) -> bool:
    """A conditional question shows when the earlier answer (or one of its choices) matches."""
    if not question.show_if:
        return True
    given = values_by_order.get(int(question.show_if["question"]))
    wanted = question.show_if.get("values", [])
    if isinstance(given, list):
        return any(v in wanted for v in given)
    return given is not None and given in wanted


def _options(question: Question) -> list[str]:
    """Choices are matched by their position-independent English label (stored values)."""
    return [str(c) for c in (question.choices_en or question.choices or [])]  # type: ignore[attr-defined]


def _parse(question: Question, raw: Any) -> Any:
    """The stored value of one answer, or None when empty; raises ValueError with a message."""
    name = question.text
    if raw in (None, "", []):
        return None
    if question.type == Question.Type.RATING_SCALE:
        try:
            value = int(str(raw).strip())
        except ValueError:
            raise ValueError(
                _("“%(question)s”: give a whole number.") % {"question": name}
            ) from None
        low, high = question.min_value, question.max_value
        if low is not None and high is not None and not low <= value <= high:
            raise ValueError(
                _("“%(question)s”: choose a value from %(min)s to %(max)s.")
                % {"question": name, "min": low, "max": high}
            )
        return value
    if question.type == Question.Type.SINGLE_CHOICE:
        if isinstance(raw, list):
            raw = raw[0] if len(raw) == 1 else raw
        if not isinstance(raw, str) or raw not in _options(question):
            raise ValueError(
                _("“%(question)s”: choose one of the offered answers.")
                % {"question": name}
            )
        return raw
    if question.type == Question.Type.MULTIPLE_CHOICE:
        values = raw if isinstance(raw, list) else [raw]
        if not all(isinstance(v, str) and v in _options(question) for v in values):
            raise ValueError(
                _("“%(question)s”: choose only offered answers.") % {"question": name}
            )
        return sorted(set(values), key=_options(question).index)
    text = str(raw).strip()
    if len(text) > 5000:
        raise ValueError(
            _("“%(question)s”: keep it under 5000 characters.") % {"question": name}
        )
    return text or None


def answers_validate(
    *, questions: list[Question], answers: Mapping[str, Any], language: str
) -> dict[int, Any]:
    """Clean values keyed by question id; a ``ValidationError`` keyed ``q<id>`` names the
    question (in ``language``). Hidden conditional questions are dropped."""
    errors: dict[str, str] = {}
    values: dict[int, Any] = {}
    by_order: dict[int, Any] = {}
    with translation.override(language):
        for question in questions:
            if not question_is_shown(question, by_order):
                continue
            raw = answers.get(str(question.pk), answers.get(question.pk))  # type: ignore[call-overload]
            try:
                value = _parse(question, raw)
            except ValueError as error:
                errors[f"q{question.pk}"] = str(error)
                continue
            if value is None:
                if question.required:
                    errors[f"q{question.pk}"] = _("“%(question)s” needs an answer.") % {
                        "question": question.text
                    }
                continue
            values[question.pk] = value
            by_order[question.order] = value
    if errors:
        raise ValidationError(errors)
    return values


def invitation_for_token(token: str, *, now: dt.datetime | None = None) -> Invitation:
    """The invitation behind a link; unknown → SurveyLinkError("unknown"), expired → "expired".
    An answered link is returned as is: the caller shows the thank-you page."""
    now = now or timezone.now()
    invitation = (
        Invitation.objects.select_related("survey", "contact")
        .filter(token=token or "")
        .first()
    )
    if invitation is None or len(token) > 64:
        raise SurveyLinkError("unknown", _("This survey link is not valid."))
    if invitation.responded_at is None and invitation.expires_at <= now:
        raise SurveyLinkError("expired", _("This survey link has expired."))
    return invitation


def is_detractor(survey: Survey, score: int | None) -> bool:
    if score is None:
        return False
    if survey.kind == Survey.Kind.NPS:
        return score <= 6
    if survey.kind == Survey.Kind.CSAT:
        return score <= 2
    return False


def _follow_up_assignee(contact: Contact) -> User | None:
    if contact.owner is not None and role_of(contact.owner) in STAFF_ROLES:
        return contact.owner
    email = getattr(settings, "FEEDBACK_DEFAULT_ASSIGNEE", "")
    if email:
        user = User.objects.filter(email__iexact=email, is_active=True).first()
        if user is not None and role_of(user) in STAFF_ROLES:
            return user
    return None


def _follow_up(response: Response, now: dt.datetime) -> Task | None:
    contact = response.contact
    assignee = _follow_up_assignee(contact)
    if assignee is None:
        return None  # nobody to give it to: the results page still lists the detractor
    hours = int(getattr(settings, "FEEDBACK_FOLLOW_UP_HOURS", 48))
    with translation.override(assignee.language or settings.LANGUAGE_CODE):
        title = _("Follow up on %(survey)s score %(score)s from %(contact)s") % {
            "survey": response.survey.get_kind_display(),
            "score": response.score,
            "contact": contact.display_name,
        }
        notes = _("Response #%(id)s to “%(title)s”.") % {
            "id": response.pk,
            "title": response.survey.title,
        }
    return task_create(
        title=title[:200],
        notes=notes,
        due_at=now + dt.timedelta(hours=hours),
        assignee=assignee,
        created_by=None,
        contact=contact,
    )


@transaction.atomic
def response_submit(
    *,
    token: str,
    answers: Mapping[str, Any],
    language: str,
    now: dt.datetime | None = None,
) -> SubmitResult:
    """Record the answers to a personal link once; a second submit keeps the first answers.
    A detractor (NPS 0-6, CSAT 1-2) becomes a follow-up task for the contact's owner."""
    now = now or timezone.now()
    invitation = invitation_for_token(token, now=now)
    # Lock the link so two simultaneous submits cannot both create a response.
    invitation = (
        Invitation.objects.select_for_update(of=("self",))
        .select_related("survey", "contact", "contact__owner")
        .get(pk=invitation.pk)
    )
    if invitation.responded_at is not None:
        return SubmitResult(response=invitation.response, created=False)
    survey = invitation.survey
    questions = list(survey.questions.order_by("order"))
    languages = [code for code, _name in settings.LANGUAGES]
    language = language if language in languages else invitation.contact.language
    values = answers_validate(questions=questions, answers=answers, language=language)
    score_question = next((q for q in questions if q.is_score), None)
    score = values.get(score_question.pk) if score_question is not None else None
    response = Response.objects.create(
        invitation=invitation,
        survey=survey,
        contact=invitation.contact,
        submitted_at=now,
        language=language,
        score=score if isinstance(score, int) else None,
    )
    Answer.objects.bulk_create(
        Answer(response=response, question_id=qid, value=value)
        for qid, value in values.items()
    )
    invitation.responded_at = now
    invitation.save(update_fields=["responded_at", "updated_at"])
    if is_detractor(survey, response.score):
        response.follow_up_task = _follow_up(response, now)
        if response.follow_up_task is not None:
            response.save(update_fields=["follow_up_task"])
    return SubmitResult(response=response, created=True)
