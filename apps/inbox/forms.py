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


class CommentForm(forms.Form):
    body = forms.CharField(required=False, strip=False)


class DecisionForm(forms.Form):
    """A bulk or single approval decision with its optional comment (cut to 4,000 characters)."""

    decision = forms.CharField(required=False)
    comment = forms.CharField(required=False, strip=False)

    def comment_text(self) -> str:
        return (self.cleaned_data.get("comment") or "")[:4000]
