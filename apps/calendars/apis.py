"""Business calendars over HTTP: admins list, create and change them; designers preview due times."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.roles import Role
from apps.calendars import selectors
from apps.calendars.models import BusinessCalendar
from apps.calendars.preview import due_preview
from apps.calendars.services import FIELDS, calendar_save
from apps.common.actors import actor_for_request
from apps.common.api import ApiView, HasRole
from apps.common.errors import InvalidInput, NotFound
from apps.engine.core.business_time import WEEKDAYS, CalendarError


class OwnDaySerializer(serializers.Serializer):
    date = serializers.DateField()
    name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class CalendarSerializer(serializers.ModelSerializer):
    own_days = OwnDaySerializer(many=True, required=False)

    class Meta:
        model = BusinessCalendar
        fields = ["slug", *FIELDS, "updated_at"]
        read_only_fields = ["updated_at"]
        extra_kwargs = {day: {"required": False, "allow_blank": True} for day in WEEKDAYS}


class CalendarInputSerializer(CalendarSerializer):
    class Meta(CalendarSerializer.Meta):
        fields = [*FIELDS]
        extra_kwargs: dict[str, dict[str, Any]] = {
            **CalendarSerializer.Meta.extra_kwargs,
            # the service checks them, with the page's messages
            "time_zone": {"validators": []},
        }


class CalendarCreateSerializer(CalendarInputSerializer):
    slug = serializers.CharField(max_length=60)

    class Meta(CalendarInputSerializer.Meta):
        fields = ["slug", *FIELDS]


def _values(data: dict) -> dict:
    values = dict(data)
    values.pop("slug", None)
    if "own_days" in values:
        values["own_days"] = [
            {"date": d["date"].isoformat(), "name": d.get("name", "")} for d in values["own_days"]
        ]
    return values


class CalendarListApi(ApiView):
    permission_classes = [IsAuthenticated, HasRole(Role.ADMIN)]
    OutputSerializer = CalendarSerializer
    InputSerializer = CalendarCreateSerializer
    paginated = True
    response_status = {"POST": 201}

    @extend_schema(summary="Business calendars")
    def get(self, request: Request) -> Response:
        return self.paginated_response(selectors.calendars_list())

    @extend_schema(summary="Create a business calendar")
    def post(self, request: Request) -> Response:
        data = self.validated_input()
        calendar = calendar_save(
            slug=data["slug"],
            values=_values(data),
            actor=actor_for_request(request),
            user=request.user,
            create=True,
        )
        return self.respond(calendar, status=201)


class CalendarDetailApi(ApiView):
    permission_classes = [IsAuthenticated, HasRole(Role.ADMIN)]
    OutputSerializer = CalendarSerializer
    InputSerializer = CalendarInputSerializer

    def _found(self, slug: str) -> BusinessCalendar:
        found = selectors.calendar_named(slug)
        if found is None:
            raise NotFound(f"There is no calendar “{slug}”.")
        return found

    @extend_schema(summary="One business calendar")
    def get(self, request: Request, slug: str) -> Response:
        return self.respond(self._found(slug))

    @extend_schema(
        summary="Change a business calendar (all fields; a missing weekday is a day off)"
    )
    def put(self, request: Request, slug: str) -> Response:
        self._found(slug)
        data = self.validated_input()
        calendar = calendar_save(
            slug=slug,
            values=_values(data),
            actor=actor_for_request(request),
            user=request.user,
            create=False,
        )
        return self.respond(calendar)


class CalendarPreviewApi(ApiView):
    """What the designer shows next to an SLA field: the due time of a duration, in words."""

    permission_classes = [IsAuthenticated, HasRole(Role.ADMIN, Role.DESIGNER)]

    class InputSerializer(serializers.Serializer):
        duration = serializers.CharField(max_length=100)
        calendar = serializers.CharField(
            max_length=60, required=False, allow_blank=True, default=""
        )
        start = serializers.DateTimeField(required=False)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "duration",
                str,
                required=True,
                description='"2 business days", "4 business hours" or ISO-8601 "PT4H"',
            ),
            OpenApiParameter(
                "calendar", str, description="A calendar's short name (default: the portal default)"
            ),
            OpenApiParameter("start", str, description="ISO date-time with zone (default: now)"),
        ],
        responses={200: dict},
        summary="Preview the due time of a duration under a calendar",
    )
    def get(self, request: Request) -> Response:
        data = self.validated_input(request.query_params)
        start: datetime = data.get("start") or timezone.now()
        try:
            return Response(due_preview(data["duration"], start=start, calendar=data["calendar"]))
        except CalendarError as exc:
            raise InvalidInput(str(exc), code="invalid_duration") from None
