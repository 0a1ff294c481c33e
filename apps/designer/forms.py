"""Forms of the designer pages: their query strings and posts, read and checked before the
selector or service (which check again)."""

from __future__ import annotations

from django import forms

from apps.processes import drafts
from apps.processes.selectors import STATUS_FILTERS


class ProcessListForm(forms.Form):
    """``/designer/?q=&status=``: a free-text search (cut to 200 characters) and a status filter
    (an unknown status shows every process, as the list's own links never send one)."""

    q = forms.CharField(required=False)
    status = forms.CharField(required=False)

    def filters(self) -> tuple[str, str]:
        """(search, status), empty for what is absent or unknown."""
        data = self.cleaned_data if self.is_valid() else {}
        status = data.get("status") or ""
        return (data.get("q") or "")[:200], status if status in STATUS_FILTERS else ""


class DeployCommentForm(forms.Form):
    """The optional comment of an upload, a roll-back (the service bounds its length)."""

    comment = forms.CharField(required=False, strip=False)

    def comment_text(self) -> str:
        return self.cleaned_data["comment"] if self.is_valid() else ""


class RollbackForm(DeployCommentForm):
    """A roll-back deploys an old version again: only ``confirm=yes`` confirms."""

    confirm = forms.CharField(required=False)

    def confirmed(self) -> bool:
        return self.is_valid() and self.cleaned_data["confirm"] == "yes"


class ShareForm(forms.Form):
    """Share a process with (or take it back from) a user or a role: the service checks that
    exactly one is given and that it exists. Longer than a name can be: cut, and then unknown."""

    user = forms.CharField(required=False)
    role = forms.CharField(required=False)

    def user_and_role(self) -> tuple[str, str]:
        data = self.cleaned_data if self.is_valid() else {}
        return (data.get("user") or "")[:150], (data.get("role") or "")[:150]


class DraftNameForm(forms.Form):
    name = forms.CharField(max_length=drafts.MAX_NAME, strip=True)


class VersionXmlForm(forms.Form):
    """``?download=1`` asks for the file as an attachment."""

    download = forms.CharField(required=False)

    def as_attachment(self) -> bool:
        return self.is_valid() and bool(self.cleaned_data["download"])


class VersionCompareForm(forms.Form):
    """``?from=&to=``: two version numbers (absent: the latest and the one before it)."""

    to = forms.IntegerField(
        required=False,
        min_value=1,
        error_messages={"invalid": "to is a version number, e.g. 3."},
    )
    from_ = forms.IntegerField(
        required=False,
        min_value=1,
        error_messages={"invalid": "from is a version number, e.g. 2."},
    )

    def __init__(self, data=None, *args, **kwargs) -> None:
        # "from" is a Python keyword: the field is ``from_``, the parameter ``from``
        if data is not None:
            data = {"to": data.get("to", ""), "from_": data.get("from", "")}
        super().__init__(data, *args, **kwargs)

    def problem(self) -> str:
        return next(str(message) for messages in self.errors.values() for message in messages)
