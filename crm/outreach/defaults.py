"""The default English and Korean texts of every outreach occasion (editable in the admin).

The data migration creates them; the planner recreates a missing one (e.g. after a test
database flush), so an occasion is switched off with ``active``, not by deleting it.
"""

from __future__ import annotations

from typing import Any

UNSUBSCRIBE_EN = (
    "--\n"
    "You get this email because you agreed to hear from us. "
    "To stop these emails, open:\n{{ unsubscribe_link }}\n"
    "Choose which emails you get: {{ preferences_link }}\n"
)
UNSUBSCRIBE_KO = (
    "--\n"
    "저희 소식 받기에 동의해 주셔서 보내 드리는 메일입니다. "
    "더 이상 받지 않으시려면 아래 링크를 열어 주세요.\n{{ unsubscribe_link }}\n"
    "받으실 메일 종류 선택: {{ preferences_link }}\n"
)

DEFAULTS: dict[str, dict[str, Any]] = {
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
    "ticket_csat": {
        "purpose": "surveys",
        "subject_en": "Your request is resolved: how did we do?",
        "body_text_en": (
            "{{ salutation }},\n\n"
            "We have resolved your recent request. Were you happy with how we handled it? "
            "One question, thirty seconds:\n{{ survey_link }}\n\n"
            "The link works until {{ expires_on }}. Thank you!\n"
        ),
        "subject_ko": "문의하신 내용이 해결되었습니다. 만족하셨나요?",
        "body_text_ko": (
            "{{ salutation }}, 안녕하세요.\n\n"
            "문의하신 내용이 해결되어 안내드립니다. 저희의 응대에 만족하셨는지 "
            "한 가지만 여쭤봐도 될까요? 30초면 충분합니다.\n{{ survey_link }}\n\n"
            "이 링크는 {{ expires_on }}까지 이용하실 수 있습니다. 감사합니다.\n"
        ),
    },
    "anniversary": {
        "purpose": "marketing_email",
        "active": False,
        "subject_en": "Another year together, {{ first_name }}: thank you!",
        "body_text_en": (
            "{{ salutation }},\n\n"
            "Today is the anniversary of your first order with us. "
            "Thank you for staying with us all this time; it means a great deal.\n\n"
            + UNSUBSCRIBE_EN
        ),
        "subject_ko": "{{ salutation }}, 함께해 주셔서 감사합니다",
        "body_text_ko": (
            "{{ salutation }}, 안녕하세요.\n\n"
            "오늘은 고객님께서 저희와 처음 인연을 맺으신 날입니다. "
            "그동안 변함없이 함께해 주셔서 진심으로 감사드립니다. "
            "앞으로도 더 좋은 모습으로 보답하겠습니다.\n\n" + UNSUBSCRIBE_KO
        ),
    },
    "win_back": {
        "purpose": "marketing_email",
        "active": False,
        "delay_days": 90,
        "subject_en": "We miss you, {{ first_name }}",
        "body_text_en": (
            "{{ salutation }},\n\n"
            "It has been a while since we last saw you, and we wanted to say that we miss "
            "you. If something was not right, just reply to this email; we read every answer."
            "\n\n" + UNSUBSCRIBE_EN
        ),
        "subject_ko": "{{ salutation }}, 오랜만에 인사드립니다",
        "body_text_ko": (
            "{{ salutation }}, 안녕하세요.\n\n"
            "한동안 소식이 뜸하셔서 안부 인사드립니다. 혹시 불편하셨던 점이 있으셨다면 "
            "이 메일에 답장으로 알려 주세요. 보내 주신 말씀은 하나하나 꼼꼼히 읽겠습니다."
            "\n\n" + UNSUBSCRIBE_KO
        ),
    },
}

# The onboarding series: step number → texts and settings (days after sign-up; a step is
# skipped for a contact who already purchased ``exit_after_purchases`` times).
ONBOARDING_DEFAULTS: dict[int, dict[str, Any]] = {
    1: {
        "purpose": "marketing_email",
        "delay_days": 0,
        "subject_en": "Welcome, {{ first_name }}!",
        "body_text_en": (
            "{{ salutation }},\n\n"
            "Welcome! We are glad to have you with us. Over the next weeks we will send "
            "you a few short tips to get the most out of being our customer.\n\n"
            + UNSUBSCRIBE_EN
        ),
        "subject_ko": "{{ salutation }}, 가입을 환영합니다!",
        "body_text_ko": (
            "{{ salutation }}, 안녕하세요.\n\n"
            "저희와 함께하게 되신 것을 진심으로 환영합니다. 앞으로 몇 주 동안 "
            "더 알차게 이용하실 수 있도록 짧은 안내를 보내 드리겠습니다.\n\n"
            + UNSUBSCRIBE_KO
        ),
    },
    2: {
        "purpose": "marketing_email",
        "delay_days": 7,
        "exit_after_purchases": 1,
        "subject_en": "Ready for your first order?",
        "body_text_en": (
            "{{ salutation }},\n\n"
            "You have been with us for a week. If you have questions before your first "
            "order, just reply to this email and a person will answer.\n\n"
            + UNSUBSCRIBE_EN
        ),
        "subject_ko": "첫 주문을 도와드릴까요?",
        "body_text_ko": (
            "{{ salutation }}, 안녕하세요.\n\n"
            "가입하신 지 일주일이 되었습니다. 첫 구매 전에 궁금하신 점이 있으시면 "
            "이 메일에 답장해 주세요. 담당자가 직접 답변드리겠습니다.\n\n"
            + UNSUBSCRIBE_KO
        ),
    },
    3: {
        "purpose": "marketing_email",
        "delay_days": 30,
        "exit_after_purchases": 2,
        "subject_en": "A month together: how is it going?",
        "body_text_en": (
            "{{ salutation }},\n\n"
            "It has been a month since you joined us. As a member you collect points with "
            "every purchase and can redeem them for rewards in your customer portal.\n\n"
            + UNSUBSCRIBE_EN
        ),
        "subject_ko": "함께한 지 한 달이 되었습니다",
        "body_text_ko": (
            "{{ salutation }}, 안녕하세요.\n\n"
            "저희와 함께하신 지 벌써 한 달이 되었습니다. 구매하실 때마다 포인트가 "
            "적립되며, 고객 포털에서 다양한 혜택으로 교환하실 수 있습니다.\n\n"
            + UNSUBSCRIBE_KO
        ),
    },
}

SURVEYS_FOOTER_EN = (
    "\n--\nTo stop survey emails, open:\n{{ unsubscribe_link }}\n"
    "Choose which emails you get: {{ preferences_link }}\n"
)
SURVEYS_FOOTER_KO = (
    "\n--\n설문 메일을 더 이상 받지 않으시려면 아래 링크를 열어 주세요.\n{{ unsubscribe_link }}\n"
    "받으실 메일 종류 선택: {{ preferences_link }}\n"
)
# Every message carries its unsubscribe link; survey emails withdraw the surveys consent.
for _texts in DEFAULTS.values():
    if _texts["purpose"] == "surveys":
        _texts["body_text_en"] = f"{_texts['body_text_en']}{SURVEYS_FOOTER_EN}"
        _texts["body_text_ko"] = f"{_texts['body_text_ko']}{SURVEYS_FOOTER_KO}"
