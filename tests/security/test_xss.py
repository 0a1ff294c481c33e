"""Stored XSS: hostile text in a process name, a task name and its documentation, a form label, a
business key, submitted form values, a decision comment and an API token name, then every page
that shows them is rendered. The markup must come out escaped (shown as text), never as markup.

tests/e2e/test_security_xss.py opens the same pages in Chromium and checks no script ran.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from xml.sax.saxutils import quoteattr

import pytest
from django.utils.html import escape

from apps.accounts.services import api_token_create
from apps.common.actors import Actor
from apps.engine import services as engine_services
from apps.inbox import services as inbox_services
from apps.inbox.models import HumanTask
from apps.processes import services as process_services
from tests.factories import UserFactory
from tests.security.conftest import page_client
from tests.security.corpus import corpus, refused

pytestmark = [pytest.mark.django_db, corpus("stored XSS")]

# (payload, the markup that must never appear raw in a page)
PAYLOADS: list[tuple[str, str]] = [
    ("<script>window.__xss=1</script>", "<script>window.__xss"),
    ('"><img src=x onerror=window.__xss=1>', "<img src=x onerror"),
    ("'><svg onload=window.__xss=1>", "<svg onload"),
    ("</textarea></title><script>window.__xss=1</script>", "</title><script>"),
    ("<iframe srcdoc='<script>parent.__xss=1</script>'>", "<iframe srcdoc"),
    ("</script><script>window.__xss=1</script>", "</script><script>window"),
    ("<a href=javascript:window.__xss=1>x</a>", "<a href=javascript:"),
    ('<div style="background:url(javascript:1)">', '<div style="background'),
]

FORM = {
    "type": "default",
    "components": [{"type": "textfield", "key": "reason", "label": "LABEL"}],
}


def _process(payload: str) -> str:
    form = json.dumps({**FORM, "components": [{**FORM["components"][0], "label": payload}]})
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:flowgate="http://flowgate.dev/schema/bpmn/1.0" id="D" targetNamespace="urn:t">
  <bpmn:process id="xss_proc" name={quoteattr(payload)} isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Explain" name={quoteattr(payload)} flowgate:candidateGroups="approver">
      <bpmn:documentation>{escape(payload)}</bpmn:documentation>
      <bpmn:extensionElements><flowgate:form>{escape(form)}</flowgate:form></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:userTask id="Review" name={quoteattr(payload)} flowgate:candidateGroups="approver"
      flowgate:approval="true"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="e"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="Explain" />
    <bpmn:sequenceFlow id="f2" sourceRef="Explain" targetRef="Review" />
    <bpmn:sequenceFlow id="f3" sourceRef="Review" targetRef="e" />
  </bpmn:process>
</bpmn:definitions>"""


def build_xss_world(payload: str) -> SimpleNamespace:
    """The payload everywhere a user can put text; instance ``done`` went all the way through
    (form value, decision comment), instance ``open`` waits at the form task."""
    dana = UserFactory(roles=["designer"])
    alex = UserFactory(roles=["approver"])
    mona = UserFactory(roles=["manager", "approver"])
    ada = UserFactory(roles=["admin"])
    result = process_services.version_deploy(
        xml=_process(payload), actor=Actor.for_user(dana), user=dana
    )
    assert result.deployed, result.version.problems

    def start():
        return engine_services.instance_start(
            process_key="xss_proc",
            business_key=payload[:200],
            variables={"note": payload},
            actor=Actor.for_user(alex),
            started_by=alex,
        )

    done, open_ = start(), start()
    form_task = HumanTask.objects.get(instance_id=done.pk, activity_id="Explain")
    inbox_services.task_complete(
        task_id=form_task.pk, user=alex, data={"reason": payload}, actor=Actor.for_user(alex)
    )
    review = HumanTask.objects.get(instance_id=done.pk, activity_id="Review")
    decided = page_client(mona).post(
        f"/inbox/tasks/{review.pk}/decide/", {"decision": "approve", "comment": payload}
    )
    assert decided.status_code == 302
    api_token_create(user=ada, name=payload[:100])
    return SimpleNamespace(
        alex=alex,
        ada=ada,
        done=done,
        open=open_,
        open_task=HumanTask.objects.get(instance_id=open_.pk, activity_id="Explain"),
        version=result.version,
    )


# (page, url(world), who views it)
PAGES: list[tuple[str, object, str]] = [
    ("inbox", lambda w: "/inbox/", "alex"),
    ("task", lambda w: f"/inbox/tasks/{w.open_task.pk}/", "alex"),
    ("instances", lambda w: "/inbox/instances/", "ada"),
    ("instance", lambda w: f"/inbox/instances/{w.done.pk}/", "ada"),
    ("designer-list", lambda w: "/designer/", "ada"),
    ("designer-edit", lambda w: "/designer/xss_proc/", "ada"),
    ("audit", lambda w: "/admin-reports/audit/", "ada"),
    ("audit-timeline", lambda w: f"/admin-reports/audit/instances/{w.done.pk}/", "ada"),
    ("profile", lambda w: "/accounts/profile/", "ada"),
]


@pytest.mark.parametrize(("payload", "needle"), PAYLOADS, ids=range(len(PAYLOADS)))
@pytest.mark.parametrize(("url", "who"), [pytest.param(u, w, id=n) for n, u, w in PAGES])
def test_stored_payload_is_rendered_inert(payload, needle, url, who):
    world = build_xss_world(payload)
    response = page_client(getattr(world, who)).get(url(world))
    refused(response, 200)
    html = response.content.decode()
    assert needle not in html
    assert needle.lower() not in html.lower()
    # It was shown, as text (or as escaped JSON text in the audit details): not vacuous.
    assert escape(payload) in html or escape(json.dumps(payload)[1:-1]) in html
