"""Purchases, refunds and exchange rates over the REST API.

Recording a purchase and refunding one honour ``Idempotency-Key`` (crm.idempotency); amounts
travel as decimal strings with exactly their currency's decimals ("19.99", "15000", "1.250").
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

import django_filters
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response

from crm.currencies import quantize
from crm.idempotency import (
    IDEMPOTENCY_KEY_PARAMETER,
    IDEMPOTENCY_KEY_REUSED_RESPONSE,
    idempotent,
)
from crm.models import Contact, ExchangeRate, Purchase, Refund, User
from crm.permissions import IsManager, IsStaffMember, ManagerWritesStaffReads
from crm.services import (
    exchange_rate_delete,
    exchange_rate_set,
    purchase_record,
    purchase_refund,
)


class DecimalStringField(serializers.DecimalField):
    """A decimal sent as a string ("19.99") or a whole number; a JSON float could lose digits.

    Decimal places are checked by the service, per currency.
    """

    default_error_messages = {
        "float": _(
            'Send the number as a string, such as "19.99", so no digits are lost.'
        )
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_digits=None, decimal_places=None, **kwargs)

    def to_internal_value(self, data: Any) -> Decimal:
        if isinstance(data, float):
            self.fail("float")
        return super().to_internal_value(data)


def _amount(value: Decimal, currency: str) -> str:
    """The amount with exactly the currency's minor units: "19.99", "15000", "1.250"."""
    return str(quantize(value, currency))


def _rate(value: Decimal) -> str:
    """A rate without trailing zeros and never in exponent notation: "0.00074", "1350"."""
    return format(value.normalize(), "f")


class RefundOutputSerializer(serializers.ModelSerializer):
    amount = serializers.SerializerMethodField()
    currency = serializers.CharField(source="purchase.currency", read_only=True)
    amount_base = serializers.SerializerMethodField()
    base_currency = serializers.CharField(
        source="purchase.base_currency", read_only=True
    )

    class Meta:
        model = Refund
        fields = [
            "id",
            "purchase",
            "amount",
            "currency",
            "amount_base",
            "base_currency",
            "occurred_at",
            "reason",
            "created_at",
        ]
        read_only_fields = fields

    def get_amount(self, obj: Refund) -> str:
        return _amount(obj.amount, obj.purchase.currency)

    def get_amount_base(self, obj: Refund) -> str:
        return _amount(obj.amount_base, obj.purchase.base_currency)


class PurchaseFilter(django_filters.FilterSet):
    contact = django_filters.NumberFilter(field_name="contact_id", label=_("contact"))
    currency = django_filters.CharFilter(method="filter_currency", label=_("currency"))
    occurred_after = django_filters.IsoDateTimeFilter(
        field_name="occurred_at",
        lookup_expr="gt",
        label=_("Only purchases after this moment (exclusive)."),
    )
    occurred_before = django_filters.IsoDateTimeFilter(
        field_name="occurred_at",
        lookup_expr="lte",
        label=_("Only purchases at or before this moment (inclusive)."),
    )

    class Meta:
        model = Purchase
        fields = ["contact", "currency", "occurred_after", "occurred_before"]

    def filter_currency(
        self, queryset: QuerySet[Purchase], name: str, value: str
    ) -> QuerySet[Purchase]:
        return queryset.filter(currency=value.strip().upper())


class PurchaseCursorPagination(CursorPagination):
    ordering = ("-occurred_at", "-id")


class PurchaseViewSet(viewsets.GenericViewSet):
    """Purchases in any currency, converted to the base currency; refunds for managers."""

    queryset = Purchase.objects.all()
    pagination_class = PurchaseCursorPagination
    filterset_class = PurchaseFilter

    class InputSerializer(serializers.Serializer):
        contact = serializers.PrimaryKeyRelatedField(
            queryset=Contact.objects.all(), label=_("contact")
        )
        amount = DecimalStringField(label=_("amount"))
        currency = serializers.CharField(
            max_length=20, label=_("currency"), help_text=_("ISO 4217, e.g. KRW.")
        )
        occurred_at = serializers.DateTimeField(label=_("when"))
        external_id = serializers.CharField(
            max_length=200,
            required=False,
            allow_blank=True,
            default="",
            label=_("external id"),
            help_text=_(
                "The order number in the source system: sending it again returns the "
                "first purchase (200) and changes nothing."
            ),
        )

    class OutputSerializer(serializers.ModelSerializer):
        amount = serializers.SerializerMethodField()
        amount_base = serializers.SerializerMethodField()
        exchange_rate = serializers.SerializerMethodField()
        refunded_amount = serializers.SerializerMethodField()
        refunds = RefundOutputSerializer(many=True, read_only=True)

        class Meta:
            model = Purchase
            fields = [
                "id",
                "contact",
                "amount",
                "currency",
                "amount_base",
                "base_currency",
                "exchange_rate",
                "refunded_amount",
                "occurred_at",
                "external_id",
                "refunds",
                "created_at",
            ]
            read_only_fields = fields

        def get_amount(self, obj: Purchase) -> str:
            return _amount(obj.amount, obj.currency)

        def get_amount_base(self, obj: Purchase) -> str:
            return _amount(obj.amount_base, obj.base_currency)

        def get_exchange_rate(self, obj: Purchase) -> str:
            return _rate(obj.exchange_rate)

        def get_refunded_amount(self, obj: Purchase) -> str:
            return _amount(obj.refunded_amount, obj.currency)

    class RefundInputSerializer(serializers.Serializer):
        amount = DecimalStringField(label=_("amount"))
        reason = serializers.CharField(
            max_length=300,
            required=False,
            allow_blank=True,
            default="",
            label=_("reason"),
        )
        occurred_at = serializers.DateTimeField(
            required=False, label=_("when"), help_text=_("Default: now.")
        )

    serializer_class = OutputSerializer

    def get_permissions(self) -> list[Any]:
        if self.action == "refund":
            return [IsManager()]
        return [IsStaffMember()]

    def get_queryset(self) -> QuerySet[Purchase]:
        queryset = Purchase.objects.all()
        if self.action in ("list", "retrieve"):
            queryset = queryset.prefetch_related("refunds")
        return queryset

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.OutputSerializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(self.OutputSerializer(self.get_object()).data)

    @extend_schema(
        request=InputSerializer,
        responses={
            201: OutputSerializer,
            200: OutputSerializer,
            422: IDEMPOTENCY_KEY_REUSED_RESPONSE,
        },
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        description=_(
            "Record a purchase, converted to the base currency with the latest exchange rate "
            "on or before its date. 201 when recorded; 200 with the first purchase when its "
            "external_id was already recorded. A foreign currency with no rate is refused "
            "(400) naming the currency and date: add the rate and retry."
        ),
    )
    @idempotent
    def create(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        purchase, created = purchase_record(
            actor=cast(User, request.user), **data.validated_data
        )
        return Response(
            self.OutputSerializer(purchase).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    @extend_schema(
        request=RefundInputSerializer,
        responses={201: RefundOutputSerializer, 422: IDEMPOTENCY_KEY_REUSED_RESPONSE},
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        description=_(
            "Refund part or all of what remains of a purchase (managers and admins), at the "
            "purchase's own exchange rate."
        ),
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def refund(self, request: Request, pk: str) -> Response:
        purchase = self.get_object()
        data = self.RefundInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        refund = purchase_refund(
            purchase=purchase, actor=cast(User, request.user), **data.validated_data
        )
        return Response(
            RefundOutputSerializer(refund).data, status=status.HTTP_201_CREATED
        )


class ExchangeRateFilter(django_filters.FilterSet):
    currency = django_filters.CharFilter(method="filter_currency", label=_("currency"))

    class Meta:
        model = ExchangeRate
        fields = ["currency"]

    def filter_currency(
        self, queryset: QuerySet[ExchangeRate], name: str, value: str
    ) -> QuerySet[ExchangeRate]:
        return queryset.filter(currency=value.strip().upper())


class ExchangeRateCursorPagination(CursorPagination):
    ordering = ("-date", "currency")


class ExchangeRateViewSet(viewsets.GenericViewSet):
    """Daily rates to the base currency: staff read them, managers and admins set them."""

    queryset = ExchangeRate.objects.all()
    permission_classes = [ManagerWritesStaffReads]
    pagination_class = ExchangeRateCursorPagination
    filterset_class = ExchangeRateFilter

    class InputSerializer(serializers.Serializer):
        currency = serializers.CharField(
            max_length=20, label=_("currency"), help_text=_("ISO 4217, e.g. KRW.")
        )
        date = serializers.DateField(label=_("date"))
        rate = DecimalStringField(
            label=_("rate"),
            help_text=_("Base-currency units per one unit of this currency."),
        )

    class UpdateInputSerializer(serializers.Serializer):
        rate = DecimalStringField(
            label=_("rate"),
            help_text=_("Base-currency units per one unit of this currency."),
        )

    class OutputSerializer(serializers.ModelSerializer):
        rate = serializers.SerializerMethodField()

        class Meta:
            model = ExchangeRate
            fields = ["id", "currency", "date", "rate", "created_at", "updated_at"]
            read_only_fields = fields

        def get_rate(self, obj: ExchangeRate) -> str:
            return _rate(obj.rate)

    serializer_class = OutputSerializer

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.OutputSerializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(self.OutputSerializer(self.get_object()).data)

    @extend_schema(
        request=InputSerializer,
        responses={201: OutputSerializer},
        description=_(
            "Set the rate of a currency on a day, replacing that day's rate if there is one."
        ),
    )
    def create(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        exchange_rate = exchange_rate_set(**data.validated_data)
        return Response(
            self.OutputSerializer(exchange_rate).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(request=UpdateInputSerializer, responses=OutputSerializer)
    def update(self, request: Request, pk: str) -> Response:
        exchange_rate = self.get_object()
        data = self.UpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        exchange_rate = exchange_rate_set(
            currency=exchange_rate.currency,
            date=exchange_rate.date,
            rate=data.validated_data["rate"],
        )
        return Response(self.OutputSerializer(exchange_rate).data)

    @extend_schema(request=UpdateInputSerializer, responses=OutputSerializer)
    def partial_update(self, request: Request, pk: str) -> Response:
        return self.update(request, pk)

    def destroy(self, request: Request, pk: str) -> Response:
        exchange_rate_delete(exchange_rate=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
