"""Default English and Korean texts for every outreach occasion; edit them in the admin."""

from typing import Any

from django.db import migrations

from crm.outreach.defaults import DEFAULTS


def create_defaults(apps: Any, schema_editor: Any) -> None:
    MessageTemplate = apps.get_model("crm", "MessageTemplate")
    # The occasions and fields of this point in history; later migrations add the rest.
    occasions = (
        "birthday",
        "survey_invited",
        "survey_reminder",
        "tier_upgraded",
        "points_expiring",
    )
    fields = {field.name for field in MessageTemplate._meta.get_fields()}
    for occasion in occasions:
        texts = {k: v for k, v in DEFAULTS[occasion].items() if k in fields}
        MessageTemplate.objects.get_or_create(
            occasion=occasion,
            defaults={
                **texts,
                "subject": texts["subject_en"],
                "body_text": texts["body_text_en"],
                "active": True,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("crm", "0008_outreach_templates")]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
