"""Review writes: customers submit, staff moderate; nothing is public without consent."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import Contact, User
from feedback.models import Review


@transaction.atomic
def review_submit(
    *,
    contact: Contact,
    rating: int,
    text: str = "",
    consent_to_publish: bool = False,
    language: str = "",
) -> Review:
    """A customer's review, pending moderation; published only if they consented."""
    from crm.services.privacy import contact_refuse_if_erased

    contact_refuse_if_erased(contact)
    review = Review(
        contact=contact,
        rating=rating,
        text=(text or "").strip(),
        consent_to_publish=consent_to_publish,
        language=language,
    )
    review.full_clean()
    review.save()
    return review


@transaction.atomic
def review_moderate(
    *,
    review: Review,
    status: str,
    moderator: User,
    featured: bool | None = None,
) -> Review:
    """Approve or reject a review; only an approved, consented review can be featured."""
    if status not in Review.Status.values:
        raise ValidationError({"status": _("Choose approved, rejected or pending.")})
    review = Review.objects.select_for_update().get(pk=review.pk)
    review.status = status
    if featured is not None:
        review.featured = featured
    if review.featured and not (
        review.status == Review.Status.APPROVED and review.consent_to_publish
    ):
        raise ValidationError(
            {"featured": _("Only an approved review with consent can be featured.")}
        )
    review.moderated_by = moderator
    review.moderated_at = timezone.now()
    review.full_clean()
    review.save()
    return review
