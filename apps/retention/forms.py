"""Forms of the retention page (admins): a process's period and legal hold, an instance's legal
hold (set or release, with a reason) and an archive check. The services check again."""

from __future__ import annotations

from django import forms


class PolicyForm(forms.Form):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "policy_%s")  # one page holds several forms
        super().__init__(*args, **kwargs)

    process_key = forms.CharField(
        max_length=200, label="Process key", widget=forms.TextInput(attrs={"list": "process-keys"})
    )
    days = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=36500,
        label="Keep finished instances for (days)",
        help_text="Empty: keep this process's instances forever, whatever the portal default.",
    )
    legal_hold = forms.BooleanField(required=False, label="Legal hold on the whole process")
    reason = forms.CharField(required=False, max_length=500, label="Reason")

    def clean(self):
        data = super().clean() or {}
        if data.get("legal_hold") and not (data.get("reason") or "").strip():
            self.add_error("reason", "A legal hold needs a reason.")
        return data


class DefaultForm(forms.Form):
    """The portal default period; "use the environment setting" clears the page's value."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "default_%s")
        super().__init__(*args, **kwargs)

    days = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=36500,
        label="Portal default (days)",
        help_text="For processes without their own policy; 0 keeps everything.",
    )
    use_environment = forms.BooleanField(
        required=False, label="Use the environment setting (FLOWGATE_RETENTION_DAYS) instead"
    )

    def clean(self):
        data = super().clean() or {}
        if not data.get("use_environment") and data.get("days") is None and not self.errors:
            self.add_error("days", "Give a number of days (0 keeps everything).")
        return data


class HoldForm(forms.Form):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "hold_%s")
        super().__init__(*args, **kwargs)

    instance_id = forms.IntegerField(min_value=1, label="Instance id")
    reason = forms.CharField(max_length=500, label="Reason")


class ReleaseForm(forms.Form):
    instance_id = forms.IntegerField(min_value=1)
    reason = forms.CharField(max_length=500, label="Reason for releasing")


class ArchiveCheckForm(forms.Form):
    instance_id = forms.IntegerField(min_value=1)
