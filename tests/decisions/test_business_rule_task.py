"""Business rule tasks on the worker path: the deployed decision runs, its result lands in the
result variable, the audit trail says why; a missing decision or a failing rule is a deploy
problem or an incident that names it."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.audit.services import evidence_export
from apps.common.actors import Actor
from apps.engine import services
from apps.engine.core.business_rules import (
    DecisionResultMappingError,
    decision_ref,
    map_decision_result,
)
from apps.engine.core.xml import parse_xml
from apps.engine.models import IncidentStatus, InstanceStatus, JobStatus
from apps.processes.decisions import dmn_deploy
from apps.processes.services import bpmn_convert, version_deploy
from tests.engine.conftest import run_jobs
from tests.engine_core.dmn.support import dmn_file, table_dmn

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")
ROUTING = (Path(__file__).parent / "bpmn" / "purchase_routing.bpmn").read_bytes()


def _deploy_process(xml: bytes = ROUTING):
    result = version_deploy(xml=xml, actor=SYSTEM)
    assert result.deployed, result.version.problems
    return result.version


def test_the_task_runs_the_latest_decision_and_the_audit_trail_says_why():
    dmn_deploy(xml=dmn_file("approval.dmn"), actor=SYSTEM)
    version = _deploy_process()
    instance = services.instance_start(
        version=version, variables={"amount": 500, "country": "US"}, actor=SYSTEM
    )
    job = instance.jobs.get()
    assert (job.activity_id, job.connector) == ("decide_approver", "decision")
    run_jobs(instance)
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.COMPLETED
    assert instance.variables["routing"] == {
        "approver": "cfo",
        "reason": "over 100k or high risk",
    }
    event = AuditEvent.objects.get(action="decision.evaluated", instance_id=instance.pk)
    assert event.data["summary"] == "Decided by rule 3 of Approval level v1"
    assert event.data["decision"] == "approval_level"
    assert event.data["version"] == 1
    assert event.data["matched_rule_ids"] == ["Rule_cfo"]
    assert event.data["activity_id"] == "decide_approver"
    explanation = event.data["explanation"]
    assert explanation["inputs"][1] == {
        "id": "Input_risk",
        "label": "Risk",
        "expression": "risk",
        "value": "high",
    }
    assert explanation["matched_rules"][0]["description"] == "Large or risky: the CFO"
    assert explanation["required"][0]["matched_rules"][0]["id"] == "Rule_other"


def test_a_newer_decision_version_is_used_by_running_processes():
    dmn_deploy(xml=dmn_file("approval.dmn"), actor=SYSTEM)
    version = _deploy_process()
    dmn_deploy(xml=dmn_file("approval.dmn").replace(b'"cfo"', b'"board"'), actor=SYSTEM)
    instance = services.instance_start(
        version=version, variables={"amount": 500, "country": "US"}, actor=SYSTEM
    )
    run_jobs(instance)
    instance.refresh_from_db()
    assert instance.variables["routing"]["approver"] == "board"
    event = AuditEvent.objects.get(action="decision.evaluated", instance_id=instance.pk)
    assert event.data["version"] == 2


def test_a_pinned_version_stays_pinned():
    dmn_deploy(xml=dmn_file("approval.dmn"), actor=SYSTEM)
    dmn_deploy(xml=dmn_file("approval.dmn").replace(b'"cfo"', b'"board"'), actor=SYSTEM)
    pinned = ROUTING.replace(
        b'flowgate:resultVariable="routing"',
        b'flowgate:resultVariable="routing" flowgate:decisionVersion="1"',
    )
    instance = services.instance_start(
        version=_deploy_process(pinned), variables={"amount": 500, "country": "US"}, actor=SYSTEM
    )
    run_jobs(instance)
    instance.refresh_from_db()
    assert instance.variables["routing"]["approver"] == "cfo"


def test_a_missing_decision_is_a_deploy_problem_on_the_task():
    result = version_deploy(xml=ROUTING, actor=SYSTEM)
    assert not result.deployed
    problem = next(p for p in result.version.problems if p["code"] == "decision_missing")
    assert problem["element_id"] == "decide_approver"
    assert "decision 'approval_level', which is not deployed" in problem["message"]


def test_a_task_without_a_decision_is_a_deploy_problem():
    result = version_deploy(
        xml=ROUTING.replace(b'flowgate:decisionRef="approval_level" ', b""), actor=SYSTEM
    )
    assert not result.deployed
    codes = {p["code"] for p in result.version.problems}
    assert "business_rule_task_without_decision" in codes


def test_an_evaluation_error_is_an_incident_naming_decision_rule_and_cause():
    overlapping = table_dmn(
        decision_id="approval_level",
        inputs=[("amount", "number")],
        outputs=["approver"],
        rules=[([">= 0"], ['"lead"']), (["> 100"], ['"cfo"'])],
    )
    dmn_deploy(xml=overlapping, actor=SYSTEM)
    version = _deploy_process()
    instance = services.instance_start(version=version, variables={"amount": 500}, actor=SYSTEM)
    run_jobs(instance)
    instance.refresh_from_db()
    job = instance.jobs.get()
    assert job.status == JobStatus.INCIDENT
    assert job.attempts == 1  # permanent: evaluating again gives the same answer
    incident = instance.incidents.get()
    assert incident.status == IncidentStatus.OPEN
    assert incident.activity_id == "decide_approver"
    assert incident.message == (
        "Business rule task 'decide_approver': decision 'approval_level' v1 failed: Decision "
        "'approval_level' has hit policy UNIQUE but rules 1, 2 (r1, r2) all match."
    )


def test_a_wrong_input_type_is_an_incident_naming_the_input():
    dmn_deploy(xml=dmn_file("approval.dmn"), actor=SYSTEM)
    instance = services.instance_start(
        version=_deploy_process(), variables={"amount": "lots", "country": "DE"}, actor=SYSTEM
    )
    run_jobs(instance)
    incident = instance.incidents.get()
    assert "input 'Amount' must be a number, not text 'lots'" in incident.message


CAMUNDA7 = b"""<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0">
  <bpmn:businessRuleTask id="c7" camunda:decisionRef="d" camunda:decisionRefBinding="version"
    camunda:decisionRefVersion="3" camunda:resultVariable="r" camunda:mapDecisionResult="singleEntry"/>
  <bpmn:businessRuleTask id="c7default" camunda:decisionRef="d"/>
  <bpmn:businessRuleTask id="c8"><bpmn:extensionElements>
    <zeebe:calledDecision decisionId="risk" resultVariable="riskResult"/>
  </bpmn:extensionElements></bpmn:businessRuleTask>
  <bpmn:businessRuleTask id="bad" camunda:decisionRef="d" camunda:mapDecisionResult="whatever"/>
</bpmn:definitions>"""


def test_camunda_7_and_8_references_are_read():
    nodes = {n.get("id"): n for n in parse_xml(CAMUNDA7)}
    c7 = decision_ref(nodes["c7"])
    assert (c7.key, c7.version, c7.result_variable, c7.map_result) == ("d", 3, "r", "singleEntry")
    default = decision_ref(nodes["c7default"])
    assert (default.version, default.result_variable, default.map_result) == (
        None,
        "d",
        "resultList",
    )
    c8 = decision_ref(nodes["c8"])
    assert (c8.key, c8.result_variable, c8.map_result) == ("risk", "riskResult", "dmn")
    assert "mapDecisionResult 'whatever' is unknown" in decision_ref(nodes["bad"]).problem


def test_result_mappings():
    one = [{"a": 1}]
    two = [{"a": 1}, {"a": 2}]
    assert map_decision_result("singleEntry", result=1, rule_outputs=one) == 1
    assert map_decision_result("singleResult", result=1, rule_outputs=one) == {"a": 1}
    assert map_decision_result("collectEntries", result=[1, 2], rule_outputs=two) == [1, 2]
    assert map_decision_result("resultList", result=[1, 2], rule_outputs=two) == two
    assert map_decision_result("singleEntry", result=None, rule_outputs=[]) is None
    with pytest.raises(DecisionResultMappingError):
        map_decision_result("singleEntry", result=[1, 2], rule_outputs=two)
    with pytest.raises(DecisionResultMappingError):
        map_decision_result("singleEntry", result={}, rule_outputs=[{"a": 1, "b": 2}])


def test_the_request_page_says_which_rule_decided(client, make_user):
    dmn_deploy(xml=dmn_file("approval.dmn"), actor=SYSTEM)
    requester = make_user()
    instance = services.instance_start(
        version=_deploy_process(),
        variables={"amount": 500, "country": "US"},
        actor=Actor.for_user(requester),
        started_by=requester,
    )
    run_jobs(instance)
    client.force_login(requester)
    html = client.get(reverse("requests:detail", args=[instance.pk])).content.decode()
    assert "Decision evaluated" in html
    assert "Decided by rule 3 of Approval level v1" in html


def test_the_instance_page_and_the_audit_timeline_say_which_rule_decided(client, make_user):
    dmn_deploy(xml=dmn_file("approval.dmn"), actor=SYSTEM)
    instance = services.instance_start(
        version=_deploy_process(), variables={"amount": 500, "country": "US"}, actor=SYSTEM
    )
    run_jobs(instance)
    client.force_login(make_user("admin"))
    summary = "Decided by rule 3 of Approval level v1"
    assert summary in client.get(reverse("reports:instance", args=[instance.pk])).content.decode()
    timeline = client.get(reverse("audit:instance", args=[instance.pk])).content.decode()
    assert summary in timeline
    assert "Rule_cfo" in timeline  # the explanation is in the event's details


CAMUNDA_PROCESS = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
  xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="t">
  <bpmn:process id="camunda_rules" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:businessRuleTask id="c7" name="Risk (Camunda 7)" camunda:decisionRef="risk_class"
        camunda:resultVariable="risks">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:businessRuleTask>
    <bpmn:businessRuleTask id="c8" name="Approver (Camunda 8)">
      <bpmn:extensionElements>
        <zeebe:calledDecision decisionId="approval_level" resultVariable="routing"/>
      </bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:businessRuleTask>
    <bpmn:endEvent id="e"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="c7"/>
    <bpmn:sequenceFlow id="f2" sourceRef="c7" targetRef="c8"/>
    <bpmn:sequenceFlow id="f3" sourceRef="c8" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"""


def test_camunda_7_and_8_models_import_and_run():
    imported = bpmn_convert(xml=CAMUNDA_PROCESS)
    assert imported.problems == []
    root = parse_xml(imported.xml)
    tasks = {
        n.get("id"): n
        for n in root.iter("{http://www.omg.org/spec/BPMN/20100524/MODEL}businessRuleTask")
    }
    fg = "{http://flowgate.dev/schema/bpmn/1.0}"
    assert {k[len(fg) :]: v for k, v in tasks["c7"].attrib.items() if k.startswith(fg)} == {
        "decisionRef": "risk_class",
        "mapDecisionResult": "resultList",
        "resultVariable": "risks",
    }
    assert {k[len(fg) :]: v for k, v in tasks["c8"].attrib.items() if k.startswith(fg)} == {
        "decisionRef": "approval_level",
        "resultVariable": "routing",
    }
    dmn_deploy(xml=dmn_file("approval.dmn"), actor=SYSTEM)
    instance = services.instance_start(
        version=_deploy_process(CAMUNDA_PROCESS),
        variables={"amount": 5000, "country": "FR"},
        actor=SYSTEM,
    )
    run_jobs(instance)
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.COMPLETED
    assert instance.variables["risks"] == [{"risk": "low"}]  # Camunda 7's resultList
    assert instance.variables["routing"]["approver"] == "manager"  # DMN's own shape


def test_the_evidence_package_holds_the_dmn_file_of_each_decision_evaluated():
    dmn_deploy(xml=dmn_file("approval.dmn"), actor=SYSTEM)
    instance = services.instance_start(
        version=_deploy_process(), variables={"amount": 500, "country": "US"}, actor=SYSTEM
    )
    run_jobs(instance)
    package = evidence_export(actor=SYSTEM, instance_id=instance.pk)
    archive = zipfile.ZipFile(io.BytesIO(package.content))
    dmn_names = [n for n in archive.namelist() if n.startswith("dmn/")]
    assert len(dmn_names) == 1 and dmn_names[0].startswith("dmn/approval_rules-deployment")
    assert archive.read(dmn_names[0]) == dmn_file("approval.dmn")
    events = json.loads(archive.read("events.json"))
    evaluated = next(e for e in events if e["action"] == "decision.evaluated")
    assert evaluated["data"]["summary"] == "Decided by rule 3 of Approval level v1"
