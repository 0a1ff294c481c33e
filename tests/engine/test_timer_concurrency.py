"""Two schedulers sweeping the same due timers at once: every timer fires exactly once."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from apps.audit.actions import AuditAction
from apps.audit.models import AuditEvent
from apps.common.actors import Actor
from apps.engine import services
from apps.engine.models import Timer
from apps.processes.services import version_deploy

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]
BPMN = Path(__file__).resolve().parents[1] / "engine_core" / "bpmn" / "timer_intermediate.bpmn"


def test_two_concurrent_sweeps_fire_each_timer_once():
    version = version_deploy(xml=BPMN.read_bytes(), actor=Actor.system("test")).version
    far = (timezone.now() + timedelta(days=1)).isoformat()
    ids = [
        services.instance_start(
            version=version, variables={"wake_at": far}, actor=Actor.system("t")
        ).pk
        for _ in range(30)
    ]
    later = timezone.now() + timedelta(minutes=31)
    fired: list[int] = []
    barrier = threading.Barrier(2)

    def sweep():
        barrier.wait()
        try:
            fired.append(services.timers_fire_due(now=later))
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sum(fired) == 30
    assert (
        Timer.objects.filter(
            instance_id__in=ids, activity_id="cool_off", fired_at__isnull=False
        ).count()
        == 30
    )
    assert (
        AuditEvent.objects.filter(instance_id__in=ids, action=AuditAction.TIMER_FIRED).count() == 30
    )
    # each instance now waits on its second timer, armed once
    assert (
        Timer.objects.filter(
            instance_id__in=ids, activity_id="until_date", fired_at__isnull=True
        ).count()
        == 30
    )
