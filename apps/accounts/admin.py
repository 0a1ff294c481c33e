from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin

from apps.accounts.models import ApiToken, User
from apps.accounts.services import api_token_revoke
from apps.common.errors import FlowgateError

admin.site.register(User, UserAdmin)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Read-only view of everyone's API tokens; revoking goes through the audited service.

    Tokens are created by their owners (profile page, API) or ``manage.py create_api_token``.
    """

    list_display = (
        "name",
        "user",
        "prefix",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    )
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix", "user__username")
    readonly_fields = (
        "user",
        "name",
        "prefix",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    )
    exclude = ("key_hash",)
    actions = ["revoke_selected"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Revoke selected API tokens")
    def revoke_selected(self, request, queryset):
        revoked = 0
        for token in queryset.filter(revoked_at__isnull=True).select_related("user"):
            try:
                api_token_revoke(token=token, actor=request.user)
            except FlowgateError as exc:
                self.message_user(request, exc.message, level=messages.WARNING)
            else:
                revoked += 1
        self.message_user(request, f"Revoked {revoked} API token(s).")
