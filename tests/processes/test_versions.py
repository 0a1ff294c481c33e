"""Version history: deploy comments, compare two versions, roll back by redeploying an earlier
version; the same over the API (anonymous, unprivileged and designer; nothing changes when
refused)."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from apps.audit.models import AuditEvent
from apps.common.actors import Actor
from apps.common.errors import Conflict, InvalidInput, NotFound
from apps.processes import gallery
from apps.processes.diff import versions_diff
from apps.processes.models import ProcessDefinition, ProcessDraft, ProcessVersion
from apps.processes.services import version_deploy, version_rollback

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")
V1 = gallery.template_get(slug="expense_approval").xml()
V2 = V1.replace('flowgate:dueDate="P1D"', 'flowgate:dueDate="P2D"').replace(
    ">amount &gt; 1000<", ">amount &gt; 5000<"
)


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


def _history(key="expense_approval"):
    return list(
        ProcessVersion.objects.filter(definition__key=key)
        .order_by("number")
        .values_list("number", "comment", "rollback_of__number")
    )


def test_a_deploy_keeps_its_comment_and_an_overlong_one_is_refused():
    version_deploy(xml=V1, actor=SYSTEM, comment="  First version  ")
    assert _history() == [(1, "First version", None)]
    with pytest.raises(InvalidInput, match="the limit is 500"):
        version_deploy(xml=V2, actor=SYSTEM, comment="x" * 501)
    assert _history() == [(1, "First version", None)]


def test_the_diff_lists_added_removed_and_changed_elements_with_their_properties():
    v3 = V2.replace('id="rejected" name="Expense rejected"', 'id="refused" name="Refused"')
    v3 = v3.replace('targetRef="rejected"', 'targetRef="refused"')
    v3 = v3.replace('bpmnElement="rejected"', 'bpmnElement="refused"')
    diff = versions_diff(before=V1, after=v3).as_dict()
    assert diff["added"] == [
        {
            "id": "refused",
            "type": "endEvent",
            "type_label": "End event",
            "name": "Refused",
            "changes": [],
        }
    ]
    assert diff["removed"] == [
        {
            "id": "rejected",
            "type": "endEvent",
            "type_label": "End event",
            "name": "Expense rejected",
            "changes": [],
        }
    ]
    assert [(c["id"], c["changes"]) for c in diff["changed"]] == [
        (
            "manager_approval",
            [
                {
                    "property": "flowgate:dueDate",
                    "label": "Due date",
                    "before": "P1D",
                    "after": "P2D",
                }
            ],
        ),
        (
            "f_high",
            [
                {
                    "property": "condition",
                    "label": "Condition",
                    "before": "amount > 1000",
                    "after": "amount > 5000",
                }
            ],
        ),
        (
            "f_no",
            [{"property": "targetRef", "label": "To", "before": "rejected", "after": "refused"}],
        ),
    ]


def test_moving_shapes_is_not_a_change():
    moved = V1.replace('<dc:Bounds x="400" y="70"', '<dc:Bounds x="420" y="90"')
    assert moved != V1
    assert versions_diff(before=V1, after=moved).is_empty


def test_roll_back_redeploys_the_earlier_version_as_a_new_one():
    v1 = version_deploy(xml=V1, actor=SYSTEM, comment="first").version
    version_deploy(xml=V2, actor=SYSTEM, comment="due in two days")
    result = version_rollback(version_id=v1.pk, actor=SYSTEM)
    assert (result.created, result.version.number, result.version.xml) == (True, 3, V1)
    assert result.version.spec_json  # deployed, with its compiled spec
    assert _history() == [
        (1, "first", None),
        (2, "due in two days", None),
        (3, "Rollback to version 1", 1),
    ]
    event = AuditEvent.objects.filter(action="process.deployed").order_by("-position").first()
    assert (event.data["rollback_of"], event.data["comment"]) == (1, "Rollback to version 1")

    with pytest.raises(Conflict, match="already the latest deployed version"):
        version_rollback(version_id=result.version.pk, actor=SYSTEM)
    with pytest.raises(NotFound):
        version_rollback(version_id=999_999, actor=SYSTEM)


def test_a_draft_cannot_be_rolled_back_to():
    first = version_deploy(xml=V1, actor=SYSTEM).version
    # A draft version from before failed deploys stopped taking numbers.
    draft = ProcessVersion.objects.create(
        definition=first.definition, number=2, status="draft", xml=V1, checksum="x"
    )
    with pytest.raises(Conflict, match="only a deployed version can be rolled back to"):
        version_rollback(version_id=draft.pk, actor=SYSTEM)
    assert ProcessVersion.objects.count() == 2


def test_a_failed_deploy_takes_no_version_number_and_is_kept_as_the_draft(make_user):
    """It used to be stored as draft version 2, so the next good deploy was version 3."""
    dana = make_user("designer", username="dana")
    version_deploy(xml=V1, actor=SYSTEM, user=dana)
    broken = V1.replace('flowgate:connector="echo"', "")
    failed = version_deploy(xml=broken, actor=SYSTEM, user=dana)
    assert (failed.deployed, failed.created, failed.version.pk, failed.version.number) == (
        False,
        False,
        None,
        None,
    )
    assert [p["code"] for p in failed.version.problems] == ["service_task_without_connector"]
    assert ProcessDraft.objects.get(key="expense_approval", user=dana).xml == broken
    event = AuditEvent.objects.filter(action="process.draft_saved").get()
    assert (event.process_key, event.version_id, event.data["problems"]) == (
        "expense_approval",
        None,
        1,
    )
    second = version_deploy(xml=V2, actor=SYSTEM, user=dana).version
    assert (second.number, second.status) == (2, "deployed")
    assert list(ProcessVersion.objects.order_by("number").values_list("number", "status")) == [
        (1, "deployed"),
        (2, "deployed"),
    ]
    assert not ProcessDraft.objects.exists()  # deployed: the draft is done with


def test_a_new_process_that_fails_to_deploy_is_no_definition():
    broken = V1.replace('flowgate:connector="echo"', "")
    assert version_deploy(xml=broken, actor=SYSTEM).deployed is False
    assert not ProcessDefinition.objects.exists() and not ProcessVersion.objects.exists()


def _client(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def test_api_deploy_with_comment_compare_and_rollback(make_user):
    designer = make_user("designer", username="dana")
    client = _client(designer)
    first = client.post("/api/v1/processes/deploy/", {"xml": V1, "comment": "first"}, format="json")
    assert first.status_code == 201
    assert (first.json()["comment"], first.json()["created_by"]) == ("first", "dana")
    client.post("/api/v1/processes/deploy/", {"xml": V2, "comment": "second"}, format="json")

    compare = client.get("/api/v1/processes/expense_approval/compare/?from=1&to=2")
    assert compare.status_code == 200
    body = compare.json()
    assert (body["from"], body["to"], body["added"], body["removed"]) == (1, 2, [], [])
    assert [c["id"] for c in body["changed"]] == ["manager_approval", "f_high"]
    missing = client.get("/api/v1/processes/expense_approval/compare/?from=1&to=9")
    assert (missing.status_code, missing.json()["error"]) == (404, "version_not_found")
    bad = client.get("/api/v1/processes/expense_approval/compare/?from=x")
    assert bad.status_code == 400

    rollback = client.post(
        f"/api/v1/versions/{first.json()['id']}/rollback/",
        {"comment": "v2 was wrong"},
        format="json",
    )
    assert rollback.status_code == 201
    assert (rollback.json()["number"], rollback.json()["rollback_of"]) == (3, 1)
    assert rollback.json()["comment"] == "v2 was wrong"
    again = client.post(f"/api/v1/versions/{rollback.json()['id']}/rollback/", {}, format="json")
    assert (again.status_code, again.json()["error"]) == (409, "rollback_to_latest")
    versions = client.get("/api/v1/processes/expense_approval/versions/").json()["results"]
    assert [(v["number"], v["comment"], v["rollback_of"]) for v in versions] == [
        (3, "v2 was wrong", 1),
        (2, "second", None),
        (1, "first", None),
    ]


def test_api_rollback_needs_a_designer_and_changes_nothing_otherwise(make_user):
    v1 = version_deploy(xml=V1, actor=SYSTEM).version
    version_deploy(xml=V2, actor=SYSTEM)
    anonymous = _client().post(f"/api/v1/versions/{v1.pk}/rollback/", {}, format="json")
    assert anonymous.status_code in (401, 403)
    refused = _client(make_user("approver")).post(
        f"/api/v1/versions/{v1.pk}/rollback/", {}, format="json"
    )
    assert (refused.status_code, refused.json()["error"]) == (403, "forbidden")
    assert ProcessVersion.objects.count() == 2
    allowed = _client(make_user("designer")).post(
        f"/api/v1/versions/{v1.pk}/rollback/", {}, format="json"
    )
    assert allowed.status_code == 201
    assert ProcessVersion.objects.count() == 3


def test_the_process_list_api_gives_status_owner_and_last_deploy(make_user):
    dana = make_user("designer", username="dana")
    version = version_deploy(xml=V1, actor=SYSTEM, user=dana).version
    version_deploy(
        xml=gallery.template_get(slug="access_request").xml().replace('"http"', '"nope"'),
        actor=SYSTEM,
    )  # refused: no process, no version
    rows = _client(dana).get("/api/v1/processes/").json()["results"]
    assert [(r["key"], r["status"], r["latest_number"], r["owner"]) for r in rows] == [
        ("expense_approval", "deployed", 1, "dana"),
    ]
    assert rows[0]["last_deployed_at"].startswith(version.created_at.strftime("%Y-%m-%dT%H:%M"))
    drafts_only = _client(dana).get("/api/v1/processes/?status=draft").json()["results"]
    assert drafts_only == []
