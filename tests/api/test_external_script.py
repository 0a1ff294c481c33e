"""The issue's "done when": an external script, with only the documented API over real HTTP and
API tokens, deploys a process, starts 100 instances with idempotency keys, completes their tasks
and reads the audit trail."""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.core.management import call_command

from apps.engine.models import InstanceStatus, ProcessInstance

pytestmark = pytest.mark.django_db(transaction=True)
BPMN = Path(__file__).resolve().parents[1] / "engine" / "bpmn" / "approval.bpmn"


@pytest.fixture
def eager_jobs():
    """No worker in this test: run jobs in the request thread right after commit."""
    from portal.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def token_for(username: str) -> str:
    out = io.StringIO()
    call_command("create_api_token", username, "--name", "script", stdout=out)
    return out.getvalue().strip()


class Script:
    def __init__(self, base: str, token: str):
        self.base, self.token = base, token

    def call(self, method: str, path: str, body: dict | None = None, **headers: str):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 - the live test server on 127.0.0.1
            self.base + path,
            data=data,
            method=method,
            headers={
                "Authorization": f"Token {self.token}",
                "Content-Type": "application/json",
                **headers,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")


def test_an_external_script_drives_flowgate_through_the_api(live_server, make_user, eager_jobs):
    make_user("designer", username="bot-designer")
    make_user("approver", username="bot-requester")
    make_user("approver", username="bot-approver")
    make_user("auditor", username="bot-auditor")
    designer = Script(live_server.url, token_for("bot-designer"))
    requester = Script(live_server.url, token_for("bot-requester"))
    approver = Script(live_server.url, token_for("bot-approver"))
    auditor = Script(live_server.url, token_for("bot-auditor"))

    status, version = designer.call("POST", "/api/v1/processes/deploy/", {"xml": BPMN.read_text()})
    assert (status, version["key"]) == (201, "expense_approval")

    started = []
    for n in range(100):
        status, body = requester.call(
            "POST",
            "/api/v1/instances/",
            {
                "process_key": "expense_approval",
                "business_key": f"EXP-{n}",
                "variables": {"amount": n},
            },
            **{"Idempotency-Key": f"expense-{n}"},
        )
        assert status == 201, body
        started.append(body["id"])
    status, again = requester.call(
        "POST",
        "/api/v1/instances/",
        {"process_key": "expense_approval", "business_key": "EXP-7", "variables": {"amount": 7}},
        **{"Idempotency-Key": "expense-7"},
    )
    assert (status, again["id"]) == (201, started[7])
    assert ProcessInstance.objects.count() == 100

    status, tasks = approver.call("GET", "/api/v1/tasks/?page_size=200")
    assert (status, tasks["count"]) == (200, 100)
    for task in tasks["results"]:
        status, body = approver.call(
            "POST", f"/api/v1/tasks/{task['id']}/complete/", {"data": {"approved": True}}
        )
        assert (status, body["outcome"]) == (200, "approved")
    assert ProcessInstance.objects.filter(status=InstanceStatus.COMPLETED).count() == 100
    assert ProcessInstance.objects.get(pk=started[42]).variables["booked"] == 42

    status, events = auditor.call("GET", f"/api/v1/audit/events/?instance_id={started[42]}")
    assert status == 200
    actions = [e["action"] for e in events["results"]]
    assert {"instance.started", "task.approved", "job.succeeded", "instance.completed"} <= set(
        actions
    )
    status, verdict = auditor.call("POST", "/api/v1/audit/verify/")
    assert status == 200 and verdict["intact"] is True
