"""Registries through which other apps plug into crm without crm importing them.

crm is the core and imports no other app. Where it needs their part (demo data now; the
timeline, purchase events and personal-data export/erasure as their issues land), it calls
the functions registered here; each app registers in its ``AppConfig.ready()``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class Hook(Generic[F]):
    """An ordered list of functions registered by apps, called by crm."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._functions: list[F] = []

    def register(self, function: F) -> F:
        if function not in self._functions:
            self._functions.append(function)
        return function

    def __iter__(self) -> Iterator[F]:
        return iter(list(self._functions))

    def __len__(self) -> int:
        return len(self._functions)


# seed(*, stdout_write) -> None: adds an app's demo data after crm's; must be idempotent.
demo_seeders: Hook[Callable[..., None]] = Hook("demo_seeders")
