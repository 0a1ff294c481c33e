"""Moving running instances to another version (issue #21): dry run, single and batch moves,
their waits re-created from the new version, refusals with reasons."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.common.actors import Actor
from apps.common.errors import Conflict, InvalidInput
from apps.engine import operator_services
from apps.engine import services as engine
from apps.engine.models import (
    InstanceStatus,
    Job,
    JobStatus,
    MigrationRun,
    ProcessInstance,
    Timer,
)
from apps.engine.runtime import migration
from apps.engine.runtime.hooks import migration_run_announced
from apps.inbox import services as inbox
from apps.inbox.models import HumanTask, TaskStatus
from apps.invariants.checks import run_checks
from apps.processes.models import ProcessVersion
from tests.engine.conftest import run_jobs

pytestmark = pytest.mark.django_db(transaction=True)
OPERATOR = Actor.system("test-operator")
RENAMED = {"review": "check"}


@pytest.fixture
def versions(deploy):
    return deploy("migrate_v1.bpmn"), deploy("migrate_v2.bpmn")


def start(**variables) -> ProcessInstance:
    """An instance of version 1 (version 2 is the latest)."""
    version = ProcessVersion.objects.get(definition__key="leave", number=1)
    return engine.instance_start(version=version, variables=variables, actor=OPERATOR)


def open_tasks(instance) -> list[tuple[str, list[str]]]:
    return [
        (t.activity_id, t.candidate_groups)
        for t in HumanTask.objects.filter(instance=instance, status=TaskStatus.OPEN)
    ]


def test_a_dry_run_names_the_unmapped_element_and_changes_nothing(versions):
    instance = start(days=3)
    state = ProcessInstance.objects.get(pk=instance.pk).state
    audit_before = AuditEvent.objects.count()

    report = operator_services.instance_migrate(
        instance_id=instance.pk, to_version=2, dry_run=True, actor=OPERATOR
    )

    assert report["can_move"] is False
    assert report["moved"] is False
    assert {a["activity_id"]: a["target"] for a in report["active"]} == {
        "review": None,
        "remind": "remind",
    }
    assert [(p["activity_id"], p["code"]) for p in report["problems"]] == [("review", "unmapped")]
    assert "'review' has no counterpart" in report["problems"][0]["message"]
    instance.refresh_from_db()
    assert (instance.version_id, instance.state) == (versions[0].pk, state)
    assert AuditEvent.objects.count() == audit_before


def test_a_dry_run_with_a_mapping_shows_targets_and_type_changes(versions):
    instance = start(days=3)
    ok = operator_services.instance_migrate(
        instance_id=instance.pk, to_version=2, mapping=RENAMED, dry_run=True, actor=OPERATOR
    )
    assert (ok["can_move"], ok["problems"]) == (True, [])
    assert {(a["activity_id"], a["target"], a["target_type"]) for a in ok["active"]} == {
        ("review", "check", "UserTask"),
        ("remind", "remind", "BoundaryEvent"),
    }
    bad = operator_services.instance_migrate(
        instance_id=instance.pk,
        to_version=2,
        mapping={"review": "book", "remind": "nowhere"},
        dry_run=True,
        actor=OPERATOR,
    )
    assert [(p["activity_id"], p["code"]) for p in bad["problems"]] == [
        ("remind", "unknown_target"),
        ("review", "type_changed"),
        ("remind", "unmapped"),
    ]


def test_a_move_recreates_the_inbox_task_from_the_new_version_and_keeps_the_rest(
    versions, make_user
):
    manager = make_user("manager", username="boss")
    instance = start(days=3)
    [old_task] = HumanTask.objects.filter(instance=instance, status=TaskStatus.OPEN)
    [timer] = Timer.objects.filter(instance=instance)

    report = operator_services.instance_migrate(
        instance_id=instance.pk, to_version=2, mapping=RENAMED, actor=Actor.for_user(manager)
    )

    assert report["moved"] is True
    instance.refresh_from_db()
    assert instance.version_id == versions[1].pk
    assert instance.variables == {"days": 3}
    assert open_tasks(instance) == [("check", ["manager"])]
    new_task = HumanTask.objects.get(instance=instance, status=TaskStatus.OPEN)
    assert new_task.sla_breach_at is not None
    assert HumanTask.objects.get(pk=old_task.pk).status == TaskStatus.CANCELLED
    # the boundary timer is the same wait: same row, same due time
    assert list(Timer.objects.filter(instance=instance, cancelled=False)) == [timer]
    assert Timer.objects.get(pk=timer.pk).due_at == timer.due_at
    event = AuditEvent.objects.get(instance_id=instance.pk, action="instance.migrated")
    assert (event.actor_kind, event.actor_label) == ("user", "boss")
    assert event.data["from_version"] == 1
    assert event.data["to_version"] == 2
    assert event.data["mapping"] == RENAMED
    assert (event.before, event.after) == ({"version": 1}, {"version": 2})

    # it runs on: check -> confirm (new in version 2) -> book (its version 2 inputs) -> done
    inbox.task_complete(task_id=new_task.pk, user=manager, data={}, actor=Actor.for_user(manager))
    assert open_tasks(instance) == [("confirm", ["approver"])]
    approver = make_user("approver", username="approver1")
    confirm = HumanTask.objects.get(instance=instance, status=TaskStatus.OPEN)
    inbox.task_complete(task_id=confirm.pk, user=approver, data={}, actor=Actor.for_user(approver))
    [job] = Job.objects.filter(instance=instance, status=JobStatus.PENDING)
    assert job.inputs == {"days": 3, "version": 2}
    run_jobs(instance)
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.COMPLETED
    assert run_checks().violations == []


def test_a_move_recreates_a_pending_job_with_the_new_versions_inputs(versions, make_user):
    approver = make_user("approver", username="approver1")
    instance = start(days=5)
    task = HumanTask.objects.get(instance=instance, status=TaskStatus.OPEN)
    inbox.task_complete(task_id=task.pk, user=approver, data={}, actor=Actor.for_user(approver))
    [old_job] = Job.objects.filter(instance=instance, status=JobStatus.PENDING)
    assert old_job.inputs == {"days": 5}

    operator_services.instance_migrate(instance_id=instance.pk, to_version=2, actor=OPERATOR)

    assert Job.objects.get(pk=old_job.pk).status == JobStatus.CANCELLED
    [new_job] = Job.objects.filter(instance=instance, status=JobStatus.PENDING)
    assert (new_job.activity_id, new_job.inputs) == ("book", {"days": 5, "version": 2})
    run_jobs(instance)
    instance.refresh_from_db()
    assert (instance.status, instance.version_id) == (InstanceStatus.COMPLETED, versions[1].pk)


def test_a_refused_move_is_a_conflict_with_its_reasons_and_changes_nothing(versions):
    instance = start(days=3)
    with pytest.raises(Conflict) as info:
        operator_services.instance_migrate(instance_id=instance.pk, to_version=2, actor=OPERATOR)
    assert info.value.code == "migration_refused"
    assert [p["code"] for p in info.value.details] == ["unmapped"]
    instance.refresh_from_db()
    assert instance.version_id == versions[0].pk
    assert open_tasks(instance) == [("review", ["approver"])]
    assert not AuditEvent.objects.filter(action="instance.migrated").exists()


def test_a_batch_moves_each_instance_and_reports_the_refused(versions, make_user):
    approver = make_user("approver", username="approver1")
    waiting = [start(days=i) for i in range(3)]
    at_job = start(days=9)
    task = HumanTask.objects.get(instance=at_job, status=TaskStatus.OPEN)
    inbox.task_complete(task_id=task.pk, user=approver, data={}, actor=Actor.for_user(approver))
    finished = start(days=1)
    engine.instance_cancel(instance_id=finished.pk, actor=OPERATOR)

    dry = operator_services.instances_migrate(
        process_key="leave", from_version=1, to_version=2, dry_run=True, actor=OPERATOR
    )
    assert (dry["movable"], dry["moved"], dry["refused"]) == (1, 0, 3)
    assert [r["instance_id"] for r in dry["instances"]] == [*(i.pk for i in waiting), at_job.pk]

    real = operator_services.instances_migrate(
        process_key="leave",
        from_version=1,
        to_version=2,
        mapping=RENAMED,
        instance_ids=[*(i.pk for i in waiting), at_job.pk, finished.pk, 999999],
        actor=OPERATOR,
    )
    assert (real["moved"], real["refused"]) == (4, 2)
    refused = {
        r["instance_id"]: r["problems"][0]["code"] for r in real["instances"] if not r["moved"]
    }
    assert refused == {finished.pk: "instance_not_active", 999999: "not_found"}
    assert set(
        ProcessInstance.objects.filter(version=versions[1]).values_list("pk", flat=True)
    ) == {*(i.pk for i in waiting), at_job.pk}
    assert AuditEvent.objects.filter(action="instance.migrated").count() == 4
    assert run_checks().violations == []  # the projections match the moved states


def test_a_batch_over_the_bound_is_refused_before_it_starts(versions, monkeypatch):
    monkeypatch.setattr(migration, "MAX_BATCH", 2)
    ids = [start(days=i).pk for i in range(3)]
    with pytest.raises(InvalidInput) as info:
        operator_services.instances_migrate(
            process_key="leave", from_version=1, to_version=2, mapping=RENAMED, actor=OPERATOR
        )
    assert info.value.code == "batch_too_large"
    assert set(
        ProcessInstance.objects.filter(pk__in=ids).values_list("version__number", flat=True)
    ) == {1}


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"to_version": 7}, "not_found"),
        ({"to_version": 2, "mapping": ["review"]}, "invalid_mapping"),
        ({"to_version": 2, "mapping": {"review": 3}}, "invalid_mapping"),
    ],
)
def test_bad_requests_are_specific_errors(versions, kwargs, code):
    instance = start(days=1)
    with pytest.raises(Exception) as info:  # noqa: B017 - the FlowgateError subclass varies
        operator_services.instance_migrate(instance_id=instance.pk, actor=OPERATOR, **kwargs)
    assert info.value.code == code


def test_a_queued_run_whose_message_was_lost_is_rung_again(versions, monkeypatch):
    rung: list[int] = []
    monkeypatch.setattr(migration_run_announced, "_receivers", [rung.append])  # the doorbell
    start(days=1)
    run = operator_services.migration_run_start(
        process_key="leave", from_version=1, to_version=2, mapping=RENAMED
    )
    assert rung == [run.pk]  # rung after commit
    assert operator_services.migration_runs_sweep() == 0  # just queued: its message is on its way
    later = timezone.now() + timedelta(minutes=2)
    assert operator_services.migration_runs_sweep(now=later) == 1
    assert rung == [run.pk, run.pk]
    run = operator_services.migration_run_execute(run_id=run.pk)
    assert (run.status, run.moved, run.refused) == ("finished", 1, 0)
    assert operator_services.migration_runs_sweep(now=later) == 0


def test_a_second_delivery_leaves_a_held_run_alone_and_resumes_a_dead_workers_run(
    versions, monkeypatch
):
    monkeypatch.setattr(migration_run_announced, "_receivers", [])
    ids = [start(days=i).pk for i in range(3)]
    run = operator_services.migration_run_start(
        process_key="leave", from_version=1, to_version=2, mapping=RENAMED
    )
    # a worker holds the run and has moved the first instance
    first = migration.batch_item(
        ids[0], versions[1], RENAMED, actor=OPERATOR, dry_run=False, from_version=1
    )
    MigrationRun.objects.filter(pk=run.pk).update(
        status="running",
        report=[first],
        done=1,
        moved=1,
        lease_expires_at=timezone.now() + timedelta(minutes=5),
    )
    held = operator_services.migration_run_execute(run_id=run.pk)
    assert (held.status, held.done) == ("running", 1)  # the other worker's: left alone
    assert operator_services.migration_runs_sweep() == 0

    # that worker moved the second instance too, and died before writing its report: its lease
    # runs out, the sweeper rings, the next delivery resumes (and counts the second as moved)
    migration.batch_item(
        ids[1], versions[1], RENAMED, actor=OPERATOR, dry_run=False, from_version=1
    )
    MigrationRun.objects.filter(pk=run.pk).update(lease_expires_at=timezone.now())
    assert operator_services.migration_runs_sweep(now=timezone.now() + timedelta(seconds=1)) == 1
    done = operator_services.migration_run_execute(run_id=run.pk)
    assert (done.status, done.done, done.moved, done.refused) == ("finished", 3, 3, 0)
    assert [r["instance_id"] for r in done.report] == ids
    assert AuditEvent.objects.filter(action="instance.migrated").count() == 3


def test_a_suspended_instance_moves_and_stays_suspended(versions):
    instance = start(days=4)
    engine.instance_suspend(instance_id=instance.pk, actor=OPERATOR)
    report = operator_services.instance_migrate(
        instance_id=instance.pk, to_version=2, mapping=RENAMED, actor=OPERATOR
    )
    assert report["moved"] is True
    instance.refresh_from_db()
    assert (instance.status, instance.version_id) == (InstanceStatus.SUSPENDED, versions[1].pk)
    assert open_tasks(instance) == [("check", ["manager"])]
    engine.instance_resume(instance_id=instance.pk, actor=OPERATOR)
    assert run_checks().violations == []
