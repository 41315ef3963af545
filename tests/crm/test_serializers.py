"""``FieldsBuiltOnce``: a serializer's fields built from the model once, fresh per instance."""

import pytest
from rest_framework import serializers

from crm.api.serializers import FieldsBuiltOnce
from crm.models import Company

pytestmark = [pytest.mark.django_db, pytest.mark.smoke]


class Plain(serializers.ModelSerializer):
    size = serializers.SerializerMethodField()

    class Meta:
        model = Company
        fields = ["id", "name", "domain", "size"]

    def get_size(self, obj: Company) -> int:
        return len(obj.name)


class BuiltOnce(FieldsBuiltOnce, Plain):
    pass


class Owner(serializers.Serializer):
    email = serializers.EmailField()


class WithOwner(FieldsBuiltOnce, serializers.ModelSerializer):
    owner = Owner(read_only=True)

    class Meta:
        model = Company
        fields = ["id", "owner"]


class Wider(BuiltOnce):
    class Meta(Plain.Meta):
        fields = [*Plain.Meta.fields, "created_at"]


def test_the_answer_is_the_plain_serializers():
    company = Company.objects.create(name="Hanok Tea House", domain="hanok.example")
    assert BuiltOnce(company).data == Plain(company).data
    assert BuiltOnce(company).data["size"] == len("Hanok Tea House")


def test_each_instance_gets_its_own_fields_bound_to_it():
    first, second = BuiltOnce(), BuiltOnce()
    assert list(first.fields) == list(second.fields) == ["id", "name", "domain", "size"]
    for name in first.fields:
        assert first.fields[name] is not second.fields[name]
        assert first.fields[name].parent is first
        assert second.fields[name].parent is second
    first.fields["name"].label = "changed"
    assert BuiltOnce().fields["name"].label != "changed"


def test_a_subclass_builds_its_own_fields():
    assert list(BuiltOnce().fields)  # the parent's are built first
    assert list(Wider().fields) == ["id", "name", "domain", "size", "created_at"]
    assert list(BuiltOnce().fields) == ["id", "name", "domain", "size"]


def test_a_nested_serializer_is_copied_with_fields_of_its_own():
    first, second = WithOwner(), WithOwner()
    first_owner, second_owner = first.fields["owner"], second.fields["owner"]
    assert first_owner is not second_owner
    assert first_owner.fields["email"] is not second_owner.fields["email"]
    assert first_owner.fields["email"].parent is first_owner
    assert (first_owner.parent, second_owner.parent) == (first, second)
