"""What the survey part of feedback does when crm calls its registries (``crm.hooks``)."""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.timeline import TimelineEntry, timeline_window
from feedback.models import Response
from feedback.services import surveys

SURVEY_TIMELINE_KINDS = {"survey": gettext_lazy("Survey response")}


def on_purchase_recorded(*, purchase_id: int) -> None:
    surveys.invite_after_purchase(purchase_id=purchase_id)


def on_contact_event(*, contact_id: int, event: str, data: dict) -> None:
    if event == "ticket_resolved":
        surveys.invite_after_ticket_resolved(contact_id=contact_id)


def on_contact_merged(*, survivor_id: int, merged_id: int) -> None:
    surveys.survey_contacts_merge(survivor_id=survivor_id, merged_id=merged_id)


def survey_timeline_entries(
    *, contact_id: int, kinds: set[str] | None, before: dt.datetime | None, limit: int
) -> list[TimelineEntry]:
    """The contact's newest ``limit`` survey responses older than ``before``: one query."""
    if kinds is not None and "survey" not in kinds:
        return []
    entries = []
    for response in timeline_window(
        "survey",
        lambda cid: Response.objects.filter(contact_id=cid).select_related("survey"),
        time_field="submitted_at",
        contact_id=contact_id,
        before=before,
        limit=limit,
    ):
        title = (
            _("%(survey)s: score %(score)s")
            % {"survey": response.survey.title, "score": response.score}
            if response.score is not None
            else _("Answered “%(survey)s”") % {"survey": response.survey.title}
        )
        entries.append(
            TimelineEntry(
                kind="survey",
                occurred_at=response.submitted_at,
                title=title,
                source="feedback",
                object_id=response.pk,
                data={
                    "survey_id": response.survey_id,
                    "survey_kind": response.survey.kind,
                    "score": response.score,
                    "language": response.language,
                    "follow_up_task_id": response.follow_up_task_id,
                },
            )
        )
    return entries
