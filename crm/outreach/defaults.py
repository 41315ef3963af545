"""The default English and Korean texts of every outreach occasion (editable in the admin).

The data migration creates them; the planner recreates a missing one (e.g. after a test
database flush), so an occasion is switched off with ``active``, not by deleting it.
"""

from __future__ import annotations

UNSUBSCRIBE_EN = (
    "--\n"
    "You get this email because you agreed to hear from us. "
    "To stop these emails, open:\n{{ unsubscribe_link }}\n"
)
UNSUBSCRIBE_KO = (
    "--\n"
    "저희 소식 받기에 동의해 주셔서 보내 드리는 메일입니다. "
    "더 이상 받지 않으시려면 아래 링크를 열어 주세요.\n{{ unsubscribe_link }}\n"
)

DEFAULTS: dict[str, dict[str, str]] = {
    "birthday": {
        "purpose": "marketing_email",
        "subject_en": "Happy birthday, {{ first_name }}!",
        "body_text_en": (
            "{{ salutation }},\n\n"
            "Happy birthday from all of us!\n\n"
            "We hope your day is a wonderful one. Thank you for being with us.\n\n"
            + UNSUBSCRIBE_EN
        ),
        "subject_ko": "{{ salutation }}, 생일을 진심으로 축하드립니다!",
        "body_text_ko": (
            "{{ salutation }}, 안녕하세요.\n\n"
            "생일을 진심으로 축하드립니다!\n\n"
            "오늘 하루가 행복과 기쁨으로 가득하시길 바랍니다. "
            "늘 저희와 함께해 주셔서 감사합니다.\n\n" + UNSUBSCRIBE_KO
        ),
    },
    "survey_invited": {
        "purpose": "surveys",
        "subject_en": "How did we do? Tell us in two minutes",
        "body_text_en": (
            "{{ salutation }},\n\n"
            "Thank you for choosing us. We would love to hear how we did; "
            "it takes about two minutes:\n{{ survey_link }}\n\n"
            "The link works until {{ expires_on }}. Thank you for helping us improve.\n"
        ),
        "subject_ko": "소중한 의견을 들려주세요",
        "body_text_ko": (
            "{{ salutation }}, 안녕하세요.\n\n"
            "저희를 이용해 주셔서 진심으로 감사드립니다. "
            "이용하신 경험에 대해 잠시 의견을 들려주시면 큰 도움이 됩니다(약 2분 소요).\n"
            "{{ survey_link }}\n\n"
            "이 링크는 {{ expires_on }}까지 이용하실 수 있습니다. "
            "귀한 시간 내어 주셔서 감사합니다.\n"
        ),
    },
    "survey_reminder": {
        "purpose": "surveys",
        "subject_en": "A gentle reminder: we would love your opinion",
        "body_text_en": (
            "{{ salutation }},\n\n"
            "You have not had a chance yet to tell us how we did. "
            "The survey takes about two minutes:\n{{ survey_link }}\n\n"
            "The link works until {{ expires_on }}. Thank you!\n"
        ),
        "subject_ko": "설문 참여를 다시 한번 부탁드립니다",
        "body_text_ko": (
            "{{ salutation }}, 안녕하세요.\n\n"
            "아직 설문에 참여하지 못하셨다면, 잠시 시간을 내어 의견을 들려주시겠어요? "
            "약 2분이면 충분합니다.\n{{ survey_link }}\n\n"
            "이 링크는 {{ expires_on }}까지 이용하실 수 있습니다. 감사합니다.\n"
        ),
    },
    "tier_upgraded": {
        "purpose": "marketing_email",
        "subject_en": "Congratulations, you are now {{ tier }}!",
        "body_text_en": (
            "{{ salutation }},\n\n"
            "Great news: you have reached the {{ tier }} tier. "
            "Thank you for your loyalty, and enjoy your new benefits!\n\n"
            + UNSUBSCRIBE_EN
        ),
        "subject_ko": "{{ tier }} 등급이 되신 것을 축하드립니다!",
        "body_text_ko": (
            "{{ salutation }}, 안녕하세요.\n\n"
            "고객님의 회원 등급이 {{ tier }} 등급으로 올라갔습니다. "
            "변함없는 성원에 깊이 감사드리며, 새로운 혜택을 마음껏 누리시기 바랍니다.\n\n"
            + UNSUBSCRIBE_KO
        ),
    },
    "points_expiring": {
        "purpose": "marketing_email",
        "subject_en": "Your {{ points }} points expire on {{ expires_on }}",
        "body_text_en": (
            "{{ salutation }},\n\n"
            "{{ points }} of your points will expire on {{ expires_on }}. "
            "Use them before then so they do not go to waste.\n\n" + UNSUBSCRIBE_EN
        ),
        "subject_ko": "{{ points }} 포인트가 {{ expires_on }}에 소멸될 예정입니다",
        "body_text_ko": (
            "{{ salutation }}, 안녕하세요.\n\n"
            "고객님의 포인트 중 {{ points }} 포인트가 {{ expires_on }}에 소멸될 예정입니다. "
            "소멸되기 전에 꼭 사용해 주세요.\n\n" + UNSUBSCRIBE_KO
        ),
    },
}
