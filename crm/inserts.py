"""Insert a row unless a unique value of it is taken, in one statement.

``Model.save()`` inside ``transaction.atomic()`` with an ``IntegrityError`` fallback costs a
savepoint, its release and usually a read first to avoid the error: four round trips, under
a row lock when a ledger write holds one. ``INSERT … ON CONFLICT DO NOTHING RETURNING`` does
the same in one; the caller reads the row that won when nothing came back.
"""

from __future__ import annotations

from django.db import connections, router
from django.db.models import Model
from django.db.models.constants import OnConflict
from django.db.models.sql import InsertQuery


def insert_unless_taken(obj: Model) -> bool:
    """Insert ``obj`` and set its primary key; False (and nothing written) when a unique
    constraint already holds one of its values. Other errors (a check constraint, a missing
    foreign key) raise as ``save()`` would; on SQLite, where a skipped row hides which
    constraint skipped it, the caller's read of the row that won finds nothing: treat that
    as the error it is."""
    model = type(obj)
    meta = model._meta
    alias = router.db_for_write(model, instance=obj)
    connection = connections[alias]
    fields = [
        f
        for f in meta.local_concrete_fields
        if not f.generated and (f is not meta.auto_field or obj.pk is not None)
    ]
    query = InsertQuery(model, on_conflict=OnConflict.IGNORE)
    query.insert_values(fields, [obj])
    compiler = query.get_compiler(using=alias)
    compiler.returning_fields = [meta.pk]
    ((statement, params),) = compiler.as_sql()
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        row = cursor.fetchone()
    if row is None:
        return False
    pk = row[0]
    for converter in connection.ops.get_db_converters(meta.pk.get_col(meta.db_table)):
        pk = converter(pk, meta.pk, connection)
    obj.pk = pk
    obj._state.adding = False
    obj._state.db = alias
    return True
