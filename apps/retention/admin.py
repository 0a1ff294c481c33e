"""Django admin for retention: every change goes through the audited services."""

from django.contrib import admin

from apps.common.actors import Actor
from apps.retention.models import ArchivedInstance, InstanceHold, RetentionPolicy
from apps.retention.services import instance_hold_set, retention_policy_set


@admin.register(RetentionPolicy)
class RetentionPolicyAdmin(admin.ModelAdmin):
    list_display = ("process_key", "days", "legal_hold", "reason", "updated_at")
    readonly_fields = ("updated_at", "updated_by")

    def save_model(self, request, obj, form, change):
        retention_policy_set(
            process_key=obj.process_key,
            days=obj.days,
            legal_hold=obj.legal_hold,
            reason=obj.reason,
            actor=Actor.for_user(request.user),
            user=request.user,
        )

    def has_delete_permission(self, request, obj=None):
        return False  # set "keep forever" instead: every change is audited


@admin.register(InstanceHold)
class InstanceHoldAdmin(admin.ModelAdmin):
    list_display = ("instance_id", "reason", "created_at")
    readonly_fields = ("created_at", "created_by")

    def save_model(self, request, obj, form, change):
        instance_hold_set(
            instance_id=obj.instance_id,
            hold=True,
            reason=obj.reason,
            actor=Actor.for_user(request.user),
            user=request.user,
        )

    def delete_model(self, request, obj):
        instance_hold_set(
            instance_id=obj.instance_id, hold=False, actor=Actor.for_user(request.user)
        )

    def has_change_permission(self, request, obj=None):
        return obj is None

    def get_actions(self, request):
        # the bulk delete skips delete_model (and so the audit event): one at a time
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


@admin.register(ArchivedInstance)
class ArchivedInstanceAdmin(admin.ModelAdmin):
    list_display = ("instance_id", "process_key", "purged_at", "audit_events", "sha256")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
