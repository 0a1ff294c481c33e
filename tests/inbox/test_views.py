"""Inbox and request pages: what they show and how they answer bad input."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from apps.common.actors import Actor as _Actor
from apps.engine import services as engine
from apps.inbox.models import HumanTask, Substitution
from tests.inbox.conftest import open_task, start

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def expense(deploy_inbox, people):
    deploy_inbox("expense.bpmn")
    deploy_inbox("two_step.bpmn")
    instance = start("expense_approval", people["requester"], amount=2500, description="Laptop")
    return instance, open_task(instance)


def test_inbox_page_lists_tasks_with_badges_and_live_feed(expense, people):
    _, task = expense
    html = client_for(people["manager"]).get("/inbox/").content.decode()
    assert f'data-task="{task.pk}"' in html
    assert 'id="count-all"' in html and 'data-live-feed="/api/v1/tasks/events/"' in html
    assert 'hx-get="/inbox/counts/"' in html  # the badges follow the page
    partial = client_for(people["manager"]).get("/inbox/?view=mine", HTTP_HX_REQUEST="true")
    body = partial.content.decode()
    assert "<html" not in body and partial["HX-Trigger"] == "counts-refresh"
    assert f'data-task="{task.pk}"' not in body
    counts = client_for(people["manager"]).get("/inbox/counts/").content.decode()
    assert 'id="count-all" hx-swap-oob="true"' in counts and 'id="count-completed"' not in counts
    assert '>1<span class="visually-hidden"> tasks</span>' in counts
    assert client_for(people["manager"]).get("/inbox/?view=bogus").status_code == 400


def test_reject_without_comment_shows_the_error_on_the_field(expense, people):
    _, task = expense
    response = client_for(people["manager"]).post(
        f"/inbox/tasks/{task.pk}/decide/", {"decision": "reject", "comment": ""}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="decision-comment_error">A comment is required to reject.</div>' in html
    assert 'aria-invalid="true"' in html
    task.refresh_from_db()
    assert task.status == "open"


def test_approve_from_the_page(expense, people):
    _, task = expense
    response = client_for(people["manager"]).post(
        f"/inbox/tasks/{task.pk}/decide/", {"decision": "approve"}
    )
    assert response.status_code == 302 and response["Location"] == "/inbox/"
    task.refresh_from_db()
    assert (task.status, task.outcome) == ("completed", "approved")


def test_the_requester_sees_the_four_eyes_notice_instead_of_buttons(deploy_inbox, people):
    deploy_inbox("expense.bpmn")
    instance = start("expense_approval", people["manager"], amount=2500, description="Own")
    html = client_for(people["manager"]).get(f"/inbox/tasks/{open_task(instance).pk}/").content
    assert b"Four-eyes rule: you started this request" in html
    assert b'value="approve"' not in html


def test_the_inbox_offers_approve_selected_only_for_tasks_the_reader_may_approve(
    deploy_inbox, people
):
    from apps.common.actors import Actor
    from apps.engine import services as engine

    deploy_inbox("expense.bpmn")
    boss, requester = people["manager"], people["requester"]
    own = open_task(start("expense_approval", boss, amount=2500, description="Own"))
    html = client_for(boss).get("/inbox/").content.decode()
    assert f'data-task="{own.pk}"' in html and f'id="select-{own.pk}"' not in html
    assert "Approve selected" not in html  # nothing on the page may be selected

    theirs = open_task(start("expense_approval", requester, amount=2600, description="Desk"))
    html = client_for(boss).get("/inbox/").content.decode()
    assert f'id="select-{theirs.pk}"' in html and "Approve selected" in html

    engine.instance_suspend(instance_id=theirs.instance_id, actor=Actor.system("test"))
    html = client_for(boss).get("/inbox/").content.decode()
    row = html.split(f'data-task="{theirs.pk}"')[1].split("</tr>")[0]
    assert ">suspended</span>" in row and f'id="select-{theirs.pk}"' not in html
    assert "Approve selected" not in html


def test_bulk_approve_asks_first_with_the_count_and_names(expense, people):
    # given two approvals the manager may decide, and one of their own (four-eyes)
    _, task = expense
    other = open_task(start("expense_approval", people["requester"], amount=4000, description="y"))
    own = open_task(start("expense_approval", people["manager"], amount=3000, description="x"))
    client = client_for(people["manager"])
    # when they press "Approve selected" with all three ticked
    asked = client.post("/inbox/bulk-approve/", {"task": [task.pk, other.pk, own.pk]})
    # then nothing is approved yet: a confirmation names the two it would approve
    assert asked.status_code == 200
    html = asked.content.decode()
    assert '<h1 class="h3" data-testid="bulk-confirm-title">Approve 2 tasks?</h1>' in html
    assert f'name="task" value="{task.pk}"' in html and f'name="task" value="{other.pk}"' in html
    assert f'name="task" value="{own.pk}"' not in html
    assert 'name="confirm" value="yes"' in html and "Yes, approve 2 tasks" in html
    assert set(HumanTask.objects.values_list("status", flat=True)) == {"open"}
    # and only the confirming POST approves
    done = client.post(
        "/inbox/bulk-approve/", {"task": [task.pk, other.pk], "confirm": "yes"}, follow=True
    )
    assert "Approved 2 task(s)." in done.content.decode()
    assert HumanTask.objects.get(pk=task.pk).status == "completed"


def test_bulk_approve_page_reports_each_task(expense, people):
    _, task = expense
    own = open_task(start("expense_approval", people["manager"], amount=3000, description="x"))
    client = client_for(people["manager"])
    response = client.post(
        "/inbox/bulk-approve/", {"task": [task.pk, own.pk], "confirm": "yes"}, follow=True
    )
    text = response.content.decode()
    assert "Approved 1 task(s)." in text
    assert f"Task {own.pk}: Four-eyes rule" in text
    assert HumanTask.objects.get(pk=own.pk).status == "open"


def test_an_impossible_substitution_date_is_a_form_error_not_a_500(people):
    client = client_for(people["manager"])
    response = client.post(
        "/inbox/settings/",
        {
            "form": "substitution",
            "substitute": "approver1",
            "starts_at": "2030-13-45T08:00",
            "ends_at": "2030-01-05T18:00",
        },
    )
    assert response.status_code == 400
    assert b"Give a start date and time." in response.content
    assert Substitution.objects.count() == 0


def test_settings_page_sets_a_substitute_and_shows_errors(people):
    client = client_for(people["manager"])
    bad = client.post(
        "/inbox/settings/",
        {"form": "substitution", "substitute": "ghost", "starts_at": "", "ends_at": ""},
    )
    assert bad.status_code == 400
    assert b"Give a start date and time." in bad.content
    assert Substitution.objects.count() == 0
    good = client.post(
        "/inbox/settings/",
        {
            "form": "substitution",
            "substitute": "approver1",
            "starts_at": "2030-01-01T08:00",
            "ends_at": "2030-01-05T18:00",
        },
    )
    assert good.status_code == 302
    assert Substitution.objects.get().substitute.username == "approver1"
    client.post("/inbox/settings/", {"form": "notifications", "email_on_escalation": "on"})
    prefs = people["manager"].inbox_settings
    assert (prefs.email_on_assignment, prefs.email_on_escalation) == (False, True)


def test_catalog_groups_by_category_and_filters_by_role(expense, people):
    html = client_for(people["manager"]).get("/requests/new/").content.decode()
    assert html.index(">Finance</h2>") < html.index(">Procurement</h2>")
    html = client_for(people["requester"]).get("/requests/new/").content.decode()
    assert ">Finance</h2>" in html and "Procurement" not in html
    assert client_for(people["requester"]).get("/requests/new/purchase/").status_code == 404
    searched = client_for(people["manager"]).get("/requests/new/?q=procure").content.decode()
    assert "Procurement" in searched and ">Finance</h2>" not in searched


def test_my_requests_and_the_request_page(expense, people):
    instance, task = expense
    client = client_for(people["requester"])
    html = client.get("/requests/").content.decode()
    assert f'data-request="{instance.pk}"' in html and "Approve expense" in html
    page = client.get(f"/requests/{instance.pk}/").content.decode()
    assert "Approve expense — with manager" in page
    assert 'data-current="manager_approval"' in page
    assert "Withdraw request" in page
    refused = client.post(f"/requests/{instance.pk}/cancel/", follow=True)
    assert "Confirm first" in refused.content.decode()
    instance.refresh_from_db()
    assert instance.status == "running"  # without the tick nothing happens
    response = client.post(f"/requests/{instance.pk}/cancel/", {"confirm": "yes"})
    assert response.status_code == 302
    instance.refresh_from_db()
    assert instance.status == "cancelled"


def test_the_diagram_names_the_current_step_and_keeps_its_id_as_a_tooltip(expense, people):
    # given an expense request waiting at manager_approval ("Approve expense" in the model)
    instance, task = expense
    named = (
        'Current step: <span title="manager_approval" data-activity="manager_approval">'
        "Approve expense</span>"
    )
    # when the requester opens the request page and the manager the task page
    request_page = client_for(people["requester"]).get(f"/requests/{instance.pk}/")
    task_page = client_for(people["manager"]).get(f"/inbox/tasks/{task.pk}/")
    # then both say the step's name under the diagram, not its id
    for page in (request_page.content.decode(), task_page.content.decode()):
        assert named in page
        assert "Current step: manager_approval" not in page
        assert 'data-current="manager_approval"' in page  # the markers still use the id
        assert "{#" not in page and "A read-only diagram with progress" not in page


def test_my_requests_page_reads_its_rows_in_a_fixed_number_of_queries(expense, people):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(people["requester"])
    automatic = start("expense_approval", people["requester"], amount=10, description="Pens")

    def page_queries() -> tuple[int, str]:
        with CaptureQueriesContext(connection) as captured:
            html = client.get("/requests/").content.decode()
        return len(captured.captured_queries), html

    few, html = page_queries()
    # Each row says where the request stands: the approval and who may take it, or the
    # automated step it waits on (no worker runs in this test).
    assert html.count("Approve expense") >= 1 and "automatic step" in html
    assert f'data-request="{automatic.pk}"' in html
    for n in range(6):
        start("expense_approval", people["requester"], amount=3000 + n, description=f"Desk {n}")
    many, html = page_queries()
    assert html.count("data-request=") == 8
    assert many == few


@pytest.mark.parametrize(
    ("page", "reader"),
    [
        ("inbox", "inbox_list"),
        ("my requests", "request_summaries"),
        ("request", "request_state"),
    ],
)
def test_a_change_committed_while_a_page_is_read_is_heard_again(
    expense, people, monkeypatch, page, reader
):
    """The page's feed position (data-live-since) is taken before its data: a change that lands
    between the two must still be after it, or the page would show the older state for good."""
    import re

    from apps.inbox import selectors
    from apps.inbox.models import InboxEvent

    instance, task = expense
    user = people["manager"] if page == "inbox" else people["requester"]
    url = {"inbox": "/inbox/", "my requests": "/requests/", "request": f"/requests/{instance.pk}/"}
    read = getattr(selectors, reader)
    landed = []

    def read_while_a_change_lands(*args, **kwargs):
        event = InboxEvent.objects.create(
            task_id=task.pk,
            instance_id=instance.pk,
            kind="changed",
            status="open",
            roles=["manager"],
            users=[user.pk],
        )
        landed.append(event.pk)
        return read(*args, **kwargs)

    monkeypatch.setattr(selectors, reader, read_while_a_change_lands)
    html = client_for(user).get(url[page]).content.decode()
    since = int(re.search(r'data-live-since="(\d+)"', html).group(1))
    assert landed and since < landed[0]


def test_the_catalog_lists_processes_people_start_once_each(people):
    # given the gallery's expense process deployed twice (v1, v2), a copy of it under another
    # key with the same name, and the incident process that only a webhook starts
    from apps.common.actors import Actor
    from apps.processes.gallery import template_get
    from apps.processes.services import version_deploy

    expense = template_get(slug="expense_approval").xml()
    for xml in (
        expense,
        expense.replace("flowgate:category", 'flowgate:candidateStarterUsers="" flowgate:category'),
        expense.replace('"expense_approval"', '"expense_approval_k3j2"'),
        template_get(slug="incident_response").xml(),
    ):
        assert version_deploy(xml=xml, actor=Actor.system("t")).deployed
    client = client_for(people["requester"])
    # when the requester opens the catalog
    html = client.get("/requests/new/").content.decode()
    # then the expense process is listed once at its latest version, the copy is told apart by
    # its key, and the webhook-started process is not offered
    assert html.count('data-process="expense_approval"') == 1
    assert html.count('data-process="expense_approval_k3j2"') == 1
    assert '<span class="small text-body-secondary fw-normal" data-testid="catalog-key">' in html
    assert "(expense_approval_k3j2)</span>" in html
    assert 'data-process="incident_response"' not in html
    assert client.get("/requests/new/incident_response/").status_code == 404
    api = APIClient()
    api.force_authenticate(people["requester"])
    refused = api.post(
        "/api/v1/requests/", {"process_key": "incident_response", "data": {}}, format="json"
    )
    assert refused.status_code == 404 and refused.json()["error"] == "process_not_found"
    entries = api.get("/api/v1/requests/catalog/").json()
    assert sorted((e["key"], e["version_number"]) for e in entries) == [
        ("expense_approval", 2),
        ("expense_approval_k3j2", 1),
    ]


def test_rows_say_who_asks_for_what_and_requests_get_a_reference(people, deploy_inbox):
    # given the gallery's expense process (summary "{amount} — {description}", prefix EXP) and
    # a test process without a summary, each started from the catalog
    from apps.common.actors import Actor
    from apps.inbox import services
    from apps.processes.gallery import template_get
    from apps.processes.services import version_deploy

    assert version_deploy(
        xml=template_get(slug="expense_approval").xml(), actor=Actor.system("t")
    ).deployed
    deploy_inbox("two_step.bpmn")
    requester = people["requester"]
    actor = Actor.for_user(requester)
    laptop = services.request_start(
        user=requester,
        process_key="expense_approval",
        data={"amount": 2500, "description": "Laptop <b>pro</b>"},
        actor=actor,
    )
    chair = services.request_start(
        user=requester,
        process_key="expense_approval",
        data={"amount": 1200, "description": "Chair"},
        actor=actor,
    )
    plain = services.request_start(
        user=people["manager"],
        process_key="purchase",
        data={"cost_owner": "x"},
        actor=Actor.for_user(people["manager"]),
    )
    # then each catalog start has its own reference
    assert (laptop.business_key, chair.business_key) == ("EXP-000001", "EXP-000002")
    assert plain.business_key == "PUR-000001"
    # and the manager's inbox row names the process, the requester and the summary (escaped)
    html = client_for(people["manager"]).get("/inbox/").content.decode()
    row = html.split(f'data-task="{open_task(laptop).pk}"', 1)[1].split("</tr>", 1)[0]
    assert (
        '<div class="small text-body-secondary fg-row-summary" data-testid="row-summary">'
        "2500 — Laptop &lt;b&gt;pro&lt;/b&gt;</div>"
    ) in row
    assert "<td>Expense approval <span" in row and "<td>requester</td>" in row
    assert "<td>EXP-000001</td>" in row
    # a model without a summary falls back to the reference
    approver_html = client_for(people["approver"]).get("/inbox/").content.decode()
    plain_row = approver_html.split(f'data-task="{open_task(plain).pk}"', 1)[1].split("</tr>")[0]
    assert 'data-testid="row-summary">PUR-000001</div>' in plain_row
    # a task without a four-eyes requester (no approval, or fourEyes="false") names the person
    # who started the request
    from apps.inbox.models import HumanTask

    HumanTask.objects.filter(pk=open_task(plain).pk).update(requested_by=None)
    approver_html = client_for(people["approver"]).get("/inbox/").content.decode()
    plain_row = approver_html.split(f'data-task="{open_task(plain).pk}"', 1)[1].split("</tr>")[0]
    assert "<td>boss</td>" in plain_row
    # the request page shows the reference, My requests and the inbox search find it
    client = client_for(requester)
    detail = client.get(f"/requests/{laptop.pk}/").content.decode()
    assert '<dd class="col-sm-8" data-testid="business-key">EXP-000001</dd>' in detail
    found = client.get("/requests/?q=exp-000002").content.decode()
    assert f'data-request="{chair.pk}"' in found and f'data-request="{laptop.pk}"' not in found
    # the API says the same, in the list and for one task
    api = APIClient()
    api.force_authenticate(people["manager"])
    listed = {r["id"]: r for r in api.get("/api/v1/tasks/").json()["results"]}
    one = api.get(f"/api/v1/tasks/{open_task(laptop).pk}/").json()
    for row in (listed[open_task(laptop).pk], one):
        assert (row["process_name"], row["requester"], row["summary"], row["business_key"]) == (
            "Expense approval",
            "requester",
            "2500 — Laptop <b>pro</b>",
            "EXP-000001",
        )
    searched = client_for(people["manager"]).get("/inbox/?q=EXP-000002").content.decode()
    assert f'data-task="{open_task(chair).pk}"' in searched
    assert f'data-task="{open_task(laptop).pk}"' not in searched


def test_out_of_office_times_are_read_and_shown_in_the_readers_time_zone(people):
    # given a manager whose browser is in Berlin (the fg_tz cookie app.js sets)
    from datetime import UTC, datetime

    client = client_for(people["manager"])
    client.cookies["fg_tz"] = "Europe/Berlin"
    # when they set a substitute from 08:00 to 18:00 local time
    response = client.post(
        "/inbox/settings/",
        {
            "form": "substitution",
            "substitute": "approver1",
            "starts_at": "2030-01-01T08:00",
            "ends_at": "2030-01-05T18:00",
        },
    )
    assert response.status_code == 302
    # then those are Berlin times (UTC+1 in January), shown back as entered, the zone stated
    saved = Substitution.objects.get()
    assert (saved.starts_at, saved.ends_at) == (
        datetime(2030, 1, 1, 7, 0, tzinfo=UTC),
        datetime(2030, 1, 5, 17, 0, tzinfo=UTC),
    )
    page = client.get("/inbox/settings/").content.decode()
    assert "Times are in your time zone, <strong>Europe/Berlin</strong>" in page
    assert 'datetime="2030-01-01T07:00:00+00:00" data-fg-when>2030-01-01 08:00</time>' in page
    # a browser that names no zone (or a bogus one) gets the site's zone, stated as such
    other = client_for(people["manager"])
    other.cookies["fg_tz"] = "Mars/Olympus_Mons"
    page = other.get("/inbox/settings/").content.decode()
    assert "Times are in your time zone, <strong>UTC</strong>" in page
    assert "data-fg-when>2030-01-01 07:00</time>" in page


def test_the_task_page_and_the_bulk_confirmation_name_the_process_as_the_rows_do(expense, people):
    # given an open approval of the "Expense approval" model (key expense_approval)
    instance, task = expense
    client = client_for(people["manager"])
    # then its page links the request by the model's name, as the inbox row does, not by the key
    html = client.get(f"/inbox/tasks/{task.pk}/").content.decode()
    assert f'<a href="/requests/{instance.pk}/">Expense approval #{instance.pk}</a>' in html
    assert f"expense_approval #{instance.pk}" not in html
    # and so does the bulk approval's confirmation step
    asked = client.post("/inbox/bulk-approve/", {"task": [task.pk]}).content.decode()
    assert f'<span class="text-body-secondary small">Expense approval #{instance.pk}</span>' in (
        asked
    )
    assert f"expense_approval #{instance.pk}" not in asked


def test_page_links_keep_the_search_and_the_filters_url_encoded(deploy_inbox, people):
    # given 26 running requests of the requester whose reference holds "&" and "#"
    deploy_inbox("expense.bpmn")
    for n in range(26):
        engine.instance_start(
            process_key="expense_approval",
            variables={"amount": 2500, "description": "Lab"},
            business_key=f"R&D #{n}",
            actor=_Actor.for_user(people["requester"]),
            started_by=people["requester"],
        )
    # then the inbox's page links carry the search as one encoded value (a raw "&" split it,
    # a raw "#" cut "page=2" off into the fragment)
    inbox = client_for(people["manager"]).get("/inbox/?q=R%26D+%23").content.decode()
    assert 'href="?view=all&amp;sort=newest&amp;q=R%26D+%23&amp;page=2"' in inbox
    # and My requests' page links keep its status filter and search (they kept neither)
    mine = client_for(people["requester"]).get("/requests/?status=running&q=R%26D").content
    assert 'href="?status=running&amp;q=R%26D&amp;page=2"' in mine.decode()
    second = client_for(people["requester"]).get("/requests/?status=running&q=R%26D&page=2")
    assert second.content.decode().count("data-request=") == 1


def test_page_links_of_the_instance_list_keep_its_filters(deploy_inbox, people):
    # given 26 running expense requests the manager may see
    deploy_inbox("expense.bpmn")
    for _ in range(26):
        start("expense_approval", people["requester"], amount=2500, description="Lab")
    # then page 2's link keeps the status and process filters (it dropped both)
    client = client_for(people["manager"])
    html = client.get("/inbox/instances/?status=running&process=expense_approval").content
    assert 'href="?status=running&amp;process=expense_approval&amp;page=2"' in html.decode()


def test_a_search_that_finds_nothing_says_so_and_not_that_tasks_will_come(deploy_inbox, people):
    client = client_for(people["approver"])
    html = client.get("/inbox/", {"q": "no such thing"}).content.decode()
    assert "No tasks match your search" in html and "New tasks for your roles" not in html
    html = client.get("/inbox/").content.decode()
    assert "No tasks here" in html and "No tasks match your search" not in html
