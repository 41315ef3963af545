"""Contacts, companies, interactions, tasks, segments and the timeline over the REST API."""

from __future__ import annotations

from typing import Any, cast

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from crm import selectors, services
from crm.api.audit import (
    ConsentChangeInputSerializer,
    ConsentEventSerializer,
    ConsentHistoryPageSerializer,
    ConsentStateSerializer,
    NewestEventFirstPagination,
)
from crm.api.pagination import (
    ContactCursorPagination,
    DueFirstPagination,
    NewestFirstPagination,
)
from crm.models import Company, Consent, Contact, Interaction, Segment, Task, User
from crm.models.contacts import birthday_iso_from, contact_display_name
from crm.permissions import IsManager, IsStaffMember
from crm.roles import STAFF_ROLES, role_of
from crm.selectors_audit import consent_history
from crm.services.audit_events import contact_view_record
from crm.timeline import TIMELINE_KINDS, contact_timeline

FILTER_PARAMETERS = [
    OpenApiParameter(
        "search", str, description="Name (any script), email, phone or company."
    ),
    OpenApiParameter("country", str, description="ISO 3166 codes, comma-separated."),
    OpenApiParameter("language", str),
    OpenApiParameter("lifecycle_stage", str),
    OpenApiParameter(
        "tag", str, description="Tag names or ids, comma-separated (all must match)."
    ),
    OpenApiParameter("owner", str, description="User id, `me` or `none`."),
    OpenApiParameter("company", int),
    OpenApiParameter("segment", int),
    OpenApiParameter("has_purchased", bool),
    OpenApiParameter("birthday_month", int),
    OpenApiParameter(
        "ordering",
        str,
        enum=list(selectors.CONTACT_ORDERINGS),
        description="Default: `name`, or `-created` (newest first) with `search`.",
    ),
]


def _actor(request: Request) -> User:
    """The signed-in staff user (the permission classes have already refused everyone else)."""
    return cast(User, request.user)


def _params(request: Request) -> dict[str, list[str]]:
    """The list filters from the query string (``search`` is the API's name for ``q``)."""
    params = {
        name: request.query_params.getlist(name)
        for name in selectors.CONTACT_FILTERS
        if name in request.query_params
    }
    if "search" in request.query_params:
        params["q"] = request.query_params.getlist("search")
    return params


def _staff(pk: Any, field: str) -> User | None:
    if pk in (None, ""):
        return None
    # A query parameter may be any text: a non-number is just no such user (400, not 500).
    numeric = str(pk).isdigit()
    user = (
        User.objects.filter(pk=pk, is_active=True, is_staff=True).first()
        if numeric
        else None
    )
    if user is None:
        raise DRFValidationError({field: [_("No active staff user with this id.")]})
    return user


def _company(pk: Any) -> Company | None:
    if pk in (None, ""):
        return None
    company = Company.objects.filter(pk=pk).first()
    if company is None:
        raise DRFValidationError({"company": [_("No company with this id.")]})
    return company


@extend_schema_field(
    {
        "type": "object",
        "properties": {p: {"type": "boolean"} for p in Consent.Purpose.values},
    }
)
class ConsentsField(serializers.DictField):
    child = serializers.BooleanField()


class ContactOutputSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="display_name", read_only=True)
    phone = serializers.SerializerMethodField()
    company_name = serializers.CharField(
        source="company.name", read_only=True, default=None, allow_null=True
    )
    country = serializers.SerializerMethodField()
    timezone = serializers.SerializerMethodField()
    birthday = serializers.CharField(
        source="birthday_iso", read_only=True, allow_null=True
    )
    tags = serializers.SerializerMethodField()
    consents = serializers.SerializerMethodField()

    class Meta:
        model = Contact
        fields = [
            "id",
            "name",
            "given_name",
            "family_name",
            "email",
            "phone",
            "company",
            "company_name",
            "country",
            "language",
            "timezone",
            "birthday",
            "tags",
            "owner",
            "lifecycle_stage",
            "source",
            "customer_since",
            "last_purchase_at",
            "churned_at",
            "attributes",
            "consents",
            "created_at",
            "updated_at",
        ]

    def get_phone(self, obj: Contact) -> str:
        return str(obj.phone or "")

    def get_country(self, obj: Contact) -> str:
        return str(obj.country or "")

    def get_timezone(self, obj: Contact) -> str | None:
        return str(obj.timezone) if obj.timezone else None

    def get_tags(self, obj: Contact) -> list[str]:
        return [tag.name for tag in obj.tags.all()]

    @extend_schema_field(ConsentsField)
    def get_consents(self, obj: Contact) -> dict[str, bool]:
        current = {c.purpose: c.granted for c in obj.consents.all()}
        return {
            purpose: current.get(purpose, False) for purpose in Consent.Purpose.values
        }


_DATETIME = serializers.DateTimeField()


def _datetime(value: Any) -> str | None:
    return None if value is None else _DATETIME.to_representation(value)


def contact_row_representations(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The list's rows (``selectors.contact_list_rows``) in ``ContactOutputSerializer``'s shape,
    built directly: the serializer's per-field machinery and model instances cost several times
    the queries on a 50-row page. A test holds both to the same output for the same contacts."""
    tags, consents = selectors.contact_rows_related([row["id"] for row in rows])
    purposes = Consent.Purpose.values
    return [
        {
            "id": row["id"],
            "name": contact_display_name(
                pk=row["id"],
                given_name=row["given_name"],
                family_name=row["family_name"],
                language=row["language"],
                email=row["email"],
                erased_at=row["erased_at"],
            ),
            "given_name": row["given_name"],
            "family_name": row["family_name"],
            "email": row["email"],
            "phone": row["phone_text"] or "",
            "company": row["company_id"],
            "company_name": row["company_name"],
            "country": row["country"] or "",
            "language": row["language"],
            "timezone": row["timezone_text"] or None,
            "birthday": birthday_iso_from(
                row["birth_year"], row["birth_month"], row["birth_day"]
            ),
            "tags": tags.get(row["id"], []),
            "owner": row["owner_id"],
            "lifecycle_stage": row["lifecycle_stage"],
            "source": row["source"],
            "customer_since": _datetime(row["customer_since"]),
            "last_purchase_at": _datetime(row["last_purchase_at"]),
            "churned_at": _datetime(row["churned_at"]),
            "attributes": row["attributes"],
            "consents": {
                purpose: consents.get(row["id"], {}).get(purpose, False)
                for purpose in purposes
            },
            "created_at": _datetime(row["created_at"]),
            "updated_at": _datetime(row["updated_at"]),
        }
        for row in rows
    ]


class ContactInputSerializer(serializers.Serializer):
    """Shape only: the contact services check every rule and name the field on failure."""

    given_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    family_name = serializers.CharField(
        max_length=150, required=False, allow_blank=True
    )
    email = serializers.EmailField(required=False, allow_blank=True)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)
    company = serializers.IntegerField(required=False, allow_null=True)
    country = serializers.CharField(max_length=2, required=False, allow_blank=True)
    language = serializers.CharField(max_length=10, required=False)
    timezone = serializers.CharField(
        max_length=64, required=False, allow_blank=True, allow_null=True
    )
    birthday = serializers.CharField(
        max_length=10,
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="YYYY-MM-DD, or --MM-DD without a year.",
    )
    tags = serializers.ListField(
        child=serializers.CharField(max_length=60), required=False
    )
    owner = serializers.IntegerField(required=False, allow_null=True)
    lifecycle_stage = serializers.ChoiceField(
        choices=Contact.LifecycleStage.choices, required=False
    )
    source = serializers.ChoiceField(  # type: ignore[assignment]
        choices=Contact.Source.choices, required=False
    )
    attributes = serializers.DictField(required=False)
    consents = ConsentsField(required=False)

    def to_service_kwargs(self) -> dict[str, Any]:
        data = dict(self.validated_data)
        if "company" in data:
            data["company"] = _company(data["company"])
        if "owner" in data:
            data["owner"] = _staff(data["owner"], "owner")
        return data


class MergeInputSerializer(serializers.Serializer):
    merged = serializers.IntegerField(
        help_text="The contact to fold into this one; it is deleted."
    )


class BulkTagInputSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(), allow_empty=False, max_length=10_000
    )
    tags = serializers.ListField(
        child=serializers.CharField(max_length=60), allow_empty=False
    )


class BulkAssignInputSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(), allow_empty=False, max_length=10_000
    )
    owner = serializers.IntegerField()


class BulkResultSerializer(serializers.Serializer):
    updated = serializers.IntegerField()


class ContactViewSet(viewsets.GenericViewSet):
    """Contacts: search and filter, create, read, change; managers delete and merge."""

    pagination_class = ContactCursorPagination
    serializer_class = ContactOutputSerializer
    queryset = (
        Contact.objects.none()
    )  # for the schema; get_queryset() scopes the real one

    def get_permissions(self) -> list[Any]:
        if self.action in ("destroy", "merge", "bulk_assign"):
            return [IsManager()]
        return [IsStaffMember()]

    def get_queryset(self) -> QuerySet[Contact]:
        return selectors.contact_list(user=_actor(self.request))

    def _visible_contact_id(self, pk: str) -> int:
        """The contact's id when the caller may see it, else 404."""
        found = selectors.contact_visible_id(user=_actor(self.request), contact_id=pk)
        if found is None:
            raise NotFound()
        return found

    @extend_schema(
        parameters=FILTER_PARAMETERS, responses=ContactOutputSerializer(many=True)
    )
    def list(self, request: Request) -> Response:
        rows = selectors.contact_list_rows(
            user=_actor(request), params=_params(request)
        )
        page = self.paginate_queryset(rows) or []
        return self.get_paginated_response(contact_row_representations(page))

    @extend_schema(responses=ContactOutputSerializer)
    def retrieve(self, request: Request, pk: str) -> Response:
        # The rows query applies the same visibility: one query, not a check and a read.
        rows = (
            list(selectors.contact_list_rows(user=_actor(request)).filter(pk=pk))
            if str(pk).isdigit()
            else []
        )
        if not rows:
            raise NotFound()
        contact_view_record(request=request._request, contact_id=rows[0]["id"])
        return Response(contact_row_representations(rows)[0])

    @extend_schema(
        methods=["GET"],
        parameters=[OpenApiParameter("cursor", str)],
        responses=ConsentHistoryPageSerializer,
        description="The contact's consent ledger, newest change first.",
    )
    @extend_schema(
        methods=["POST"],
        request=ConsentChangeInputSerializer,
        responses={201: ConsentStateSerializer, 200: ConsentStateSerializer},
        description="Record a consent answer (201), or 200 when it was already so.",
    )
    @action(detail=True, methods=["get", "post"])
    def consents(self, request: Request, pk: str) -> Response:
        """GET: every change of the contact's consent; POST: record a new answer."""
        contact = self.get_object()
        if request.method == "GET":
            paginator = NewestEventFirstPagination()
            page = paginator.paginate_queryset(
                consent_history(contact_id=contact.pk), request, view=self
            )
            return paginator.get_paginated_response(
                ConsentEventSerializer(page, many=True).data
            )
        data = ConsentChangeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        purpose = data.validated_data["purpose"]
        changed = services.consents_set(
            contact=contact,
            consents={purpose: data.validated_data["granted"]},
            source=data.validated_data["source"],
            actor=_actor(request),
            ip_address=request.META.get("REMOTE_ADDR"),
            wording_version=data.validated_data.get("wording_version"),
        )
        row = Consent.objects.get(contact=contact, purpose=purpose)
        return Response(
            {
                "purpose": row.purpose,
                "granted": row.granted,
                "source": row.source,
                "wording_version": row.wording_version,
                "changed_at": row.changed_at,
                "changed": bool(changed),
            },
            status=status.HTTP_201_CREATED if changed else status.HTTP_200_OK,
        )

    @extend_schema(
        request=ContactInputSerializer, responses={201: ContactOutputSerializer}
    )
    def create(self, request: Request) -> Response:
        data = ContactInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        kwargs = data.to_service_kwargs()
        kwargs.setdefault("source", Contact.Source.API)
        contact = services.contact_create(
            actor=_actor(request),
            consent_source=Consent.Source.API,
            ip_address=request.META.get("REMOTE_ADDR"),
            **kwargs,
        )
        return Response(
            ContactOutputSerializer(self.get_queryset().get(pk=contact.pk)).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(request=ContactInputSerializer, responses=ContactOutputSerializer)
    def partial_update(self, request: Request, pk: str) -> Response:
        contact = self.get_object()
        data = ContactInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.contact_update(
            contact=contact,
            actor=_actor(request),
            consent_source=Consent.Source.API,
            ip_address=request.META.get("REMOTE_ADDR"),
            **data.to_service_kwargs(),
        )
        return Response(
            ContactOutputSerializer(self.get_queryset().get(pk=contact.pk)).data
        )

    def destroy(self, request: Request, pk: str) -> Response:
        services.contact_delete(contact=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "kind",
                str,
                description="Entry kinds, comma-separated: "
                + ", ".join(TIMELINE_KINDS),
            ),
            OpenApiParameter(
                "before",
                OpenApiTypes.DATETIME,
                description="Only entries older than this (the previous page's `next_before`).",
            ),
            OpenApiParameter("limit", int, description="1 to 100, default 50."),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    @action(detail=True, methods=["get"])
    def timeline(self, request: Request, pk: str) -> Response:
        """Interactions, purchases, refunds, tasks, merges and other apps' entries, newest first."""
        contact_id = self._visible_contact_id(pk)
        kinds = {
            k
            for part in request.query_params.getlist("kind")
            for k in part.split(",")
            if k
        } or None
        before_raw = request.query_params.get("before")
        before = parse_datetime(before_raw) if before_raw else None
        if before_raw and before is None:
            raise DRFValidationError({"before": [_("Give an ISO 8601 date and time.")]})
        try:
            limit = min(max(int(request.query_params.get("limit", 50)), 1), 100)
        except ValueError:
            raise DRFValidationError(
                {"limit": [_("Give a whole number from 1 to 100.")]}
            ) from None
        entries = contact_timeline(
            contact_id=contact_id, kinds=kinds, before=before, limit=limit
        )
        results = [
            {
                "kind": e.kind,
                "occurred_at": e.occurred_at,
                "title": e.title,
                "body": e.body,
                "source": e.source,
                "object_id": e.object_id,
                "actor": e.actor,
                "data": e.data,
            }
            for e in entries
        ]
        next_before = entries[-1].occurred_at if len(entries) == limit else None
        return Response({"results": results, "next_before": next_before})

    @extend_schema(
        request=MergeInputSerializer, responses={200: ContactOutputSerializer}
    )
    @action(detail=True, methods=["post"])
    def merge(self, request: Request, pk: str) -> Response:
        """Fold contact `merged` into this one (managers only): everything it had moves here."""
        survivor = self.get_object()
        data = MergeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        merged = self.get_queryset().filter(pk=data.validated_data["merged"]).first()
        if merged is None:
            raise DRFValidationError({"merged": [_("No contact with this id.")]})
        services.contact_merge(survivor=survivor, merged=merged, actor=_actor(request))
        return Response(
            ContactOutputSerializer(self.get_queryset().get(pk=survivor.pk)).data
        )

    @extend_schema(
        request=BulkTagInputSerializer, responses={200: BulkResultSerializer}
    )
    @action(detail=False, methods=["post"], url_path="bulk-tag")
    def bulk_tag(self, request: Request) -> Response:
        """Add `tags` to every contact in `ids`."""
        data = BulkTagInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        count = services.contacts_bulk_tag(
            contact_ids=data.validated_data["ids"],
            tag_names=data.validated_data["tags"],
        )
        return Response({"updated": count})

    @extend_schema(
        request=BulkAssignInputSerializer, responses={200: BulkResultSerializer}
    )
    @action(detail=False, methods=["post"], url_path="bulk-assign")
    def bulk_assign(self, request: Request) -> Response:
        """Make `owner` the owner of every contact in `ids` (managers only)."""
        data = BulkAssignInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        owner = _staff(data.validated_data["owner"], "owner")
        if owner is None:
            raise DRFValidationError({"owner": [_("This field is required.")]})
        count = services.contacts_bulk_assign(
            contact_ids=data.validated_data["ids"], owner=owner
        )
        return Response({"updated": count})


class CompanyViewSet(viewsets.GenericViewSet):
    permission_classes = [IsStaffMember]
    pagination_class = NewestFirstPagination

    class OutputSerializer(serializers.ModelSerializer):
        country = serializers.SerializerMethodField()
        contact_count = serializers.IntegerField(read_only=True)

        class Meta:
            model = Company
            fields = [
                "id",
                "name",
                "domain",
                "country",
                "owner",
                "contact_count",
                "created_at",
            ]

        def get_country(self, obj: Company) -> str:
            return str(obj.country or "")

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200)
        domain = serializers.CharField(max_length=200, required=False, allow_blank=True)
        country = serializers.CharField(max_length=2, required=False, allow_blank=True)
        owner = serializers.IntegerField(required=False, allow_null=True)

    queryset = (
        Company.objects.none()
    )  # for the schema; get_queryset() scopes the real one
    serializer_class = OutputSerializer

    def get_permissions(self) -> list[Any]:
        return [IsManager()] if self.action == "destroy" else [IsStaffMember()]

    def get_queryset(self) -> QuerySet[Company]:
        return selectors.company_list(
            user=_actor(self.request),
            search=self.request.query_params.get("search", ""),
        )

    @extend_schema(
        parameters=[OpenApiParameter("search", str)],
        responses=OutputSerializer(many=True),
    )
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.OutputSerializer(page, many=True).data)

    @extend_schema(responses=OutputSerializer)
    def retrieve(self, request: Request, pk: str) -> Response:
        company = self.get_object()
        data = dict(self.OutputSerializer(company).data)
        revenue = selectors.company_revenue(company=company)
        data["revenue"] = {
            key: str(value) for key, value in revenue.items() if key != "orders"
        }
        data["revenue"]["orders"] = revenue["orders"]
        return Response(data)

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def create(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        kwargs = dict(data.validated_data)
        kwargs["owner"] = _staff(kwargs.get("owner"), "owner")
        company = services.company_create(**kwargs)
        return Response(
            self.OutputSerializer(self.get_queryset().get(pk=company.pk)).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def partial_update(self, request: Request, pk: str) -> Response:
        company = self.get_object()
        data = self.InputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        kwargs = dict(data.validated_data)
        if "owner" in kwargs:
            kwargs["owner"] = _staff(kwargs["owner"], "owner")
        services.company_update(company=company, **kwargs)
        return Response(
            self.OutputSerializer(self.get_queryset().get(pk=company.pk)).data
        )

    def destroy(self, request: Request, pk: str) -> Response:
        services.company_delete(company=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class InteractionViewSet(viewsets.GenericViewSet):
    permission_classes = [IsStaffMember]
    pagination_class = NewestFirstPagination

    class OutputSerializer(serializers.ModelSerializer):
        class Meta:
            model = Interaction
            fields = [
                "id",
                "contact",
                "kind",
                "direction",
                "subject",
                "body",
                "occurred_at",
                "duration_seconds",
                "author",
                "created_at",
            ]

    class InputSerializer(serializers.Serializer):
        contact = serializers.IntegerField()
        kind = serializers.ChoiceField(choices=Interaction.Kind.choices)
        direction = serializers.ChoiceField(
            choices=Interaction.Direction.choices, required=False
        )
        subject = serializers.CharField(
            max_length=200, required=False, allow_blank=True
        )
        body = serializers.CharField(required=False, allow_blank=True)
        occurred_at = serializers.DateTimeField(required=False)
        duration_seconds = serializers.IntegerField(
            min_value=0, required=False, allow_null=True
        )

    queryset = Interaction.objects.none()
    serializer_class = OutputSerializer

    def get_queryset(self) -> QuerySet[Interaction]:
        qs = Interaction.objects.filter(
            contact__in=Contact.objects.visible_to(_actor(self.request))
        )
        if contact := self.request.query_params.get("contact"):
            qs = qs.filter(contact_id=contact) if contact.isdigit() else qs.none()
        if kind := self.request.query_params.get("kind"):
            qs = qs.filter(kind__in=kind.split(","))
        return qs

    @extend_schema(
        parameters=[OpenApiParameter("contact", int), OpenApiParameter("kind", str)],
        responses=OutputSerializer(many=True),
    )
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.OutputSerializer(page, many=True).data)

    @extend_schema(responses=OutputSerializer)
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(self.OutputSerializer(self.get_object()).data)

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def create(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        kwargs = dict(data.validated_data)
        contact = (
            Contact.objects.visible_to(_actor(request))
            .filter(pk=kwargs.pop("contact"))
            .first()
        )
        if contact is None:
            raise DRFValidationError({"contact": [_("No contact with this id.")]})
        interaction = services.interaction_log(
            contact=contact, author=_actor(request), **kwargs
        )
        return Response(
            self.OutputSerializer(interaction).data, status=status.HTTP_201_CREATED
        )


class TaskViewSet(viewsets.GenericViewSet):
    permission_classes = [IsStaffMember]
    pagination_class = DueFirstPagination

    class OutputSerializer(serializers.ModelSerializer):
        class Meta:
            model = Task
            fields = [
                "id",
                "title",
                "notes",
                "contact",
                "due_at",
                "assignee",
                "created_by",
                "completed_at",
                "created_at",
            ]

    class InputSerializer(serializers.Serializer):
        title = serializers.CharField(max_length=200)
        notes = serializers.CharField(required=False, allow_blank=True)
        contact = serializers.IntegerField(required=False, allow_null=True)
        due_at = serializers.DateTimeField()
        assignee = serializers.IntegerField(required=False)
        completed = serializers.BooleanField(required=False)

    queryset = Task.objects.none()
    serializer_class = OutputSerializer

    def get_queryset(self) -> QuerySet[Task]:
        assignee_param = self.request.query_params.get("assignee", "")
        assignee = None
        if assignee_param == "me":
            assignee = _actor(self.request)
        elif assignee_param:
            assignee = _staff(assignee_param, "assignee")
        state = (
            self.request.query_params.get("state", "all")
            if self.action == "list"
            else "all"
        )
        return selectors.task_list(
            user=_actor(self.request), assignee=assignee, state=state
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("assignee", str, description="User id or `me`."),
            OpenApiParameter("state", str, enum=["open", "done", "overdue", "all"]),
        ],
        responses=OutputSerializer(many=True),
    )
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.OutputSerializer(page, many=True).data)

    @extend_schema(responses=OutputSerializer)
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(self.OutputSerializer(self.get_object()).data)

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def create(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        kwargs = dict(data.validated_data)
        kwargs.pop("completed", None)
        contact = None
        if (contact_id := kwargs.pop("contact", None)) is not None:
            contact = (
                Contact.objects.visible_to(_actor(request))
                .filter(pk=contact_id)
                .first()
            )
            if contact is None:
                raise DRFValidationError({"contact": [_("No contact with this id.")]})
        assignee = _staff(kwargs.pop("assignee", None), "assignee") or _actor(request)
        task = services.task_create(
            contact=contact, assignee=assignee, created_by=_actor(request), **kwargs
        )
        return Response(
            self.OutputSerializer(task).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def partial_update(self, request: Request, pk: str) -> Response:
        task = self.get_object()
        data = self.InputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        kwargs = dict(data.validated_data)
        if "contact" in kwargs:
            raise DRFValidationError(
                {"contact": [_("A task's contact cannot be changed.")]}
            )
        completed = kwargs.pop("completed", None)
        if "assignee" in kwargs:
            kwargs["assignee"] = _staff(kwargs["assignee"], "assignee")
        if kwargs:
            task = services.task_update(task=task, **kwargs)
        if completed is not None:
            task = services.task_complete(task=task, done=completed)
        return Response(self.OutputSerializer(task).data)


class SegmentViewSet(viewsets.GenericViewSet):
    permission_classes = [IsStaffMember]
    pagination_class = NewestFirstPagination

    class OutputSerializer(serializers.ModelSerializer):
        count = serializers.SerializerMethodField()

        class Meta:
            model = Segment
            fields = [
                "id",
                "name",
                "description",
                "filters",
                "count",
                "created_by",
                "created_at",
            ]

        def get_count(self, obj: Segment) -> int:
            return selectors.segment_count(
                segment=obj, user=self.context["request"].user
            )

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=120)
        description = serializers.CharField(
            max_length=300, required=False, allow_blank=True
        )
        filters = serializers.DictField()

    queryset = (
        Segment.objects.none()
    )  # for the schema; get_queryset() scopes the real one
    serializer_class = OutputSerializer

    def get_queryset(self) -> QuerySet[Segment]:
        if role_of(self.request.user) not in STAFF_ROLES:
            return Segment.objects.none()
        return Segment.objects.select_related("created_by")

    @extend_schema(responses=OutputSerializer(many=True))
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(
            self.OutputSerializer(page, many=True, context={"request": request}).data
        )

    @extend_schema(responses=OutputSerializer)
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(
            self.OutputSerializer(self.get_object(), context={"request": request}).data
        )

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def create(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        segment = services.segment_create(
            created_by=_actor(request), **data.validated_data
        )
        return Response(
            self.OutputSerializer(segment, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def partial_update(self, request: Request, pk: str) -> Response:
        data = self.InputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        segment = services.segment_update(
            segment=self.get_object(), user=_actor(request), **data.validated_data
        )
        return Response(
            self.OutputSerializer(segment, context={"request": request}).data
        )

    def destroy(self, request: Request, pk: str) -> Response:
        services.segment_delete(segment=get_object_or_404(self.get_queryset(), pk=pk))
        return Response(status=status.HTTP_204_NO_CONTENT)
