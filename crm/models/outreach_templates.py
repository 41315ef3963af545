"""Editable, translated texts for each outreach occasion (DESIGN §4.2-4.4, §7)."""

from __future__ import annotations

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

    class Purpose(models.TextChoices):
        MARKETING_EMAIL = Consent.Purpose.MARKETING_EMAIL.value, _("Marketing email")
        SURVEYS = Consent.Purpose.SURVEYS.value, _("Surveys")

    occasion = models.CharField(
        _("occasion"), max_length=40, choices=Occasion.choices, unique=True
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
            "{{ unsubscribe_link }}."
        ),
    )
    active = models.BooleanField(
        _("active"),
        default=True,
        help_text=_("Inactive: nothing is sent for this occasion."),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        ordering = ["occasion"]

    def __str__(self) -> str:
        return self.get_occasion_display()

    def clean(self) -> None:
        super().clean()
        errors: dict[str, list[str]] = {}
        # The translated fields (subject_en, body_text_ko, ...) are the ones forms edit.
        names = [
            f"{field}_{language}"
            for field in ("subject", "body_text")
            for language, _name in settings.LANGUAGES
        ]
        for name in names:
            value = getattr(self, name, None)
            if isinstance(value, str) and (problems := placeholder_errors(value)):
                errors[name] = problems
        if errors:
            raise ValidationError(errors)
