"""``crm.transactions.atomic_service``: a service's transaction, without a savepoint inside a
caller's, where a refusal leaves the caller's transaction usable and anything else dooms it."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext

from crm.models import Tag
from crm.transactions import atomic_service


@atomic_service
def tag_then(name: str, *, after: Exception | None = None) -> Tag:
    """Writes a tag, then raises ``after`` when given (a service breaking its contract, or
    failing after a write)."""
    tag = Tag.objects.create(name=name)
    if after is not None:
        raise after
    return tag


@atomic_service
def refuse_first(name: str, *, refusal: Exception) -> Tag:
    """A service keeping the contract: it refuses before it writes."""
    if refusal is not None:
        raise refusal
    return Tag.objects.create(name=name)


def _statements(queries: CaptureQueriesContext) -> list[str]:
    return [str(query["sql"]).split()[0].upper() for query in queries]


@pytest.mark.django_db
@pytest.mark.smoke
def test_inside_a_callers_transaction_it_takes_no_savepoint():
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        tag_then("vip")
    assert "SAVEPOINT" in _statements(queries)  # the caller's own atomic (the test's)
    with CaptureQueriesContext(connection) as queries:
        tag_then("gold")
    assert _statements(queries) == ["INSERT"]
    assert set(Tag.objects.values_list("name", flat=True)) == {"vip", "gold"}


@pytest.mark.django_db
@pytest.mark.smoke
@pytest.mark.parametrize(
    "refusal",
    [ValidationError({"name": "No."}), PermissionDenied()],
    ids=["validation", "permission"],
)
def test_a_refusal_inside_a_callers_transaction_leaves_it_usable(refusal):
    Tag.objects.create(name="before")
    with pytest.raises(type(refusal)):
        refuse_first("vip", refusal=refusal)
    assert not connection.needs_rollback
    Tag.objects.create(name="after")  # the caller goes on
    assert set(Tag.objects.values_list("name", flat=True)) == {"before", "after"}


@pytest.mark.django_db(transaction=True)
def test_any_other_error_inside_a_callers_transaction_dooms_it():
    with transaction.atomic():
        Tag.objects.create(name="before")
        with pytest.raises(RuntimeError):
            tag_then("half", after=RuntimeError("broken after the write"))
        assert connection.needs_rollback
        with pytest.raises(TransactionManagementError):
            Tag.objects.count()  # the caller cannot go on with half a write
    assert not Tag.objects.exists()  # nothing of it was committed


@pytest.mark.django_db(transaction=True)
def test_a_database_error_inside_a_callers_transaction_dooms_it():
    Tag.objects.create(name="vip")

    def caller() -> None:
        with transaction.atomic():
            Tag.objects.create(name="before")
            tag_then("vip")  # the unique name is taken

    with pytest.raises(IntegrityError):
        caller()
    assert list(Tag.objects.values_list("name", flat=True)) == ["vip"]


@pytest.mark.django_db(transaction=True)
def test_outside_any_transaction_it_is_its_own():
    tag = tag_then("vip")
    assert Tag.objects.get(pk=tag.pk).name == "vip"  # committed
    with pytest.raises(ValidationError):
        # Even a refusal after a write writes nothing: its own transaction rolls back.
        tag_then("half", after=ValidationError({"name": "No."}))
    assert list(Tag.objects.values_list("name", flat=True)) == ["vip"]
    assert not connection.in_atomic_block
