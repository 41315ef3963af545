"""A cursor whose statements PostgreSQL plans once per connection: for the hot reads.

Django sends each statement with its values written in (client-side binding), so PostgreSQL
parses and plans it on every run; for a small indexed read planning costs as much as running
it. The statements ``crm.querycache`` keeps (timeline sources, ledger reads) run again and
again with other values: through this cursor their values are bound by the server and, from
the ``prepare_threshold``-th run on a connection, the statement is prepared and only executed
(a timeline page: about a quarter less time).

Only these fixed statements use it: a server-bound statement has at most 65,535 parameters,
which Django's own large ``IN`` lists (a delete collecting 100,000 contacts) would exceed.
Elsewhere than PostgreSQL with psycopg 3, or with ``DATABASE_PREPARED_STATEMENTS`` off (behind
a pooler in transaction mode, which cannot keep a connection's prepared statements), it is
Django's usual cursor.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.backends.base.base import BaseDatabaseWrapper

_server_binding: Any
try:
    from django.db.backends.postgresql import base as postgresql_base
    from django.db.backends.postgresql.psycopg_any import register_tzloader
    from psycopg.postgres import types as pg_types
    from psycopg.pq import Format

    _server_binding = postgresql_base.ServerBindingCursor
# psycopg 2, or no PostgreSQL driver at all (the SQLite demo)
except (ImportError, AttributeError):
    _server_binding = None

# The prepared statements' cache on a connection is psycopg's (its ``prepared_max``, 100).
PREPARE_THRESHOLD = 2


def prepared_cursor(connection: BaseDatabaseWrapper) -> Any:
    """A cursor (use it in ``with``) that binds values on the server and prepares a
    statement run ``PREPARE_THRESHOLD`` times on this connection; logged and wrapped as
    Django's own cursors are (query counts, database errors)."""
    if (
        connection.vendor != "postgresql"
        or _server_binding is None
        or not settings.DATABASE_PREPARED_STATEMENTS
    ):
        return connection.cursor()
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    raw = connection.connection
    if raw.prepare_threshold != PREPARE_THRESHOLD:
        # Only server-bound cursors prepare; Django's client-bound ones never do.
        raw.prepare_threshold = PREPARE_THRESHOLD
    with connection.wrap_database_errors:
        cursor = _server_binding(raw)
        # As Django's own cursors: a time zone changed since connecting (tests) is the
        # cursor's own.
        loader = raw.adapters.get_loader(pg_types["timestamptz"].oid, Format.TEXT)
        if connection.timezone != getattr(loader, "timezone", connection.timezone):
            register_tzloader(connection.timezone, cursor)
        # Django's wrapping of a new cursor (logging, error translation), as ``cursor()``.
        wrapper: Any = connection
        return wrapper._prepare_cursor(cursor)
