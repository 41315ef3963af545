"""PostgreSQL: trigram indexes so substring search on names, emails, phones and companies stays fast at 1M contacts.

SQLite (the embedded default) has no trigram support; it searches the same column with LIKE.
"""

from django.db import migrations

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS crm_contact_search_trgm ON crm_contact USING gin (search_text gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS crm_company_name_trgm ON crm_company USING gin (lower(name) gin_trgm_ops)",
]
BACKWARD = [
    "DROP INDEX IF EXISTS crm_company_name_trgm",
    "DROP INDEX IF EXISTS crm_contact_search_trgm",
]


def run(statements):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return apply


class Migration(migrations.Migration):
    dependencies = [("crm", "0003_contacts_activity_commerce")]

    operations = [migrations.RunPython(run(FORWARD), run(BACKWARD))]
