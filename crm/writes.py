"""Single-row writes whose SQL is built once: for the writes a busy path makes on every request.

``Model.save()``, ``bulk_create`` and ``queryset.update`` build their statement through the ORM
on every call; for a one-row write that costs more CPU than PostgreSQL spends on the write
(a loyalty adjustment makes five of them). These build it the first time for a model and a
set of fields, then only work out the values, as Django would, and send the same statement
through ``crm.prepared.prepared_cursor`` (prepared on PostgreSQL, planned once).

- ``insert(obj)``: ``obj.save()`` for a new row, without signals.
- ``insert_unless_taken(obj)``: ``INSERT … ON CONFLICT DO NOTHING RETURNING``: the row is written
  unless a unique value of it is taken; ``Model.save()`` in ``atomic()`` with an
  ``IntegrityError`` fallback costs a savepoint, its release and usually a read first.
- ``save_fields(obj, *names)``: ``obj.save(update_fields=names)`` without signals (``auto_now``
  fields named are set as ``save`` sets them).

Signals are not sent: use these only for models nobody listens to. A value that is an SQL
expression (``F()``, ``Now()``) would change the statement: it is refused (``ValueError``)
before anything is written; write it through the ORM.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import DatabaseError, connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model
from django.db.models.constants import OnConflict
from django.db.models.sql import InsertQuery

from crm.prepared import prepared_cursor


@dataclass(frozen=True)
class _Statement:
    sql: str
    fields: tuple[Field[Any, Any], ...]  # whose values are its parameters, in order


_statements: dict[Hashable, _Statement] = {}


def _insert(obj: Model, *, ignore_conflicts: bool) -> bool:
    model = type(obj)
    meta = model._meta
    alias = router.db_for_write(model, instance=obj)
    connection = connections[alias]
    with_pk = obj.pk is not None
    fields = tuple(
        f
        for f in meta.local_concrete_fields
        if not f.generated and (f is not meta.auto_field or with_pk)
    )
    key = ("insert", meta.label, alias, connection.vendor, with_pk, ignore_conflicts)
    statement = _statements.get(key)
    if statement is None:
        query = InsertQuery(
            model, on_conflict=OnConflict.IGNORE if ignore_conflicts else None
        )
        query.insert_values(fields, [obj])
        compiler = query.get_compiler(using=alias)
        compiler.returning_fields = [meta.pk]
        ((sql, params),) = compiler.as_sql()
        if len(params) != len(fields):
            raise ValueError(f"{meta.label}: a field's value is not one parameter")
        statement = _Statement(sql=sql, fields=fields)
        _statements[key] = statement
    params = _values(statement, obj, connection, add=True)
    with prepared_cursor(connection) as cursor:
        cursor.execute(statement.sql, params)
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


def insert(obj: Model) -> None:
    """Insert ``obj`` as a new row and set its primary key. Errors raise as ``save()``'s."""
    _insert(obj, ignore_conflicts=False)


def insert_unless_taken(obj: Model) -> bool:
    """Insert ``obj`` and set its primary key; False (and nothing written) when a unique
    constraint already holds one of its values. Other errors (a check constraint, a missing
    foreign key) raise as ``save()`` would; on SQLite, where a skipped row hides which
    constraint skipped it, the caller's read of the row that won finds nothing: treat that
    as the error it is."""
    return _insert(obj, ignore_conflicts=True)


def save_fields(obj: Model, *names: str) -> None:
    """Write ``names`` of the stored ``obj`` (its primary key set) in one UPDATE."""
    model = type(obj)
    meta = model._meta
    alias = router.db_for_write(model, instance=obj)
    connection = connections[alias]
    key = ("update", meta.label, alias, connection.vendor, names)
    statement = _statements.get(key)
    if statement is None:
        fields = _columns([meta.get_field(name) for name in names], meta.label)
        quote = connection.ops.quote_name
        assignments = ", ".join(f"{quote(str(f.column))} = %s" for f in fields)
        sql = (
            f"UPDATE {quote(meta.db_table)} SET {assignments} "
            f"WHERE {quote(str(meta.pk.column))} = %s"
        )
        statement = _Statement(sql=sql, fields=fields)
        _statements[key] = statement
    params = _values(statement, obj, connection, add=False)
    params.append(meta.pk.get_db_prep_save(obj.pk, connection=connection))
    with prepared_cursor(connection) as cursor:
        cursor.execute(statement.sql, params)
        if cursor.rowcount != 1:
            raise DatabaseError("Save with update_fields did not affect any rows.")


def _values(
    statement: _Statement, obj: Model, connection: BaseDatabaseWrapper, *, add: bool
) -> list[Any]:
    """Each field's value as ``save()`` sends it: ``pre_save`` (``auto_now``), then the
    database's form of it for ``connection`` (the one the statement runs on)."""
    values = []
    for field in statement.fields:
        value = field.pre_save(obj, add)
        if hasattr(value, "resolve_expression"):
            raise ValueError(f"{field}: an expression value needs the ORM's save()")
        values.append(field.get_db_prep_save(value, connection=connection))
    return values


def _columns(fields: Sequence[Any], label: str) -> tuple[Field[Any, Any], ...]:
    for field in fields:
        if not getattr(field, "concrete", False) or field.primary_key:
            raise ValueError(f"{label}.{field.name}: not a column save_fields writes")
    return tuple(fields)
