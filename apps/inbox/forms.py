"""Forms of the inbox and request pages: their query strings and posts, read and checked before
the selector or service (which check again). A list page's filters never make the page fail:
an unknown filter value is the selector's 400 (the inbox) or the default (the other lists)."""

from __future__ import annotations

from django import forms


class InboxListForm(forms.Form):
    """``/inbox/?view=&sort=&q=``: the view and sort are checked by ``selectors.inbox_list``."""

    view = forms.CharField(required=False)
    sort = forms.CharField(required=False)
    q = forms.CharField(required=False)

    def filters(self) -> tuple[str, str, str]:
        """(view, sort, search), with the defaults for what is absent."""
        data = self.cleaned_data if self.is_valid() else {}
        return (data.get("view") or "all", data.get("sort") or "newest", data.get("q") or "")


class SearchForm(forms.Form):
    """A list page's free-text search ``q`` (cut to 100 characters) and optional status."""

    q = forms.CharField(required=False)
    status = forms.CharField(required=False)

    def search(self) -> str:
        return (self.cleaned_data.get("q") or "")[:100] if self.is_valid() else ""

    def status_filter(self) -> str:
        return (self.cleaned_data.get("status") or "") if self.is_valid() else ""


class InstanceListForm(forms.Form):
    """``/inbox/instances/?status=&process=``."""

    status = forms.CharField(required=False)
    process = forms.CharField(required=False)


class HandOverForm(forms.Form):
    """Delegate or reassign: to whom (the service checks the user exists and may take it)."""

    username = forms.CharField(required=False)


class BulkApproveForm(forms.Form):
    """The tasks chosen (ids; anything else is dropped) and whether this POST confirms."""

    def task_ids(self) -> list[int]:
        """The chosen task ids in order, once each; a value that is not an id is dropped."""
        raw = self.data.getlist("task") if hasattr(self.data, "getlist") else []
        return list(dict.fromkeys(int(value) for value in raw if value.isdigit()))

    def confirmed(self) -> bool:
        """Withdrawing or approving in bulk is not undone: only ``confirm=yes`` confirms."""
        return self.data.get("confirm") == "yes"


class ConfirmForm(forms.Form):
    """An action that is not undone (withdrawing a request): only ``confirm=yes`` confirms."""

    confirm = forms.CharField(required=False)

    def confirmed(self) -> bool:
        return self.is_valid() and self.cleaned_data["confirm"] == "yes"


class CommentForm(forms.Form):
    body = forms.CharField(required=False, strip=False)

    def body_text(self) -> str:
        """The comment as typed (the service refuses an empty one with its own message)."""
        return self.cleaned_data["body"] if self.is_valid() else ""


class DecisionForm(forms.Form):
    """A bulk or single approval decision with its optional comment (cut to 4,000 characters)."""

    decision = forms.CharField(required=False)
    comment = forms.CharField(required=False, strip=False)

    def comment_text(self) -> str:
        return (self.cleaned_data.get("comment") or "")[:4000]


class NotificationSettingsForm(forms.Form):
    email_on_assignment = forms.BooleanField(required=False)
    email_on_escalation = forms.BooleanField(required=False)


class SubstitutionEndForm(forms.Form):
    substitution = forms.IntegerField(required=False, min_value=0)

    def substitution_id(self) -> int:
        """The substitution to end; 0 (none such: the service's 404) when absent or malformed."""
        return (self.cleaned_data.get("substitution") or 0) if self.is_valid() else 0


class SubstitutionForm(forms.Form):
    """Out of office: the substitute and the period (a time without zone is the user's zone)."""

    substitute = forms.CharField(required=False)
    starts_at = forms.DateTimeField(
        error_messages={
            "required": "Give a start date and time.",
            "invalid": "Give a start date and time.",
        }
    )
    ends_at = forms.DateTimeField(
        error_messages={
            "required": "Give an end date and time.",
            "invalid": "Give an end date and time.",
        }
    )

    def field_errors(self) -> dict[str, str]:
        """The first message of each field in error, as the page shows them."""
        return {name: str(messages[0]) for name, messages in self.errors.items()}


class SettingsPostForm(forms.Form):
    """Which of the settings page's three forms was posted: ``notifications``, ``end`` (a
    substitution) or anything else (set a substitution)."""

    form = forms.CharField(required=False)

    def which(self) -> str:
        return (self.cleaned_data.get("form") or "") if self.is_valid() else ""


class InfoRequestForm(forms.Form):
    """The approver's question to the requester ("more information needed")."""

    question = forms.CharField(required=False, strip=False)

    def question_text(self) -> str:
        """As typed (the service refuses an empty or too long one with its own message)."""
        return self.cleaned_data["question"] if self.is_valid() else ""


class InfoAnswerForm(forms.Form):
    """The requester's answer, with an optional file (checked by the attachment service)."""

    answer = forms.CharField(required=False, strip=False)
    file = forms.FileField(required=False)

    def answer_text(self) -> str:
        return self.cleaned_data["answer"] if self.is_valid() else ""

    def upload(self):
        return self.cleaned_data.get("file") if self.is_valid() else None
