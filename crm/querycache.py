"""Querysets compiled once and run again with other values: a statement cache for hot reads.

For a small indexed read Django spends more CPU building the SQL than PostgreSQL spends
answering it: a contact's timeline, a dozen such reads, spent about half its time there.
``cached_rows`` builds the queryset twice with stand-in values the first time it sees a key,
notes where each stand-in landed among the statement's parameters (and refuses a value that
changes the SQL's text or reaches it altered), and from then on sends the same SQL with the
real values, making model instances as the queryset would (``select_related``
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

from crm.prepared import prepared_cursor

M = TypeVar("M", bound=Model)

# Two sets of stand-in values, each valid for the smallest column of its type: the statement
# is built with both, and a parameter is a value's slot only where it follows the value.
_STAND_IN_INTS = (31_607, 29_311)
_STAND_IN_TIMES = (
    dt.datetime(1901, 2, 3, 4, 5, 6, 789_012, tzinfo=dt.UTC),
    dt.datetime(1903, 4, 5, 6, 7, 8, 901_234, tzinfo=dt.UTC),
)
_STAND_IN_TEXTS = ("\x1fquerycache stand-in a", "\x1fquerycache stand-in b")


@dataclass(frozen=True)
class _Statement:
    compiler: SQLCompiler
    sql: str
    params: tuple[Any, ...]
    slots: tuple[tuple[int, str], ...]  # (position among the parameters, value name)
    init_list: tuple[str, ...]
    model_slice: slice
    converters: dict[
        int, Any
    ]  # per column, as the compiler would work them out each time


_statements: dict[Hashable, _Statement] = {}


def _stand_ins(values: dict[str, Any], which: int) -> dict[str, Any]:
    stand_ins: dict[str, Any] = {}
    for index, (name, value) in enumerate(values.items()):
        if isinstance(value, dt.datetime):
            stand_ins[name] = _STAND_IN_TIMES[which] + dt.timedelta(seconds=index)
        elif isinstance(value, int) and not isinstance(value, bool):
            stand_ins[name] = _STAND_IN_INTS[which] - index
        elif isinstance(value, str):
            stand_ins[name] = f"{_STAND_IN_TEXTS[which]}{index}"
        else:
            raise TypeError(f"{name}: only int, str and datetime values can vary")
    return stand_ins


def _forms(value: Any, ops: Any) -> list[Any]:
    """How a stand-in may appear among the parameters: as it is, or as a datetime adapted."""
    if isinstance(value, dt.datetime):
        return [value, ops.adapt_datetimefield_value(value)]
    return [value]


def _compile(build: Callable[..., QuerySet[Any]], values: dict[str, Any]) -> _Statement:
    stand_ins = [_stand_ins(values, which) for which in (0, 1)]
    querysets = [build(**each) for each in stand_ins]
    compilers = [qs.query.get_compiler(using=qs.db) for qs in querysets]
    (sql, params), (other_sql, other_params) = (c.as_sql() for c in compilers)
    if sql != other_sql or len(params) != len(other_params):
        raise ValueError("a value shapes the SQL, not only its parameters: key it")
    ops = compilers[0].connection.ops
    slots = []
    for position, (param, other) in enumerate(zip(params, other_params, strict=True)):
        names = [
            name
            for name in values
            if any(param == f for f in _forms(stand_ins[0][name], ops))
            and any(other == f for f in _forms(stand_ins[1][name], ops))
        ]
        if names:
            slots.append((position, names[0]))
        elif param != other:
            raise ValueError("a value reaches the SQL altered (e.g. by a lookup)")
    if missing := set(values) - {name for _position, name in slots}:
        raise ValueError(f"the queryset does not pass {sorted(missing)} as a parameter")
    compiler = compilers[0]
    klass_info = compiler.klass_info
    assert klass_info is not None, "cached_rows reads model instances"
    columns = [column[0] for column in compiler.select[: compiler.col_count]]
    if compiler.has_composite_fields(columns):
        raise ValueError("composite primary keys are not read through cached_rows")
    fields = klass_info["select_fields"]
    model_slice = slice(fields[0], fields[-1] + 1)
    return _Statement(
        compiler=compiler,
        sql=sql,
        params=tuple(params),
        slots=tuple(slots),
        init_list=tuple(
            column[0].target.attname for column in compiler.select[model_slice]
        ),
        model_slice=model_slice,
        converters=compiler.get_converters(columns),
    )


def cached_rows(
    key: Hashable, build: Callable[..., QuerySet[M]], /, **values: Any
) -> list[M]:
    """``list(build(**values))``, with the SQL built once per key, database and language.

    ``values`` are ints, strings and aware datetimes; ``build`` must pass each to the
    database as it is, as a parameter (an exact filter value), never shape the statement
    with it (a value a lookup rewrites, as ``contains`` does, is refused at the first call).
    """
    cache_key = (key, tuple(values), get_language())
    statement = _statements.get(cache_key)
    if statement is None:
        statement = _compile(build, values)
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
    with prepared_cursor(connection) as cursor:
        cursor.execute(statement.sql, params)
        fetched = cursor.fetchall()
    if compiler.has_extra_select:
        fetched = [row[: compiler.col_count] for row in fetched]
    klass_info: dict[str, Any] = compiler.klass_info
    populators = get_related_populators(  # type: ignore[call-arg]  # (stubs ahead of 5.2)
        klass_info, compiler.select, using
    )
    objects = []
    rows: Any = fetched
    if statement.converters:
        rows = compiler.apply_converters(fetched, statement.converters)
    for row in rows:
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
