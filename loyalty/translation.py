"""Customer-facing loyalty content, translated per language with django-modeltranslation."""

from modeltranslation.translator import TranslationOptions, register

from loyalty.models import Program, Reward, Tier


@register(Program)
class ProgramTranslationOptions(TranslationOptions):
    fields = ("name",)


@register(Tier)
class TierTranslationOptions(TranslationOptions):
    fields = ("name", "benefits")


@register(Reward)
class RewardTranslationOptions(TranslationOptions):
    fields = ("name", "description")
