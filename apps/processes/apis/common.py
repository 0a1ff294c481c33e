"""What the process API modules share: the version output and the designer check."""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.request import Request

from apps.accounts.permissions import has_role
from apps.accounts.roles import Role
from apps.common.errors import AccessDenied
from apps.processes.models import ProcessVersion


class VersionOutput(serializers.ModelSerializer):
    key = serializers.CharField(source="definition.key")

    class Meta:
        model = ProcessVersion
        fields = [
            "id",
            "key",
            "number",
            "status",
            "name",
            "checksum",
            "problems",
            "metadata",
            "created_at",
            "created_by",
            "comment",
            "rollback_of",
        ]

    created_by = serializers.CharField(source="created_by.username", default=None)
    rollback_of = serializers.IntegerField(source="rollback_of.number", default=None)


def require_designer(request: Request) -> None:
    if not has_role(request.user, Role.DESIGNER, Role.ADMIN):
        raise AccessDenied("Only designers and admins can deploy processes.")
