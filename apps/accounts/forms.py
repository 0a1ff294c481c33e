from django import forms
from django.contrib.auth.forms import AuthenticationForm

from apps.accounts import services


class ThrottledAuthenticationForm(AuthenticationForm):
    """Refuses further attempts for a while after LOGIN_FAILURE_LIMIT failures per user and address."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "throttled": "Too many failed sign-in attempts. Wait a few minutes and try again.",
    }

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        client_ip = self.request.META.get("REMOTE_ADDR") if self.request else None
        if services.login_is_throttled(username=username, client_ip=client_ip):
            raise forms.ValidationError(self.error_messages["throttled"], code="throttled")
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            services.login_failure_record(username=username, client_ip=client_ip)
            raise
        services.login_failures_clear(username=username, client_ip=client_ip)
        return cleaned
