"""The template gallery: every template deploys, is drawn by hand (DI for every element) and
labels the outgoing flows of its gateways; the expense demo keeps the shared ids."""

from __future__ import annotations

import pytest
from lxml import etree

from apps.common.actors import Actor
from apps.processes import gallery
from apps.processes.decisions import dmn_deploy
from apps.processes.demo import demo_processes_ensure
from apps.processes.models import ProcessVersion, VersionStatus
from apps.processes.services import bpmn_validate, version_deploy

B = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
DI = "{http://www.omg.org/spec/BPMN/20100524/DI}"
FG = "{http://flowgate.dev/schema/bpmn/1.0}"
SLUGS = [t.slug for t in gallery.templates_list()]


def _root(template):
    return etree.fromstring(template.path.read_bytes())


def test_the_gallery_has_the_five_templates_of_the_issue():
    assert SLUGS == [
        "expense_approval",
        "access_request",
        "change_request",
        "server_provisioning",
        "incident_response",
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("slug", SLUGS)
def test_each_template_validates_and_deploys(slug):
    template = gallery.template_get(slug=slug)
    for dmn in template.decision_files():  # the decisions its business rule tasks name
        dmn_deploy(xml=dmn, actor=Actor.system("test"))
    assert bpmn_validate(xml=template.xml()) == []
    result = version_deploy(xml=template.xml(), actor=Actor.system("test"))
    assert (result.deployed, result.version.definition.key) == (True, slug)
    assert result.version.definition.name == template.title


@pytest.mark.parametrize("slug", SLUGS)
def test_each_template_has_a_hand_made_layout_and_labelled_gateway_flows(slug):
    root = _root(gallery.template_get(slug=slug))
    process = root.find(f"{B}process")
    drawn = {e.get("bpmnElement") for e in root.iter(f"{DI}BPMNShape", f"{DI}BPMNEdge")}
    elements = {
        e.get("id")
        for e in process
        if isinstance(e.tag, str) and e.tag.startswith(B) and e.get("id")
    }
    assert elements and elements <= drawn
    gateways = {
        e.get("id") for e in process if e.tag in (f"{B}exclusiveGateway", f"{B}inclusiveGateway")
    }
    for flow in process.iter(f"{B}sequenceFlow"):
        if flow.get("sourceRef") in gateways:
            assert flow.get("name"), f"{slug}: flow {flow.get('id')} has no label"


def test_expense_approval_follows_the_shared_contract():
    root = _root(gallery.template_get(slug="expense_approval"))
    process = root.find(f"{B}process")
    assert (process.get("id"), process.get("name")) == ("expense_approval", "Expense approval")
    by_id = {e.get("id"): e for e in process if isinstance(e.tag, str) and e.get("id")}
    kinds = {i: etree.QName(e).localname for i, e in by_id.items() if not i.startswith("f_")}
    assert kinds == {
        "submit": "startEvent",
        "amount_check": "exclusiveGateway",
        "manager_approval": "userTask",
        "auto_approve": "serviceTask",
        "approved_check": "exclusiveGateway",
        "notify_requester": "serviceTask",
        "done": "endEvent",
        "rejected": "endEvent",
    }

    def flow(fid):
        f = by_id[fid]
        condition = f.find(f"{B}conditionExpression")
        return (
            f.get("sourceRef"),
            f.get("targetRef"),
            f.get("name"),
            None if condition is None else condition.text,
        )

    assert flow("f_high") == ("amount_check", "manager_approval", "amount > 1000", "amount > 1000")
    assert flow("f_low") == ("amount_check", "auto_approve", "amount <= 1000", None)
    # 'approved' is a boolean on every path (apps.engine.core.approvals): the automatic approval
    # writes True, and so does a manager's decision, even with 'approved' as outcome variable.
    assert flow("f_yes") == ("approved_check", "notify_requester", "approved", "approved == True")
    assert flow("f_no") == ("approved_check", "rejected", "rejected", None)
    assert by_id["amount_check"].get("default") == "f_low"
    assert by_id["approved_check"].get("default") == "f_no"
    task = by_id["manager_approval"]
    assert {k.replace(FG, ""): v for k, v in task.attrib.items() if k.startswith(FG)} == {
        "candidateGroups": "manager",
        "dueDate": "P1D",
        "approval": "true",
        "outcomeVariable": "approved",
        "slaWarning": "PT20H",
        "slaBreach": "P1D",
        "rejectCommentRequired": "true",
        "fourEyes": "requester",
    }
    assert by_id["auto_approve"].get(f"{FG}connector") == "set_variables"
    assert by_id["notify_requester"].get(f"{FG}connector") == "echo"
    form = by_id["submit"].find(f"{B}extensionElements/{FG}form").text
    assert '"key": "amount"' in form and '"key": "description"' in form


@pytest.mark.django_db
def test_demo_processes_deploy_once_each():
    assert demo_processes_ensure() == [
        "access_request v1",
        "change_request v1",
        "expense_approval v1",
        "incident_response v1",
        "order_fulfilment v1",
        "server_provisioning v1",
    ]
    demo_processes_ensure()
    assert ProcessVersion.objects.filter(status=VersionStatus.DEPLOYED).count() == 6
    assert set(ProcessVersion.objects.values_list("comment", flat=True)) == {"Demo process"}


@pytest.mark.parametrize("path", sorted(gallery.DEMO_DIR.glob("*.bpmn")), ids=lambda p: p.stem)
def test_every_demo_model_has_a_catalog_category_and_description(path):
    # given a demo model as bootstrap_demo deploys it
    process = etree.fromstring(path.read_bytes()).find(f"{B}process")
    # when the catalog reads it (apps/inbox/model_rules.py)
    documentation = process.find(f"{B}documentation")
    # then it lands in a named category, with a description, not in "Other" / "No description"
    assert process.get(f"{FG}category", "").strip() not in ("", "Other")
    assert documentation is not None and documentation.text.strip()


def test_a_template_names_the_decisions_its_business_rule_tasks_need():
    template = gallery.template_get(slug="access_request")
    assert template.decision_keys == ["access_request_policy"]
    (dmn,) = template.decision_files()
    assert b'<decision id="access_request_policy"' in dmn
    assert b'flowgate:decisionRef="access_request_policy"' in template.xml().encode()
    assert b'flowgate:policyGate="true"' in template.xml().encode()
