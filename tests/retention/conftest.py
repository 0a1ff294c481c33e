"""Shared fixtures of the retention tests: a private media root and finished instances."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from apps.common.actors import Actor
from apps.engine import services as engine
from apps.engine.models import ProcessInstance
from apps.inbox.services.requests import comment_add
from apps.processes import services as process_services

XML = (Path(__file__).parents[1] / "calendars" / "business.bpmn").read_bytes()
ADMIN = Actor.system("test")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    settings.FLOWGATE_RETENTION_DAYS = 0
    settings.AUDIT_ANCHOR_PATH = str(tmp_path / "anchors.jsonl")  # no shared anchor file


@pytest.fixture
def finished(make_user):
    """Cancelled instances of business_sla, ended ``days`` ago, each with a task and a comment."""
    result = process_services.version_deploy(xml=XML, actor=ADMIN)
    assert result.deployed, result.version.problems
    user = make_user("approver", username="req")

    def make(days: float, n: int = 1) -> list[int]:
        ids = []
        for _ in range(n):
            instance = engine.instance_start(
                process_key="business_sla", variables={"amount": 5}, actor=ADMIN, started_by=user
            )
            comment_add(instance=instance, user=user, body="please hurry", actor=ADMIN)
            engine.instance_cancel(instance_id=instance.pk, actor=ADMIN)
            ProcessInstance.objects.filter(pk=instance.pk).update(
                ended_at=timezone.now() - timedelta(days=days)
            )
            ids.append(instance.pk)
        return ids

    return make
