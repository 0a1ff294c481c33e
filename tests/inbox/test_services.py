"""Inbox services: claim, delegate (and its return), reassign, approve / reject, four-eyes,
N of M, bulk approve, comments, attachments, substitution, notifications, SLA escalation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.common.actors import Actor
from apps.common.errors import AccessDenied, Conflict, InvalidInput, NotFound
from apps.engine import services as engine_services
from apps.engine.models import InstanceStatus
from apps.inbox import services
from apps.inbox import tasks as inbox_tasks
from apps.inbox.models import HumanTask, InboxEvent, NotificationSettings, Substitution
from apps.inbox.selectors import approval_progress, history_of, inbox_list, request_state
from tests.inbox.conftest import open_task, start

pytestmark = pytest.mark.django_db(transaction=True)


def act(user):
    return Actor.for_user(user)


@pytest.fixture
def expense(deploy_inbox, people):
    deploy_inbox("expense.bpmn")
    instance = start("expense_approval", people["requester"], amount=2500, description="Laptop")
    return instance, open_task(instance, "manager_approval")


def test_a_new_approval_carries_the_models_rules(expense):
    instance, task = expense
    assert task.candidate_groups == ["manager"]
    assert task.is_approval is True
    assert task.comment_required_on_reject is True
    assert task.requested_by_id == instance.started_by_id
    assert task.sla_breach_at - task.created_at == pytest.approx(
        timedelta(days=1), abs=timedelta(seconds=5)
    )
    assert task.sla_warning_at - task.created_at == pytest.approx(
        timedelta(hours=20), abs=timedelta(seconds=5)
    )
    assert InboxEvent.objects.filter(task_id=task.pk, kind="created").count() == 1


def test_approving_continues_the_process_with_the_outcome(expense, people):
    instance, task = expense
    services.task_complete(
        task_id=task.pk,
        user=people["manager"],
        data={"approved": True},
        actor=act(people["manager"]),
    )
    task.refresh_from_db()
    instance.refresh_from_db()
    assert (task.status, task.outcome, task.completed_by_id) == (
        "completed",
        "approved",
        people["manager"].pk,
    )
    assert instance.variables["approved"] is True
    assert AuditEvent.objects.filter(action="task.approved", task_id=task.pk).count() == 1


def test_reject_needs_a_comment_when_the_model_says_so(expense, people):
    _, task = expense
    with pytest.raises(InvalidInput) as caught:
        services.task_complete(
            task_id=task.pk,
            user=people["manager"],
            data={"approved": False},
            actor=act(people["manager"]),
        )
    assert caught.value.details == [
        {"field": "comment", "message": "A comment is required to reject."}
    ]
    task.refresh_from_db()
    assert task.status == "open"
    services.task_complete(
        task_id=task.pk,
        user=people["manager"],
        data={"approved": False, "comment": "Over budget"},
        actor=act(people["manager"]),
    )
    task.refresh_from_db()
    assert (task.status, task.outcome) == ("completed", "rejected")
    assert task.comments.get().body == "Over budget"


def test_four_eyes_the_requester_cannot_approve_in_the_service_or_the_database(
    deploy_inbox, people
):
    deploy_inbox("expense.bpmn")
    boss = people["manager"]
    instance = start("expense_approval", boss, amount=5000, description="Own trip")
    task = open_task(instance)
    with pytest.raises(AccessDenied) as caught:
        services.task_complete(task_id=task.pk, user=boss, data={"approved": True}, actor=act(boss))
    assert caught.value.code == "four_eyes"
    task.refresh_from_db()
    assert task.status == "open"
    with pytest.raises(IntegrityError), transaction.atomic():
        HumanTask.objects.filter(pk=task.pk).update(completed_by=boss, status="completed")


def test_four_eyes_a_user_named_by_the_model_cannot_approve(deploy_inbox, people):
    deploy_inbox("two_step.bpmn")
    owner = people["approver"]
    instance = start("purchase", people["manager"], cost_owner=owner.username)
    task = open_task(instance, "first")
    assert task.four_eyes_user_id == owner.pk
    with pytest.raises(AccessDenied):
        services.task_complete(
            task_id=task.pk, user=owner, data={"approved": True}, actor=act(owner)
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        HumanTask.objects.filter(pk=task.pk).update(completed_by=owner, status="completed")
    services.task_complete(
        task_id=task.pk,
        user=people["approver2"],
        data={"approved": True},
        actor=act(people["approver2"]),
    )
    assert open_task(instance).activity_id == "second"


def test_a_second_completion_is_a_conflict_and_changes_nothing(expense, people):
    _, task = expense
    services.task_complete(
        task_id=task.pk,
        user=people["manager"],
        data={"approved": True},
        actor=act(people["manager"]),
    )
    other = people["approver"]
    other.groups.add(people["manager"].groups.get(name="manager"))
    before = AuditEvent.objects.count()
    with pytest.raises(Conflict):
        services.task_complete(
            task_id=task.pk, user=other, data={"approved": False, "comment": "no"}, actor=act(other)
        )
    task.refresh_from_db()
    assert (task.outcome, task.completed_by_id) == ("approved", people["manager"].pk)
    assert AuditEvent.objects.count() == before


def test_claim_then_someone_else_cannot_complete(expense, people, make_user):
    _, task = expense
    other = make_user("manager", username="boss2")
    services.task_claim(task_id=task.pk, user=people["manager"], actor=act(people["manager"]))
    with pytest.raises(Conflict) as caught:
        services.task_claim(task_id=task.pk, user=other, actor=act(other))
    assert caught.value.message == f"Task {task.pk} is already claimed by boss."
    with pytest.raises(Conflict):
        services.task_complete(
            task_id=task.pk, user=other, data={"approved": True}, actor=act(other)
        )


def test_delegate_returns_to_the_delegator_after_the_delegate_resolves(expense, people, make_user):
    _, task = expense
    boss = people["manager"]
    helper = make_user("manager", username="helper")
    services.task_claim(task_id=task.pk, user=boss, actor=act(boss))
    services.task_delegate(task_id=task.pk, user=boss, to_username="helper", actor=act(boss))
    task.refresh_from_db()
    assert (task.assignee_id, task.owner_id, task.delegation) == (helper.pk, boss.pk, "pending")
    services.task_complete(
        task_id=task.pk,
        user=helper,
        data={"approved": True, "comment": "looks fine"},
        actor=act(helper),
    )
    task.refresh_from_db()
    assert (task.status, task.assignee_id, task.delegation) == ("open", boss.pk, "resolved")
    resolved = AuditEvent.objects.get(action="task.resolved", task_id=task.pk)
    assert resolved.data == {"delegate": "helper", "owner": "boss"}
    delegated = AuditEvent.objects.get(action="task.delegated", task_id=task.pk)
    assert (delegated.actor_label, delegated.data) == ("boss", {"from": "boss", "to": "helper"})
    services.task_complete(task_id=task.pk, user=boss, data={"approved": True}, actor=act(boss))
    task.refresh_from_db()
    assert (task.status, task.completed_by_id) == ("completed", boss.pk)


def test_reassign_needs_a_manager_and_records_both_principals(deploy_inbox, people, make_user):
    deploy_inbox("two_step.bpmn")
    instance = start("purchase", make_user("manager", username="buyer"), cost_owner="nobody")
    task = open_task(instance, "first")
    with pytest.raises(AccessDenied):
        services.task_reassign(
            task_id=task.pk,
            user=people["approver"],
            to_username="approver2",
            actor=act(people["approver"]),
        )
    boss = people["manager"]
    services.task_reassign(task_id=task.pk, user=boss, to_username="approver2", actor=act(boss))
    task.refresh_from_db()
    assert task.assignee_id == people["approver2"].pk
    event = AuditEvent.objects.get(action="task.reassigned", task_id=task.pk)
    assert (event.actor_label, event.data) == (
        "boss",
        {"from": None, "to": "approver2", "by": "boss"},
    )


def test_delegating_an_approval_to_the_requester_is_refused(expense, people):
    _, task = expense
    with pytest.raises(InvalidInput) as caught:
        services.task_delegate(
            task_id=task.pk,
            user=people["manager"],
            to_username="requester",
            actor=act(people["manager"]),
        )
    assert caught.value.code == "four_eyes"


def test_n_of_m_completes_after_two_approvals_and_cancels_the_rest(deploy_inbox, people, make_user):
    deploy_inbox("n_of_m.bpmn")
    voters = [make_user("approver", username=f"voter{i}") for i in range(3)]
    instance = start("board_vote", people["requester"], voters=[v.username for v in voters])
    tasks = list(HumanTask.objects.filter(instance=instance, status="open").order_by("id"))
    assert len(tasks) == 3 and {t.approvals_needed for t in tasks} == {2}
    services.task_complete(
        task_id=tasks[0].pk, user=voters[0], data={"approved": True}, actor=act(voters[0])
    )
    assert approval_progress([tasks[1]]) == {(instance.pk, "vote"): 1}
    services.task_complete(
        task_id=tasks[1].pk, user=voters[1], data={"approved": True}, actor=act(voters[1])
    )
    instance.refresh_from_db()
    tasks[2].refresh_from_db()
    assert instance.status == InstanceStatus.COMPLETED
    assert tasks[2].status == "cancelled"


def test_bulk_approve_checks_each_task(deploy_inbox, people):
    deploy_inbox("expense.bpmn")
    boss = people["manager"]
    mine = start("expense_approval", boss, amount=3000, description="mine")
    theirs = [
        start("expense_approval", people["requester"], amount=3000 + i, description="x")
        for i in range(2)
    ]
    ids = [open_task(i).pk for i in (*theirs, mine)]
    results = services.tasks_bulk_approve(task_ids=[*ids, 999999], user=boss, actor=act(boss))
    assert [(r.task_id, r.ok) for r in results] == [
        (ids[0], True),
        (ids[1], True),
        (ids[2], False),
        (999999, False),
    ]
    assert results[2].message.startswith("Four-eyes rule")
    assert HumanTask.objects.filter(pk__in=ids, status="completed").count() == 2


def test_comments_and_attachments(expense, people, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    instance, task = expense
    boss = people["manager"]
    comment = services.comment_add(
        instance=instance, task=task, user=boss, body=" Why so much? ", actor=act(boss)
    )
    assert comment.body == "Why so much?"
    with pytest.raises(InvalidInput):
        services.comment_add(instance=instance, user=boss, body="  ", actor=act(boss))
    pdf = SimpleUploadedFile("receipt.pdf", b"%PDF-1.4 test", content_type="application/pdf")
    attachment = services.attachment_add(
        instance=instance, task=task, user=boss, upload=pdf, actor=act(boss)
    )
    assert (attachment.name, attachment.size, attachment.content_type) == (
        "receipt.pdf",
        13,
        "application/pdf",
    )
    assert attachment.file.read() == b"%PDF-1.4 test"
    exe = SimpleUploadedFile("run.exe", b"MZ", content_type="application/octet-stream")
    with pytest.raises(InvalidInput) as caught:
        services.attachment_add(instance=instance, user=boss, upload=exe, actor=act(boss))
    assert caught.value.code == "file_type"
    settings.FLOWGATE_ATTACHMENT_MAX_BYTES = 5
    with pytest.raises(InvalidInput) as caught:
        services.attachment_add(instance=instance, user=boss, upload=pdf, actor=act(boss))
    assert caught.value.code == "file_too_large"
    assert AuditEvent.objects.filter(action="request.attachment_added").count() == 1


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"


@pytest.mark.parametrize(
    ("name", "content", "content_type", "problem"),
    [
        ("receipt.pdf", PNG, "application/pdf", "it looks like image/png"),
        ("scan.png", b"just some words", "image/png", "its content has no such signature"),
        ("notes.txt", b"%PDF-1.7\n1 0 obj", "text/plain", "it looks like application/pdf"),
        ("data.csv", b"a,b\x00\x01\x02", "text/csv", "it is binary, not text"),
        ("photo.jpg", b"MZ\x90\x00" + b"\x00" * 60, "image/jpeg", "application/x-msdownload"),
    ],
)
def test_a_mislabelled_file_is_refused_by_its_content(
    expense, people, settings, tmp_path, name, content, content_type, problem
):
    settings.MEDIA_ROOT = str(tmp_path)
    instance, _ = expense
    boss = people["manager"]
    upload = SimpleUploadedFile(name, content, content_type=content_type)
    with pytest.raises(InvalidInput) as caught:
        services.attachment_add(instance=instance, user=boss, upload=upload, actor=act(boss))
    assert caught.value.code == "file_content"
    assert problem in caught.value.message
    assert caught.value.details == [
        {"field": "file", "message": "Content does not match the file type."}
    ]
    assert not AuditEvent.objects.filter(action="request.attachment_added").exists()


def test_files_whose_content_matches_their_type_are_stored(expense, people, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    instance, _ = expense
    boss = people["manager"]
    for name, content, content_type in [
        ("pixel.png", PNG, "image/png"),
        ("costs.csv", "item;price\nCafé;3,50\n".encode(), "text/csv"),
        ("note.txt", b"", "text/plain"),
    ]:
        upload = SimpleUploadedFile(name, content, content_type=content_type)
        stored = services.attachment_add(
            instance=instance, user=boss, upload=upload, actor=act(boss)
        )
        assert stored.file.read() == content  # read from the start after sniffing


def test_out_of_office_routes_new_tasks_to_the_substitute(deploy_inbox, people, make_user):
    deploy_inbox("expense.bpmn")
    boss = people["manager"]
    stand_in = make_user("manager", username="standin")
    now = timezone.now()
    services.substitution_set(
        user=boss,
        substitute_username="standin",
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=1),
        actor=act(boss),
    )
    instance = start("expense_approval", people["requester"], amount=2500, description="Desk")
    task = open_task(instance)
    assert task.on_behalf_of_id == boss.pk
    assert list(inbox_list(user=stand_in)) == [task]
    services.task_complete(
        task_id=task.pk, user=stand_in, data={"approved": True}, actor=act(stand_in)
    )
    event = AuditEvent.objects.get(action="task.approved", task_id=task.pk)
    assert (event.actor_label, event.on_behalf_of) == ("standin", "boss")


def test_assignment_mail_has_a_direct_link_and_respects_the_opt_out(expense, people, make_user):
    _, task = expense
    boss = people["manager"]
    helper = make_user("manager", username="helper", email="helper@example.test")
    mail.outbox.clear()
    services.task_delegate(task_id=task.pk, user=boss, to_username="helper", actor=act(boss))
    assert [m.to for m in mail.outbox] == [["helper@example.test"]]
    assert f"/inbox/tasks/{task.pk}/" in mail.outbox[0].body
    NotificationSettings.objects.create(user=boss, email_on_assignment=False)
    mail.outbox.clear()
    services.task_complete(task_id=task.pk, user=helper, data={"approved": True}, actor=act(helper))
    assert mail.outbox == []  # resolved back to boss, who opted out


def test_sla_escalation_runs_once_per_task(deploy_inbox, people):
    deploy_inbox("two_step.bpmn")
    instance = start("purchase", people["manager"], cost_owner="nobody")
    task = open_task(instance, "first")
    mail.outbox.clear()
    later = timezone.now() + timedelta(hours=2)
    assert services.tasks_escalate_due(now=later) == 1
    assert services.tasks_escalate_due(now=later) == 0
    task.refresh_from_db()
    assert task.candidate_groups == ["manager"] and task.escalated_at == later
    events = AuditEvent.objects.filter(action="task.escalated", task_id=task.pk)
    assert [(e.actor_label, e.data["action"], e.data["role"]) for e in events] == [
        ("scheduler", "reassign", "manager")
    ]
    assert [m.to for m in mail.outbox] == [[people["manager"].email]]


def test_at_risk_is_audited_and_notified_once_even_when_the_sweep_runs_twice(expense, people):
    _, task = expense  # slaWarning PT20H, slaBreach P1D, offered to the managers
    boss = people["manager"]
    mail.outbox.clear()
    assert services.tasks_warn_at_risk(now=task.sla_warning_at - timedelta(minutes=1)) == 0

    at = task.sla_warning_at + timedelta(minutes=5)
    assert services.tasks_warn_at_risk(now=at) == 1
    assert services.tasks_warn_at_risk(now=at + timedelta(minutes=1)) == 0  # the second sweep

    task.refresh_from_db()
    assert task.at_risk_notified_at == at and task.escalated_at is None
    events = AuditEvent.objects.filter(action="task.at_risk", task_id=task.pk)
    assert [(e.actor_label, e.data["notified"]) for e in events] == [("scheduler", 1)]
    assert [m.to for m in mail.outbox] == [[boss.email]]
    assert mail.outbox[0].subject == "[Flowgate] At risk: Approve expense"
    assert f"/inbox/tasks/{task.pk}/" in mail.outbox[0].body
    # the breach later still escalates, once
    assert services.tasks_escalate_due(now=task.sla_breach_at + timedelta(minutes=1)) == 1


def test_at_risk_mail_goes_to_the_assignee_and_respects_the_opt_out(expense, people):
    _, task = expense
    boss = people["manager"]
    services.task_claim(task_id=task.pk, user=boss, actor=act(boss))
    NotificationSettings.objects.create(user=boss, email_on_escalation=False)
    mail.outbox.clear()
    assert services.tasks_warn_at_risk(now=task.sla_warning_at + timedelta(minutes=1)) == 1
    assert mail.outbox == []
    event = AuditEvent.objects.get(action="task.at_risk", task_id=task.pk)
    assert event.data["notified"] == 0


def test_a_task_already_past_its_breach_is_left_to_the_escalation(expense):
    _, task = expense
    assert services.tasks_warn_at_risk(now=task.sla_breach_at + timedelta(minutes=1)) == 0
    assert not AuditEvent.objects.filter(action="task.at_risk").exists()


def test_the_scheduler_runs_the_at_risk_sweep():
    assert settings.CELERY_BEAT_SCHEDULE["inbox-warn-at-risk"]["task"] == "inbox.warn_at_risk"
    assert inbox_tasks.warn_at_risk.name == "inbox.warn_at_risk"


def test_a_boundary_timer_takes_the_escalation_path_once(deploy_inbox, people):
    deploy_inbox("boundary_timer.bpmn")
    instance = start("timed_review", people["requester"])
    review = open_task(instance, "review")
    assert engine_services.timers_fire_due() == 0  # not due yet

    later = timezone.now() + timedelta(hours=2)
    assert engine_services.timers_fire_due(now=later) == 1
    assert engine_services.timers_fire_due(now=later) == 0  # the timer fires once
    assert services.tasks_escalate_due(now=later) == 0  # and the SLA sweep has nothing to add

    review.refresh_from_db()
    assert review.status == "cancelled" and review.escalated_at is not None
    assert list(inbox_list(user=people["approver"])) == []  # gone from the approvers' inbox
    escalated = open_task(instance, "escalated_review")
    assert escalated.candidate_groups == ["manager"]
    assert list(inbox_list(user=people["manager"])) == [escalated]
    events = AuditEvent.objects.filter(action="task.escalated", instance_id=instance.pk)
    assert [(e.task_id, e.actor_label, e.data) for e in events] == [
        (
            review.pk,
            "scheduler",
            {"action": "boundary_timer", "activity_id": "review", "timers": ["too_slow"]},
        )
    ]


def test_a_task_completed_in_time_is_not_escalated_by_its_boundary_timer(deploy_inbox, people):
    deploy_inbox("boundary_timer.bpmn")
    instance = start("timed_review", people["requester"])
    review = open_task(instance, "review")
    approver = people["approver"]
    services.task_complete(
        task_id=review.pk, user=approver, data={"approved": True}, actor=act(approver)
    )
    assert engine_services.timers_fire_due(now=timezone.now() + timedelta(hours=2)) == 0
    assert not AuditEvent.objects.filter(action="task.escalated").exists()
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.COMPLETED


def test_substitution_rules(people):
    boss = people["manager"]
    now = timezone.now()
    with pytest.raises(InvalidInput):
        services.substitution_set(
            user=boss,
            substitute_username="boss",
            starts_at=now,
            ends_at=now + timedelta(days=1),
            actor=act(boss),
        )
    with pytest.raises(InvalidInput):
        services.substitution_set(
            user=boss, substitute_username="approver1", starts_at=now, ends_at=now, actor=act(boss)
        )
    sub = services.substitution_set(
        user=boss,
        substitute_username="approver1",
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=1),
        actor=act(boss),
    )
    services.substitution_end(substitution_id=sub.pk, user=boss, actor=act(boss))
    assert Substitution.objects.get().ends_at <= timezone.now()
    with pytest.raises(NotFound):
        services.substitution_end(
            substitution_id=sub.pk, user=people["approver"], actor=act(people["approver"])
        )


def test_old_live_feed_rows_are_pruned(expense):
    _, task = expense
    InboxEvent.objects.filter(task_id=task.pk).update(created_at=timezone.now() - timedelta(days=2))
    fresh = InboxEvent.objects.create(
        task_id=task.pk, instance_id=task.instance_id, kind="x", status="open"
    )
    assert services.inbox_events_prune() == 1
    assert list(InboxEvent.objects.values_list("pk", flat=True)) == [fresh.pk]


def test_a_requests_history_starts_with_its_start(expense):
    """The history lists the instance's start before the task it opened (the inbox records a
    task as it is made; the start event used to be written after it)."""
    instance, task = expense
    actions = [e.action for e in history_of(instance_id=instance.pk)]
    assert actions.index("instance.started") < actions.index("task.created"), actions


def test_a_requests_diagram_marks_the_steps_of_its_first_run_done(expense):
    """The start event and the gateway before the first task are done from the start (the
    first run's steps were not recorded, so the diagram never marked them)."""
    instance, _ = expense
    done = request_state(instance=instance).done_activities
    assert "submit" in done and "amount_check" in done, done
    assert "approved_check" not in done
