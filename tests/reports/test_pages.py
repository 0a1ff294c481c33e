"""Report pages and API: access per role (nothing changes when denied), parity of the API with
the pages' figures, CSV, bad input as a 4xx or a visible message."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest

from apps.common.actors import Actor
from apps.engine import services as engine
from apps.engine.models import Incident, IncidentStatus, Job, JobStatus, ProcessInstance
from apps.inbox.models import HumanTask
from apps.processes import services as process_services
from apps.reports.models import ActivitySla, ProcessSlo
from apps.reports.selectors import Period, sla_dashboard
from tests.api.helpers import assert_error
from tests.api.test_engine_api import client_for
from tests.reports import dataset as ds

pytestmark = pytest.mark.django_db
S = ds.seconds
BPMN = Path(__file__).parent / "bpmn" / "expense_demo.bpmn"


@pytest.fixture
def seeded():
    now = ds.fixed_now()
    day = now - timedelta(days=1)
    ActivitySla.objects.create(
        process_key="exp", activity_id="approve", warning_seconds=60, breach_seconds=120
    )
    for d in (30, 90, 150):
        inst = ds.instance("exp", created=day, ended=day + S(d), business_key=f"bk{d}")
        ds.task(inst, "approve", created=day, completed=day + S(d))
    failing = ds.instance("exp", created=day, business_key="failing", variables={"amount": 5000})
    jobs = [
        ds.job(failing, f"step{i}", created=day, status=JobStatus.INCIDENT, attempts=3)
        for i in range(3)
    ]
    for j in jobs:
        ds.incident(failing, "book", job_row=j, message="HTTP 503 from ledger")
    return {"now": now, "failing": failing, "jobs": jobs}


def test_sla_page_and_api_parity(client, make_user, seeded):
    auditor = make_user("auditor")
    client.force_login(auditor)
    page = client.get("/admin-reports/sla/?process_key=exp")
    assert page.status_code == 200
    assert b'data-testid="breached-approve"' in page.content
    assert "1 (33.3%)" in page.content.decode()  # one of three breached
    api = client_for(auditor).get(
        "/api/v1/reports/sla/", {"process_key": "exp", "until": "2999-01-01"}
    )
    assert api.status_code == 200
    body = api.json()
    period = Period(
        since=ds.fixed_now().replace(year=2998, month=12, day=2, hour=0, minute=0, second=0),
        until=ds.fixed_now().replace(year=2999, month=1, day=2, hour=0, minute=0, second=0),
    )
    assert body["period"]["until"].startswith("2999-01-02T00:00:00")
    assert body["period"]["since"].startswith("2998-12-03T00:00:00")
    assert body["processes"] == []  # nothing in that period
    api = client_for(auditor).get("/api/v1/reports/sla/", {"process_key": "exp"}).json()
    expected = sla_dashboard(
        period=Period(since=ds.fixed_now() - timedelta(days=30), until=ds.fixed_now()),
        process_key="exp",
    )
    assert api["activities"][0]["sla"] == expected["activities"][0]["sla"]
    assert api["processes"][0]["duration"] == expected["processes"][0]["duration"]
    assert period.since < period.until


def test_sla_csv(make_user, seeded):
    response = client_for(make_user("manager")).get(
        "/api/v1/reports/sla/activities.csv?process_key=exp"
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    approve = next(r for r in rows if r["activity_id"] == "approve")
    assert (approve["completed"], approve["duration_p50_s"], approve["sla_breached"]) == (
        "3",
        "90.0",
        "1",
    )
    assert approve["sla_met_rate"] == "0.3333"
    assert client_for(make_user("manager")).get("/api/v1/reports/sla/nope.csv").status_code == 404


def test_report_access_and_bad_filters(client, make_user):
    assert client_for(make_user("approver")).get("/api/v1/reports/sla/").status_code == 403
    bad = client_for(make_user("manager")).get("/api/v1/reports/sla/?since=yesterday")
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_filter"
    assert (
        client_for(make_user("manager")).get("/api/v1/reports/sla/?risk_hours=-1").status_code
        == 400
    )
    assert (
        client_for(make_user("manager")).get("/api/v1/reports/sla/?bucket=week").status_code == 400
    )
    client.force_login(make_user("auditor"))
    page = client.get("/admin-reports/sla/?since=yesterday")
    assert page.status_code == 200 and b"since must be a date" in page.content
    for url in (
        "/admin-reports/sla/",
        "/admin-reports/slo/",
        "/admin-reports/heatmap/",
        "/admin-reports/incidents/",
        "/admin-reports/instances/",
    ):
        assert client.get(url).status_code == 200, url
    client.force_login(make_user("approver"))
    assert client.get("/admin-reports/sla/").status_code == 403
    client.logout()
    assert client.get("/admin-reports/sla/").status_code == 302


def test_incidents_grouped_and_retried_in_bulk(client, make_user, seeded):
    client.force_login(make_user("auditor"))
    page = client.get("/admin-reports/incidents/").content.decode()
    assert page.count('data-testid="incident-group"') == 1 and "HTTP 503 from ledger" in page
    assert "Retry all" not in page  # auditors read only
    denied = client.post("/admin-reports/incidents/retry/", {"incident_id": [1]})
    assert denied.status_code == 403
    assert Incident.objects.filter(status=IncidentStatus.OPEN).count() == 3
    manager = make_user("manager", username="mona")
    client.force_login(manager)
    first, *rest = Incident.objects.order_by("pk")
    client.post("/admin-reports/incidents/retry/", {"incident_id": [str(first.pk)]})
    assert Incident.objects.get(pk=first.pk).status == IncidentStatus.RETRIED
    client.post(
        "/admin-reports/incidents/retry/",
        {
            "group": "1",
            "process_key": "exp",
            "activity_id": "book",
            "message": "HTTP 503 from ledger",
        },
    )
    assert set(Incident.objects.values_list("status", flat=True)) == {IncidentStatus.RETRIED}
    assert set(Job.objects.filter(status=JobStatus.PENDING).values_list("pk", flat=True)) == {
        j.pk for j in seeded["jobs"]
    }
    retried = client.get("/admin-reports/incidents/?status=retried").content.decode()
    assert retried.count("<td>mona</td>") == 3


def test_the_error_column_shows_the_message_when_an_incident_has_no_stack(
    client, make_user, seeded
):
    # given open incidents with a message and no stack trace
    assert set(Incident.objects.values_list("stack", flat=True)) == {""}
    # when an auditor opens the incidents page
    client.force_login(make_user("auditor"))
    page = client.get("/admin-reports/incidents/").content.decode()
    # then every row's Error cell says the error
    cell = '<td data-testid="incident-error"><span class="small">HTTP 503 from ledger</span></td>'
    assert page.count(cell) == 3


def test_incident_api_groups_and_retry(make_user, seeded):
    groups = (
        client_for(make_user("auditor")).get("/api/v1/reports/incidents/groups/").json()["groups"]
    )
    assert [(g["process_key"], g["activity_id"], g["count"]) for g in groups] == [
        ("exp", "book", 3)
    ]
    assert (
        client_for(make_user("auditor"))
        .post(
            "/api/v1/reports/incidents/retry/",
            {"incident_ids": groups[0]["incident_ids"]},
            format="json",
        )
        .status_code
        == 403
    )
    api = client_for(make_user("admin"))
    assert api.post("/api/v1/reports/incidents/retry/", {}, format="json").status_code == 400
    result = api.post(
        "/api/v1/reports/incidents/retry/",
        {"group": {"process_key": "exp", "activity_id": "book", "message": "HTTP 503 from ledger"}},
        format="json",
    ).json()
    assert result == {"retried": groups[0]["incident_ids"], "failed": []}


def test_instance_search(client, make_user, seeded):
    api = client_for(make_user("auditor"))

    def ids(**params):
        response = api.get("/api/v1/reports/instances/", params)
        assert response.status_code == 200, response.content
        return sorted(r["id"] for r in response.json()["results"])

    failing = seeded["failing"].pk
    assert ids(business_key="failing") == [failing]
    assert ids(variable="amount", value="5000") == [failing]
    assert ids(variable="amount", value="5001") == []
    assert ids(variable="amount") == [failing]
    assert len(ids(status="completed")) == 3
    assert ids(stuck_hours="1") == [failing]  # running, untouched for a day
    assert ids(started_from="2999-01-01") == []
    assert api.get("/api/v1/reports/instances/", {"status": "lost"}).status_code == 400
    assert api.get("/api/v1/reports/instances/", {"variable": "a__b=1"}).status_code == 400
    client.force_login(make_user("auditor"))
    page = client.get("/admin-reports/instances/?business_key=failing").content.decode()
    assert f"#{failing}" in page


@pytest.fixture
def live_instance(db):
    result = process_services.version_deploy(xml=BPMN.read_bytes(), actor=Actor.system("t"))
    return engine.instance_start(
        version=result.version, variables={"amount": 5000}, actor=Actor.system("t")
    )


def test_instance_page_and_actions(client, make_user, live_instance):
    pk = live_instance.pk
    client.force_login(make_user("auditor"))
    page = client.get(f"/admin-reports/instances/{pk}/").content.decode()
    assert "manager_approval" in page and "instance.started" in page
    assert "Cancel instance" not in page
    assert (
        client.post(f"/admin-reports/instances/{pk}/cancel/", {"confirm": "yes"}).status_code == 403
    )
    manager = make_user("manager")
    client.force_login(manager)
    assert "Cancel instance" in client.get(f"/admin-reports/instances/{pk}/").content.decode()
    client.post(f"/admin-reports/instances/{pk}/suspend/", {})  # not confirmed
    assert ProcessInstance.objects.get(pk=pk).status == "running"
    client.post(f"/admin-reports/instances/{pk}/suspend/", {"confirm": "yes"})
    assert ProcessInstance.objects.get(pk=pk).status == "suspended"
    # variables: admins only
    assert (
        client.post(
            f"/admin-reports/instances/{pk}/variable/", {"name": "amount", "value": "7"}
        ).status_code
        == 403
    )
    assert ProcessInstance.objects.get(pk=pk).variables["amount"] == 5000
    client.force_login(make_user("admin"))
    client.post(
        f"/admin-reports/instances/{pk}/variable/",
        {"name": "amount", "type": "number", "value": "7"},
    )
    assert ProcessInstance.objects.get(pk=pk).variables["amount"] == 7
    client.post(f"/admin-reports/instances/{pk}/resume/", {"confirm": "yes"})
    client.post(f"/admin-reports/instances/{pk}/cancel/", {"confirm": "yes", "reason": "test"})
    assert ProcessInstance.objects.get(pk=pk).status == "cancelled"
    assert (
        client.post(f"/admin-reports/instances/{pk}/explode/", {"confirm": "yes"}).status_code
        == 404
    )


def test_variable_and_move_api(make_user, live_instance):
    pk = live_instance.pk
    url = f"/api/v1/reports/instances/{pk}/variables/"
    assert (
        client_for(make_user("manager"))
        .post(url, {"name": "x", "value": 1}, format="json")
        .status_code
        == 403
    )
    ok = client_for(make_user("admin")).post(url, {"name": "x", "value": [1, 2]}, format="json")
    assert ok.status_code == 200 and ok.json()["variables"]["x"] == [1, 2]
    move = client_for(make_user("manager")).post(
        f"/api/v1/instances/{pk}/move-token/",
        {"from": "notify_requester", "to": "manager_approval", "reason": "x"},
        format="json",
    )
    assert move.status_code == 409 and move.json()["error"] == "not_active"
    assert HumanTask.objects.filter(instance_id=pk).count() == 1


def test_heatmap_page_and_slowest(client, make_user, live_instance):
    version_id = live_instance.version_id
    client.force_login(make_user("auditor"))
    page = client.get(f"/admin-reports/heatmap/?version_id={version_id}").content.decode()
    assert 'data-activity="manager_approval"' in page
    api = client_for(make_user("auditor"))
    figures = api.get(f"/api/v1/reports/heatmap/{version_id}/").json()
    approval = next(a for a in figures["activities"] if a["activity_id"] == "manager_approval")
    assert approval["count_waiting"] == 1
    slowest = api.get(
        f"/api/v1/reports/heatmap/{version_id}/slowest/", {"activity_id": "manager_approval"}
    ).json()
    assert [r["instance_id"] for r in slowest["instances"]] == [live_instance.pk]
    assert slowest["instances"][0]["open"] is True
    assert api.get(f"/api/v1/reports/heatmap/{version_id}/slowest/").status_code == 400
    assert api.get("/api/v1/reports/heatmap/999999/").status_code == 404


def test_sla_and_heatmap_tables_name_the_steps_and_keep_their_ids(client, make_user, live_instance):
    # given an expense instance waiting at manager_approval ("Manager approval" in the model)
    client.force_login(make_user("auditor"))
    named = (
        '<th scope="row">Manager approval '
        '<code class="small text-body-secondary">manager_approval</code>'
    )
    # when the SLA dashboard and the heatmap are opened
    sla_page = client.get("/admin-reports/sla/?process_key=expense_approval").content.decode()
    heatmap_page = client.get(
        f"/admin-reports/heatmap/?version_id={live_instance.version_id}"
    ).content.decode()
    # then their per-step tables show the step's name, with the id as secondary text
    assert named in sla_page
    assert named in heatmap_page
    # and the CSV of the steps has the name next to the id
    response = client_for(make_user("manager")).get(
        "/api/v1/reports/sla/activities.csv?process_key=expense_approval"
    )
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(r["activity_id"], r["activity_name"]) for r in rows if r["kind"] == "user_task"] == [
        ("manager_approval", "Manager approval")
    ]


def test_the_heatmap_opens_on_the_busiest_process_unless_one_is_chosen(
    client, make_user, live_instance
):
    # given a process without any step ("audit_request", first by key) next to the expense
    # process, whose instance waits at its approval
    quiet = BPMN.read_text().replace('"expense_approval"', '"audit_request"')
    process_services.version_deploy(xml=quiet.encode(), actor=Actor.system("t"))
    client.force_login(make_user("auditor"))
    # when the heatmap is opened without a choice
    page = client.get("/admin-reports/heatmap/").content.decode()
    # then it shows the process with data
    assert "expense_approval v1, coloured by" in page
    assert 'data-activity="manager_approval"' in page
    # and an explicit choice is kept, even without data
    chosen = client.get("/admin-reports/heatmap/?process_key=audit_request").content.decode()
    assert "audit_request v1, coloured by" in chosen
    assert "No steps in this period." in chosen


def test_slo_page_and_api(client, make_user):
    ds.version_for("p")  # a deployed process "p"
    client.force_login(make_user("auditor"))
    assert client.post("/admin-reports/slo/save/", {"process_key": "p"}).status_code == 403
    client.force_login(make_user("manager"))
    client.post(
        "/admin-reports/slo/save/",
        {"process_key": "p", "objective_percent": "99", "target_hours": "48", "window_days": "30"},
    )
    slo = ProcessSlo.objects.get(process_key="p")
    assert (float(slo.objective_percent), slo.target_seconds) == (99.0, 172800)
    bad = client.post(
        "/admin-reports/slo/save/",
        {"process_key": "p", "objective_percent": "100", "target_hours": "1", "window_days": "30"},
    )
    assert bad.status_code == 400
    assert 'id="slo-obj_error">Ensure this value is less than or equal to 99.999.</div>' in (
        bad.content.decode()
    )
    api = client_for(make_user("manager"))
    put = api.put(
        "/api/v1/reports/slo/p/", {"objective_percent": "95", "target_seconds": 3600}, format="json"
    )
    assert put.status_code == 200 and put.json()["slos"][0]["objective_percent"] == 95.0
    assert (
        api.put(
            "/api/v1/reports/slo/p/",
            {"objective_percent": "100", "target_seconds": 1},
            format="json",
        ).status_code
        == 400
    )
    assert (
        client_for(make_user("auditor"))
        .put(
            "/api/v1/reports/slo/p/",
            {"objective_percent": "90", "target_seconds": 1},
            format="json",
        )
        .status_code
        == 403
    )
    listing = client_for(make_user("auditor")).get("/api/v1/reports/slo/").json()["slos"]
    assert [(s["process_key"], s["state"]) for s in listing] == [("p", "no_data")]
    assert client_for(make_user("auditor")).get("/api/v1/reports/sli/").status_code == 200


def test_default_views_come_from_the_background_snapshot(client, make_user, seeded):
    from apps.reports.models import ReportSnapshot
    from apps.reports.snapshots import snapshots_refresh

    # sla + slo for all processes and for the one definition, the heatmap of its version, and
    # the all-time cost per process (what /metrics reads)
    assert snapshots_refresh() == 6
    ReportSnapshot.objects.filter(key="sla:*").update(
        data={**ReportSnapshot.objects.get(key="sla:*").data, "processes": []}
    )
    client.force_login(make_user("auditor"))
    page = client.get("/admin-reports/sla/").content.decode()
    assert 'data-testid="snapshot-note"' in page and 'data-process="exp"' not in page
    live = client.get("/admin-reports/sla/?live=1").content.decode()
    assert 'data-process="exp"' in live  # computed now (and stored for the next visitor)
    assert ReportSnapshot.objects.get(key="sla:*").data["processes"][0]["process_key"] == "exp"
    api = client_for(make_user("auditor")).get("/api/v1/reports/sla/").json()
    assert api["computed_at"] is not None and api["processes"][0]["started"] == 4
    filtered = client.get("/admin-reports/sla/?since=2000-01-01").content.decode()
    assert 'data-testid="snapshot-note"' not in filtered


def test_slo_and_sli_csv(make_user):
    from apps.reports.services import slo_set

    ds.version_for("p")
    slo_set(process_key="p", objective_percent=99, target_seconds=60, actor=Actor.system("t"))
    api = client_for(make_user("auditor"))
    rows = list(csv.DictReader(io.StringIO(api.get("/api/v1/reports/slo.csv").content.decode())))
    assert [(r["process_key"], r["objective_percent"], r["state"]) for r in rows] == [
        ("p", "99.0", "no_data")
    ]
    assert api.get("/api/v1/reports/sli.csv").content.decode().startswith("process_key,instances")
    assert api.get("/api/v1/reports/other.csv").status_code == 404


def test_an_objective_for_a_process_that_does_not_exist_is_refused(client, make_user):
    # given a deployed process "exp" and a manager on the SLO page
    ds.version_for("exp")
    manager = make_user("manager")
    client.force_login(manager)
    page = client.get("/admin-reports/slo/").content.decode()
    # then the form offers the deployed processes to choose from
    assert '<option value="exp">exp</option>' in page and 'name="process_key" required' in page
    # when an objective is posted for a process that does not exist (page and API)
    fields = {"objective_percent": "99", "target_hours": "48", "window_days": "30"}
    response = client.post("/admin-reports/slo/save/", {"process_key": "nope", **fields})
    api = client_for(manager).put(
        "/api/v1/reports/slo/nope/", {"objective_percent": "95", "target_seconds": 60}, "json"
    )
    # then both answer 400 with the error on the process field, and nothing is saved
    assert response.status_code == 400
    assert (
        'id="slo-key_error">Select a valid choice. nope is not one of the available choices.</div>'
        in response.content.decode()
    )
    assert assert_error(api, 400, "unknown_process")["details"] == [
        {"field": "process_key", "message": "Choose one of the deployed processes."}
    ]
    assert not ProcessSlo.objects.exists()
    # and a deployed one is saved
    ok = client.post("/admin-reports/slo/save/", {"process_key": "exp", **fields})
    assert ok.status_code == 302 and ProcessSlo.objects.get().process_key == "exp"


@pytest.mark.parametrize(
    ("role", "sees_audit"), [("manager", False), ("auditor", True), ("admin", True)]
)
def test_the_reports_index_links_only_to_pages_the_reader_may_open(
    client, make_user, role, sees_audit
):
    # given a reader of the reports index
    client.force_login(make_user(role))
    html = client.get("/admin-reports/").content.decode()
    # then every card's link opens for them: the audit trail card is there only for the auditor
    # and admin roles (a manager was sent to a refusal)
    links = [
        part.split('"', 1)[0]
        for part in html.split('class="card h-100 text-decoration-none" href="')[1:]
    ]
    assert ("/admin-reports/audit/" in links) is sees_audit
    # and the business calendars and retention cards are the admin's only
    assert ("/admin-reports/calendars/" in links) is (role == "admin")
    assert ("/admin-reports/retention/" in links) is (role == "admin")
    # and the migrations list is the operators' (manager, admin); circuits are for every reader
    assert ("/admin-reports/migrations/" in links) is (role in ("manager", "admin"))
    assert "/admin-reports/circuits/" in links
    assert len(links) == 7 + sees_audit + 2 * (role == "admin") + (role in ("manager", "admin"))
    for url in links:
        assert client.get(url).status_code == 200, url


def test_a_retry_with_a_malformed_incident_id_is_a_404_not_a_500(client, make_user, live_instance):
    # given a manager on a live instance's console page
    client.force_login(make_user("manager"))
    # when the retry form arrives with an incident id that is not a number
    response = client.post(
        f"/admin-reports/instances/{live_instance.pk}/retry/",
        {"confirm": "yes", "incident_id": "12abc"},
    )
    # then it is the page for an incident that does not exist, and nothing changed
    assert response.status_code == 404
    assert ProcessInstance.objects.get(pk=live_instance.pk).status == "running"


def test_the_incidents_page_falls_back_to_open_for_an_unknown_status(client, make_user, seeded):
    client.force_login(make_user("auditor"))
    page = client.get("/admin-reports/incidents/?status=bogus&process_key=+").content.decode()
    assert page.count('data-testid="incident-group"') == 1


def test_an_impossible_date_is_a_filter_error_not_a_500(client, make_user):
    # given a manager on the API and an auditor on the pages
    api = client_for(make_user("manager"))
    client.force_login(make_user("auditor"))
    for query in ("since=2026-02-30", "until=2026-13-45T00:00:00Z"):
        # when a filter is shaped like a date but is not one
        answer = api.get(f"/api/v1/reports/sla/?{query}")
        page = client.get(f"/admin-reports/sla/?{query}")
        # then both say which filter is wrong, as for any other bad date
        assert answer.status_code == 400 and answer.json()["error"] == "invalid_filter"
        assert page.status_code == 200 and b"must be a date" in page.content
