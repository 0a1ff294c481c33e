from django import forms
from django.contrib import admin

from apps.connectors import services
from apps.connectors.models import Secret


class SecretForm(forms.ModelForm):
    """The value is write-only: never rendered back, never stored in clear."""

    value = forms.CharField(
        widget=forms.PasswordInput(render_value=False),
        strip=False,
        required=False,
        help_text="Write-only. Leave empty to keep the current value.",
    )

    class Meta:
        model = Secret
        fields = ["name"]

    def clean_name(self):
        name = self.cleaned_data["name"]
        if not services.SECRET_NAME_RE.match(name):
            raise forms.ValidationError(
                "Use 1-100 lower-case letters, digits, '-' or '_', starting with a letter or digit."
            )
        return name

    def clean(self):
        cleaned = super().clean() or {}
        if self.instance.pk is None and not cleaned.get("value"):
            self.add_error("value", "A new secret needs a value.")
        return cleaned


@admin.register(Secret)
class SecretAdmin(admin.ModelAdmin):
    form = SecretForm
    list_display = ["name", "value_status", "created_by", "created_at", "updated_at"]
    search_fields = ["name"]
    readonly_fields = ["value_status", "created_by", "created_at", "updated_at"]

    @admin.display(description="value")
    def value_status(self, obj: Secret) -> str:
        return "set ✓" if obj.pk and obj.ciphertext else "—"

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "name"] if obj is not None else fields

    def get_fields(self, request, obj=None):
        details = ["value_status", "created_by", "created_at", "updated_at"] if obj else []
        return ["name", "value", *details]

    def save_model(self, request, obj, form, change):
        value = form.cleaned_data.get("value")
        if value:
            saved = services.secret_set(name=obj.name, value=value, actor_user=request.user)
            obj.pk = saved.pk
            obj.ciphertext = saved.ciphertext

    def delete_model(self, request, obj):
        services.secret_delete(name=obj.name, actor_user=request.user)

    def delete_queryset(self, request, queryset):
        for name in queryset.values_list("name", flat=True):
            services.secret_delete(name=name, actor_user=request.user)
