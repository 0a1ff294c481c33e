"""The operator actions check who acts in the service (apps.engine.operator_services), so every
entry point goes through the same check, not only the API and page gates in front of them."""

from __future__ import annotations

from pathlib import Path

import pytest

from apps.accounts import permissions
from apps.accounts.roles import PERM_OPERATE_INSTANCE
from apps.accounts.services import api_token_create
from apps.audit.models import AuditEvent
from apps.common.actors import Actor
from apps.common.errors import AccessDenied, NotFound
from apps.engine import operator_services
from apps.engine import services as engine
from apps.engine.models import (
    Incident,
    InstanceStatus,
    JobStatus,
    MigrationRun,
    ProcessInstance,
)
from apps.processes import services as process_services
from tests.reports import dataset as ds

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")
BPMN = Path(__file__).parents[1] / "reports" / "bpmn" / "expense_demo.bpmn"


@pytest.fixture
def instance(db) -> ProcessInstance:
    result = process_services.version_deploy(xml=BPMN.read_bytes(), actor=SYSTEM)
    assert result.deployed, result.version.problems
    return engine.instance_start(version=result.version, variables={"amount": 5000}, actor=SYSTEM)


def _actions(instance: ProcessInstance, actor: Actor, user) -> dict:
    """Each operator action, called the way a direct caller would."""
    return {
        "token_move": lambda: operator_services.instance_token_move(
            instance_id=instance.pk,
            from_activity_id="manager_approval",
            to_activity_id="manager_approval",
            reason="test",
            dry_run=True,
            actor=actor,
        ),
        "cancel_with_compensation": lambda: operator_services.instance_cancel_with_compensation(
            instance_id=instance.pk, actor=actor
        ),
        "cancel_with_compensation_facade": lambda: engine.instance_cancel_with_compensation(
            instance_id=instance.pk, actor=actor
        ),
        "migrate": lambda: operator_services.instance_migrate(
            instance_id=instance.pk, to_version=1, dry_run=True, actor=actor
        ),
        "migrate_many": lambda: operator_services.instances_migrate(
            process_key=instance.process_key,
            from_version=1,
            to_version=1,
            dry_run=True,
            actor=actor,
        ),
        "migration_run": lambda: operator_services.migration_run_start(
            process_key=instance.process_key, from_version=1, to_version=1, user=user
        ),
        "incidents_retry": lambda: operator_services.incidents_retry(
            incident_ids=list(Incident.objects.values_list("pk", flat=True)), actor=actor
        ),
        "variable_set": lambda: operator_services.instance_variable_set(
            instance_id=instance.pk, name="amount", value=1, actor=actor
        ),
    }


ACTIONS = [
    "token_move",
    "cancel_with_compensation",
    "cancel_with_compensation_facade",
    "migrate",
    "migrate_many",
    "migration_run",
    "incidents_retry",
    "variable_set",
]


def _state(instance: ProcessInstance) -> tuple:
    instance.refresh_from_db()
    return (
        instance.status,
        instance.variables,
        AuditEvent.objects.count(),
        MigrationRun.objects.count(),
        list(Incident.objects.values_list("status", flat=True)),
    )


@pytest.mark.parametrize("action", ACTIONS)
def test_a_non_operator_calling_the_service_directly_is_refused_and_nothing_changes(
    instance, make_user, action
):
    # given a running instance, an open incident, and an approver (no operator role)
    failed = ds.instance("exp", created=ds.fixed_now())
    job = ds.job(failed, "s1", created=ds.fixed_now(), status=JobStatus.INCIDENT)
    ds.incident(failed, "s1", job_row=job)
    approver = make_user("approver")
    before = _state(instance)

    # when the approver calls the operator action directly (no view in front)
    with pytest.raises(AccessDenied) as refused:
        _actions(instance, Actor.for_user(approver), approver)[action]()

    # then a 403-style error, and nothing changed
    assert refused.value.status == 403 and refused.value.code == "forbidden"
    assert refused.value.message.startswith("You may not ")
    assert _state(instance) == before


def test_the_refusals_name_what_was_refused_and_who_may(instance, make_user):
    manager = make_user("manager")
    with pytest.raises(AccessDenied) as refused:
        operator_services.instance_variable_set(
            instance_id=instance.pk, name="amount", value=1, actor=Actor.for_user(manager)
        )
    assert refused.value.message == "You may not set variables (admins can)."
    with pytest.raises(AccessDenied) as refused:
        operator_services.instance_cancel_with_compensation(
            instance_id=instance.pk, actor=Actor.anonymous()
        )
    assert refused.value.message == "You may not cancel this instance (managers and admins can)."


def test_an_api_token_acts_with_its_users_roles(instance, make_user):
    token, _ = api_token_create(user=make_user("manager"), name="script")
    clerk_token, _ = api_token_create(user=make_user("approver"), name="script")
    move = {
        "instance_id": instance.pk,
        "from_activity_id": "manager_approval",
        "to_activity_id": "manager_approval",
        "reason": "preview",
        "dry_run": True,
    }
    report = operator_services.instance_token_move(**move, actor=Actor.for_token(token))
    assert (report["dry_run"], report["from"], report["to"]) == (
        True,
        "manager_approval",
        "manager_approval",
    )
    with pytest.raises(AccessDenied):
        operator_services.instance_token_move(**move, actor=Actor.for_token(clerk_token))


def test_someone_given_the_instance_may_operate_it(instance, make_user):
    # given an approver granted "operate" on this one instance
    approver = make_user("approver")
    permissions.grant(PERM_OPERATE_INSTANCE, obj=instance, user=approver)

    # when they cancel it with compensation (nothing to undo: it is cancelled at once)
    done = operator_services.instance_cancel_with_compensation(
        instance_id=instance.pk, actor=Actor.for_user(approver)
    )

    # then
    assert done.instance.status == InstanceStatus.CANCELLED
    assert list(done.undoing) == []


def test_an_instance_that_does_not_exist_is_still_a_404(make_user):
    with pytest.raises(NotFound):
        operator_services.instance_cancel_with_compensation(
            instance_id=999_999, actor=Actor.for_user(make_user("approver"))
        )
