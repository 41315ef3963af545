"""Querysets compiled once and run again with other values: a statement cache for hot reads.

For a small indexed read Django spends more CPU building the SQL than PostgreSQL spends
answering it: a contact's timeline, a dozen such reads, spent about half its time there.
``cached_rows`` builds the queryset with stand-in values the first time it sees a key, notes
where each stand-in landed among the statement's parameters, and from then on sends the same
SQL with the real values, making model instances as the queryset would (``select_related``
included). What changes the statement's text (a filter present or not, a list's length, a
limit) belongs in the key; only values that Django passes as parameters may vary.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import connections
from django.db.models import Model, QuerySet
from django.db.models.query import get_related_populators
from django.db.models.sql.compiler import SQLCompiler
from django.utils.translation import get_language

M = TypeVar("M", bound=Model)

# Values no real row holds, so each can be found among a statement's parameters.
_STAND_IN_INT = -7_319_204_865_113
_STAND_IN_TIME = dt.datetime(1901, 2, 3, 4, 5, 6, 789_012, tzinfo=dt.UTC)


@dataclass(frozen=True)
class _Statement:
    compiler: SQLCompiler
    sql: str
    params: tuple[Any, ...]
    slots: tuple[tuple[int, str], ...]  # (position among the parameters, value name)
    init_list: tuple[str, ...]
    model_slice: slice


_statements: dict[Hashable, _Statement] = {}


def _stand_ins(values: dict[str, Any]) -> dict[str, Any]:
    stand_ins: dict[str, Any] = {}
    for index, (name, value) in enumerate(values.items()):
        if isinstance(value, dt.datetime):
            stand_ins[name] = _STAND_IN_TIME + dt.timedelta(seconds=index)
        elif isinstance(value, int) and not isinstance(value, bool):
            stand_ins[name] = _STAND_IN_INT - index
        else:
            raise TypeError(f"{name}: only int and datetime values can vary")
    return stand_ins


def _compile(queryset: QuerySet[Any], stand_ins: dict[str, Any]) -> _Statement:
    compiler = queryset.query.get_compiler(using=queryset.db)
    sql, params = compiler.as_sql()
    ops = compiler.connection.ops
    wanted = {}
    for name, stand_in in stand_ins.items():
        wanted[name] = {stand_in}
        if isinstance(stand_in, dt.datetime):
            wanted[name].add(ops.adapt_datetimefield_value(stand_in))
        if str(stand_in) in sql:
            raise ValueError(f"{name} is written into the SQL, not passed: key it")
    slots = tuple(
        (position, name)
        for position, param in enumerate(params)
        for name, forms in wanted.items()
        if isinstance(param, Hashable) and param in forms
    )
    if missing := set(stand_ins) - {name for _position, name in slots}:
        raise ValueError(f"the queryset does not use {sorted(missing)}")
    klass_info = compiler.klass_info
    assert klass_info is not None, "cached_rows reads model instances"
    fields = klass_info["select_fields"]
    model_slice = slice(fields[0], fields[-1] + 1)
    return _Statement(
        compiler=compiler,
        sql=sql,
        params=tuple(params),
        slots=slots,
        init_list=tuple(
            column[0].target.attname for column in compiler.select[model_slice]
        ),
        model_slice=model_slice,
    )


def cached_rows(
    key: Hashable, build: Callable[..., QuerySet[M]], **values: Any
) -> list[M]:
    """``list(build(**values))``, with the SQL built once per key, database and language.

    ``values`` are ints and aware datetimes; ``build`` must pass each to the database as a
    parameter (a filter value), never shape the statement with it.
    """
    stand_ins = _stand_ins(values)
    cache_key = (key, tuple(stand_ins), get_language())
    statement = _statements.get(cache_key)
    if statement is None:
        statement = _compile(build(**stand_ins), stand_ins)
        _statements[cache_key] = statement
    compiler = statement.compiler
    using = compiler.using or "default"
    connection = connections[using]
    params = list(statement.params)
    for position, name in statement.slots:
        value = values[name]
        if isinstance(value, dt.datetime) and not isinstance(
            params[position], dt.datetime
        ):
            value = connection.ops.adapt_datetimefield_value(value)
        params[position] = value
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, params)
        fetched = cursor.fetchall()
    if compiler.has_extra_select:
        fetched = [row[: compiler.col_count] for row in fetched]
    klass_info: dict[str, Any] = compiler.klass_info
    populators = get_related_populators(  # type: ignore[call-arg]  # (stubs ahead of 5.2)
        klass_info, compiler.select, using
    )
    objects = []
    for row in compiler.results_iter(results=[fetched]):
        obj = klass_info["model"].from_db(
            using, statement.init_list, row[statement.model_slice]
        )
        for populator in populators:
            populator.populate(row, obj)
        for attribute, position in (compiler.annotation_col_map or {}).items():
            setattr(obj, attribute, row[position])
        objects.append(obj)
    return objects


def clear() -> None:
    """Forget every compiled statement (after the schema changes, as in tests)."""
    _statements.clear()
