"""Customer-facing pages without staff chrome: the survey link, reviews and the public feed."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache

from crm.models import Contact
from feedback import services
from feedback.models import Invitation, Question, Review, Survey
from feedback.services.surveys import SurveyLinkError

HIGH_SCORE = {Survey.Kind.NPS: 9, Survey.Kind.CSAT: 4}


class ReviewForm(forms.Form):
    rating = forms.TypedChoiceField(
        label=gettext_lazy("Your rating"),
        choices=[(i, str(i)) for i in range(5, 0, -1)],
        coerce=int,
        widget=forms.RadioSelect,
    )
    text = forms.CharField(
        label=gettext_lazy("Your review"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=2000,
        required=False,
    )
    consent_to_publish = forms.BooleanField(
        label=gettext_lazy("You may publish my review with my first name and country."),
        required=False,
    )


def _link_error(request: HttpRequest, error: SurveyLinkError) -> HttpResponse:
    return render(
        request,
        "feedback/public/link_invalid.html",
        {"reason": error.reason, "message": error.message},
        status=410 if error.reason == "expired" else 404,
    )


def _collect(request: HttpRequest, invitation: Invitation) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for question in invitation.survey.questions.all():
        key = str(question.pk)
        values = request.POST.getlist(f"q{question.pk}")
        answers[key] = (
            values
            if question.type == question.Type.MULTIPLE_CHOICE
            else (values[0] if values else "")
        )
    return answers


def question_rows(
    questions: list[Question],
    *,
    values: dict[str, Any],
    errors: dict[str, str],
    preview: bool = False,
) -> list[dict[str, Any]]:
    """What the survey template shows per question: its options, the given value, its error.
    Conditional questions are always shown (no script) and marked; the service keeps their
    answer only when the answer they depend on matches."""
    rows = []
    for question in questions:
        name = f"q{question.pk}"
        raw = values.get(str(question.pk))
        given = raw if isinstance(raw, list) else [raw]
        if question.type == Question.Type.RATING_SCALE:
            low, high = question.min_value or 0, question.max_value or 0
            options = [
                {"value": str(v), "label": str(v), "checked": str(v) in given}
                for v in range(low, high + 1)
            ]
        else:
            stored = list(
                getattr(question, "choices_en", None) or question.choices or []
            )
            labels = list(question.choices or stored)
            options = [
                {
                    "value": value,
                    "label": labels[i] if i < len(labels) else value,
                    "checked": value in given,
                }
                for i, value in enumerate(stored)
            ]
        rows.append(
            {
                "question": question,
                "name": name,
                "options": options,
                "value": raw if isinstance(raw, str) else "",
                "error": errors.get(name, ""),
            }
        )
    return rows


def _can_review(invitation: Invitation) -> bool:
    response = getattr(invitation, "response", None)
    threshold = HIGH_SCORE.get(invitation.survey.kind)  # type: ignore[call-overload]
    return bool(
        response
        and threshold is not None
        and response.score is not None
        and response.score >= threshold
        and not Review.objects.filter(contact_id=invitation.contact_id).exists()
    )


@never_cache
def public_survey(request: HttpRequest, token: str) -> HttpResponse:
    """The personal survey page, in the invited contact's language; no sign-in."""
    try:
        invitation = services.invitation_for_token(token)
    except SurveyLinkError as error:
        return _link_error(request, error)
    language = invitation.contact.language or settings.LANGUAGE_CODE
    with translation.override(language):
        if invitation.responded_at is not None:
            return render(
                request,
                "feedback/public/thanks.html",
                {
                    "invitation": invitation,
                    "already": request.method == "POST",
                    "can_review": _can_review(invitation),
                    "review_form": ReviewForm(),
                    "language": language,
                },
            )
        survey = invitation.survey
        questions = list(survey.questions.order_by("order"))
        errors: dict[str, str] = {}
        values: dict[str, Any] = {}
        if request.method == "POST":
            answers = _collect(request, invitation)
            values = answers
            try:
                services.response_submit(
                    token=token, answers=answers, language=language
                )
            except SurveyLinkError as error:
                return _link_error(request, error)
            except ValidationError as error:
                errors = {k: " ".join(v) for k, v in error.message_dict.items()}
            else:
                return redirect("feedback:public_survey", token=token)
        return render(
            request,
            "feedback/public/survey.html",
            {
                "survey": survey,
                "rows": question_rows(questions, values=values, errors=errors),
                "errors": errors,
                "preview": False,
                "language": language,
            },
            status=400 if errors else 200,
        )


def _review_page(
    request: HttpRequest, contact: Contact, *, back: str, language: str
) -> HttpResponse:
    with translation.override(language):
        form = ReviewForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            services.review_submit(
                contact=contact, language=language, **form.cleaned_data
            )
            return render(request, "feedback/public/review_thanks.html", {"back": back})
        return render(
            request,
            "feedback/public/review_form.html",
            {"form": form, "back": back},
            status=400 if form.errors else 200,
        )


@never_cache
def public_survey_review(request: HttpRequest, token: str) -> HttpResponse:
    """A review from the thank-you page after a high score; the link identifies the contact."""
    try:
        invitation = services.invitation_for_token(token)
    except SurveyLinkError as error:
        return _link_error(request, error)
    if not _can_review(invitation):
        return redirect("feedback:public_survey", token=token)
    return _review_page(
        request,
        invitation.contact,
        back="",
        language=invitation.contact.language or settings.LANGUAGE_CODE,
    )


@login_required(login_url="portal:login")
def portal_review(request: HttpRequest) -> HttpResponse:
    """A signed-in customer leaves a review from the portal."""
    contact = Contact.objects.filter(user_id=request.user.pk or 0).first()
    if contact is None:
        return render(request, "loyalty/portal/no_membership.html", status=403)
    return _review_page(
        request,
        contact,
        back="portal",
        language=translation.get_language() or settings.LANGUAGE_CODE,
    )


def _public_reviews() -> Any:
    return (
        Review.objects.published()
        .select_related("contact")
        .order_by("-featured", "-created_at", "-id")
    )


def public_reviews(request: HttpRequest) -> HttpResponse:
    """Approved reviews whose authors consented, with first name and country only."""
    return render(
        request, "feedback/public/reviews.html", {"reviews": _public_reviews()[:100]}
    )


def public_reviews_feed(request: HttpRequest) -> JsonResponse:
    items = [
        {
            "id": review.pk,
            "rating": review.rating,
            "text": review.text,
            "first_name": review.contact.given_name,
            "country": str(review.contact.country or ""),
            "featured": review.featured,
            "created_at": review.created_at.isoformat(),
        }
        for review in _public_reviews()[:100]
    ]
    response = JsonResponse({"reviews": items})
    response["Access-Control-Allow-Origin"] = "*"
    return response
