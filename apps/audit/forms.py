"""The audit search form (pages). The API has its own serializer with the same fields."""

from __future__ import annotations

from django import forms

from apps.audit.actions import AuditAction
from apps.audit.labels import GROUP_LABELS, action_label
from apps.audit.selectors import AuditFilter

BIGINT_MAX = 2**63 - 1

ACTOR_KIND_CHOICES = [
    ("", "Any kind"),
    ("user", "User"),
    ("token", "API token"),
    ("system", "System component"),
    ("anonymous", "Anonymous"),
]


def action_choices() -> list[tuple[str, str]]:
    """Human labels, the code (the value) beside each: "Task created (task.created)"."""
    groups = sorted({a.value.split(".")[0] for a in AuditAction})
    return [
        ("", "Any action"),
        *[(f"{g}.", f"All: {GROUP_LABELS.get(g, g)} ({g}.*)") for g in groups],
        *[(a.value, f"{action_label(a.value)} ({a.value})") for a in AuditAction],
    ]


class AuditFilterForm(forms.Form):
    actor = forms.CharField(
        required=False, max_length=255, help_text="User name (includes their API tokens)"
    )
    actor_kind = forms.ChoiceField(required=False, choices=ACTOR_KIND_CHOICES)
    action = forms.ChoiceField(required=False, choices=action_choices)
    process_key = forms.CharField(required=False, max_length=255, label="Process key")
    instance_id = forms.IntegerField(
        required=False, min_value=1, max_value=BIGINT_MAX, label="Instance id"
    )
    task_id = forms.IntegerField(required=False, min_value=1, max_value=BIGINT_MAX, label="Task id")
    job_id = forms.IntegerField(required=False, min_value=1, max_value=BIGINT_MAX, label="Job id")
    trace_id = forms.RegexField(
        required=False,
        regex=r"^\s*[0-9a-fA-F]{32}\s*$",
        label="Trace id",
        error_messages={"invalid": "A trace id is 32 hexadecimal characters."},
    )
    date_from = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        required=False, label="To (inclusive)", widget=forms.DateInput(attrs={"type": "date"})
    )
    q = forms.CharField(required=False, max_length=200, label="Text")

    def clean(self):
        super().clean()
        data = self.cleaned_data
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date is before the start date.")
        return data

    def to_filter(self) -> AuditFilter:
        data = self.cleaned_data
        return AuditFilter(
            actor=(data.get("actor") or "").strip(),
            actor_kind=data.get("actor_kind") or "",
            action=data.get("action") or "",
            process_key=(data.get("process_key") or "").strip(),
            instance_id=data.get("instance_id"),
            task_id=data.get("task_id"),
            job_id=data.get("job_id"),
            trace_id=(data.get("trace_id") or "").strip().lower(),
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            q=(data.get("q") or "").strip(),
        )
