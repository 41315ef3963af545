"""Support tickets over the REST API: the SLA queue and each ticket's message thread."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from crm.api.pagination import KeysetPagination
from crm.models import Contact, User
from crm.permissions import IsStaffMember
from crm.roles import MANAGER_ROLES, role_of
from feedback.models.tickets import Ticket, TicketMessage
from feedback.selectors.tickets import (
    QUEUE_ORDERING,
    SlaCalendar,
    sla_calendar,
    sla_state,
    ticket_list,
    ticket_thread,
)
from feedback.services import tickets as services


class QueuePagination(KeysetPagination):
    """Most urgent SLA first (breached, then soonest due; paused and done last)."""

    ordering = QUEUE_ORDERING


def _actor(request: Request) -> User:
    return cast(User, request.user)


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


class TicketOutputSerializer(serializers.ModelSerializer):
    breached = serializers.SerializerMethodField()
    due_soon = serializers.SerializerMethodField()
    contact_name = serializers.CharField(source="contact.display_name", read_only=True)
    tags: Any = serializers.SlugRelatedField(
        many=True, read_only=True, slug_field="name"
    )

    class Meta:
        model = Ticket
        fields = [
            "id",
            "public_id",
            "contact",
            "contact_name",
            "subject",
            "description",
            "channel",
            "priority",
            "status",
            "assignee",
            "tags",
            "created_at",
            "first_response_at",
            "resolved_at",
            "closed_at",
            "first_response_due_at",
            "resolution_due_at",
            "first_response_minutes",
            "resolution_minutes",
            "breached",
            "due_soon",
        ]
        read_only_fields = fields

    def _sla(self) -> tuple[SlaCalendar, dt.datetime]:
        # One calendar (two queries) per response: a list reuses its one child serializer.
        if not hasattr(self, "_sla_cache"):
            self._sla_cache = (sla_calendar(), timezone.now())
        return self._sla_cache

    def get_breached(self, obj: Ticket) -> bool:
        return obj.breached(self._sla()[1])

    def get_due_soon(self, obj: Ticket) -> bool:
        calendar, now = self._sla()
        state = sla_state(obj, now=now, calendar=calendar)
        return state.due_soon


class TicketInputSerializer(serializers.Serializer):
    contact = serializers.IntegerField()
    subject = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    channel = serializers.ChoiceField(
        choices=Ticket.Channel.choices, default=Ticket.Channel.EMAIL
    )
    priority = serializers.ChoiceField(
        choices=Ticket.Priority.choices, default=Ticket.Priority.NORMAL
    )
    assignee = serializers.IntegerField(required=False, allow_null=True)
    tags = serializers.ListField(
        child=serializers.CharField(max_length=60), required=False
    )


class TicketUpdateSerializer(serializers.Serializer):
    priority = serializers.ChoiceField(choices=Ticket.Priority.choices, required=False)
    status = serializers.ChoiceField(choices=Ticket.Status.choices, required=False)
    assignee = serializers.IntegerField(required=False, allow_null=True)
    tags = serializers.ListField(
        child=serializers.CharField(max_length=60), required=False
    )


class TicketMessageSerializer(serializers.ModelSerializer):
    author_name = serializers.SerializerMethodField()

    class Meta:
        model = TicketMessage
        fields = ["id", "kind", "author", "author_name", "body", "created_at"]
        read_only_fields = fields

    def get_author_name(self, obj: TicketMessage) -> str:
        return obj.author.display_name if obj.author else ""


class TicketMessageInputSerializer(serializers.Serializer):
    body = serializers.CharField()
    internal = serializers.BooleanField(
        default=False, help_text="An internal note, never shown to the customer."
    )


class TicketViewSet(viewsets.GenericViewSet):
    """Tickets in SLA order; every staff role answers, only managers delete."""

    permission_classes = [IsStaffMember]
    pagination_class = QueuePagination
    queryset = Ticket.objects.none()
    serializer_class = TicketOutputSerializer

    def get_queryset(self) -> QuerySet[Ticket]:
        params = self.request.query_params
        assignee_param = params.get("assignee", "")
        assignee = None
        if assignee_param == "me":
            assignee = _actor(self.request)
        elif assignee_param not in ("", "none"):
            assignee = _staff(assignee_param, "assignee")
        qs = ticket_list(
            user=_actor(self.request),
            status=params.get("status", "all") if self.action == "list" else "all",
            priority=params.get("priority", ""),
            channel=params.get("channel", ""),
            assignee=assignee,
            unassigned=assignee_param == "none",
            breached=params.get("breached") in ("1", "true"),
            tag=params.get("tag", ""),
        )
        # The thread (``messages``) does not show the ticket's tags.
        return qs if self.action == "messages" else qs.prefetch_related("tags")

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "status",
                str,
                enum=["active", "all", *Ticket.Status.values],
                description="Default `all`; `active` hides resolved and closed tickets.",
            ),
            OpenApiParameter("priority", str, enum=Ticket.Priority.values),
            OpenApiParameter("channel", str, enum=Ticket.Channel.values),
            OpenApiParameter("assignee", str, description="User id, `me` or `none`."),
            OpenApiParameter(
                "breached", bool, description="Only active tickets past a deadline."
            ),
            OpenApiParameter("tag", str, description="Tag name (any case)."),
        ],
        responses=TicketOutputSerializer(many=True),
    )
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(TicketOutputSerializer(page, many=True).data)

    @extend_schema(responses=TicketOutputSerializer)
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(TicketOutputSerializer(self.get_object()).data)

    @extend_schema(
        request=TicketInputSerializer, responses={201: TicketOutputSerializer}
    )
    @transaction.atomic
    def create(self, request: Request) -> Response:
        data = TicketInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        kwargs = dict(data.validated_data)
        tags = kwargs.pop("tags", None)
        contact = (
            Contact.objects.visible_to(_actor(request))
            .filter(pk=kwargs.pop("contact"))
            .first()
        )
        if contact is None:
            raise DRFValidationError({"contact": [_("No contact with this id.")]})
        ticket = services.ticket_open(
            contact=contact,
            assignee=_staff(kwargs.pop("assignee", None), "assignee"),
            actor=_actor(request),
            **kwargs,
        )
        if tags is not None:
            ticket = services.ticket_set_tags(
                ticket=ticket, tags=tags, actor=_actor(request)
            )
        ticket = self.get_queryset().get(pk=ticket.pk)
        return Response(
            TicketOutputSerializer(ticket).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(request=TicketUpdateSerializer, responses=TicketOutputSerializer)
    @transaction.atomic
    def partial_update(self, request: Request, pk: str) -> Response:
        ticket = self.get_object()
        data = TicketUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        if "assignee" in values:
            ticket = services.ticket_assign(
                ticket=ticket,
                assignee=_staff(values["assignee"], "assignee"),
                actor=_actor(request),
            )
        if "priority" in values and values["priority"] != ticket.priority:
            ticket = services.ticket_set_priority(
                ticket=ticket, priority=values["priority"], actor=_actor(request)
            )
        if "status" in values and values["status"] != ticket.status:
            ticket = services.ticket_set_status(
                ticket=ticket, status=values["status"], actor=_actor(request)
            )
        if "tags" in values:
            ticket = services.ticket_set_tags(
                ticket=ticket, tags=values["tags"], actor=_actor(request)
            )
        ticket = self.get_queryset().get(pk=ticket.pk)
        return Response(TicketOutputSerializer(ticket).data)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, pk: str) -> Response:
        if role_of(request.user) not in MANAGER_ROLES:
            raise PermissionDenied(_("Only managers delete tickets."))
        services.ticket_delete(ticket=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(methods=["GET"], responses=TicketMessageSerializer(many=True))
    @extend_schema(
        methods=["POST"],
        request=TicketMessageInputSerializer,
        responses={201: TicketMessageSerializer},
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def messages(self, request: Request, pk: str) -> Response:
        """GET: the whole thread, oldest first, internal notes included. POST: a reply or note."""
        ticket = self.get_object()
        if request.method == "POST":
            data = TicketMessageInputSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            message = services.ticket_reply(
                ticket=ticket,
                author=_actor(request),
                body=data.validated_data["body"],
                internal=data.validated_data["internal"],
            )
            return Response(
                TicketMessageSerializer(message).data, status=status.HTTP_201_CREATED
            )
        return Response(
            TicketMessageSerializer(ticket_thread(ticket=ticket), many=True).data
        )
