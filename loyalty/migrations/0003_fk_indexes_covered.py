"""Drop the single-column indexes of two foreign keys that a wider index already starts with.

Only the indexes go: Django's own ``AlterField`` would also drop and re-add each foreign key,
checking every row of the ledger again under a lock.
"""

import django.db.models.deletion
from django.db import migrations, models

COVERED = [
    # (index, table, column): the history index and the unique (entry, lot) start with these
    ("loyalty_pointsentry_account_id_4cbf56d0", "loyalty_pointsentry", "account_id"),
    ("loyalty_lotuse_entry_id_15452401", "loyalty_lotuse", "entry_id"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("loyalty", "0002_default_programme_and_tiers"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="lotuse",
                    name="entry",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="lot_uses",
                        to="loyalty.pointsentry",
                        verbose_name="deduction",
                    ),
                ),
                migrations.AlterField(
                    model_name="pointsentry",
                    name="account",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="entries",
                        to="loyalty.loyaltyaccount",
                        verbose_name="account",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{index}"',
                    reverse_sql=f'CREATE INDEX "{index}" ON "{table}" ("{column}")',
                )
                for index, table, column in COVERED
            ],
        ),
    ]
