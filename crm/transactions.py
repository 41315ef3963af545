"""``atomic_service``: a service's transaction that takes no savepoint inside a caller's.

``transaction.atomic`` nested in a caller's transaction takes a savepoint: a round trip in and
one out on every call, so that a caller catching the service's error can go on. An API write
runs its service inside the ``Idempotency-Key`` transaction and lets every error escape it,
so those two round trips buy nothing on the busiest writes (a loyalty adjustment is about
twelve statements; they are two more).

A service that refuses only before it writes does not need them either: its refusal (a
``ValidationError`` or ``PermissionDenied``) is raised once outside the savepoint-less block,
and the caller's transaction goes on as the savepoint would have left it, since nothing was
written. Anything else raised inside (a database error, a bug after a write) passes through
the block, which marks the caller's transaction for rollback: a caller that catches it cannot
commit half a write (Django raises ``TransactionManagementError`` at its next statement).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

P = ParamSpec("P")
R = TypeVar("R")


def atomic_service(function: Callable[P, R]) -> Callable[P, R]:
    """Run ``function`` in a transaction: its own outside any, the caller's (no savepoint)
    inside one. ``function`` must refuse (``ValidationError``, ``PermissionDenied``) only
    before its first write."""

    @wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if not transaction.get_connection().in_atomic_block:
            with transaction.atomic():
                return function(*args, **kwargs)
        with transaction.atomic(savepoint=False):
            try:
                return function(*args, **kwargs)
            except (ValidationError, PermissionDenied) as error:
                refusal = error  # nothing written: leave the block cleanly, then refuse
        raise refusal

    return wrapper
