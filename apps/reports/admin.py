"""SLA targets and SLOs in the Django admin; saves go through the audited services."""

from __future__ import annotations

from django import forms
from django.contrib import admin

from apps.common.actors import Actor
from apps.common.errors import InvalidInput
from apps.reports.models import ActivitySla, ProcessSlo
from apps.reports.selectors import slo_process_choices
from apps.reports.services import activity_sla_set, sla_threshold_seconds, slo_set


class ActivitySlaAdminForm(forms.ModelForm):
    """The rules of ``activity_sla_set`` on the form, so the admin shows them: a threshold is
    seconds or, with business time, "2 business days" / "4 business hours"."""

    warning_seconds = forms.CharField(
        max_length=40, required=False, help_text='Seconds, or "1 business day" with business time'
    )
    breach_seconds = forms.CharField(
        max_length=40,
        help_text='Seconds (with business time: working seconds, 8 h = 28800), or "2 business '
        'days" / "4 business hours" with business time',
    )

    class Meta:
        model = ActivitySla
        fields = (
            "process_key",
            "activity_id",
            "warning_seconds",
            "breach_seconds",
            "business_time",
            "calendar",
        )

    def clean(self):
        data = super().clean() or {}
        business = bool(data.get("business_time"))
        if data.get("calendar") is not None and not business:
            self.add_error("calendar", "A calendar applies to business-time thresholds only.")
        for name in ("warning_seconds", "breach_seconds"):
            if name not in data:
                continue
            try:
                data[name] = sla_threshold_seconds(
                    data[name],
                    field=name,
                    business_time=business,
                    calendar=data.get("calendar") if business else None,
                )
            except InvalidInput as exc:
                self.add_error(name, exc.details[0]["message"])
        return data


@admin.register(ActivitySla)
class ActivitySlaAdmin(admin.ModelAdmin):
    form = ActivitySlaAdminForm
    list_display = (
        "process_key",
        "activity_id",
        "warning_seconds",
        "breach_seconds",
        "business_time",
        "calendar",
        "updated_at",
    )
    search_fields = ("process_key", "activity_id")

    def save_model(self, request, obj, form, change):
        saved = activity_sla_set(
            process_key=obj.process_key,
            activity_id=obj.activity_id,
            warning_seconds=obj.warning_seconds,
            breach_seconds=obj.breach_seconds,
            business_time=obj.business_time,
            calendar=obj.calendar,
            actor=Actor.for_user(request.user),
        )
        obj.pk = saved.pk


class ProcessSloAdminForm(forms.ModelForm):
    """The admin's form: the process is one of the deployed ones (as on the SLO page)."""

    process_key = forms.ChoiceField(choices=slo_process_choices)

    class Meta:
        model = ProcessSlo
        fields = ("process_key", "objective_percent", "target_seconds", "window_days")


@admin.register(ProcessSlo)
class ProcessSloAdmin(admin.ModelAdmin):
    form = ProcessSloAdminForm
    list_display = (
        "process_key",
        "objective_percent",
        "target_seconds",
        "window_days",
        "updated_at",
    )
    search_fields = ("process_key",)
    readonly_fields = ("updated_by",)

    def save_model(self, request, obj, form, change):
        saved = slo_set(
            process_key=obj.process_key,
            objective_percent=obj.objective_percent,
            target_seconds=obj.target_seconds,
            window_days=obj.window_days,
            actor=Actor.for_user(request.user),
            user=request.user,
        )
        obj.pk = saved.pk
