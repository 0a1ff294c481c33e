"""The status transition tables: every status field changes only along its table."""

from __future__ import annotations

import pytest

from apps.common.transitions import IllegalTransition, Transitions
from apps.engine.models import (
    INCIDENT_TRANSITIONS,
    INSTANCE_TRANSITIONS,
    JOB_TRANSITIONS,
    Incident,
    IncidentStatus,
    InstanceStatus,
    Job,
    JobStatus,
    ProcessInstance,
)
from apps.inbox.models import TASK_TRANSITIONS, HumanTask, TaskStatus
from apps.processes.models import VERSION_TRANSITIONS, VersionStatus


def pairs(table: Transitions) -> set[tuple[str, str]]:
    return {(a, b) for a, targets in table.table.items() for b in targets}


def test_job_table_allows_exactly_these_steps():
    assert pairs(JOB_TRANSITIONS) == {
        ("pending", "running"),
        ("pending", "done"),
        ("pending", "cancelled"),
        ("running", "running"),
        ("running", "pending"),
        ("running", "done"),
        ("running", "incident"),
        ("running", "cancelled"),
        ("incident", "pending"),
        ("incident", "cancelled"),
        ("done", "cancelled"),
    }
    assert set(JOB_TRANSITIONS.table) == set(JobStatus.values)


def test_incident_table_allows_exactly_these_steps():
    assert pairs(INCIDENT_TRANSITIONS) == {("open", "retried"), ("open", "resolved")}
    assert set(INCIDENT_TRANSITIONS.table) == set(IncidentStatus.values)


def test_task_table_allows_exactly_these_steps():
    assert pairs(TASK_TRANSITIONS) == {
        ("open", "completed"),
        ("open", "cancelled"),
        # "more information needed": sent back to the requester and answered (or withdrawn)
        ("open", "waiting"),
        ("waiting", "open"),
        ("waiting", "cancelled"),
    }
    assert set(TASK_TRANSITIONS.table) == set(TaskStatus.values)


def test_instance_table_allows_exactly_these_steps():
    assert pairs(INSTANCE_TRANSITIONS) == {
        ("running", "suspended"),
        ("running", "completed"),
        ("running", "cancelled"),
        ("suspended", "running"),
        ("suspended", "cancelled"),
    }
    assert set(INSTANCE_TRANSITIONS.table) == set(InstanceStatus.values)


@pytest.mark.parametrize(
    ("row", "current", "new"),
    [
        (Job(pk=7), JobStatus.DONE, JobStatus.PENDING),
        (Job(pk=7), JobStatus.CANCELLED, JobStatus.RUNNING),
        (Job(pk=7), JobStatus.INCIDENT, JobStatus.DONE),
        (Incident(pk=7), IncidentStatus.RESOLVED, IncidentStatus.OPEN),
        (Incident(pk=7), IncidentStatus.RETRIED, IncidentStatus.RESOLVED),
        (HumanTask(pk=7), TaskStatus.COMPLETED, TaskStatus.OPEN),
        (HumanTask(pk=7), TaskStatus.CANCELLED, TaskStatus.COMPLETED),
        (ProcessInstance(pk=7), InstanceStatus.COMPLETED, InstanceStatus.RUNNING),
    ],
)
def test_an_illegal_transition_raises_409_and_leaves_the_status(row, current, new):
    row.status = current
    with pytest.raises(IllegalTransition) as caught:
        row.transition_to(new)
    assert caught.value.status == 409
    assert caught.value.code == "illegal_transition"
    assert caught.value.message.endswith(f" 7 is {current}; it cannot become {new}.")
    assert row.status == current


def test_a_legal_transition_assigns_the_status():
    job = Job(pk=1, status=JobStatus.INCIDENT)
    job.transition_to(JobStatus.PENDING)
    assert job.status == JobStatus.PENDING
    task = HumanTask(pk=2, status=TaskStatus.OPEN)
    task.transition_to(TaskStatus.COMPLETED)
    assert task.status == TaskStatus.COMPLETED


def test_instance_message_is_unchanged():
    instance = ProcessInstance(pk=5, status=InstanceStatus.CANCELLED)
    with pytest.raises(IllegalTransition) as caught:
        instance.transition_to(InstanceStatus.RUNNING)
    assert caught.value.message == "Instance 5 is cancelled; it cannot become running."


def test_sources_and_require():
    assert JOB_TRANSITIONS.sources(JobStatus.CANCELLED) == {
        "pending",
        "running",
        "incident",
        "done",
    }
    assert INCIDENT_TRANSITIONS.sources(IncidentStatus.RESOLVED) == {"open"}
    JOB_TRANSITIONS.require([JobStatus.PENDING, JobStatus.RUNNING], JobStatus.DONE)
    with pytest.raises(IllegalTransition):
        JOB_TRANSITIONS.require([JobStatus.PENDING, JobStatus.INCIDENT], JobStatus.DONE)


def test_a_table_naming_an_unknown_target_is_refused():
    with pytest.raises(ValueError, match="targets without a row"):
        Transitions("Thing", {"a": {"b"}})


def test_a_version_never_changes_status():
    assert pairs(VERSION_TRANSITIONS) == set()
    assert set(VERSION_TRANSITIONS.table) == set(VersionStatus.values)
