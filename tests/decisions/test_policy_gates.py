"""Policy gates: a business rule task marked as a gate allows (the process goes on) or denies
(BPMN error ``policy_denied``, caught by an error boundary, else the request ends rejected by
policy with the reason);
every verdict is in the audit trail with its rule."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.common.actors import Actor
from apps.engine import services
from apps.engine.models import InstanceOutcome, InstanceStatus, JobStatus
from apps.processes.decisions import dmn_deploy
from apps.processes.services import version_deploy
from tests.engine.conftest import run_jobs
from tests.engine_core.dmn.support import dmn_file

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")
GATE = (Path(__file__).parent / "bpmn" / "access_gate.bpmn").read_bytes()
UNCAUGHT = (
    GATE.replace(
        b'<bpmn:boundaryEvent id="denied" attachedToRef="policy">\n      <bpmn:outgoing>f3</bpmn:outgoing>\n'
        b'      <bpmn:errorEventDefinition errorRef="err_policy"/>\n    </bpmn:boundaryEvent>\n',
        b"",
    )
    .replace(
        b'    <bpmn:endEvent id="end_denied"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>\n',
        b"",
    )
    .replace(b'    <bpmn:sequenceFlow id="f3" sourceRef="denied" targetRef="end_denied" />\n', b"")
)


def _run(variables: dict, xml: bytes = GATE):
    dmn_deploy(xml=dmn_file("access_policy.dmn"), actor=SYSTEM)
    result = version_deploy(xml=xml, actor=SYSTEM)
    assert result.deployed, result.version.problems
    instance = services.instance_start(version=result.version, variables=variables, actor=SYSTEM)
    run_jobs(instance)
    instance.refresh_from_db()
    return instance


def test_an_allowed_request_goes_on_with_the_verdict_stored():
    instance = _run({"role": "viewer", "region": "US"})
    assert instance.status == InstanceStatus.COMPLETED
    assert instance.variables["policy"] == {"allow": True, "reason": "allowed"}
    event = AuditEvent.objects.get(action="decision.evaluated", instance_id=instance.pk)
    assert event.data["policy_gate"] == {"allow": True, "reason": "allowed"}
    assert event.data["matched_rule_ids"] == ["Rule_default"]


def test_a_denial_is_caught_by_the_error_boundary_and_audited_with_its_rule():
    instance = _run({"role": "admin", "region": "EU"})
    assert instance.status == InstanceStatus.COMPLETED
    assert "policy" not in instance.variables  # the gate did not complete: its boundary took over
    assert not instance.incidents.exists()
    event = AuditEvent.objects.get(action="decision.evaluated", instance_id=instance.pk)
    assert event.data["policy_gate"] == {
        "allow": False,
        "reason": "admin roles are never granted on self-service",
    }
    assert event.data["summary"] == "Decided by rule 1 of Access policy v1"
    routed = AuditEvent.objects.get(action="job.failed", instance_id=instance.pk)
    assert routed.data["activity_id"] == "policy"


def test_an_uncaught_denial_ends_the_request_as_rejected_by_policy(client, make_user):
    requester = make_user()
    dmn_deploy(xml=dmn_file("access_policy.dmn"), actor=SYSTEM)
    result = version_deploy(xml=UNCAUGHT, actor=SYSTEM)
    instance = services.instance_start(
        version=result.version,
        variables={"role": "payroll", "region": "US"},
        actor=Actor.for_user(requester),
        started_by=requester,
    )
    run_jobs(instance)
    instance.refresh_from_db()
    assert (instance.status, instance.outcome, instance.outcome_reason) == (
        InstanceStatus.CANCELLED,
        InstanceOutcome.REJECTED_BY_POLICY,
        "payroll access only in the EU",
    )
    assert instance.status_label == "Rejected by policy"
    assert not instance.incidents.exists()  # nothing is broken: no incident
    job = instance.jobs.get()
    assert (job.status, job.last_error) == (
        JobStatus.DONE,
        "business error policy_denied: payroll access only in the EU (uncaught: rejected by policy)",
    )
    actions = list(
        AuditEvent.objects.filter(instance_id=instance.pk)
        .order_by("position")
        .values_list("action", flat=True)
    )
    assert actions[-3:] == ["decision.evaluated", "job.failed", "instance.cancelled"]
    cancelled = AuditEvent.objects.get(action="instance.cancelled", instance_id=instance.pk)
    assert cancelled.data["reason"] == "Rejected by policy: payroll access only in the EU"
    assert cancelled.after == {"status": "cancelled", "outcome": "rejected_by_policy"}
    client.force_login(requester)
    page = client.get(reverse("requests:detail", args=[instance.pk])).content.decode()
    assert "Rejected by policy: payroll access only in the EU" in page


def test_a_gate_needs_a_decision_with_allow_and_reason():
    dmn_deploy(xml=dmn_file("approval.dmn"), actor=SYSTEM)
    xml = GATE.replace(
        b'flowgate:decisionRef="access_policy"', b'flowgate:decisionRef="risk_class"'
    )
    result = version_deploy(xml=xml, actor=SYSTEM)
    assert not result.deployed
    problem = next(p for p in result.version.problems if p["code"] == "policy_gate_decision")
    assert problem["element_id"] == "policy"
