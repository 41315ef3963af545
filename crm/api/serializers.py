"""Serializer helpers the API modules share."""

from __future__ import annotations

import copy

from rest_framework import serializers

_BUILT = "_fields_built_once"


class FieldsBuiltOnce:
    """For a ``ModelSerializer`` whose fields depend on nothing but its class: they are built
    from the model the first time and copied for each instance after. Building them walks the
    model's fields (about half a millisecond for a dozen, on every write answered with it).

    The copies are shallow: binding a field to its serializer sets attributes of the copy
    (name, parent, label, source), never changes what the copy shares with the built field.
    A nested serializer keeps bound fields of its own and is copied in depth."""

    def get_fields(self) -> dict[str, serializers.Field]:
        cls = type(self)
        built: dict[str, serializers.Field] | None = cls.__dict__.get(_BUILT)
        if built is None:
            built = super().get_fields()  # type: ignore[misc]
            setattr(cls, _BUILT, built)  # per class: a subclass builds its own
        return {
            name: copy.deepcopy(field)
            if isinstance(field, serializers.BaseSerializer)
            else copy.copy(field)
            for name, field in built.items()
        }
