"""The inbox table's rows built in Python (apps.inbox.row_html) against the template loop they
replaced (decision 016, amendment 1): the same markup for every badge and cell, every value
escaped; and the task API's hand-made dates against DRF's."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.template import engines
from django.utils import timezone

from apps.inbox.row_html import task_rows_html
from apps.inbox.selectors import TaskRow

# templates/inbox/_task_rows.html's row loop before the rows moved to Python
TEMPLATE_LOOP = """{% load l10n %}{% localize off %}
  {% for t in page.object_list %}
  <tr data-task="{{ t.pk }}">
    {% if view != "completed" %}<td>{% if t.is_approval %}<input class="form-check-input" type="checkbox" name="task" value="{{ t.pk }}" id="select-{{ t.pk }}" aria-label="Select {{ t.name }} #{{ t.instance_id }}">{% endif %}</td>{% endif %}
    <td><a href="{{ task_base }}{{ t.pk }}/">{{ t.name }}</a>{% if t.is_approval %} <span class="badge text-bg-info">approval</span>{% endif %}
      {% if t.approvals_needed %} <span class="badge text-bg-light border">{{ t.approvals_so_far|default:0 }} of {{ t.approvals_needed }} approvals so far</span>{% endif %}
      {% if t.delegation == "pending" %} <span class="badge text-bg-secondary">delegated by {{ t.owner_name }}</span>{% endif %}
      {% if t.on_behalf_of_name %} <span class="badge text-bg-light border">for {{ t.on_behalf_of_name }}</span>{% endif %}
      {% if t.status == "open" and t.due_at and t.due_at < now %} <span class="badge text-bg-danger">overdue</span>{% elif t.status == "open" and t.sla_warning_at and t.sla_warning_at <= now %} <span class="badge text-bg-warning">at risk</span>{% endif %}{% if t.summary %}<div class="small text-body-secondary fg-row-summary" data-testid="row-summary">{{ t.summary }}</div>{% endif %}</td>
    <td>{{ t.process_name|default:t.process_key }} <span class="text-body-secondary">#{{ t.instance_id }}</span></td>
    <td>{{ t.business_key|default:"—" }}</td>
    <td>{{ t.requester_name|default:"—" }}</td>
    <td>{{ t.assignee_name|default:"unclaimed" }}</td>
    <td>{% if t.due_at %}<time datetime="{{ t.due_at.isoformat }}" data-fg-when>{{ t.due_label }}</time>{% else %}—{% endif %}</td>
    <td>{{ t.priority }}</td>
    <td><time datetime="{{ t.created_at.isoformat }}" data-fg-when>{{ t.created_label }}</time></td>
  </tr>
  {% endfor %}
{% endlocalize %}"""

NOW = timezone.now()


def _row(pk: int, **fields) -> TaskRow:
    values = {
        "id": pk,
        "instance_id": 100 + pk,
        "activity_id": "gate",
        "name": f"Approve <b>\"it\"</b> & 'co' {pk}",
        "process_key": "expense<script>",
        "status": "open",
        "assignee_id": None,
        "owner_id": None,
        "delegation": "",
        "on_behalf_of_id": None,
        "candidate_groups": [],
        "candidate_users": [],
        "priority": 50,
        "due_at": None,
        "sla_warning_at": None,
        "sla_breach_at": None,
        "escalated_at": None,
        "info_question": "",
        "paused_at": None,
        "paused_seconds": 0.0,
        "is_approval": False,
        "comment_required_on_reject": False,
        "approvals_needed": None,
        "outcome": "",
        "created_at": NOW - timedelta(hours=1),
        "completed_at": None,
        "requested_by_id": None,
        "four_eyes_user_id": None,
        "business_key": "",
        "assignee_name": None,
        "owner_name": None,
        "on_behalf_of_name": None,
        "instance_status": "running",
    }
    values.update(fields)
    row = TaskRow(**values)
    row.due_label = "2026-12-03 10:00"
    row.created_label = "2026-12-03 <09>"
    return row


ROWS = [
    _row(1),
    _row(2, is_approval=True, approvals_needed=3),
    _row(3, is_approval=True, approvals_needed=2, approvals_so_far=1),
    _row(
        4,
        delegation="pending",
        owner_name="o<wner>",
        on_behalf_of_name="boss & co",
        due_at=NOW - timedelta(minutes=1),
        business_key="B-<1>",
        assignee_name='ann"',
        requester_name="r<e>q",
        process_name="Expense & <co>",
        summary="2500 — <laptop>",
    ),
    _row(5, sla_warning_at=NOW - timedelta(minutes=1), due_at=NOW + timedelta(hours=1)),
    _row(6, status="completed", due_at=NOW - timedelta(days=1)),
    _row(7, delegation="pending"),
]


def _squeeze(html: str) -> str:
    return re.sub(r"\s+", " ", html).strip()


@pytest.mark.parametrize("view", ["all", "completed"])
def test_rows_are_the_markup_the_template_made(view):
    template = engines["django"].from_string(TEMPLATE_LOOP)

    class Page:
        object_list = ROWS

    expected = template.render(
        {"page": Page, "view": view, "now": NOW, "task_base": "/inbox/tasks/"}
    )
    html = task_rows_html(ROWS, view=view, now=NOW, task_base="/inbox/tasks/", user_id=99)
    assert _squeeze(html) == _squeeze(expected)
    assert "<script>" not in html and "<b>" not in html
    assert html.count("<tr ") == len(ROWS)


def test_no_select_box_where_approve_selected_could_only_fail():
    """The reader's own request (four-eyes: as requester or as the user the model names) and
    a suspended instance's task get no box; the suspended one says why."""
    rows = [
        _row(1, is_approval=True),
        _row(2, is_approval=True, requested_by_id=7),
        _row(3, is_approval=True, four_eyes_user_id=7),
        _row(4, is_approval=True, instance_status="suspended"),
        _row(5, is_approval=True, requested_by_id=8),
    ]
    html = task_rows_html(rows, view="all", now=NOW, task_base="/inbox/tasks/", user_id=7)
    boxes = re.findall(r'id="select-(\d+)"', html)
    assert boxes == ["1", "5"]
    suspended = html.split('data-task="4"')[1].split("</tr>")[0]
    assert '<span class="badge text-bg-secondary">suspended</span>' in suspended
    assert html.count(">suspended</span>") == 1


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin"])
def test_api_datetimes_are_drf_s(zone, settings):
    """The task API formats its dates by hand (apps.inbox.apis.tasks._datetime_text): as DRF does."""
    from datetime import UTC, datetime

    from rest_framework import serializers

    from apps.inbox.apis.tasks import _datetime_text

    settings.TIME_ZONE = zone
    timezone.activate(zone)
    try:
        text = _datetime_text()
        drf = serializers.DateTimeField()
        for value in (
            datetime(2026, 12, 3, 14, 5, 6, 123456, tzinfo=UTC),
            datetime(2026, 7, 1, 0, 0, tzinfo=UTC),
            datetime(2026, 7, 1, 12, 30),  # noqa: DTZ001 - a naive value on purpose
        ):
            assert text(value) == drf.to_representation(value)
    finally:
        timezone.deactivate()
