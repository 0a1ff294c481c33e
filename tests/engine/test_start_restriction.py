"""The model's start restriction (flowgate:candidateStarterGroups / ...Users) holds at every
entry point, because every one starts through ``instance_start``: the API by key and by version
id (an older, unrestricted version too), the catalog, messages, webhooks, the designer's test run.
A refusal is a 403 ``start_not_allowed`` and creates nothing. The scheduler firing the model's
own timer start event may start a restricted process; a webhook starts as its creator may.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from apps.audit.models import AuditEvent
from apps.common.actors import Actor
from apps.common.errors import AccessDenied
from apps.designer import testrun
from apps.engine import services
from apps.engine.models import ProcessInstance, StartSchedule
from apps.processes.services import version_deploy
from apps.processes.webhooks import sign_v2

pytestmark = pytest.mark.django_db
CORE = Path(__file__).resolve().parents[1] / "engine_core" / "bpmn"
INBOX = Path(__file__).resolve().parents[1] / "inbox" / "bpmn"
REFUSED = "start_not_allowed"
ORDER = {"name": "order_placed", "variables": {"order_id": "A-1"}}


def restricted(path: Path, process_id: str, starters: str = "manager") -> bytes:
    xml = path.read_text()
    tag = f'<bpmn:process id="{process_id}"'
    assert tag in xml
    return xml.replace(tag, f'{tag} flowgate:candidateStarterGroups="{starters}"', 1).encode()


def deploy(xml: bytes):
    result = version_deploy(xml=xml, actor=Actor.system("test"))
    assert result.deployed, result.version.problems
    return result.version


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


class Nothing:
    """Nothing was created: no instance, no audit event."""

    def __enter__(self):
        self.counts = (ProcessInstance.objects.count(), AuditEvent.objects.count())
        return self

    def __exit__(self, *exc):
        assert (ProcessInstance.objects.count(), AuditEvent.objects.count()) == self.counts


def refused(response) -> None:
    assert response.status_code == 403, response.content
    body = response.json()
    assert body["error"] == REFUSED
    assert "may only be started by role manager" in body["message"]


@pytest.fixture
def purchase():
    """tests/inbox/bpmn/two_step.bpmn: process 'purchase', startable by managers only."""
    return deploy((INBOX / "two_step.bpmn").read_bytes())


def test_the_api_refuses_by_key_and_by_version_id(purchase, make_user):
    approver = make_user("approver", username="ann")
    client = api(approver)
    with Nothing():
        refused(client.post("/api/v1/instances/", {"process_key": "purchase"}, format="json"))
        refused(client.post("/api/v1/instances/", {"version_id": purchase.pk}, format="json"))
    response = client.post("/api/v1/instances/", {"process_key": "purchase"}, format="json")
    assert response.json()["message"] == (
        "Process 'purchase' may only be started by role manager; ann may not start it."
    )
    manager = make_user("manager")
    response = api(manager).post(
        "/api/v1/instances/",
        {"process_key": "purchase", "variables": {"cost_owner": "x"}},
        format="json",
    )
    assert response.status_code == 201, response.content


def test_an_older_unrestricted_version_cannot_be_started_by_id(make_user):
    xml = (INBOX / "two_step.bpmn").read_text()
    open_xml = xml.replace(' flowgate:candidateStarterGroups="manager"', "")
    assert open_xml != xml
    old = deploy(open_xml.encode())
    deploy(xml.encode())  # today's policy: managers only
    with Nothing():
        refused(
            api(make_user("approver")).post(
                "/api/v1/instances/", {"version_id": old.pk}, format="json"
            )
        )


def test_the_service_itself_refuses_whoever_calls_it(purchase, make_user):
    approver = make_user("approver")
    with Nothing(), pytest.raises(AccessDenied) as caught:
        services.instance_start(
            version=purchase, actor=Actor.for_user(approver), started_by=approver
        )
    assert caught.value.code == REFUSED
    with Nothing(), pytest.raises(AccessDenied):  # a start that names nobody (not a timer)
        services.instance_start(version=purchase, actor=Actor.system("script"))


def test_a_message_start_is_refused_before_anything_starts(make_user):
    deploy(restricted(CORE / "messages.bpmn", "messages"))
    approver = make_user("approver")
    with Nothing():
        refused(api(approver).post("/api/v1/messages/", ORDER, format="json"))
    response = api(make_user("manager")).post("/api/v1/messages/", ORDER, format="json")
    assert response.status_code == 200 and len(response.json()["instances"]) == 1


def _deliver(hook: dict, delivery: str):
    body = json.dumps({"order_id": "A-1"}).encode()
    ts = str(int(time.time()))
    return APIClient().post(
        f"/api/v1/hooks/{hook['webhook']['id']}/",
        body,
        content_type="application/json",
        HTTP_X_FLOWGATE_TIMESTAMP=ts,
        HTTP_X_FLOWGATE_DELIVERY=delivery,
        HTTP_X_FLOWGATE_SIGNATURE=sign_v2(hook["secret"], ts, delivery, body),
    )


def test_a_webhook_starts_as_its_creator_may(make_user):
    deploy(restricted(CORE / "messages.bpmn", "messages", starters="manager"))
    outsider = make_user("designer")
    response = api(outsider).post(
        "/api/v1/processes/messages/webhooks/", {"message_name": "order_placed"}, format="json"
    )
    assert (response.status_code, response.json()["error"]) == (403, REFUSED)
    creator = make_user("designer", "manager")
    response = api(creator).post(
        "/api/v1/processes/messages/webhooks/", {"message_name": "order_placed"}, format="json"
    )
    assert response.status_code == 201, response.content
    hook = response.json()
    assert _deliver(hook, "d-1").status_code in (200, 201, 202)
    assert ProcessInstance.objects.count() == 1
    creator.groups.remove(Group.objects.get(name="manager"))  # no longer a starter
    creator._role_cache = None
    with Nothing():
        refused(_deliver(hook, "d-2"))


def test_the_timer_start_of_a_restricted_process_still_fires(local_connectors):
    local_connectors({"report": lambda inputs, context: {"reported": True}})
    version = deploy(restricted(CORE / "timer_start.bpmn", "timer_start"))
    StartSchedule.objects.filter(version=version).exclude(event_id="every_hour").update(
        active=False
    )
    due = StartSchedule.objects.get(version=version, event_id="every_hour").next_due_at
    assert services.start_schedules_fire_due(now=due + timedelta(seconds=1)) == 1
    assert ProcessInstance.objects.filter(version=version).count() == 1


def test_the_designers_test_run_obeys_it(purchase, make_user):
    designer = make_user("designer")
    with Nothing(), pytest.raises(AccessDenied) as caught:
        testrun.testrun_start(
            version=purchase,
            variables={},
            stubs={},
            actor=Actor.for_user(designer),
            user=designer,
        )
    assert caught.value.code == REFUSED
