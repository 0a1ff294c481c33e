"""“More information needed”: a task sent back to the requester pauses its SLA clock; the answer
brings it back to the approver with its deadlines moved by the pause (services, pages and API)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from apps.audit.models import AuditEvent
from apps.calendars.services import calendar_save
from apps.common.actors import Actor
from apps.common.errors import AccessDenied, Conflict, InvalidInput, NotFound
from apps.engine import services as engine_services
from apps.engine.models import Timer
from apps.inbox import services
from apps.inbox.model_rules import _rules_for_xml
from apps.inbox.models import HumanTask, TaskAttachment, TaskComment
from apps.inbox.selectors import inbox_list, request_state
from apps.inbox.sla_times import sla_deadlines_resumed
from apps.reports.facts import task_facts_sync
from apps.reports.models import TaskFact
from tests.inbox.conftest import open_task, start

pytestmark = pytest.mark.django_db(transaction=True)
BERLIN = ZoneInfo("Europe/Berlin")


def act(user):
    return Actor.for_user(user)


@pytest.fixture
def expense(deploy_inbox, people):
    deploy_inbox("expense.bpmn")  # slaWarning PT20H, slaBreach P1D, offered to the managers
    instance = start("expense_approval", people["requester"], amount=2500, description="Laptop")
    return instance, open_task(instance, "manager_approval")


def ask(task, user, question="Which cost centre?"):
    return services.task_info_request(
        task_id=task.pk, user=user, question=question, actor=act(user)
    )


def answer(task, user, text="CC-42", upload=None):
    return services.task_info_provide(
        task_id=task.pk, user=user, answer=text, upload=upload, actor=act(user)
    )


def test_the_round_trip_pauses_the_clock_and_moves_the_deadlines_by_the_pause(expense, people):
    instance, task = expense
    boss, requester = people["manager"], people["requester"]
    warning, breach = task.sla_warning_at, task.sla_breach_at
    mail.outbox.clear()

    ask(task, boss)
    task.refresh_from_db()
    assert (task.status, task.assignee_id, task.info_question) == (
        "waiting",
        boss.pk,
        "Which cost centre?",
    )
    assert [m.to for m in mail.outbox] == [[requester.email]]
    assert "Which cost centre?" in mail.outbox[0].body
    # out of every approver's inbox; the requester's page shows the question
    assert task.pk not in [t.pk for t in inbox_list(user=boss, view="all")]
    # ...but in the asker's "waiting on the requester" view
    assert [t.pk for t in inbox_list(user=boss, view="waiting")] == [task.pk]
    assert list(inbox_list(user=people["approver"], view="waiting")) == []
    step = request_state(instance=instance, user=requester).current_steps[0]
    assert (step["waiting_on_requester"], step["question"], step["task_id"]) == (
        True,
        "Which cost centre?",
        task.pk,
    )
    # the sweeps leave a waiting task alone, even long past its deadlines
    later = breach + timedelta(days=3)
    assert services.tasks_warn_at_risk(now=later) == 0
    assert services.tasks_escalate_due(now=later) == 0

    # three hours pass (the pause started earlier: set it back)
    paused_at = timezone.now() - timedelta(hours=3)
    HumanTask.objects.filter(pk=task.pk).update(paused_at=paused_at)
    mail.outbox.clear()
    answer(task, requester)
    task.refresh_from_db()
    assert task.status == "open" and task.paused_at is None and task.info_question == ""
    pause = task.sla_breach_at - breach
    assert pause == task.sla_warning_at - warning == task.due_at - breach
    assert timedelta(hours=3) <= pause < timedelta(hours=3, seconds=30)
    assert task.paused_seconds == pytest.approx(pause.total_seconds(), abs=0.01)
    assert task.pk in [t.pk for t in inbox_list(user=boss, view="mine")]
    assert list(inbox_list(user=boss, view="waiting")) == []
    assert [m.to for m in mail.outbox] == [[boss.email]]

    events = {e.action: e for e in AuditEvent.objects.filter(task_id=task.pk)}
    asked = events["task.info_requested"]
    assert (asked.actor_label, asked.data["question"], asked.data["requester"]) == (
        boss.username,
        "Which cost centre?",
        requester.username,
    )
    answered = events["task.info_provided"]
    assert (answered.actor_label, answered.data["answer"]) == (requester.username, "CC-42")
    assert answered.after["sla_breach_at"] == task.sla_breach_at.isoformat()
    assert list(TaskComment.objects.filter(task=task).values_list("author__username", "body")) == [
        (boss.username, "More information needed: Which cost centre?"),
        ("requester", "CC-42"),
    ]


def test_reports_measure_the_pause_out(expense, people):
    instance, task = expense
    boss = people["manager"]
    ask(task, boss)
    now = timezone.now()  # created six hours ago, claimed and asked one hour later
    HumanTask.objects.filter(pk=task.pk).update(
        created_at=now - timedelta(hours=6),
        claimed_at=now - timedelta(hours=5, minutes=1),
        paused_at=now - timedelta(hours=5),
        due_at=now + timedelta(hours=18),
        sla_breach_at=now + timedelta(hours=18),
    )
    answer(task, people["requester"])
    services.task_complete(task_id=task.pk, user=boss, data={"approved": True}, actor=act(boss))
    task_facts_sync()
    task.refresh_from_db()
    fact = TaskFact.objects.get(task_id=task.pk)
    wall = (task.completed_at - task.created_at).total_seconds()
    assert task.paused_seconds == pytest.approx(5 * 3600, abs=30)
    assert fact.duration == pytest.approx(wall - task.paused_seconds, abs=0.01)
    assert fact.duration == pytest.approx(3600, abs=30)
    assert fact.working == pytest.approx(60, abs=30)
    # the due offset without the pause: one day (P1D) from creation again
    assert fact.due_s == pytest.approx(24 * 3600, abs=30)


def test_only_a_candidate_or_the_assignee_may_ask(expense, people, make_user):
    instance, task = expense
    # the requester (four-eyes keeps them from deciding) and outsiders may not ask
    with pytest.raises((AccessDenied, NotFound, Conflict)):
        ask(task, people["requester"])
    with pytest.raises(NotFound):
        ask(task, people["outsider"])
    other_manager = make_user("manager", username="boss2")
    services.task_claim(task_id=task.pk, user=other_manager, actor=act(other_manager))
    with pytest.raises(Conflict) as claimed:
        ask(task, people["manager"])
    assert claimed.value.code == "task_claimed"
    with pytest.raises(InvalidInput) as empty:
        ask(task, other_manager, question="   ")
    assert empty.value.code == "empty_question"
    task.refresh_from_db()
    assert task.status == "open"
    assert not AuditEvent.objects.filter(action="task.info_requested").exists()


def test_only_the_requester_may_answer_and_twice_is_a_conflict(expense, people):
    instance, task = expense
    boss = people["manager"]
    with pytest.raises(Conflict) as not_waiting:
        answer(task, people["requester"])
    assert not_waiting.value.code == "task_not_waiting"
    ask(task, boss)
    with pytest.raises(Conflict) as twice:  # a double click on "Send to the requester"
        ask(task, boss)
    assert twice.value.code == "task_not_open"
    for stranger in (boss, people["approver"], people["outsider"]):
        with pytest.raises(NotFound):
            answer(task, stranger)
    answer(task, people["requester"])
    with pytest.raises(Conflict) as again:  # a double click on "Send answer"
        answer(task, people["requester"])
    assert again.value.code == "task_not_waiting"
    assert AuditEvent.objects.filter(action="task.info_requested").count() == 1
    assert AuditEvent.objects.filter(action="task.info_provided").count() == 1


def test_a_refused_file_refuses_the_answer(expense, people, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    instance, task = expense
    ask(task, people["manager"])
    bad = SimpleUploadedFile("x.exe", b"MZ...", content_type="application/octet-stream")
    with pytest.raises(InvalidInput):
        answer(task, people["requester"], upload=bad)
    task.refresh_from_db()
    assert task.status == "waiting"
    good = SimpleUploadedFile("receipt.txt", b"cost centre 42", content_type="text/plain")
    answer(task, people["requester"], upload=good)
    assert TaskAttachment.objects.get(task=task).name == "receipt.txt"


def test_cancelling_a_request_cancels_its_waiting_task(expense, people):
    instance, task = expense
    ask(task, people["manager"])
    engine_services.instance_cancel(
        instance_id=instance.pk, actor=act(people["requester"]), reason="withdrawn"
    )
    task.refresh_from_db()
    assert task.status == "cancelled"


def test_business_time_deadlines_move_by_the_paused_working_time(db):
    xml = (Path(__file__).parents[1] / "calendars" / "business.bpmn").read_text()
    rules = _rules_for_xml("business-test", xml, "business_sla")
    calendar_save(
        slug="berlin",
        values={
            "name": "Berlin",
            "time_zone": "Europe/Berlin",
            **{d: "09:00-17:00" for d in ("mon", "tue", "wed", "thu", "fri")},
            "is_default": False,
        },
        actor=Actor.system("test"),
        create=True,
    )
    # created Friday 2026-12-04 12:00: warning 16:00, breach Monday 12:00; asked Friday 15:00,
    # answered Monday 10:00: two working hours paused on Friday, one on Monday
    warning = datetime(2026, 12, 4, 16, tzinfo=BERLIN)
    breach = datetime(2026, 12, 7, 12, tzinfo=BERLIN)
    new_warning, new_breach, new_due = sla_deadlines_resumed(
        rules,
        rules.task("review"),
        warning_at=warning,
        breach_at=breach,
        due_at=breach,
        paused_at=datetime(2026, 12, 4, 15, tzinfo=BERLIN),
        now=datetime(2026, 12, 7, 10, tzinfo=BERLIN),
    )
    assert new_warning == datetime(2026, 12, 7, 11, tzinfo=BERLIN)
    assert new_breach == new_due == datetime(2026, 12, 7, 15, tzinfo=BERLIN)


# --- the API (the same services) -------------------------------------------------------------


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_api_round_trip_with_a_file(expense, people, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    instance, task = expense
    boss = client_for(people["manager"])
    requester = client_for(people["requester"])

    response = boss.post(
        f"/api/v1/tasks/{task.pk}/request-info/", {"question": "Receipt?"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["info_question"]) == ("waiting", "Receipt?")
    again = boss.post(
        f"/api/v1/tasks/{task.pk}/request-info/", {"question": "Receipt?"}, format="json"
    )
    assert (again.status_code, again.json()["error"]) == (409, "task_not_open")

    detail = requester.get(f"/api/v1/requests/{instance.pk}/").json()
    assert detail["current_steps"][0]["waiting_on_requester"] is True
    assert detail["current_steps"][0]["question"] == "Receipt?"

    # someone else's answer: 404, nothing changes
    other = boss.post(f"/api/v1/tasks/{task.pk}/provide-info/", {"answer": "x"}, format="json")
    assert other.status_code == 404
    empty = requester.post(f"/api/v1/tasks/{task.pk}/provide-info/", {"answer": ""}, format="json")
    assert (empty.status_code, empty.json()["error"]) == (400, "empty_answer")
    upload = SimpleUploadedFile("receipt.txt", b"paid 2500", content_type="text/plain")
    response = requester.post(
        f"/api/v1/tasks/{task.pk}/provide-info/",
        {"answer": "Attached", "file": upload},
        format="multipart",
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "open"
    assert TaskAttachment.objects.get(task=task).uploaded_by_id == people["requester"].pk
    twice = requester.post(
        f"/api/v1/tasks/{task.pk}/provide-info/", {"answer": "again"}, format="json"
    )
    assert (twice.status_code, twice.json()["error"]) == (409, "task_not_waiting")


def test_api_anonymous_and_unprivileged_change_nothing(expense, people):
    instance, task = expense
    anonymous = APIClient()
    assert anonymous.post(
        f"/api/v1/tasks/{task.pk}/request-info/", {"question": "?"}, format="json"
    ).status_code in (401, 403)
    outsider = client_for(people["outsider"])
    response = outsider.post(
        f"/api/v1/tasks/{task.pk}/request-info/", {"question": "?"}, format="json"
    )
    assert response.status_code == 404
    task.refresh_from_db()
    assert task.status == "open"


# --- the pages -------------------------------------------------------------------------------


def test_pages_round_trip(expense, people, client):
    instance, task = expense
    client.force_login(people["manager"])
    page = client.get(f"/inbox/tasks/{task.pk}/")
    assert b"More information needed" in page.content
    response = client.post(f"/inbox/tasks/{task.pk}/request-info/", {"question": "Which CC?"})
    assert response.status_code == 302
    page = client.get(f"/inbox/tasks/{task.pk}/")
    assert b'data-testid="waiting-on-requester"' in page.content

    client.force_login(people["requester"])
    mine = client.get("/requests/")
    assert b"needs your answer" in mine.content
    detail = client.get(f"/requests/{instance.pk}/")
    assert b"Which CC?" in detail.content
    response = client.post(f"/requests/{instance.pk}/tasks/{task.pk}/answer/", {"answer": "42"})
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.status == "open"
    # another user's answer is a 404 page
    client.force_login(people["approver"])
    response = client.post(f"/requests/{instance.pk}/tasks/{task.pk}/answer/", {"answer": "x"})
    assert response.status_code == 404


def test_the_models_escalation_timer_stands_still_while_the_task_waits(deploy_inbox, people):
    deploy_inbox("boundary_timer.bpmn")
    instance = start("timed_review", people["requester"])
    task = open_task(instance, "review")
    timer = Timer.objects.get(instance=instance, activity_id="too_slow")
    due = timer.due_at

    ask(task, people["approver"])
    timer.refresh_from_db()
    assert timer.due_at.year == 9999  # waits for a moment that never comes
    # long past its due time, the scheduler fires nothing: the task is still waiting
    assert engine_services.timers_fire_due(now=due + timedelta(days=30)) == 0
    task.refresh_from_db()
    assert task.status == "waiting"

    HumanTask.objects.filter(pk=task.pk).update(paused_at=timezone.now() - timedelta(hours=1))
    answer(task, people["requester"])
    timer.refresh_from_db()
    assert timedelta(hours=1) <= timer.due_at - due < timedelta(hours=1, seconds=30)
    provided = AuditEvent.objects.get(action="task.info_provided", task_id=task.pk)
    assert provided.data["timers_resumed"] == ["too_slow"]
    # and at its new due time it escalates as the model says
    engine_services.timers_fire_due(now=timer.due_at + timedelta(seconds=1))
    task.refresh_from_db()
    assert task.status == "cancelled"
    assert open_task(instance, "escalated_review").name == "Escalated review"
