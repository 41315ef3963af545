"""Staff survey pages: list, build, preview, send, results and review moderation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from crm.models import Contact, Segment, User
from crm.permissions import manager_required, staff_required
from crm.roles import MANAGER_ROLES, role_of
from crm.services.audit_events import export_record
from feedback import services
from feedback.models import Question, Review, Survey
from feedback.selectors import surveys as selectors
from feedback.views.public import question_rows


class SurveyForm(forms.Form):
    title_en = forms.CharField(label=gettext_lazy("Title (English)"), max_length=200)
    title_ko = forms.CharField(
        label=gettext_lazy("Title (Korean)"), max_length=200, required=False
    )
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=Survey.Kind.choices)
    active = forms.BooleanField(
        label=gettext_lazy("Active"), required=False, initial=True
    )
    follow_up_question_en = forms.CharField(
        label=gettext_lazy("Thank-you question (English)"),
        max_length=300,
        required=False,
    )
    follow_up_question_ko = forms.CharField(
        label=gettext_lazy("Thank-you question (Korean)"),
        max_length=300,
        required=False,
    )
    max_reminders = forms.IntegerField(
        label=gettext_lazy("Maximum reminders"), min_value=0, max_value=10, initial=1
    )
    reminder_interval_days = forms.IntegerField(
        label=gettext_lazy("Days between reminders"), min_value=1, initial=3
    )
    expiry_days = forms.IntegerField(
        label=gettext_lazy("Link valid for (days)"), min_value=1, initial=14
    )
    days_after_purchase = forms.IntegerField(
        label=gettext_lazy("Send days after a purchase"),
        min_value=0,
        required=False,
        help_text=gettext_lazy("Empty means the survey is only sent by hand."),
    )


class QuestionForm(forms.Form):
    text_en = forms.CharField(label=gettext_lazy("Question (English)"), max_length=300)
    text_ko = forms.CharField(
        label=gettext_lazy("Question (Korean)"), max_length=300, required=False
    )
    type = forms.ChoiceField(label=gettext_lazy("Type"), choices=Question.Type.choices)
    choices_en = forms.CharField(
        label=gettext_lazy("Choices (English, one per line)"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
    )
    choices_ko = forms.CharField(
        label=gettext_lazy("Choices (Korean, one per line)"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
    )
    min_value = forms.IntegerField(label=gettext_lazy("Minimum"), required=False)
    max_value = forms.IntegerField(label=gettext_lazy("Maximum"), required=False)
    required = forms.BooleanField(label=gettext_lazy("Required"), required=False)
    is_score = forms.BooleanField(label=gettext_lazy("Main score"), required=False)
    show_if_question = forms.IntegerField(
        label=gettext_lazy("Show only if question #"),
        min_value=1,
        required=False,
        help_text=gettext_lazy(
            "The number of an earlier question; empty shows it always."
        ),
    )
    show_if_values = forms.CharField(
        label=gettext_lazy("has one of these answers"),
        max_length=500,
        required=False,
        help_text=gettext_lazy("Comma-separated values."),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        number = data.get("show_if_question")
        values = _commas(data.get("show_if_values") or "")
        if number is None and values:
            self.add_error(
                "show_if_question", _("Give the number of an earlier question.")
            )
        elif number is not None and not values:
            self.add_error("show_if_values", _("Give at least one answer."))
        return data


QuestionFormSet = forms.formset_factory(QuestionForm, extra=1, can_delete=True)


class SendForm(forms.Form):
    contact = forms.ModelChoiceField(
        label=gettext_lazy("Contact"),
        queryset=Contact.objects.none(),
        required=False,
        widget=forms.NumberInput,
        help_text=gettext_lazy("The contact's id, from their page."),
    )
    segment = forms.ModelChoiceField(
        label=gettext_lazy("Segment"), queryset=Segment.objects.none(), required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["contact"].queryset = Contact.objects.all()  # type: ignore[attr-defined]
        self.fields["segment"].queryset = Segment.objects.all()  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if bool(data.get("contact")) == bool(data.get("segment")):
            raise ValidationError(_("Choose a contact or a segment."))
        return data


def _lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _commas(text: str) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def _question_data(form: forms.Form) -> dict[str, Any]:
    data = form.cleaned_data
    number = data.get("show_if_question")
    return {
        "show_if": None
        if number is None
        else {"question": number, "values": _commas(data.get("show_if_values") or "")},
        "type": data["type"],
        "text_en": data["text_en"],
        "text_ko": data["text_ko"] or None,
        "choices_en": _lines(data["choices_en"]),
        "choices_ko": _lines(data["choices_ko"]),
        "min_value": data["min_value"],
        "max_value": data["max_value"],
        "required": data["required"],
        "is_score": data["is_score"],
    }


def _question_initial(question: Question) -> dict[str, Any]:
    q = cast(Any, question)
    show_if = q.show_if if isinstance(q.show_if, dict) else {}
    return {
        "text_en": q.text_en,
        "text_ko": q.text_ko,
        "type": q.type,
        "choices_en": "\n".join(q.choices_en or []),
        "choices_ko": "\n".join(q.choices_ko or []),
        "min_value": q.min_value,
        "max_value": q.max_value,
        "required": q.required,
        "is_score": q.is_score,
        "show_if_question": show_if.get("question"),
        "show_if_values": ", ".join(str(v) for v in show_if.get("values") or []),
    }


def _show_errors(
    error: ValidationError, form: forms.Form, questions: list[forms.Form]
) -> None:
    """The service's errors on the page; a question's “show if” error goes on its field."""
    if not hasattr(error, "error_dict"):
        for message in error.messages:
            form.add_error(None, message)
        return
    for errors in error.error_dict.values():
        for item in errors:
            position = (item.params or {}).get("position")
            if (
                item.code == "show_if"
                and isinstance(position, int)
                and 0 < position <= len(questions)
            ):
                for message in item.messages:
                    questions[position - 1].add_error("show_if_question", message)
            else:
                for message in item.messages:
                    form.add_error(None, message)


def _is_manager(request: HttpRequest) -> bool:
    return role_of(request.user) in MANAGER_ROLES


@staff_required
def surveys(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "feedback/surveys/list.html",
        {"surveys": selectors.survey_list()[:200], "is_manager": _is_manager(request)},
    )


def _survey_form_page(request: HttpRequest, survey: Survey | None) -> HttpResponse:
    has_responses = survey is not None and survey.responses.exists()
    if request.method == "POST":
        form = SurveyForm(request.POST)
        formset = QuestionFormSet(request.POST, prefix="questions")
        if form.is_valid() and (survey is None or has_responses or formset.is_valid()):
            fields = {k: v for k, v in form.cleaned_data.items() if k != "title_en"}
            fields["title"] = form.cleaned_data["title_en"]
            fields["title_ko"] = fields["title_ko"] or None
            questions: list[Mapping[str, Any]] | None = None
            kept: list[forms.Form] = []
            if survey is not None and not has_responses:
                kept = [
                    f
                    for f in formset.forms
                    if f.has_changed() and not f.cleaned_data.get("DELETE")
                ]
                questions = [_question_data(f) for f in kept]
            try:
                with translation.override(settings.LANGUAGE_CODE):
                    if survey is None:
                        survey = services.survey_create(
                            created_by=cast(User, request.user), **fields
                        )
                        messages.success(
                            request, _("Survey created with its standard questions.")
                        )
                    else:
                        services.survey_update(
                            survey=survey, questions=questions, **fields
                        )
                        messages.success(request, _("Survey saved."))
                return redirect("feedback:survey", pk=survey.pk)
            except ValidationError as error:
                _show_errors(error, form, kept)
    elif survey is not None:
        s = cast(Any, survey)
        form = SurveyForm(
            initial={
                "title_en": s.title_en,
                "title_ko": s.title_ko,
                "kind": s.kind,
                "active": s.active,
                "follow_up_question_en": s.follow_up_question_en,
                "follow_up_question_ko": s.follow_up_question_ko,
                "max_reminders": s.max_reminders,
                "reminder_interval_days": s.reminder_interval_days,
                "expiry_days": s.expiry_days,
                "days_after_purchase": s.days_after_purchase,
            }
        )
        formset = QuestionFormSet(
            prefix="questions",
            initial=[_question_initial(q) for q in survey.questions.order_by("order")],
        )
    else:
        form = SurveyForm()
        formset = QuestionFormSet(prefix="questions")
    return render(
        request,
        "feedback/surveys/form.html",
        {
            "survey": survey,
            "form": form,
            "formset": formset if survey is not None else None,
            "questions_locked": has_responses,
        },
    )


@manager_required
def survey_new(request: HttpRequest) -> HttpResponse:
    return _survey_form_page(request, None)


@manager_required
def survey_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _survey_form_page(request, get_object_or_404(Survey, pk=pk))


@staff_required
def survey_detail(request: HttpRequest, pk: int) -> HttpResponse:
    survey = get_object_or_404(Survey, pk=pk)
    params = {
        k: request.GET.get(k, "")
        for k in ("score_min", "score_max", "language", "segment")
    }
    try:
        verbatims = list(selectors.survey_verbatims(survey=survey, params=params)[:100])
    except (ValueError, Segment.DoesNotExist):
        verbatims = []
        messages.error(request, _("These filters could not be applied."))
    return render(
        request,
        "feedback/surveys/detail.html",
        {
            "survey": survey,
            "questions": survey.questions.order_by("order"),
            "results": selectors.survey_results(survey=survey),
            "trend": selectors.survey_trend(
                survey=survey,
                period="week" if request.GET.get("period") == "week" else "month",
            ),
            "verbatims": verbatims,
            "params": params,
            "segments": Segment.objects.all(),
            "languages": settings.LANGUAGES,
            "send_form": SendForm(),
            "is_manager": _is_manager(request),
        },
    )


@staff_required
def survey_preview(request: HttpRequest, pk: int, language: str) -> HttpResponse:
    survey = get_object_or_404(Survey, pk=pk)
    if language not in dict(settings.LANGUAGES):
        language = settings.LANGUAGE_CODE
    with translation.override(language):
        survey = Survey.objects.get(pk=survey.pk)
        response = render(
            request,
            "feedback/public/survey.html",
            {
                "survey": survey,
                "rows": question_rows(
                    list(survey.questions.order_by("order")),
                    values={},
                    errors={},
                    preview=True,
                ),
                "preview": True,
                "errors": {},
                "language": language,
            },
        )
    return response


@manager_required
@require_POST
def survey_send(request: HttpRequest, pk: int) -> HttpResponse:
    survey = get_object_or_404(Survey, pk=pk)
    form = SendForm(request.POST)
    if not form.is_valid():
        for message in form.non_field_errors() or [_("Check the contact or segment.")]:
            messages.error(request, str(message))
        return redirect("feedback:survey", pk=pk)
    contact = form.cleaned_data.get("contact")
    try:
        batch = services.invitations_create(
            survey=survey,
            contacts=[contact] if contact else None,
            segment=form.cleaned_data.get("segment"),
        )
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return redirect("feedback:survey", pk=pk)
    messages.success(
        request,
        _("Invited: %(invited)s. Skipped (invited recently): %(skipped)s.")
        % {"invited": len(batch.invited), "skipped": len(batch.skipped)},
    )
    return redirect("feedback:survey", pk=pk)


@staff_required
def survey_export(request: HttpRequest, pk: int) -> HttpResponse:
    survey = get_object_or_404(Survey, pk=pk)
    export_record(
        request=request, what="feedback.response", filters={"survey": survey.pk}
    )
    response: Any = StreamingHttpResponse(
        selectors.survey_export_csv(survey=survey),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="survey-{survey.pk}.csv"'
    return response


@staff_required
def reviews(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", Review.Status.PENDING)
    qs = Review.objects.select_related("contact", "moderated_by")
    if status in Review.Status.values:
        qs = qs.filter(status=status)
    return render(
        request,
        "feedback/surveys/reviews.html",
        {
            "reviews": qs[:200],
            "status": status,
            "statuses": Review.Status.choices,
            "is_manager": _is_manager(request),
        },
    )


@manager_required
@require_POST
def review_moderate(request: HttpRequest, pk: int) -> HttpResponse:
    review = get_object_or_404(Review, pk=pk)
    featured_raw = request.POST.get("featured")
    try:
        services.review_moderate(
            review=review,
            status=request.POST.get("status", ""),
            moderator=cast(User, request.user),
            featured=None if featured_raw is None else featured_raw == "1",
        )
        messages.success(request, _("Review updated."))
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    return redirect("feedback:reviews")
