"""Run parts of a rebuild on helper connections, each reading exactly what the caller's
transaction reads.

PostgreSQL runs an ``INSERT … SELECT`` on one CPU (it never plans one in parallel), so a
rebuild on a single connection leaves the other CPUs idle. The caller exports its
transaction's snapshot (``pg_export_snapshot``); a helper thread opens its own connection,
starts a repeatable-read transaction in that snapshot, runs its part and commits. What helpers
commit must stay invisible to readers until the caller's transaction puts it in place: they
fill fresh copies of the tables, which the caller swaps in
(``analytics.services.table_swap``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from concurrent.futures import as_completed as _as_completed
from types import TracebackType
from typing import Any, TypeVar

from django.db import connection, transaction

T = TypeVar("T")

# What pg_export_snapshot() returns, e.g. "00000003-0000001B-1": checked before it is
# written into SET TRANSACTION SNAPSHOT, which takes no parameters.
SNAPSHOT_ID = re.compile(r"[0-9A-F]+-[0-9A-F]+(?:-[0-9]+)?")


def snapshot_export() -> str:
    """The snapshot of the current transaction, for helpers to read in (PostgreSQL, inside a
    transaction that stays open until they have started)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_export_snapshot()")
        row = cursor.fetchone()
    assert row is not None
    snapshot = str(row[0])
    if not SNAPSHOT_ID.fullmatch(snapshot):
        raise RuntimeError(f"Unexpected snapshot id: {snapshot!r}")
    return snapshot


def _run(
    function: Callable[..., T],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    snapshot: str | None,
) -> T:
    """In a helper thread, on the thread's own connection, closed afterwards."""
    try:
        if snapshot is None:
            return function(*args, **kwargs)
        with transaction.atomic():
            with connection.cursor() as cursor:
                # The first statements of the transaction, as PostgreSQL requires.
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                cursor.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
            return function(*args, **kwargs)
    finally:
        connection.close()


class Helpers:
    """A few helper threads, each with its own database connection.

    ``submit`` runs a call in autocommit, or with ``snapshot=`` in one transaction reading that
    snapshot; ``run_all`` runs calls and returns their results in order, stopping at the first
    failure. Leaving the block waits for the calls already running and drops the rest.
    """

    def __init__(self, workers: int) -> None:
        self._pool = ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="rollups"
        )

    def __enter__(self) -> Helpers:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        """Wait for the calls already running; drop those not started."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    def submit(
        self,
        function: Callable[..., T],
        *args: Any,
        snapshot: str | None = None,
        **kwargs: Any,
    ) -> Future[T]:
        return self._pool.submit(_run, function, args, kwargs, snapshot)

    def run_all(self, calls: Iterable[tuple[Any, ...]]) -> list[Any]:
        """Each ``(function, *args)`` in autocommit; the results in order."""
        futures = [self.submit(function, *args) for function, *args in calls]
        done, _pending = wait(futures, return_when=FIRST_EXCEPTION)
        for future in done:
            if future.exception() is not None:
                self.stop()
                future.result()  # raises it
        return [future.result() for future in futures]


def as_completed(futures: Iterable[Future[T]]) -> Iterator[T]:
    """Each result as its call finishes; the first failure raises."""
    for future in _as_completed(list(futures)):
        yield future.result()


def run_elsewhere(function: Callable[..., T], *args: Any) -> T:
    """``function(*args)`` in autocommit on a connection of its own (not the caller's, whose
    transaction may be failing)."""
    with Helpers(1) as helper:
        return helper.submit(function, *args).result()
