"""Customer-facing crm content, translated per language with django-modeltranslation."""

from modeltranslation.translator import TranslationOptions, register

from crm.models import Campaign, MessageTemplate


@register(MessageTemplate)
class MessageTemplateTranslationOptions(TranslationOptions):
    fields = ("subject", "body_text")


@register(Campaign)
class CampaignTranslationOptions(TranslationOptions):
    fields = ("subject", "body_text")
