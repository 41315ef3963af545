"""Demo surveys with answers spread over the last 18 months, and reviews (idempotent)."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable

from django.utils import timezone

from crm.models import Contact, User
from crm.roles import Role
from feedback.models import Review, Survey
from feedback.services.reviews import review_moderate, review_submit
from feedback.services.surveys import invitations_create, response_submit, survey_create

DEMO_NPS_TITLE = "Quarterly NPS"
REASONS = {
    "ko": {
        "promoter": [
            "배송이 빠르고 포장이 꼼꼼해요.",
            "상담원분이 친절하게 도와주셨어요.",
            "멤버십 혜택이 좋아요.",
        ],
        "passive": ["무난했어요.", "가격이 조금 더 저렴하면 좋겠어요."],
        "detractor": [
            "배송이 너무 늦었어요.",
            "교환 절차가 복잡했어요.",
            "문의 답변이 늦었어요.",
        ],
    },
    "en": {
        "promoter": [
            "Fast delivery and great packaging.",
            "Support was friendly and quick.",
            "Love the rewards.",
        ],
        "passive": ["It was fine.", "A bit pricey for what it is."],
        "detractor": [
            "Delivery took far too long.",
            "The exchange was a hassle.",
            "Nobody answered my email.",
        ],
    },
}


def seed_feedback(*, write: Callable[[str], None]) -> None:
    """An NPS survey answered by ~120 contacts over 18 months (promoters, passives and
    detractors; detractors get follow-up tasks), and reviews in every moderation state."""
    if Survey.objects.filter(title_en=DEMO_NPS_TITLE).exists():
        return
    rng = random.Random(5)
    now = timezone.now()
    survey = survey_create(
        title=DEMO_NPS_TITLE,
        title_ko="분기별 고객 추천 지수 조사",
        kind=Survey.Kind.NPS,
    )
    score_question, reason_question = list(survey.questions.order_by("order"))[:2]
    contacts = list(Contact.objects.exclude(email="").order_by("email")[:160])
    answered = 0
    for contact in contacts:
        sent_at = now - dt.timedelta(
            days=rng.randrange(5, 540), hours=rng.randrange(0, 24)
        )
        batch = invitations_create(survey=survey, contacts=[contact], now=sent_at)
        if not batch.invited or rng.random() < 0.25:
            continue  # some never answer: the response rate is not 100%
        score = rng.choices(range(11), [2, 1, 2, 3, 4, 5, 6, 10, 14, 20, 18])[0]
        group = "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
        language = "ko" if contact.language == "ko" else "en"
        response_submit(
            token=batch.invited[0].token,
            answers={
                str(score_question.pk): score,
                str(reason_question.pk): rng.choice(REASONS[language][group]),
            },
            language=language,
            now=sent_at + dt.timedelta(hours=rng.randrange(1, 72)),
        )
        answered += 1

    moderator = User.objects.filter(groups__name=Role.MANAGER.value).first()
    for contact in contacts[:14]:
        language = "ko" if contact.language == "ko" else "en"
        rating = rng.choice([5, 5, 4, 4, 3, 2])
        review = review_submit(
            contact=contact,
            rating=rating,
            text=rng.choice(
                REASONS[language]["promoter" if rating >= 4 else "detractor"]
            ),
            consent_to_publish=rng.random() < 0.8,
            language=language,
        )
        if moderator is not None and rng.random() < 0.7:
            status = (
                Review.Status.APPROVED
                if rating >= 3 and review.consent_to_publish
                else Review.Status.REJECTED
            )
            review_moderate(
                review=review,
                status=status,
                moderator=moderator,
                featured=(status == Review.Status.APPROVED and rating == 5) or None,
            )
    write(
        f"  feedback: 1 NPS survey with {answered} responses over 18 months, 14 reviews"
    )
