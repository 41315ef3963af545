"""The rollups' generation: a random token in the cache that every write of the rollups
renews, so everything cached from older rollups is ignored (``analytics.metrics.cache``)."""

from __future__ import annotations

import uuid

from django.core.cache import cache
from django.db import transaction

GENERATION_KEY = "analytics:rollups:generation"


def _new_generation() -> str:
    token = uuid.uuid4().hex
    cache.set(GENERATION_KEY, token, None)
    return token


def rollups_changed() -> None:
    """Call where the rollups are written: a new generation now and another at commit, so a
    reader that computed the old numbers meanwhile cannot keep them under the new one."""
    _new_generation()
    transaction.on_commit(_new_generation)


def rollups_generation() -> str:
    return cache.get(GENERATION_KEY) or _new_generation()
