"""Drop the idempotency record's user index: the unique (user, key) index starts with it.

Only the index goes: Django's own ``AlterField`` would also drop and re-add the foreign key,
checking every record again under a lock.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

INDEX = "crm_idempotencyrecord_user_id_0d223c82"


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0014_contact_birthday_zone_index"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="idempotencyrecord",
                    name="user",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{INDEX}"',
                    reverse_sql=(
                        f'CREATE INDEX "{INDEX}" ON "crm_idempotencyrecord" ("user_id")'
                    ),
                ),
            ],
        ),
    ]
