"""Audit report pages: access rules, search, timeline, verify, exports, evidence package."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import zipfile

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from apps.accounts.roles import Role
from apps.audit.actions import AuditAction
from apps.audit.checkpoints import audit_archived_remove
from apps.audit.models import AuditCheckpoint, AuditEvent, AuditLink
from apps.audit.scheduled import verification_scheduled_run
from apps.audit.services import chain_link_pending, record
from apps.common.actors import Actor
from tests.audit.support import chain_hash as _hash
from tests.audit.support import last_position as _last
from tests.audit.support import newest_event as _newest
from tests.audit.support import tamper
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

GET_PAGES = [
    reverse("audit:list"),
    reverse("audit:verify"),
    reverse("audit:instance", args=[7]),
    reverse("audit:export-csv"),
    reverse("audit:export-json"),
    reverse("audit:evidence", args=[7]),
]


@pytest.fixture
def trail():
    """Events by alice (user + token), bob and the scheduler; instance 7 of 'invoice'."""
    alice = Actor(kind="user", id="1", label="alice")
    alice_token = Actor(kind="token", id="5", label="alice (token nightly)")
    bob = Actor(kind="user", id="2", label="bob")
    events = [
        record(
            AuditAction.INSTANCE_STARTED,
            actor=alice,
            process_key="invoice",
            instance_id=7,
            version_id=None,
            data={"business_key": "INV-001"},
        ),
        record(
            AuditAction.TASK_CLAIMED, actor=bob, process_key="invoice", instance_id=7, task_id=70
        ),
        record(
            AuditAction.TASK_APPROVED,
            actor=alice_token,
            process_key="invoice",
            instance_id=7,
            task_id=70,
            before={"status": "claimed"},
            after={"status": "completed"},
        ),
        record(
            AuditAction.TIMER_FIRED,
            actor=Actor.system("scheduler"),
            process_key="payroll",
            instance_id=8,
            job_id=80,
        ),
    ]
    chain_link_pending()  # what the post-commit linker does outside a test transaction
    return events


def _events_after(position: int) -> list[str]:
    return list(
        AuditEvent.objects.filter(position__gt=position)
        .order_by("position")
        .values_list("action", flat=True)
    )


# --- access ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", GET_PAGES)
def test_anonymous_is_sent_to_login(client, url, trail):
    before = _last()
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login") + "?next=")
    assert _events_after(before) == []


@pytest.mark.parametrize("url", GET_PAGES)
def test_unprivileged_user_gets_403_and_nothing_is_recorded(client, make_user, url, trail):
    client.force_login(make_user(Role.APPROVER, Role.MANAGER, Role.DESIGNER))
    before = _last()
    response = client.get(url)
    assert response.status_code == 403
    assert _events_after(before) == []


def test_unprivileged_verify_post_is_refused(client, make_user, trail):
    client.force_login(make_user(Role.MANAGER))
    before = _last()
    assert client.post(reverse("audit:verify")).status_code == 403
    assert _events_after(before) == []


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.ADMIN])
@pytest.mark.parametrize("url", GET_PAGES)
def test_auditor_and_admin_may_open_every_page(client, make_user, role, url, trail):
    client.force_login(make_user(role))
    assert client.get(url).status_code == 200


# --- search ---------------------------------------------------------------------------------------


@pytest.fixture
def auditor_client(client, make_user):
    client.force_login(make_user(Role.AUDITOR, username="audrey"))
    return client


def _listed(client, **params) -> list[int]:
    response = client.get(reverse("audit:list"), params)
    assert response.status_code == 200
    return [e.position for e in response.context["page_obj"].object_list]


def test_filter_by_actor_includes_the_users_tokens(auditor_client, trail):
    assert _listed(auditor_client, actor="alice") == [trail[2].position, trail[0].position]
    assert _listed(auditor_client, actor="scheduler") == [trail[3].position]


def test_filters_by_action_process_instance_task(auditor_client, trail):
    assert _listed(auditor_client, action="task.") == [trail[2].position, trail[1].position]
    assert _listed(auditor_client, action="task.claimed") == [trail[1].position]
    assert _listed(auditor_client, process_key="payroll") == [trail[3].position]
    assert _listed(auditor_client, instance_id=7, task_id=70) == [
        trail[2].position,
        trail[1].position,
    ]
    assert _listed(auditor_client, actor_kind="token") == [trail[2].position]


def test_free_text_searches_data(auditor_client, trail):
    assert _listed(auditor_client, q="inv-001") == [trail[0].position]
    assert _listed(auditor_client, q="completed") == [trail[2].position]


def test_date_range(auditor_client, trail):
    today = timezone.now().date()
    yesterday = today - dt.timedelta(days=1)
    assert len(_listed(auditor_client, date_from=today.isoformat(), actor="alice")) == 2
    assert _listed(auditor_client, date_to=yesterday.isoformat()) == []


def test_invalid_filter_is_a_400_with_the_reason(auditor_client, trail):
    response = auditor_client.get(
        reverse("audit:list"), {"date_from": "2026-02-02", "date_to": "2026-02-01"}
    )
    assert response.status_code == 400
    assert "The end date is before the start date." in response.content.decode()


def test_empty_state(auditor_client):
    response = auditor_client.get(reverse("audit:list"), {"actor": "nobody"})
    assert "No events match" in response.content.decode()


def test_pagination_keeps_filters(auditor_client):
    for n in range(55):
        record(AuditAction.JOB_ATTEMPTED, job_id=n + 1, process_key="bulk")
    response = auditor_client.get(reverse("audit:list"), {"process_key": "bulk", "page": 2})
    assert len(response.context["page_obj"].object_list) == 5
    assert "?process_key=bulk&amp;page=1" in response.content.decode()


def test_timeline_lists_instance_events_oldest_first(auditor_client, trail):
    response = auditor_client.get(reverse("audit:instance", args=[7]))
    assert [e.position for e in response.context["events"]] == [e.position for e in trail[:3]]
    assert reverse("audit:evidence", args=[7]) in response.content.decode()


# --- verify ---------------------------------------------------------------------------------------


def test_verify_button_shows_intact_and_is_recorded(auditor_client, trail):
    count = AuditEvent.objects.count()
    response = auditor_client.post(reverse("audit:verify"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Intact." in body
    assert f"{count} events" in body
    verified = _newest()
    assert verified.action == "audit.verified"
    assert verified.actor_label == "audrey"
    assert verified.data["intact"] is True


def test_verify_page_says_how_many_events_were_archived(auditor_client, trail):
    with transaction.atomic():
        checkpoint = audit_archived_remove(instance_ids=[7], actor=Actor.system("retention"))
    response = auditor_client.post(reverse("audit:verify"))
    body = response.content.decode()
    assert "Intact." in body
    assert (
        f"{checkpoint.removed} archived events removed under 1 signed checkpoint; their links "
        "are still checked." in body
    )
    assert _newest().data["archived"] == checkpoint.removed == 3


def test_verify_page_shows_the_last_scheduled_verification(auditor_client, trail):
    verification_scheduled_run(full=True)  # signs a checkpoint at the head
    verification_scheduled_run(full=False)
    body = auditor_client.get(reverse("audit:verify")).content.decode()
    checkpoint = AuditCheckpoint.objects.get()
    assert "by scheduled audit_verify" in body
    assert f'link <span data-testid="verify-last-from">{checkpoint.up_to_seq}</span>' in body
    assert 'data-testid="verify-schedule"' in body


def test_verify_button_shows_the_break(auditor_client, trail):
    tamper("UPDATE audit_auditevent SET process_key = 'x' WHERE position = %s", (trail[1].pk,))
    response = auditor_client.post(reverse("audit:verify"))
    body = response.content.decode()
    assert "Broken." in body
    seq = AuditLink.objects.get(event=trail[1]).seq
    assert f"broken at position {seq}: event {trail[1].pk} does not match its hash" in body


# --- exports --------------------------------------------------------------------------------------


def test_csv_export_of_filtered_view_is_audited(auditor_client, trail):
    before = _last()
    response = auditor_client.get(reverse("audit:export-csv"), {"instance_id": 7})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [int(r["position"]) for r in rows] == [e.position for e in trail[:3]]
    assert rows[2]["actor_label"] == "alice (token nightly)"
    assert json.loads(rows[2]["after"]) == {"status": "completed"}
    assert rows[2]["hash"] == _hash(trail[2])
    exported = _newest()
    assert exported.action == "audit.exported"
    assert exported.data == {
        "format": "csv",
        "via": "page",
        "filters": {"instance_id": "7"},
        "events": 3,
        "up_to_position": before,
    }


def test_json_export_keeps_values_exactly(auditor_client, trail):
    response = auditor_client.get(reverse("audit:export-json"), {"actor": "bob"})
    events = json.loads(b"".join(response.streaming_content))
    assert len(events) == 1
    assert events[0]["position"] == trail[1].position
    assert events[0]["task_id"] == 70
    assert events[0]["prev_hash"] == _hash(trail[0])
    assert AuditEvent.objects.order_by("-position").first().data["format"] == "json"


def test_csv_export_defuses_spreadsheet_formulas(auditor_client):
    record(AuditAction.PROCESS_DEPLOYED, process_key="=HYPERLINK(1)")
    response = auditor_client.get(reverse("audit:export-csv"), {"action": "process.deployed"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0]["process_key"] == "'=HYPERLINK(1)"


# --- evidence -------------------------------------------------------------------------------------


def test_evidence_package_contents(auditor_client):
    from apps.processes.models import ProcessDefinition, ProcessVersion

    definition = ProcessDefinition.objects.create(key="invoice", name="Invoice")
    version = ProcessVersion.objects.create(
        definition=definition,
        number=2,
        status="deployed",
        xml="<definitions id='d'/>",
        checksum="c" * 64,
    )
    started = record(
        AuditAction.INSTANCE_STARTED, process_key="invoice", version_id=version.pk, instance_id=7
    )
    record(AuditAction.TIMER_FIRED, instance_id=8)
    done = record(
        AuditAction.INSTANCE_COMPLETED, process_key="invoice", version_id=version.pk, instance_id=7
    )
    before = _last()

    response = auditor_client.get(reverse("audit:evidence", args=[7]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert 'filename="flowgate-evidence-instance-7.zip"' in response["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    bpmn_name = f"bpmn/invoice-v2-id{version.pk}.bpmn"
    assert sorted(archive.namelist()) == sorted(
        ["README.txt", "events.json", "events.csv", "proof.json", bpmn_name]
    )
    assert archive.read(bpmn_name).decode() == "<definitions id='d'/>"
    events = json.loads(archive.read("events.json"))
    assert [e["position"] for e in events] == [started.position, done.position]
    csv_rows = list(csv.DictReader(io.StringIO(archive.read("events.csv").decode())))
    assert [int(r["position"]) for r in csv_rows] == [started.position, done.position]
    proof = json.loads(archive.read("proof.json"))
    assert proof["chain"]["intact"] is True
    assert proof["covers_up_to_position"] == before
    assert [p["hash"] for p in proof["events"]] == [_hash(started), _hash(done)]
    assert [p["seq"] for p in proof["events"]] == [2, 4]
    for item in proof["events"]:
        assert hashlib.sha256(item["canonical"].encode()).hexdigest() == item["hash"]
    exported = _newest()
    assert (exported.action, exported.instance_id) == ("audit.exported", 7)
    assert exported.data["format"] == "evidence-zip"


def test_evidence_of_unknown_instance_is_404_and_not_recorded(auditor_client):
    before = _last()
    response = auditor_client.get(reverse("audit:evidence", args=[999]))
    assert response.status_code == 404
    assert _events_after(before) == []


# --- login events ---------------------------------------------------------------------------------


def test_login_logout_and_failed_login_are_recorded(client, make_user):
    user = make_user(username="carol")
    start = _last()
    client.post(reverse("accounts:login"), {"username": "carol", "password": "wrong"})
    client.post(reverse("accounts:login"), {"username": "carol", "password": DEFAULT_PASSWORD})
    client.post(reverse("accounts:logout"))
    events = list(AuditEvent.objects.filter(position__gt=start).order_by("position"))
    assert [(e.action, e.actor_kind, e.actor_label) for e in events] == [
        ("auth.login_failed", "anonymous", "anonymous"),
        ("auth.login", "user", "carol"),
        ("auth.logout", "user", "carol"),
    ]
    assert events[0].data == {"username": "carol"}
    assert "wrong" not in json.dumps(events[0].data)
    assert events[1].actor_id == str(user.pk)
    assert events[1].client_address == "127.0.0.1"


# --- labels ---------------------------------------------------------------------------------------


def _one_version_process(key: str, name: str):
    from apps.processes.models import ProcessDefinition, ProcessVersion

    # another process's versions first, so that the database id is not the version number
    other = ProcessDefinition.objects.create(key=f"{key}-other")
    for number in (1, 2):
        ProcessVersion.objects.create(
            definition=other,
            number=number,
            status="deployed",
            xml="<d/>",
            checksum=str(number) * 64,
        )
    definition = ProcessDefinition.objects.create(key=key, name=name)
    return ProcessVersion.objects.create(
        definition=definition, number=1, status="deployed", xml="<d/>", checksum="c" * 64
    )


def test_events_name_the_process_version_by_number_and_the_action_by_label(auditor_client):
    version = _one_version_process("invoice", "Invoice approval")
    assert version.pk != 1
    record(AuditAction.TASK_CREATED, process_key="invoice", version_id=version.pk, instance_id=7)
    record(AuditAction.TIMER_FIRED, process_key="invoice", version_id=10**9, instance_id=7)

    page = auditor_client.get(reverse("audit:list")).content.decode()
    timeline = auditor_client.get(reverse("audit:instance", args=[7])).content.decode()

    assert f"version {version.pk}" not in page
    assert (
        '<td data-testid="event-process">invoice<br><small class="text-body-secondary">'
        "Invoice approval v1</small></td>"
    ) in page
    assert f"version id {10**9}" in page  # a version nobody can name any more
    assert (
        '<td data-testid="event-action">Task created<br>'
        '<code class="small text-body-secondary">task.created</code></td>'
    ) in page
    assert '<option value="task.created">Task created (task.created)</option>' in page
    assert '<option value="task.">All: Tasks (task.*)</option>' in page
    assert (
        '<strong class="ms-2">Task created</strong> '
        '<code class="small text-body-secondary">task.created</code>'
    ) in timeline
    assert "Invoice approval v1" in timeline


def test_every_action_has_a_label():
    from apps.audit.labels import ACTION_LABELS, action_label

    assert set(ACTION_LABELS) == {a.value for a in AuditAction}
    assert action_label("something.new") == "something.new"


HISTORY_ROW = {"time": timezone.now(), "actor_kind": "user", "on_behalf_of": "", "data": {}}


def test_request_history_shows_labels_with_the_code_as_a_title():
    from django.template.loader import render_to_string

    html = render_to_string(
        "inbox/_history.html",
        {
            "history": [
                {**HISTORY_ROW, "action": "task.created", "actor_label": "alice"},
                {**HISTORY_ROW, "action": "instance.started", "actor_label": "bob"},
            ]
        },
    )
    assert '<span title="task.created">Task created</span>' in html
    assert '<span title="instance.started">Request started</span>' in html
    assert "· task.created ·" not in html
