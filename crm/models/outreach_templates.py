"""Editable, translated texts for each outreach occasion (DESIGN §4.2-4.4, §7)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.template import Engine, TemplateSyntaxError
from django.template.base import Node, TextNode, VariableNode
from django.utils.translation import gettext_lazy as _

from crm.models.contacts import Consent

# The only names a template may use, e.g. "{{ salutation }}".
PLACEHOLDERS: frozenset[str] = frozenset(
    {
        "salutation",
        "first_name",
        "company",
        "points",
        "tier",
        "survey_link",
        "expires_on",
        "unsubscribe_link",
        "preferences_link",
    }
)

# Plain text emails: nothing is HTML-escaped; only Django's built-in tags and filters exist.
ENGINE = Engine(autoescape=False)


def placeholder_errors(source: str) -> list[str]:
    """Why ``source`` is not an acceptable message template; empty when it is."""
    try:
        template = ENGINE.from_string(source)
    except TemplateSyntaxError as error:
        return [str(_("Template syntax error: %(error)s") % {"error": error})]
    errors: list[str] = []
    nodes: list[Node] = list(template.nodelist)
    for node in nodes:
        if isinstance(node, TextNode):
            continue
        if not isinstance(node, VariableNode):
            errors.append(
                str(
                    _("Only placeholders are allowed, not template tags: %(tag)s")
                    % {"tag": node.token.contents if node.token else node}
                )
            )
            continue
        var = node.filter_expression.var
        name = str(getattr(var, "var", var)).split(".")[0]
        if name not in PLACEHOLDERS:
            errors.append(
                str(
                    _("Unknown placeholder {{ %(name)s }}; allowed: %(allowed)s")
                    % {"name": name, "allowed": ", ".join(sorted(PLACEHOLDERS))}
                )
            )
    return errors


# modeltranslation swaps the managers of translated models at run time for generated
# subclasses the django-stubs plugin cannot resolve (as in loyalty/models/program.py).
class MessageTemplate(models.Model):  # type: ignore[django-manager-missing]
    """The subject and text sent for one occasion, per language (translated fields)."""

    class Occasion(models.TextChoices):
        BIRTHDAY = "birthday", _("Birthday")
        SURVEY_INVITED = "survey_invited", _("Survey invitation")
        SURVEY_REMINDER = "survey_reminder", _("Survey reminder")
        TIER_UPGRADED = "tier_upgraded", _("Tier upgraded")
        POINTS_EXPIRING = "points_expiring", _("Points expiring")
        TICKET_CSAT = "ticket_csat", _("Survey after a resolved ticket")
        ANNIVERSARY = "anniversary", _("Customer anniversary")
        ONBOARDING = "onboarding", _("Onboarding series")
        WIN_BACK = "win_back", _("Win-back")

    class Anchor(models.TextChoices):
        SIGN_UP = "sign_up", _("Sign-up (contact created)")
        CUSTOMER_SINCE = "customer_since", _("Customer since (first purchase)")

    class Purpose(models.TextChoices):
        MARKETING_EMAIL = Consent.Purpose.MARKETING_EMAIL.value, _("Marketing email")
        SURVEYS = Consent.Purpose.SURVEYS.value, _("Surveys")

    occasion = models.CharField(_("occasion"), max_length=40, choices=Occasion.choices)
    step = models.PositiveSmallIntegerField(
        _("step"),
        default=0,
        help_text=_(
            "Onboarding: the step's number (1, 2, 3, ...). Other occasions: 0."
        ),
    )
    purpose = models.CharField(
        _("consent purpose"),
        max_length=30,
        choices=Purpose.choices,
        help_text=_("The consent a contact must have given to get this message."),
    )
    subject = models.CharField(_("subject"), max_length=255)
    body_text = models.TextField(
        _("text"),
        help_text=_(
            "Placeholders: {{ salutation }}, {{ first_name }}, {{ company }}, "
            "{{ points }}, {{ tier }}, {{ survey_link }}, {{ expires_on }}, "
            "{{ unsubscribe_link }}, {{ preferences_link }}."
        ),
    )
    active = models.BooleanField(
        _("active"),
        default=True,
        help_text=_("Inactive: nothing is sent for this occasion."),
    )
    send_time = models.TimeField(
        _("local send time"),
        default=dt.time(9, 0),
        help_text=_(
            "Birthday, anniversary, onboarding and win-back messages go out at this time "
            "in each contact's own time zone."
        ),
    )
    delay_days = models.PositiveIntegerField(
        _("days"),
        null=True,
        blank=True,
        help_text=_(
            "Onboarding: days after the starting point. "
            "Win-back: days without a purchase."
        ),
    )
    anchor = models.CharField(
        _("starting point"),
        max_length=20,
        choices=Anchor.choices,
        default=Anchor.SIGN_UP,
        help_text=_("Onboarding: what the days are counted from."),
    )
    exit_after_purchases = models.PositiveSmallIntegerField(
        _("skip after purchases"),
        null=True,
        blank=True,
        help_text=_(
            "Onboarding: the step is skipped for a contact who already purchased at "
            "least this many times (e.g. 2). Empty: never skipped."
        ),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        ordering = ["occasion", "step"]
        constraints = [
            models.UniqueConstraint(
                fields=["occasion", "step"], name="crm_message_template_occasion_step"
            )
        ]

    def __str__(self) -> str:
        if self.occasion == self.Occasion.ONBOARDING:
            return str(
                _("%(occasion)s, step %(step)s")
                % {"occasion": self.get_occasion_display(), "step": self.step}
            )
        return self.get_occasion_display()

    def clean(self) -> None:
        super().clean()
        errors = translated_text_errors(self)
        if self.occasion == self.Occasion.ONBOARDING:
            if self.step < 1:
                errors.setdefault("step", []).append(
                    str(_("An onboarding step is numbered from 1."))
                )
            if self.delay_days is None:
                errors.setdefault("delay_days", []).append(
                    str(_("Say after how many days this onboarding step goes out."))
                )
        elif self.step != 0:
            errors.setdefault("step", []).append(
                str(_("Only onboarding messages have steps; leave 0."))
            )
        if self.occasion == self.Occasion.WIN_BACK and not self.delay_days:
            errors.setdefault("delay_days", []).append(
                str(_("Say after how many days without a purchase to write."))
            )
        if errors:
            raise ValidationError(errors)


def translated_text_errors(instance: models.Model) -> dict[str, list[str]]:
    """Placeholder errors of every translated subject and text of ``instance``, by field name."""
    errors: dict[str, list[str]] = {}
    # The translated fields (subject_en, body_text_ko, ...) are the ones forms edit.
    names = [
        f"{field}_{language}"
        for field in ("subject", "body_text")
        for language, _name in settings.LANGUAGES
    ]
    for name in names:
        value = getattr(instance, name, None)
        if isinstance(value, str) and (problems := placeholder_errors(value)):
            errors[name] = problems
    return errors
