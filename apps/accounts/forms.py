from datetime import datetime, time, timedelta

from django import forms
from django.utils import timezone

from apps.accounts import services

MAX_TOKEN_LIFETIME_DAYS = 3650


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        max_length=services.API_TOKEN_NAME_MAX,
        help_text="What will use it, e.g. “nightly import script”.",
    )
    expires_on = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        label="Expires on (optional)",
        help_text="The token stops working at the end of this day. Empty: it never expires.",
    )

    def clean_expires_on(self):
        value = self.cleaned_data.get("expires_on")
        if value is None:
            return None
        today = timezone.localdate()
        if value < today:
            raise forms.ValidationError("Pick today or a later day, or leave it empty.")
        if value > today + timedelta(days=MAX_TOKEN_LIFETIME_DAYS):
            raise forms.ValidationError("Pick a day at most ten years ahead, or leave it empty.")
        return value

    def expires_at(self) -> datetime | None:
        day = self.cleaned_data.get("expires_on")
        if day is None:
            return None
        return timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))


class SignInRetryForm(forms.Form):
    """What the sign-in form posted, to show it again on the locked-out page (nothing is
    checked: the page only fills the field in and keeps where to go after signing in)."""

    username = forms.CharField(required=False, max_length=150)
    next = forms.CharField(required=False)

    def value(self, name: str) -> str:
        return (self.cleaned_data.get(name) or "") if self.is_valid() else ""
