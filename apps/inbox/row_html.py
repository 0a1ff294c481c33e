"""The inbox list's table rows as HTML, built in Python.

The template's row loop (about 40 variable and tag nodes a row, 25 rows) was half of the inbox
page's CPU time — more than its query. This renders the same markup, row for row, with
every value escaped (as ``django.utils.html.escape`` does); ``templates/inbox/_task_rows.html``
keeps the table around it. docs/decisions/016-inbox-list-cost.md (amendment 1).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from html import escape as _escape

from django.utils.safestring import SafeString, mark_safe

from apps.inbox.selectors import TaskRow


def escape(value: object) -> str:
    """``django.utils.html.escape`` without its lazy-string wrapper (same text: it is
    ``html.escape(str(value))``), called about 15 times a row."""
    return _escape(str(value))


def _badges(t: TaskRow, now: datetime) -> str:
    html = ' <span class="badge text-bg-info">approval</span>' if t.is_approval else ""
    html += "\n      "
    if t.approvals_needed:
        html += (
            f' <span class="badge text-bg-light border">{escape(t.approvals_so_far or 0)} of '
            f"{escape(t.approvals_needed)} approvals so far</span>"
        )
    html += "\n      "
    if t.delegation == "pending":
        html += f' <span class="badge text-bg-secondary">delegated by {escape(t.owner_name)}</span>'
    html += "\n      "
    if t.on_behalf_of_name:
        html += (
            f' <span class="badge text-bg-light border">for {escape(t.on_behalf_of_name)}</span>'
        )
    html += "\n      "
    if t.instance_status == "suspended":
        html += ' <span class="badge text-bg-secondary">suspended</span>'
    if t.status == "open" and t.due_at and t.due_at < now:
        html += ' <span class="badge text-bg-danger">overdue</span>'
    elif t.status == "open" and t.sla_warning_at and t.sla_warning_at <= now:
        html += ' <span class="badge text-bg-warning">at risk</span>'
    return html


def _row(
    t: TaskRow, *, selectable: bool, now: datetime, task_base: str, user_id: int | None
) -> str:
    pk = escape(t.pk)
    name = escape(t.name)
    select = ""
    if selectable:
        # no box where "Approve selected" could only fail: the user's own request (four-eyes),
        # a suspended instance
        box = (
            f'<input class="form-check-input" type="checkbox" name="task" value="{pk}" '
            f'id="select-{pk}" aria-label="Select {name} #{escape(t.instance_id)}">'
            if t.approvable_by(user_id)
            else ""
        )
        select = f"<td>{box}</td>"
    due = (
        f'<time datetime="{escape(t.due_at.isoformat())}" data-fg-when>{escape(t.due_label)}</time>'
        if t.due_at
        else "—"
    )
    summary = (
        f'<div class="small text-body-secondary fg-row-summary" data-testid="row-summary">'
        f"{escape(t.summary)}</div>"
        if t.summary
        else ""
    )
    return (
        f'  <tr data-task="{pk}">\n'
        f"    {select}\n"
        f'    <td><a href="{escape(task_base)}{pk}/">{name}</a>{_badges(t, now)}{summary}</td>\n'
        f'    <td>{escape(t.process_name or t.process_key)} <span class="text-body-secondary">'
        f"#{escape(t.instance_id)}</span></td>\n"
        f"    <td>{escape(t.business_key or '—')}</td>\n"
        f"    <td>{escape(t.requester_name or '—')}</td>\n"
        f"    <td>{escape(t.assignee_name or 'unclaimed')}</td>\n"
        f"    <td>{due}</td>\n"
        f"    <td>{escape(t.priority)}</td>\n"
        f'    <td><time datetime="{escape(t.created_at.isoformat())}" data-fg-when>'
        f"{escape(t.created_label)}</time></td>\n"
        "  </tr>\n"
    )


def task_rows_html(
    rows: Iterable[TaskRow], *, view: str, now: datetime, task_base: str, user_id: int | None
) -> SafeString:
    """The ``<tr>`` elements of the inbox table for ``rows`` (every value escaped); ``user_id``
    is the reader's (their own requests get no "select" box)."""
    selectable = view != "completed"
    return mark_safe(  # noqa: S308 - every value above goes through escape()
        "".join(
            _row(t, selectable=selectable, now=now, task_base=task_base, user_id=user_id)
            for t in rows
        )
    )
