"""The rewards catalog and redemptions over the API."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from crm.api.pagination import NewestFirstPagination
from crm.idempotency import (
    IDEMPOTENCY_KEY_PARAMETER,
    IDEMPOTENCY_KEY_REUSED_RESPONSE,
    idempotent,
)
from crm.models import Contact
from crm.permissions import IsManager, IsStaffMember, ManagerWritesStaffReads
from loyalty import selectors, services
from loyalty.api.base import (
    CONFLICT_RESPONSE,
    DEFAULT_LANGUAGE,
    LANGUAGE_CODES,
    UUID_PATTERN,
    ConflictAs409Mixin,
    TierSerializer,
    request_user,
    retry_scope,
)
from loyalty.models import Redemption, Reward, Tier
from loyalty.services import InsufficientPoints


class RewardViewSet(ConflictAs409Mixin, viewsets.GenericViewSet):
    """The rewards catalog: staff read it, managers and admins write it.

    ``name`` and ``description`` are in the request's language (with the default language as
    fallback); ``name_en``, ``name_ko``… set or show each language. A plain ``name`` on
    write sets the default language.
    """

    permission_classes = [ManagerWritesStaffReads]
    pagination_class = NewestFirstPagination

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=150, required=False, label=_("name"))
        description = serializers.CharField(
            required=False, allow_blank=True, label=_("description")
        )
        image_url = serializers.URLField(
            required=False, allow_blank=True, label=_("image address")
        )
        cost = serializers.IntegerField(min_value=1, label=_("cost in points"))
        stock = serializers.IntegerField(
            min_value=0,
            required=False,
            allow_null=True,
            label=_("stock"),
            help_text=_("Empty (null) means unlimited."),
        )
        min_tier: serializers.PrimaryKeyRelatedField[Tier] = (
            serializers.PrimaryKeyRelatedField(
                queryset=Tier.objects.all(),
                required=False,
                allow_null=True,
                label=_("minimum tier"),
            )
        )
        active = serializers.BooleanField(required=False, label=_("active"))
        active_from = serializers.DateTimeField(
            required=False, allow_null=True, label=_("available from")
        )
        active_until = serializers.DateTimeField(
            required=False, allow_null=True, label=_("available until")
        )

        def get_fields(self) -> dict[str, serializers.Field]:
            fields = super().get_fields()
            for code in LANGUAGE_CODES:  # name_en, name_ko, description_en, …
                fields[f"name_{code}"] = serializers.CharField(
                    max_length=150, required=False, allow_blank=True
                )
                fields[f"description_{code}"] = serializers.CharField(
                    required=False, allow_blank=True
                )
            return fields

        def to_service_kwargs(self) -> dict[str, Any]:
            data = dict(self.validated_data)
            for field in ("name", "description"):
                if field in data:
                    data.setdefault(f"{field}_{DEFAULT_LANGUAGE}", data.pop(field))
            return data

    class OutputSerializer(serializers.ModelSerializer):
        min_tier = TierSerializer(read_only=True, allow_null=True)

        class Meta:
            model = Reward
            fields = [
                "id",
                "name",
                *[f"name_{code}" for code in LANGUAGE_CODES],
                "description",
                *[f"description_{code}" for code in LANGUAGE_CODES],
                "image_url",
                "cost",
                "stock",
                "min_tier",
                "active",
                "active_from",
                "active_until",
                "created_at",
                "updated_at",
            ]
            read_only_fields = fields

    serializer_class = OutputSerializer

    def get_queryset(self) -> QuerySet[Reward]:
        return selectors.reward_list()

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.OutputSerializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(self.OutputSerializer(self.get_object()).data)

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def create(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.to_service_kwargs()
        if not fields.get(f"name_{DEFAULT_LANGUAGE}"):
            raise exceptions.ValidationError(
                {"name": [_("Give the reward a name in the default language.")]}
            )
        reward = services.reward_create(**fields)
        return Response(
            self.OutputSerializer(self.get_queryset().get(pk=reward.pk)).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def update(self, request: Request, pk: str) -> Response:
        return self._update(request, partial=False)

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def partial_update(self, request: Request, pk: str) -> Response:
        return self._update(request, partial=True)

    def _update(self, request: Request, *, partial: bool) -> Response:
        reward = self.get_object()
        data = self.InputSerializer(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        reward = services.reward_update(reward=reward, **data.to_service_kwargs())
        return Response(
            self.OutputSerializer(self.get_queryset().get(pk=reward.pk)).data
        )

    @extend_schema(responses={204: None, 409: CONFLICT_RESPONSE})
    def destroy(self, request: Request, pk: str) -> Response:
        services.reward_delete(reward=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class RedemptionOutputSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    contact = serializers.IntegerField(source="account.contact_id", read_only=True)
    reward_name = serializers.CharField(source="reward.name", read_only=True)
    created_by = serializers.SerializerMethodField()

    class Meta:
        model = Redemption
        fields = [
            "id",
            "contact",
            "reward",
            "reward_name",
            "points",
            "voucher_code",
            "status",
            "created_at",
            "created_by",
            "used_at",
            "cancelled_at",
        ]
        read_only_fields = fields

    def get_created_by(self, obj: Redemption) -> str:
        return obj.created_by.display_name if obj.created_by else ""


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("contact", int, description=_("Only this contact's.")),
            OpenApiParameter(
                "status", str, enum=[choice.value for choice in Redemption.Status]
            ),
        ]
    )
)
class RedemptionViewSet(ConflictAs409Mixin, viewsets.GenericViewSet):
    """Points spent on rewards. Staff redeem on a member's behalf; managers cancel."""

    pagination_class = NewestFirstPagination
    lookup_field = "public_id"
    lookup_url_kwarg = "id"
    lookup_value_regex = UUID_PATTERN
    serializer_class = RedemptionOutputSerializer

    class InputSerializer(serializers.Serializer):
        contact = serializers.PrimaryKeyRelatedField(
            queryset=Contact.objects.all(), label=_("contact")
        )
        reward: serializers.PrimaryKeyRelatedField[Reward] = (
            serializers.PrimaryKeyRelatedField(
                queryset=Reward.objects.all(), label=_("reward")
            )
        )

    def get_permissions(self) -> list[Any]:
        if self.action == "cancel":
            return [IsManager()]
        return [IsStaffMember()]

    def get_queryset(self) -> QuerySet[Redemption]:
        queryset = selectors.redemption_list()
        if self.action == "list":
            contact = self.request.query_params.get("contact", "")
            if contact:
                if not contact.isdigit():
                    raise exceptions.ValidationError(
                        {"contact": [_("Give a contact id.")]}
                    )
                queryset = queryset.filter(account__contact_id=int(contact))
            if state := self.request.query_params.get("status"):
                queryset = queryset.filter(status=state)
        return queryset

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(
            RedemptionOutputSerializer(page, many=True).data
        )

    def retrieve(self, request: Request, id: str) -> Response:
        return Response(RedemptionOutputSerializer(self.get_object()).data)

    @extend_schema(
        request=InputSerializer,
        responses={
            201: RedemptionOutputSerializer,
            409: CONFLICT_RESPONSE,
            422: IDEMPOTENCY_KEY_REUSED_RESPONSE,
        },
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        description=_(
            "Redeem a reward for a member: the cost leaves their balance and a voucher code is "
            "issued. 409 with the reason when the balance does not cover the cost or the "
            "reward is inactive, out of stock or above the member's tier."
        ),
    )
    @idempotent
    def create(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        contact = data.validated_data["contact"]
        account = selectors.account_for_contact(contact=contact)
        if account is None:
            raise InsufficientPoints(
                _("This contact is not a loyalty member yet and has no points."),
                code="insufficient_points",
            )
        redemption = services.reward_redeem(
            account=account,
            reward=data.validated_data["reward"],
            actor=request_user(request),
            key=services.new_key("redemption", scope=retry_scope(request)),
        )
        return Response(
            RedemptionOutputSerializer(self.get_queryset().get(pk=redemption.pk)).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        request=None,
        responses={200: RedemptionOutputSerializer, 409: CONFLICT_RESPONSE},
        description=_(
            "Cancel an issued voucher (managers and admins): the points go back to the "
            "member and the reward's stock is restored."
        ),
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, id: str) -> Response:
        redemption = services.redemption_cancel(
            redemption=self.get_object(), actor=request_user(request)
        )
        return Response(
            RedemptionOutputSerializer(self.get_queryset().get(pk=redemption.pk)).data
        )

    @extend_schema(
        request=None,
        responses={200: RedemptionOutputSerializer, 409: CONFLICT_RESPONSE},
        description=_("Mark an issued voucher as used (handed over)."),
    )
    @action(detail=True, methods=["post"])
    def use(self, request: Request, id: str) -> Response:
        redemption = services.redemption_mark_used(
            redemption=self.get_object(), actor=request_user(request)
        )
        return Response(
            RedemptionOutputSerializer(self.get_queryset().get(pk=redemption.pk)).data
        )
