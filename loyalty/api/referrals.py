"""Referrals over the API: staff record the code a person came with, and list referrals."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from crm.api.pagination import NewestFirstPagination
from crm.models import Contact
from crm.permissions import IsStaffMember
from loyalty import services
from loyalty.models import Referral


class ReferralViewSet(viewsets.GenericViewSet):
    """Who referred whom; pending until the referred person's first purchase pays both sides."""

    permission_classes = [IsStaffMember]
    pagination_class = NewestFirstPagination
    queryset = Referral.objects.none()

    class OutputSerializer(serializers.ModelSerializer):
        referrer_contact = serializers.IntegerField(
            source="referrer.contact_id", read_only=True
        )

        class Meta:
            model = Referral
            fields = [
                "id",
                "referrer_contact",
                "referred_contact",
                "code",
                "status",
                "created_at",
                "completed_at",
            ]

    class InputSerializer(serializers.Serializer):
        contact = serializers.IntegerField(
            help_text="The referred person (a contact id)."
        )
        code = serializers.CharField(
            max_length=16, help_text="The referrer's referral code."
        )

    serializer_class = OutputSerializer

    def get_queryset(self) -> QuerySet[Referral]:
        qs = Referral.objects.select_related("referrer")
        contact = self.request.query_params.get("contact", "")
        if contact:
            qs = (
                qs.filter(referred_contact_id=int(contact))
                if contact.isdigit()
                else qs.none()
            )
        return qs

    @extend_schema(
        parameters=[OpenApiParameter("contact", int)],
        responses=OutputSerializer(many=True),
    )
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.OutputSerializer(page, many=True).data)

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def create(self, request: Request) -> Response:
        """Refused (400, on `code`) for an unknown code, self-referral, the same email or phone
        as the referrer, or a person who was already referred or has already bought."""
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        contact = Contact.objects.filter(pk=data.validated_data["contact"]).first()
        if contact is None:
            raise DRFValidationError({"contact": [_("No contact with this id.")]})
        try:
            referral = services.referral_register(
                referrer_code=data.validated_data["code"], referred_contact=contact
            )
        except (
            DjangoValidationError
        ) as error:  # name the fields as this endpoint calls them
            names = {"referrer_code": "code", "referred_contact": "contact"}
            raise DRFValidationError(
                {
                    names.get(field, field): items
                    for field, items in error.message_dict.items()
                }
            ) from error
        return Response(
            self.OutputSerializer(referral).data, status=status.HTTP_201_CREATED
        )
