"""Fill a rollup table from scratch the fast way on PostgreSQL: into a fresh copy without
indexes, indexed afterwards in one sorted pass each, then swapped in by renaming.

Inserting millions of rows one by one into a table with seven indexes touches index pages at
random (70 of the 110 s a full rebuild took at a million contacts); building each index once
after the rows are in takes seconds. The copy gets exactly the original's indexes and
constraints (read from the catalogue, so new migrations need nothing here) and statistics. The
swap runs in the caller's transaction: readers see the old rows until it commits and wait only
for the renames.

The steps are separate (create, index, analyse, swap) so that a rebuild on several
connections can fill and index the copies elsewhere and swap them in its own transaction
(``analytics.services.parallel``); ``rebuilt_table`` runs them in turn on one connection.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import connection, models

SUFFIX = "__rebuild"


def swap_supported(model: type[models.Model]) -> bool:
    """PostgreSQL, and no other table's foreign key points at this one."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_constraint WHERE confrelid = %s::regclass",
            [model._meta.db_table],
        )
        row = cursor.fetchone()
    return row is not None and row[0] == 0


def fresh_name(model: type[models.Model]) -> str:
    return model._meta.db_table + SUFFIX


def fresh_table_create(model: type[models.Model]) -> str:
    """(Re)create the empty, index-less copy of ``model``'s table; its name."""
    quote = connection.ops.quote_name
    fresh = fresh_name(model)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {quote(fresh)}")
        cursor.execute(
            f"CREATE TABLE {quote(fresh)} (LIKE {quote(model._meta.db_table)} "
            "INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING CONSTRAINTS INCLUDING GENERATED)"
        )
    return fresh


def fresh_table_drop(model: type[models.Model]) -> None:
    """Drop the copy, if one is left (a rebuild that failed before its swap)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"DROP TABLE IF EXISTS {connection.ops.quote_name(fresh_name(model))}"
        )


@dataclass(frozen=True)
class FreshIndex:
    """One of the original's indexes: how to build it on the copy, and the statement that
    gives it the original's name (and constraint) once the copy is swapped in."""

    build: str
    rename: str


def fresh_table_indexes(model: type[models.Model]) -> list[FreshIndex]:
    """Every index of the original, and the constraint it backs (primary key, unique), as
    statements for the copy."""
    table = model._meta.db_table
    fresh = fresh_name(model)
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.relname, pg_get_indexdef(i.oid), c.conname, c.contype "
            "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "LEFT JOIN pg_constraint c ON c.conindid = i.oid AND c.conrelid = x.indrelid "
            "WHERE x.indrelid = %s::regclass ORDER BY i.relname",
            [table],
        )
        rows = cursor.fetchall()
    indexes: list[FreshIndex] = []
    for name, definition, constraint, kind in rows:
        temporary = f"{name[: 63 - len(SUFFIX)]}{SUFFIX}"
        head = re.match(
            r"^(CREATE (?:UNIQUE )?INDEX )\S+( ON (?:ONLY )?)\S+", definition
        )
        if head is None:
            raise RuntimeError(f"Unexpected index definition: {definition}")
        build = (
            f"{head[1]}{quote(temporary)}{head[2]}{quote(fresh)}"
            + definition[head.end() :]
        )
        if constraint:
            what = "PRIMARY KEY" if kind == "p" else "UNIQUE"
            rename = (
                f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(constraint)} "
                f"{what} USING INDEX {quote(temporary)}"
            )
        else:
            rename = f"ALTER INDEX {quote(temporary)} RENAME TO {quote(name)}"
        indexes.append(FreshIndex(build=build, rename=rename))
    return indexes


def run_statement(statement: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement)


def fresh_table_analyze(model: type[models.Model]) -> None:
    run_statement(f"ANALYZE {connection.ops.quote_name(fresh_name(model))}")


def fresh_table_swap(model: type[models.Model], indexes: list[FreshIndex]) -> None:
    """Put the filled, indexed copy in the original's place (in the caller's transaction)."""
    table = model._meta.db_table
    fresh = fresh_name(model)
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [fresh])
        sequence = cursor.fetchone()
        cursor.execute(f"DROP TABLE {quote(table)}")
        cursor.execute(f"ALTER TABLE {quote(fresh)} RENAME TO {quote(table)}")
        for index in indexes:
            cursor.execute(index.rename)
        if sequence and sequence[0]:
            cursor.execute(
                f"ALTER SEQUENCE {sequence[0]} RENAME TO {quote(table + '_id_seq')}"
            )


@contextmanager
def rebuilt_table(model: type[models.Model]) -> Iterator[str]:
    """Yield the name of an empty, index-less copy of ``model``'s table to fill; on exit, index
    it like the original, analyse it and put it in the original's place (PostgreSQL only,
    inside a transaction)."""
    fresh = fresh_table_create(model)
    yield fresh
    indexes = fresh_table_indexes(model)
    for index in indexes:
        run_statement(index.build)
    fresh_table_analyze(model)
    fresh_table_swap(model, indexes)
