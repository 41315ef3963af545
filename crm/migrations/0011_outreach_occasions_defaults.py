"""Default texts for the occasions added with campaigns; the outbox learns each row's purpose."""

from typing import Any

from django.db import migrations

from crm.outreach.defaults import DEFAULTS, ONBOARDING_DEFAULTS


def create_defaults(apps: Any, schema_editor: Any) -> None:
    MessageTemplate = apps.get_model("crm", "MessageTemplate")
    OutboundMessage = apps.get_model("crm", "OutboundMessage")
    fields = {field.name for field in MessageTemplate._meta.get_fields()}
    wanted = [(occasion, 0, texts) for occasion, texts in DEFAULTS.items()]
    wanted += [
        ("onboarding", step, texts) for step, texts in ONBOARDING_DEFAULTS.items()
    ]
    for occasion, step, texts in wanted:
        values = {k: v for k, v in texts.items() if k in fields}
        MessageTemplate.objects.get_or_create(
            occasion=occasion,
            step=step,
            defaults={
                **values,
                "subject": values["subject_en"],
                "body_text": values["body_text_en"],
            },
        )
    for template in MessageTemplate.objects.filter(step=0):
        OutboundMessage.objects.filter(occasion=template.occasion, purpose="").update(
            purpose=template.purpose
        )


class Migration(migrations.Migration):
    dependencies = [("crm", "0010_outreach_occasions_campaigns")]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
