"""The security regression corpus' shared pieces: the category marker, the response check and the
side-effect snapshot.

Every corpus test is marked ``@pytest.mark.corpus("<category>")`` and is one malicious input. It
asserts the specific refusal (a 4xx, or inert rendering), that no 5xx happened and that nothing
changed (``unchanged()``). tests/security/plugin.py counts them per category for docs/security.md.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from django.db.models import Count

# The response statuses a corpus test saw, per test (read by the plugin for the published table).
_SEEN: dict[str, list[int]] = {}
_current: list[str] = []


def begin(nodeid: str) -> None:
    _current[:] = [nodeid]
    _SEEN[nodeid] = []


def seen(nodeid: str) -> list[int]:
    return _SEEN.get(nodeid, [])


def observe(status: int) -> int:
    """Record a response status for the current corpus test; a 5xx fails it at once."""
    if _current:
        _SEEN.setdefault(_current[0], []).append(status)
    assert status < 500, f"server error {status}"
    return status


def refused(response, status: int, code: str | None = None) -> dict | None:
    """``response`` is the specific refusal ``status`` (and Flowgate error ``code`` when JSON)."""
    observe(response.status_code)
    body_text = response.content[:500] if hasattr(response, "content") else b""
    assert response.status_code == status, (response.status_code, body_text)
    if code is None:
        return None
    body = response.json()
    assert body["error"] == code, body
    return body


def corpus(category: str):
    return pytest.mark.corpus(category)


def world_state() -> dict:
    """Row counts (and the state of rows a refused action could have changed) across the portal."""
    from django.contrib.auth import get_user_model
    from guardian.models import GroupObjectPermission, UserObjectPermission

    from apps.accounts.models import ApiToken
    from apps.audit.models import AuditEvent, AuditPending
    from apps.connectors.models import Secret
    from apps.engine.models import Incident, Job, ProcessInstance, Timer
    from apps.inbox.models import (
        HumanTask,
        NotificationSettings,
        Substitution,
        TaskAttachment,
        TaskComment,
    )
    from apps.processes.models import ProcessDefinition, ProcessVersion, WebhookTrigger
    from apps.reports.models import ProcessSlo

    def by(model, field: str) -> dict:
        rows = model.objects.values(field).annotate(n=Count("pk")).order_by(field)
        return {row[field]: row["n"] for row in rows}

    return {
        "users": get_user_model().objects.count(),
        "tokens": list(ApiToken.objects.order_by("pk").values_list("pk", "revoked_at")),
        "audit_events": AuditEvent.objects.count(),
        "audit_pending": AuditPending.objects.count(),
        "secrets": Secret.objects.count(),
        "definitions": list(ProcessDefinition.objects.order_by("pk").values_list("key", "name")),
        "versions": by(ProcessVersion, "status"),
        "instances": list(ProcessInstance.objects.order_by("pk").values_list("pk", "status")),
        "jobs": by(Job, "status"),
        "timers": Timer.objects.count(),
        "incidents": by(Incident, "status"),
        "tasks": list(
            HumanTask.objects.order_by("pk").values_list(
                "pk", "status", "assignee_id", "completed_by_id", "name"
            )
        ),
        "webhooks": list(WebhookTrigger.objects.order_by("pk").values_list("pk", "active")),
        "comments": TaskComment.objects.count(),
        "attachments": list(TaskAttachment.objects.order_by("pk").values_list("pk", "file")),
        "substitutions": list(
            Substitution.objects.order_by("pk").values_list("pk", "substitute_id", "ends_at")
        ),
        "notification_settings": list(
            NotificationSettings.objects.order_by("pk").values_list(
                "user_id", "email_on_assignment", "email_on_escalation"
            )
        ),
        "slos": list(ProcessSlo.objects.order_by("pk").values()),
        "variables": list(ProcessInstance.objects.order_by("pk").values_list("pk", "variables")),
        "object_perms": UserObjectPermission.objects.count()
        + GroupObjectPermission.objects.count(),
    }


@contextlib.contextmanager
def unchanged(**allowed) -> Iterator[None]:
    """Asserts that the block changed nothing in ``world_state()`` (keys in ``allowed`` excepted,
    each with the value it must have afterwards, or ``...`` for "any")."""
    before = world_state()
    yield
    after = world_state()
    for key, expected in allowed.items():
        if expected is not ...:
            assert after[key] == expected, (key, after[key])
        before.pop(key)
        after.pop(key)
    changed = {key: (before[key], after[key]) for key in before if before[key] != after[key]}
    assert changed == {}, f"side effects (before, after): {changed}"
