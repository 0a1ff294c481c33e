"""The audit chain is verified on a schedule (decision 039 addendum): from the latest signed
checkpoint hourly, the whole chain daily (which signs a checkpoint), each run bounded in time;
/metrics exports the age of the last verification for the FlowgateAuditVerifyStale alert."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from apps.audit import tasks
from apps.audit.actions import AuditAction
from apps.audit.models import AuditCheckpoint, AuditEvent
from apps.audit.selectors import verification_last
from apps.audit.services import chain_link_pending, record
from apps.audit.verification import VerificationTimedOut, chain_verify
from portal.celery import app as celery_app
from tests.audit.support import tamper

pytestmark = pytest.mark.django_db


def _events(n: int) -> None:
    for i in range(n):
        record(AuditAction.TASK_CLAIMED, task_id=i + 1)
    chain_link_pending()


def _age_metric(client) -> float | None:
    lines = [
        line
        for line in client.get("/metrics").content.decode().splitlines()
        if line.startswith("flowgate_audit_verify_age_seconds ")
    ]
    return float(lines[0].split()[1]) if lines else None


def test_the_beat_runs_both_verifications_at_their_configured_intervals():
    assert "audit.verify" in celery_app.tasks
    schedule = django_settings.CELERY_BEAT_SCHEDULE
    assert schedule["audit-verify"] == {
        "task": "audit.verify",
        "schedule": 3600.0,
        "kwargs": {"full": False},
    }
    assert schedule["audit-verify-full"] == {
        "task": "audit.verify",
        "schedule": 86400.0,
        "kwargs": {"full": True},
    }
    assert (
        0
        < django_settings.FLOWGATE_AUDIT_VERIFY_MAX_SECONDS
        < (django_settings.FLOWGATE_TASK_SOFT_TIME_LIMIT)
    )


def test_a_full_run_records_its_result_and_signs_a_checkpoint_the_hourly_run_starts_from():
    _events(4)
    out = tasks.verify(full=True)
    checkpoint = AuditCheckpoint.objects.get()
    assert out == {
        "full": True,
        "intact": True,
        "summary": out["summary"],
        "checkpoint_id": checkpoint.pk,
    }
    assert out["summary"].startswith("intact, 4 events")
    last = verification_last()
    assert (last.actor_id, last.data["intact"], last.data["checked_from"]) == (
        "scheduled audit_verify",
        True,
        0,
    )
    assert checkpoint.up_to_seq == last.data["head_position"] == 4

    _events(2)
    out = tasks.verify(full=False)
    assert out["intact"] is True and out["checkpoint_id"] is None
    assert out["summary"].endswith("(checked from the signed checkpoint at link 4)")
    assert verification_last().data["checked_from"] == 4
    assert AuditCheckpoint.objects.count() == 1  # a checkpointed run signs nothing

    # the next full run signs the head it reached: 6 events and the 2 earlier results
    second = tasks.verify(full=True)["checkpoint_id"]
    assert AuditCheckpoint.objects.get(pk=second).up_to_seq == 8


def test_without_a_checkpoint_the_hourly_run_checks_the_whole_chain():
    _events(3)
    out = tasks.verify(full=False)
    assert out["intact"] is True
    assert verification_last().data["checked_from"] == 0
    assert AuditCheckpoint.objects.count() == 1


def test_a_broken_chain_is_recorded_and_not_checkpointed():
    _events(3)
    tamper("UPDATE audit_auditevent SET actor_label = 'mallory' WHERE task_id = 2", ())
    out = tasks.verify(full=True)
    assert out["intact"] is False and out["summary"].startswith("broken at position 2")
    assert verification_last().data["intact"] is False
    assert not AuditCheckpoint.objects.exists()


def test_a_run_out_of_time_records_nothing_and_the_age_counts_from_the_oldest_event(
    settings, client
):
    _events(3)
    with pytest.raises(VerificationTimedOut, match="stopped after 0 s at link 0"):
        chain_verify(max_seconds=0)
    settings.FLOWGATE_AUDIT_VERIFY_MAX_SECONDS = 1e-9
    out = tasks.verify(full=True)
    assert out["intact"] is None
    assert "audit verification stopped after" in out["summary"]
    assert verification_last() is None
    assert not AuditCheckpoint.objects.exists()
    # never verified: the age counts from the oldest event
    first = AuditEvent.objects.order_by("position").first()
    age = _age_metric(client)
    assert age is not None
    assert abs(age - (timezone.now() - first.time).total_seconds()) < 5


def test_the_metric_is_the_age_of_the_last_verification(client):
    assert _age_metric(client) is None  # no event, nothing to verify: no sample
    _events(2)
    tasks.verify(full=True)
    age = _age_metric(client)
    assert age is not None and 0 <= age < 5
    assert verification_last().time > timezone.now() - dt.timedelta(seconds=5)
