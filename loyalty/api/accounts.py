"""Members over the API: a contact's standing and ledger, and manager adjustments."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from crm.idempotency import (
    IDEMPOTENCY_KEY_PARAMETER,
    IDEMPOTENCY_KEY_REUSED_RESPONSE,
    idempotent,
)
from crm.models import Contact
from crm.permissions import IsManager, IsStaffMember
from loyalty import selectors, services
from loyalty.api.base import (
    CONFLICT_RESPONSE,
    MAX_ADJUSTMENT,
    ConflictAs409Mixin,
    EntryCursorPagination,
    EntrySerializer,
    ExpiringSerializer,
    TierSerializer,
    request_user,
    retry_scope,
)
from loyalty.models import PointsEntry

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

        @extend_schema_field(ExpiringSerializer)
        def get_expiring_soon(self, obj: selectors.AccountSummary) -> dict[str, Any]:
            """Points expiring within the programme's warning days, and the first date."""
            return dict(
                ExpiringSerializer(
                    {"points": obj.expiring_points, "expires_at": obj.expiring_at}
                ).data
            )

    serializer_class = OutputSerializer

    def get_queryset(self) -> QuerySet[Contact]:
        return Contact.objects.visible_to(request_user(self.request))

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


class AdjustmentViewSet(ConflictAs409Mixin, viewsets.GenericViewSet):
    """Manager adjustments: add or remove points with a reason (never below zero)."""

    permission_classes = [IsManager]

    class InputSerializer(serializers.Serializer):
        contact = serializers.IntegerField(label=_("contact"), min_value=1)
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
        entry = services.contact_points_adjust(
            contact_id=data.validated_data["contact"],
            points=data.validated_data["points"],
            reason=data.validated_data["reason"],
            actor=request_user(request),
            key=services.new_key("adjust", scope=retry_scope(request)),
        )
        return Response(
            self.OutputSerializer(entry).data, status=status.HTTP_201_CREATED
        )
