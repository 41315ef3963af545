"""Loyalty over the REST API: member summaries and history, rewards, redemptions, adjustments.

Staff only (customers get 403). Redemptions and adjustments honour ``Idempotency-Key``
(crm.idempotency); a request the member's state refuses (not enough points, a reward out of
stock or inactive, a voucher already cancelled) is answered 409 with the reason.
"""

from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response

from crm.api.pagination import NewestFirstPagination
from crm.idempotency import (
    HEADER,
    IDEMPOTENCY_KEY_PARAMETER,
    IDEMPOTENCY_KEY_REUSED_RESPONSE,
    idempotent,
)
from crm.models import Contact, User
from crm.permissions import IsManager, IsStaffMember, ManagerWritesStaffReads
from loyalty import selectors, services
from loyalty.models import PointsEntry, Redemption, Reward, Tier
from loyalty.services import InsufficientPoints, LoyaltyConflict

UUID_PATTERN = "[0-9a-fA-F-]{36}"
# A hand adjustment beyond this is a typo (a stray zero), not a gesture of goodwill.
MAX_ADJUSTMENT = 10_000_000
LANGUAGE_CODES = [code for code, _name in settings.LANGUAGES]
DEFAULT_LANGUAGE = settings.MODELTRANSLATION_DEFAULT_LANGUAGE
CONFLICT_RESPONSE = OpenApiResponse(
    description=_(
        "Refused by the member's or the reward's state, with the reason: not enough points, "
        "reward inactive, out of stock or above the member's tier, voucher already used or "
        "cancelled."
    )
)


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("The request conflicts with the current state.")
    default_code = "conflict"


class ConflictAs409Mixin:
    """Answer a service's ``LoyaltyConflict`` with 409 ``{"detail": reason, "code": …}``."""

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, LoyaltyConflict):
            exc = Conflict(
                detail={
                    "detail": " ".join(exc.messages),
                    "code": getattr(exc, "code", None) or "conflict",
                }
            )
        return super().handle_exception(exc)  # type: ignore[misc]


def _user(request: Request) -> User:
    return cast(User, request.user)


def _retry_scope(request: Request) -> str | None:
    """Ties a service key to the client's Idempotency-Key, so even a replay after the stored
    answer was purged writes nothing twice."""
    key = request.headers.get(HEADER, "").strip()
    return f"rapport:loyalty:{request.user.pk}:{request.path}:{key}" if key else None


class TierSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tier
        fields = ["id", "name", "benefits", "threshold", "multiplier"]
        read_only_fields = fields


class EntrySerializer(serializers.ModelSerializer):
    description = serializers.CharField(read_only=True)
    actor = serializers.SerializerMethodField()

    class Meta:
        model = PointsEntry
        fields = [
            "id",
            "kind",
            "points",
            "balance_after",
            "description",
            "reason",
            "source_type",
            "source_id",
            "actor",
            "created_at",
            "expires_at",
            "remaining",
        ]
        read_only_fields = fields

    def get_actor(self, obj: PointsEntry) -> str:
        return obj.actor.display_name if obj.actor else ""


class EntryCursorPagination(CursorPagination):
    ordering = ("-created_at", "-id")


CONTACT_ID_PARAMETER = OpenApiParameter(
    "contact_id", int, OpenApiParameter.PATH, description=_("The contact's id.")
)


@extend_schema_view(
    retrieve=extend_schema(parameters=[CONTACT_ID_PARAMETER]),
    entries=extend_schema(parameters=[CONTACT_ID_PARAMETER]),
)
class LoyaltyAccountViewSet(viewsets.GenericViewSet):
    """A contact's membership: balance, tier and the way to the next one, and the ledger."""

    permission_classes = [IsStaffMember]
    lookup_field = "contact_id"
    lookup_value_regex = r"\d+"
    pagination_class = EntryCursorPagination

    class ExpiringSerializer(serializers.Serializer):
        points = serializers.IntegerField()
        expires_at = serializers.DateTimeField(allow_null=True)

    class OutputSerializer(serializers.Serializer):
        contact = serializers.IntegerField(source="contact_id")
        member = serializers.BooleanField(source="is_member")
        balance = serializers.IntegerField()
        tier = TierSerializer(allow_null=True)
        next_tier = TierSerializer(allow_null=True)
        qualification_basis = serializers.CharField()
        qualification_value = serializers.DecimalField(max_digits=20, decimal_places=2)
        points_to_next_tier = serializers.IntegerField(allow_null=True)
        spend_to_next_tier = serializers.SerializerMethodField()
        expiring_soon = serializers.SerializerMethodField()
        tier_grace_until = serializers.DateTimeField(allow_null=True)
        referral_code = serializers.CharField(allow_null=True)

        def get_spend_to_next_tier(self, obj: selectors.AccountSummary) -> str | None:
            """Base-currency amount with the currency's decimals ("120.50", "15000")."""
            amount = obj.spend_to_next_tier
            return None if amount is None else str(amount)

        def get_expiring_soon(
            self, obj: selectors.AccountSummary
        ) -> LoyaltyAccountViewSet.ExpiringSerializer:
            return LoyaltyAccountViewSet.ExpiringSerializer(
                {"points": obj.expiring_points, "expires_at": obj.expiring_at}
            ).data  # type: ignore[return-value]

    serializer_class = OutputSerializer

    def get_queryset(self) -> QuerySet[Contact]:
        return Contact.objects.visible_to(_user(self.request))

    def _contact(self, contact_id: str) -> Contact:
        return get_object_or_404(self.get_queryset(), pk=contact_id)

    @extend_schema(responses=OutputSerializer)
    def retrieve(self, request: Request, contact_id: str) -> Response:
        summary = selectors.account_summary(
            contact=self._contact(contact_id), now=timezone.now()
        )
        return Response(self.OutputSerializer(summary).data)

    @extend_schema(responses=EntrySerializer(many=True))
    @action(detail=True, methods=["get"])
    def entries(self, request: Request, contact_id: str) -> Response:
        """The member's points entries, newest first (cursor pages)."""
        account = selectors.account_for_contact(contact=self._contact(contact_id))
        entries = (
            selectors.account_history(account=account)
            if account
            else PointsEntry.objects.none()
        )
        page = self.paginate_queryset(entries)
        return self.get_paginated_response(EntrySerializer(page, many=True).data)


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
            actor=_user(request),
            key=services.new_key("redemption", scope=_retry_scope(request)),
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
            redemption=self.get_object(), actor=_user(request)
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
            redemption=self.get_object(), actor=_user(request)
        )
        return Response(
            RedemptionOutputSerializer(self.get_queryset().get(pk=redemption.pk)).data
        )


class AdjustmentViewSet(ConflictAs409Mixin, viewsets.GenericViewSet):
    """Manager adjustments: add or remove points with a reason (never below zero)."""

    permission_classes = [IsManager]

    class InputSerializer(serializers.Serializer):
        contact = serializers.PrimaryKeyRelatedField(
            queryset=Contact.objects.all(), label=_("contact")
        )
        points = serializers.IntegerField(
            label=_("points"),
            help_text=_("Positive to add, negative to remove; never 0."),
            min_value=-MAX_ADJUSTMENT,
            max_value=MAX_ADJUSTMENT,
        )
        reason = serializers.CharField(max_length=300, label=_("reason"))

        def validate_points(self, value: int) -> int:
            if value == 0:
                raise serializers.ValidationError(_("Enter a number other than 0."))
            return value

    class OutputSerializer(EntrySerializer):
        contact = serializers.IntegerField(source="account.contact_id", read_only=True)
        balance = serializers.IntegerField(source="account.balance", read_only=True)

        class Meta(EntrySerializer.Meta):
            fields = ["contact", "balance", *EntrySerializer.Meta.fields]
            read_only_fields = fields

    serializer_class = OutputSerializer

    @extend_schema(
        request=InputSerializer,
        responses={
            201: OutputSerializer,
            409: CONFLICT_RESPONSE,
            422: IDEMPOTENCY_KEY_REUSED_RESPONSE,
        },
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        description=_(
            "Add or remove a member's points with a reason (managers and admins). Removing "
            "more than the balance is refused with 409."
        ),
    )
    @idempotent
    def create(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        account, _created = services.account_get_or_create(
            contact=data.validated_data["contact"]
        )
        entry = services.points_adjust(
            account=account,
            points=data.validated_data["points"],
            reason=data.validated_data["reason"],
            actor=_user(request),
            key=services.new_key("adjust", scope=_retry_scope(request)),
        )
        return Response(
            self.OutputSerializer(entry).data, status=status.HTTP_201_CREATED
        )
