"""Report settings forms: the page's input, checked before the service (which checks again)."""

from __future__ import annotations

from decimal import Decimal

from django import forms

from apps.reports.selectors import slo_process_choices


class SloForm(forms.Form):
    """Set an objective: "P % of the process's instances complete within T hours", over a window.
    The process is a choice among the deployed ones (an objective for a process that does not
    exist would never be judged)."""

    process_key = forms.ChoiceField(label="Process", choices=slo_process_choices)
    objective_percent = forms.DecimalField(
        label="Objective (%)",
        max_digits=6,
        decimal_places=3,
        min_value=Decimal(1),
        max_value=Decimal("99.999"),
    )
    target_hours = forms.FloatField(label="Within (hours)", min_value=1 / 3600, max_value=365 * 24)
    window_days = forms.IntegerField(label="Window (days)", min_value=1, max_value=365)

    def field_errors(self) -> dict[str, str]:
        return {name: " ".join(messages) for name, messages in self.errors.items()}
