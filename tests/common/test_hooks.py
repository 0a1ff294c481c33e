"""The one hook mechanism (apps.common.hooks) and where each app's receivers are connected."""

from __future__ import annotations

import logging

import pytest
from django.db import transaction

from apps.audit.labels import version_names
from apps.audit.services import evidence_bpmn_files
from apps.common.hooks import LOG, RAISE, Hook, hook
from apps.designer.hooks import process_badge_providers
from apps.designer.testrun import stub_for_job
from apps.engine.runtime import hooks as engine_hooks
from apps.engine.runtime.timers import start_schedules_create
from apps.engine.tasks import announce_job, announce_migration_run
from apps.inbox.live import publish_instance_changed
from apps.inbox.projection import human_tasks_sync
from apps.processes.hooks import version_deployed
from apps.processes.selectors import versions_bpmn_files, versions_names
from apps.reports.designer_badges import slo_process_badges
from apps.reports.facts import task_facts_record
from apps.reports.services import human_task_reactivated


def _declared(errors):
    @hook("test.something", errors=errors)
    def something(value: int) -> int | None:
        """A test hook."""

    return something


def test_a_declared_hook_has_the_prototypes_name_policy_and_doc():
    something = _declared(RAISE)
    assert isinstance(something, Hook)
    assert (something.name, something.errors, something.__doc__) == (
        "test.something",
        RAISE,
        "A test hook.",
    )
    assert not something


def test_receivers_run_in_connection_order_and_connecting_twice_changes_nothing():
    something = _declared(RAISE)
    calls = []

    def a(value):
        calls.append(("a", value))
        return value + 1

    def b(value):
        calls.append(("b", value))
        return value * 10

    assert something.connect(a) is a
    something.connect(b)
    something.connect(a)
    assert something.receivers == (a, b)
    assert a in something
    assert something.send(3) == [4, 30]
    assert calls == [("a", 3), ("b", 3)]
    something.disconnect(a)
    assert something.receivers == (b,)


def test_a_raise_hook_lets_the_error_through_to_the_senders_transaction():
    something = _declared(RAISE)
    later = []

    def broken(value):
        raise RuntimeError("projection failed")

    something.connect(broken)
    something.connect(later.append)
    with pytest.raises(RuntimeError, match="projection failed"):
        something.send(1)
    with pytest.raises(RuntimeError, match="projection failed"):
        something.first(1)
    assert later == []  # the write stops at the first failure


def test_a_log_hook_logs_a_failure_and_the_other_receivers_still_answer(caplog):
    something = _declared(LOG)

    def broken(value):
        raise RuntimeError("reports database down")

    something.connect(broken)
    something.connect(lambda value: value * 2)
    with caplog.at_level(logging.ERROR, logger="apps.common.hooks"):
        assert something.send(5) == [10]
        assert something.first(5) == 10
    assert [r.getMessage().split(": receiver")[0] for r in caplog.records] == [
        "hook test.something",
        "hook test.something",
    ]
    assert "RuntimeError: reports database down" in caplog.text


def test_first_is_the_first_answer_that_is_not_none():
    something = _declared(RAISE)
    assert something.first(1) is None
    something.connect(lambda value: None)
    something.connect(lambda value: value + 100)
    something.connect(lambda value: -1)
    assert something.first(1) == 101


@pytest.mark.django_db(transaction=True)
def test_send_on_commit_sends_after_commit_and_never_after_a_rollback():
    something = _declared(LOG)
    got = []
    something.connect(got.append)
    with transaction.atomic():
        something.send_on_commit(1)
        assert got == []
    assert got == [1]
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        something.send_on_commit(2)
        1 / 0  # noqa: B018
    assert got == [1]


def test_every_app_connects_its_receivers_at_start_up():
    assert engine_hooks.job_announced.receivers == (announce_job,)
    assert engine_hooks.migration_run_announced.receivers == (announce_migration_run,)
    assert engine_hooks.user_tasks_changed.receivers == (human_tasks_sync,)
    assert set(engine_hooks.instance_advanced.receivers) == {
        task_facts_record,
        publish_instance_changed,
    }
    assert engine_hooks.step_reactivated.receivers == (human_task_reactivated,)
    assert engine_hooks.job_stub.receivers == (stub_for_job,)
    assert version_deployed.receivers == (start_schedules_create,)
    assert process_badge_providers.receivers == (slo_process_badges,)
    assert version_names.receivers == (versions_names,)
    assert evidence_bpmn_files.receivers == (versions_bpmn_files,)
    policies = {
        h.name: h.errors
        for h in (
            engine_hooks.job_announced,
            engine_hooks.migration_run_announced,
            engine_hooks.user_tasks_changed,
            engine_hooks.instance_advanced,
            engine_hooks.step_reactivated,
            engine_hooks.job_stub,
            version_deployed,
            process_badge_providers,
            version_names,
            evidence_bpmn_files,
        )
    }
    assert policies == {
        "engine.job_announced": LOG,  # after commit: nothing left to roll back
        "engine.migration_run_announced": LOG,
        "engine.user_tasks_changed": RAISE,
        "engine.instance_advanced": RAISE,
        "engine.step_reactivated": RAISE,
        "engine.job_stub": RAISE,
        "processes.version_deployed": RAISE,
        "designer.process_badges": LOG,  # a page decoration
        "audit.version_names": RAISE,
        "audit.evidence_bpmn_files": RAISE,
    }
