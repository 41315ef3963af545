from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.models import User


class MeView(APIView):
    """The authenticated staff user: who the token or session belongs to and their role."""

    class OutputSerializer(serializers.ModelSerializer):
        name = serializers.CharField(
            source="display_name", read_only=True, label=_("name")
        )
        role = serializers.CharField(read_only=True, label=_("role"))
        timezone = serializers.CharField(
            read_only=True, allow_null=True, label=_("time zone")
        )

        class Meta:
            model = User
            fields = [
                "id",
                "email",
                "name",
                "given_name",
                "family_name",
                "role",
                "language",
                "timezone",
            ]

    @extend_schema(responses=OutputSerializer, operation_id="me_retrieve")
    def get(self, request: Request) -> Response:
        return Response(self.OutputSerializer(request.user).data)
