"""Call activities call the latest deployed version of a process, or a pinned one.

"Latest" is decided when the calling instance starts and then kept for its whole life (an
instance runs on the versions it started with); a pinned version never changes.
"""

from __future__ import annotations

import pytest

from apps.common.actors import Actor
from apps.engine import services
from apps.engine.models import InstanceStatus
from apps.processes import services as process_services
from apps.processes.models import VersionStatus
from tests.engine.conftest import run_jobs

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")
HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:flowgate="http://flowgate.dev/schema/bpmn/1.0"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="D" targetNamespace="t">"""


def _callee(label: str) -> bytes:
    """A process that records which version of it ran."""
    return f"""{HEAD}
  <bpmn:process id="pricing" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:serviceTask id="price" flowgate:connector="echo">
      <bpmn:extensionElements>
        <flowgate:input name="label" expression="'{label}'" />
        <flowgate:output name="pricing_version" expression="result['label']" />
      </bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="price"/>
    <bpmn:sequenceFlow id="f2" sourceRef="price" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>""".encode()


def _caller(key: str, binding: str = "") -> bytes:
    return f"""{HEAD}
  <bpmn:process id="{key}" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:callActivity id="call_pricing" calledElement="pricing" {binding}/>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="call_pricing"/>
    <bpmn:sequenceFlow id="f2" sourceRef="call_pricing" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>""".encode()


def _deploy(xml: bytes):
    result = process_services.version_deploy(xml=xml, actor=SYSTEM)
    assert result.deployed, result.version.problems
    return result.version


def _run(version) -> dict:
    instance = services.instance_start(version=version, variables={}, actor=SYSTEM)
    return instance


def _finish(instance) -> str:
    run_jobs(instance)
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.COMPLETED
    return instance.variables["pricing_version"]


def test_latest_is_the_version_current_when_the_instance_starts_and_stays_with_it():
    _deploy(_callee("v1"))
    caller = _deploy(_caller("quote"))
    before = _run(caller)
    v2 = _deploy(_callee("v2"))
    after = _run(caller)
    assert (before.called_versions, after.called_versions) == ({}, {"pricing": v2.pk})
    _deploy(_callee("v3"))  # deployed while both run: neither changes
    assert (_finish(before), _finish(after)) == ("v1", "v2")
    assert _finish(_run(caller)) == "v3"


def test_a_pinned_version_is_called_whatever_is_deployed_later():
    _deploy(_callee("v1"))
    _deploy(_callee("v2"))
    pinned = _deploy(_caller("quote_pinned", 'flowgate:calledVersion="1"'))
    _deploy(_callee("v3"))
    instance = _run(pinned)
    assert instance.called_versions == {}
    assert _finish(instance) == "v1"


@pytest.mark.parametrize(
    ("binding", "expected"),
    [
        ('camunda:calledElementBinding="version" camunda:calledElementVersion="1"', "v1"),
        ('camunda:calledElementBinding="deployment"', "v2"),
        ('camunda:calledElementBinding="latest"', "v3"),
    ],
)
def test_camunda_bindings_run_unchanged(binding, expected):
    _deploy(_callee("v1"))
    _deploy(_callee("v2"))
    caller = _deploy(_caller("quote_camunda", binding))
    _deploy(_callee("v3"))
    assert _finish(_run(caller)) == expected


@pytest.mark.parametrize(
    ("binding", "code"),
    [
        ('flowgate:calledVersion="7"', "called_version_missing"),
        ('flowgate:calledVersion="latest-ish"', "invalid_called_version"),
        ('camunda:calledElementBinding="versionTag"', "invalid_called_version"),
    ],
)
def test_a_binding_that_cannot_be_met_keeps_the_file_a_draft_with_a_clear_problem(binding, code):
    _deploy(_callee("v1"))
    result = process_services.version_deploy(xml=_caller("quote_bad", binding), actor=SYSTEM)
    assert result.version.status == VersionStatus.DRAFT
    assert code in {p["code"] for p in result.version.problems}
    assert code in {p["code"] for p in process_services.bpmn_validate(xml=_caller("q", binding))}
