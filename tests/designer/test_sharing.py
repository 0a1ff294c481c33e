"""Sharing a process: designers and admins edit and deploy every process; a designer or admin may
let a user or a role view one process read-only. Grantees see it (list, latest version, compare,
XML; the versions API), never the editor, deploy, roll back or test run; everyone else gets 403
as before. A refused request changes nothing."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.accounts import permissions
from apps.accounts.roles import PERM_VIEW_PROCESS
from apps.audit.models import AuditEvent
from apps.common.actors import Actor
from apps.common.errors import AccessDenied, InvalidInput
from apps.processes import gallery, sharing
from apps.processes.demo import demo_decisions_ensure
from apps.processes.models import ProcessDefinition, ProcessVersion
from apps.processes.services import version_deploy

pytestmark = pytest.mark.django_db


def _deploy(slug: str) -> ProcessVersion:
    demo_decisions_ensure()  # the access request's policy gate
    return version_deploy(
        xml=gallery.template_get(slug=slug).xml(), actor=Actor.system("test"), user=None
    ).version


def _api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def shared(make_user):
    """expense_approval shared with the user 'vic'; access_request not shared."""
    designer = make_user("designer", username="dana")
    viewer = make_user("approver", username="vic")
    other = make_user("approver", username="olga")
    expense = _deploy("expense_approval")
    _deploy("access_request")
    sharing.process_view_grant(
        definition=expense.definition, actor=Actor.for_user(designer), by=designer, user="vic"
    )
    return designer, viewer, other, expense


# --- service ------------------------------------------------------------------------------------


def test_a_grant_to_a_user_or_a_role_is_listed_audited_and_revocable(make_user):
    designer = make_user("designer")
    definition = _deploy("expense_approval").definition
    make_user("approver", username="vic")

    viewers = sharing.process_view_grant(
        definition=definition, actor=Actor.for_user(designer), by=designer, user="vic"
    )
    assert viewers == sharing.Viewers(users=["vic"], roles=[])
    viewers = sharing.process_view_grant(
        definition=definition, actor=Actor.for_user(designer), by=designer, role="auditor"
    )
    assert viewers == sharing.Viewers(users=["vic"], roles=["auditor"])
    events = AuditEvent.objects.filter(action="process.view_granted").order_by("position")
    assert [(e.process_key, e.data) for e in events] == [
        ("expense_approval", {"user": "vic", "role": None}),
        ("expense_approval", {"user": None, "role": "auditor"}),
    ]

    viewers = sharing.process_view_revoke(
        definition=definition, actor=Actor.for_user(designer), by=designer, user="vic"
    )
    assert viewers == sharing.Viewers(users=[], roles=["auditor"])
    assert AuditEvent.objects.filter(action="process.view_revoked").count() == 1


def test_a_role_grant_lets_everyone_in_the_role_view_only_that_process(make_user):
    designer = make_user("designer")
    expense = _deploy("expense_approval").definition
    access = _deploy("access_request").definition
    sharing.process_view_grant(
        definition=expense, actor=Actor.for_user(designer), by=designer, role="manager"
    )
    manager = make_user("manager")
    assert sharing.can_view(manager, expense) is True
    assert sharing.can_view(manager, access) is False
    assert sharing.can_edit(manager) is False
    visible = sharing.definitions_visible(manager, ProcessDefinition.objects.all())
    assert [d.key for d in visible] == ["expense_approval"]


def test_only_designers_and_admins_share_and_a_refusal_changes_nothing(make_user):
    definition = _deploy("expense_approval").definition
    approver = make_user("approver", username="vic")
    with pytest.raises(AccessDenied):
        sharing.process_view_grant(
            definition=definition, actor=Actor.for_user(approver), by=approver, user="vic"
        )
    assert permissions.can(approver, PERM_VIEW_PROCESS, definition) is False
    assert not AuditEvent.objects.filter(action__startswith="process.view_").exists()


@pytest.mark.parametrize(
    ("user", "role", "code"),
    [
        ("", "", "user_or_role"),
        ("vic", "manager", "user_or_role"),
        ("nobody", "", "unknown_user"),
        ("", "no-such-role", "unknown_role"),
    ],
)
def test_a_grant_names_exactly_one_known_user_or_role(make_user, user, role, code):
    designer = make_user("designer")
    make_user("approver", username="vic")
    definition = _deploy("expense_approval").definition
    with pytest.raises(InvalidInput) as caught:
        sharing.process_view_grant(
            definition=definition, actor=Actor.system("t"), by=designer, user=user, role=role
        )
    assert caught.value.code == code
    assert sharing.process_viewers(definition=definition) == sharing.Viewers(users=[], roles=[])


# --- pages --------------------------------------------------------------------------------------


def test_a_grantee_sees_the_shared_process_read_only(client, shared):
    _designer, viewer, _other, expense = shared
    client.force_login(viewer)

    listing = client.get("/designer/")
    assert listing.status_code == 200
    html = listing.content.decode()
    assert 'data-process-key="expense_approval"' in html
    assert 'data-process-key="access_request"' not in html
    assert "New process" not in html and "Upload a BPMN file" not in html

    opened = client.get("/designer/expense_approval/")
    assert opened.status_code == 302
    assert opened["Location"] == f"/designer/expense_approval/v{expense.number}/"
    page = client.get(opened["Location"]).content.decode()
    assert 'class="fg-diagram-viewer"' in page  # a viewer, not the modeler
    assert "designer-canvas" not in page
    assert "Roll back" not in page and "data-designer-action" not in page
    xml = client.get(f"/designer/expense_approval/v{expense.number}/xml/")
    assert xml.status_code == 200 and xml.content.decode() == expense.xml
    assert client.get("/designer/expense_approval/compare/").status_code == 200


@pytest.mark.parametrize(
    "url",
    [
        "/designer/access_request/",  # not shared with vic
        "/designer/access_request/v1/",
        "/designer/access_request/v1/xml/",
        "/designer/access_request/compare/",
        "/designer/no_such_process/",  # the same answer when the process does not exist
        "/designer/expense_approval/xml/",  # the editor's XML and draft: designers only
        "/designer/expense_approval/draft.bpmn",
        "/designer/new/",
        "/designer/new/blank/",
    ],
)
def test_a_grantee_gets_403_elsewhere(client, shared, url):
    client.force_login(shared[1])
    assert client.get(url).status_code == 403


def test_someone_without_a_grant_gets_403_as_before(client, shared):
    client.force_login(shared[2])
    for url in ("/designer/", "/designer/expense_approval/", "/designer/expense_approval/v1/"):
        assert client.get(url).status_code == 403, url
    client.logout()
    assert client.get("/designer/expense_approval/v1/").status_code == 302  # to the login page


def test_a_grantee_cannot_roll_back_deploy_or_share(client, shared):
    _designer, viewer, _other, expense = shared
    _deploy("expense_approval")  # version 2
    client.force_login(viewer)
    before = (ProcessVersion.objects.count(), AuditEvent.objects.count())

    assert client.post("/designer/expense_approval/v1/rollback/").status_code == 403
    assert client.post("/designer/expense_approval/viewers/", {"user": "olga"}).status_code == 403
    assert (
        client.post("/designer/expense_approval/viewers/revoke/", {"user": "vic"}).status_code
        == 403
    )
    deploy = _api(viewer).post(
        "/api/v1/processes/deploy/", {"xml": expense.xml, "comment": "x"}, format="json"
    )
    assert deploy.status_code == 403
    run = _api(viewer).post("/api/v1/processes/expense_approval/test-runs/", {}, format="json")
    assert run.status_code == 403

    assert (ProcessVersion.objects.count(), AuditEvent.objects.count()) == before
    assert sharing.process_viewers(definition=expense.definition).users == ["vic"]


def test_a_designer_shares_and_unshares_from_the_process_page(client, shared):
    designer, _viewer, other, expense = shared
    client.force_login(designer)
    page = client.get("/designer/expense_approval/").content.decode()
    assert 'data-viewer-user="vic"' in page
    assert 'aria-label="Stop sharing with user vic"' in page

    response = client.post("/designer/expense_approval/viewers/", {"role": "manager"})
    assert response.status_code == 302
    assert sharing.process_viewers(definition=expense.definition) == sharing.Viewers(
        users=["vic"], roles=["manager"]
    )
    bad = client.post("/designer/expense_approval/viewers/", {"user": "nobody"}, follow=True)
    assert "There is no active user &#x27;nobody&#x27;." in bad.content.decode()

    client.post("/designer/expense_approval/viewers/revoke/", {"user": "vic"})
    client.force_login(shared[1])
    assert client.get("/designer/expense_approval/v1/").status_code == 403
    assert other.username == "olga"


# --- API ----------------------------------------------------------------------------------------


def test_the_process_list_api_shows_grantees_their_processes_and_others_none(shared):
    designer, viewer, other, _expense = shared
    keys = {r["key"] for r in _api(designer).get("/api/v1/processes/").json()["results"]}
    assert {"expense_approval", "access_request"} <= keys
    mine = _api(viewer).get("/api/v1/processes/").json()
    assert [r["key"] for r in mine["results"]] == ["expense_approval"]
    nothing = _api(other).get("/api/v1/processes/").json()
    assert (nothing["count"], nothing["results"]) == (0, [])


def test_the_versions_api_answers_grantees_for_their_process_only(shared):
    _designer, viewer, other, expense = shared
    api = _api(viewer)
    rows = api.get("/api/v1/processes/expense_approval/versions/")
    assert rows.status_code == 200
    assert [r["number"] for r in rows.json()["results"]] == [1]
    assert api.get(f"/api/v1/versions/{expense.pk}/").status_code == 200
    assert api.get(f"/api/v1/versions/{expense.pk}/xml/").content.decode() == expense.xml
    compare = api.get("/api/v1/processes/expense_approval/compare/?from=1&to=1")
    assert compare.status_code == 200

    access = ProcessVersion.objects.get(definition__key="access_request")
    assert api.get("/api/v1/processes/access_request/versions/").status_code == 403
    assert api.get(f"/api/v1/versions/{access.pk}/").status_code == 403
    assert api.get(f"/api/v1/versions/{access.pk}/xml/").status_code == 403
    assert api.get("/api/v1/processes/access_request/compare/?from=1&to=1").status_code == 403
    assert api.get("/api/v1/processes/nothing/versions/").status_code == 403
    assert api.get("/api/v1/versions/999999/").status_code == 403

    stranger = _api(other)
    assert stranger.get("/api/v1/processes/expense_approval/versions/").status_code == 403
    assert stranger.get(f"/api/v1/versions/{expense.pk}/xml/").status_code == 403
    assert _api().get("/api/v1/processes/expense_approval/versions/").status_code in (401, 403)


def test_the_viewers_api_grants_lists_and_revokes_for_designers_only(shared):
    designer, viewer, other, expense = shared
    url = "/api/v1/processes/expense_approval/viewers/"
    before = AuditEvent.objects.count()
    for user in (None, viewer, other):
        client = _api(user)
        assert client.get(url).status_code in (401, 403)
        assert client.post(url, {"role": "manager"}, format="json").status_code in (401, 403)
        assert client.delete(f"{url}?user=vic").status_code in (401, 403)
    assert AuditEvent.objects.count() == before
    assert sharing.process_viewers(definition=expense.definition).users == ["vic"]

    api = _api(designer)
    assert api.get(url).json() == {"users": ["vic"], "roles": []}
    granted = api.post(url, {"role": "manager"}, format="json")
    assert granted.status_code == 201
    assert granted.json() == {"users": ["vic"], "roles": ["manager"]}
    bad = api.post(url, {"user": "vic", "role": "manager"}, format="json")
    assert bad.status_code == 400
    assert bad.json()["error"] == "user_or_role"
    revoked = api.delete(f"{url}?user=vic")
    assert revoked.status_code == 200
    assert revoked.json() == {"users": [], "roles": ["manager"]}
    assert api.get("/api/v1/processes/nothing/viewers/").status_code == 404
