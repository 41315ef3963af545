"""Every analytics test starts with an empty cache: cached rollup reads of one test's data
must not answer another's (the generation key already prevents it; this keeps tests simple)."""

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()
