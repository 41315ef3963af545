"""Customer-facing survey content, translated per language with django-modeltranslation."""

from modeltranslation.translator import TranslationOptions, register

from feedback.models import Question, Survey


@register(Survey)
class SurveyTranslationOptions(TranslationOptions):
    fields = ("title", "follow_up_question")


@register(Question)
class QuestionTranslationOptions(TranslationOptions):
    fields = ("text", "choices")
