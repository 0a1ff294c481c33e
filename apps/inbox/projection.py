"""Keeps HumanTask rows in step with the engine's waiting user tasks. Called by the engine inside
the instance lock (through the handler the inbox registers at start-up); never on its own.

Besides the engine's facts (candidates, due date, form) a new task gets what the model says to
people (apps.inbox.model_rules: SLA times, reject-comment rule, four-eyes, N of M) and is routed
to out-of-office substitutes.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from django.db.models import Q
from django.utils.dateparse import parse_datetime

from apps.accounts import permissions
from apps.accounts.models import User
from apps.accounts.roles import PERM_VIEW_INSTANCE, PERM_VIEW_TASK, PERM_WORK_TASK
from apps.audit.actions import AuditAction
from apps.audit.services import record
from apps.common.actors import Actor
from apps.engine.services import SCHEDULER_ACTOR
from apps.inbox import notifications
from apps.inbox.eligibility import Eligibility
from apps.inbox.live import publish_task_changed
from apps.inbox.model_rules import ProcessRules, rules_for_version
from apps.inbox.models import LIVE_TASK_STATUSES, HumanTask, Substitution, TaskStatus
from apps.inbox.sla_times import sla_deadlines
from apps.processes.models import ProcessVersion


def _parse_due(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return parse_datetime(value)
    except ValueError:
        return None


def rules_for_version_id(version_id: int) -> ProcessRules:
    """The rules of a version, parsed once per (id, checksum): an id can come back after a
    rolled-back transaction (SQLite) with other XML, so the id alone is not a cache key. Costs
    one indexed one-column query; the XML is read only on a miss."""
    checksum = (
        ProcessVersion.objects.filter(pk=version_id).values_list("checksum", flat=True).first()
    )
    return ProcessRules() if checksum is None else _rules_cached(version_id, checksum)


@lru_cache(maxsize=512)
def _rules_cached(version_id: int, checksum: str) -> ProcessRules:
    version = (
        ProcessVersion.objects.select_related("definition")
        .only("xml", "checksum", "definition__key")
        .get(pk=version_id)
    )
    return rules_for_version(version)


def substitutions_active(*, usernames, roles, now: datetime) -> list[Substitution]:
    """Substitutions in force now for anyone named in ``usernames`` or holding one of ``roles``."""
    if not usernames and not roles:
        return []
    absent = Q(user__username__in=list(usernames)) | Q(user__groups__name__in=list(roles))
    return list(
        Substitution.objects.filter(
            absent, starts_at__lte=now, ends_at__gt=now, user__is_active=True
        )
        .select_related("user", "substitute")
        .distinct()
        .order_by("starts_at", "id")
    )


def human_tasks_sync(*, instance, user_tasks, now: datetime, actor: Actor) -> list[HumanTask]:
    """Create tasks the engine now waits on; cancel open ones it no longer waits on.

    A designer's test run gets no tasks: its user tasks are completed from the test panel
    (apps.designer.testrun), so no inbox shows them and nobody is notified.

    Requires: the caller holds the instance row lock.
    """
    if instance.is_test_run:
        return []
    waiting = {info.task_id: info for info in user_tasks}
    # One query: the open rows, and any row (open or not) of a task the engine waits on.
    rows = list(
        HumanTask.objects.filter(instance=instance).filter(
            Q(status__in=LIVE_TASK_STATUSES) | Q(task_id__in=list(waiting))
        )
    )
    open_tasks = {t.task_id: t for t in rows if t.status in LIVE_TASK_STATUSES}
    known = {t.task_id for t in rows}
    gone = [t for task_id, t in open_tasks.items() if task_id not in waiting]
    timed_out = _boundary_timer_fired(instance, gone, actor)
    for task in gone:
        task.transition_to(TaskStatus.CANCELLED)
        task.completed_at = now
        fields = ["status", "completed_at"]
        timers = timed_out.get(task.pk)
        if timers and task.escalated_at is None:
            task.escalated_at = now
            fields.append("escalated_at")
        task.save(update_fields=fields)
        publish_task_changed(task, "cancelled")
        if timers:
            # the model's escalation path: its interrupting boundary timer took the task away
            record(
                AuditAction.TASK_ESCALATED,
                instance=instance,
                actor=actor,
                task_id=task.pk,
                data={
                    "action": "boundary_timer",
                    "activity_id": task.activity_id,
                    "timers": list(timers),
                },
            )
    new = [info for task_id, info in waiting.items() if task_id not in known]
    if not new:
        return []
    checksum = getattr(instance, "version_checksum", None)  # read with the instance lock
    rules = (
        _rules_cached(instance.version_id, checksum)
        if checksum
        else rules_for_version_id(instance.version_id)
    )
    # A task re-created under the same engine task id (its instance moved to another version:
    # the old row was set aside as ``<task id>~<row id>`` and is cancelled above) keeps its claim
    # when the person is still eligible for the new version's task.
    claims = {
        t.task_id.partition("~")[0]: t
        for t in gone
        if "~" in t.task_id and t.assignee_id is not None
    }
    created = []
    for info in new:
        created.append(
            _create(
                instance, info, rules=rules, now=now, actor=actor, previous=claims.get(info.task_id)
            )
        )
    return created


def _boundary_timer_fired(instance, gone: list[HumanTask], actor: Actor) -> dict[int, tuple]:
    """The tasks among ``gone`` that an interrupting boundary timer took away: the scheduler
    fired a timer (the engine calls us with its actor) and the model puts one on the task."""
    if not gone or actor != SCHEDULER_ACTOR:
        return {}
    rules = rules_for_version_id(instance.version_id)
    return {
        task.pk: rules.task(task.activity_id).boundary_timers
        for task in gone
        if rules.task(task.activity_id).boundary_timers
    }


def _kept_claim(task: HumanTask, previous: HumanTask | None) -> bool:
    """Give ``task`` (unsaved, not assigned by its model) the claim of the row it replaces when
    that person is still eligible for it (a candidate of the new version, four-eyes...).
    Returns whether it did."""
    if previous is None or task.assignee_id is not None or previous.assignee is None:
        return False
    if Eligibility(task).refusal(previous.assignee) is not None:
        return False
    task.assignee = previous.assignee
    task.claimed_at = previous.claimed_at
    task.on_behalf_of = previous.on_behalf_of
    return True


def _candidate_users(info) -> list[str]:
    """The users a task is offered to by name; the person the model assigns it to is one."""
    named = list(info.candidate_users)
    if info.assignee and info.assignee not in named:
        named.append(info.assignee)
    return named


def _create(
    instance,
    info,
    *,
    rules: ProcessRules,
    now: datetime,
    actor: Actor,
    previous: HumanTask | None = None,
) -> HumanTask:
    """One new inbox task; ``previous``: the claimed row it replaces (same engine task id)."""
    task_rules = rules.task(info.activity_id)
    assignee = User.objects.filter(username=info.assignee).first() if info.assignee else None
    due_at = _parse_due(info.due)
    warning_at, breach_at = sla_deadlines(rules, task_rules, now=now)
    if due_at is None:
        due_at = breach_at
    four_eyes_user = None
    if info.approval and task_rules.four_eyes_variable:
        named = (instance.variables or {}).get(task_rules.four_eyes_variable)
        if isinstance(named, str) and named:
            four_eyes_user = User.objects.filter(username=named).first()
    task = HumanTask(
        instance=instance,
        task_id=info.task_id,
        activity_id=info.activity_id,
        name=info.name or info.activity_id,
        process_key=instance.process_key,
        documentation=info.documentation or "",
        candidate_groups=list(info.candidate_groups),
        candidate_users=_candidate_users(info),
        assignee=assignee,
        priority=info.priority if info.priority is not None else 50,
        due_at=due_at,
        form=info.form,
        is_approval=bool(info.approval),
        outcome_variable=info.outcome_variable or "outcome",
        requested_by_id=instance.started_by_id if task_rules.four_eyes else None,
        four_eyes_user=four_eyes_user,
        comment_required_on_reject=task_rules.comment_required_on_reject,
        approvals_needed=task_rules.approvals_needed,
        multi_instance_id=info.multi_instance_id,
        allow_same_approver=task_rules.allow_same_approver,
        escalation=task_rules.escalation,
        sla_warning_at=warning_at,
        sla_breach_at=due_at,
    )
    if assignee is not None:
        task.claimed_at = now
    kept_claim = _kept_claim(task, previous)
    substitutes = substitutions_active(
        usernames={*task.candidate_users, *([assignee.username] if assignee else [])},
        roles=set(task.candidate_groups),
        now=now,
    )
    # A substitute stands in only where they could hold the task themselves (a candidate, and
    # for an approval not its requester...): the one eligibility rule, as for a reassignment.
    rule = Eligibility(task)
    refused: list[tuple[Substitution, str]] = []
    eligible = []
    for substitution in substitutes:
        why = rule.refusal(substitution.substitute)
        if why is None:
            eligible.append(substitution)
        else:
            refused.append((substitution, why.code))
    substitutes = eligible
    routed = None
    if assignee is not None:
        routed = next((s for s in substitutes if s.user_id == assignee.pk), None)
        if routed is not None:
            task.assignee = routed.substitute
            task.on_behalf_of = assignee
    elif substitutes:
        task.on_behalf_of = substitutes[0].user
    task.save(force_insert=True)
    _grant_task_access(task, instance)
    for substitution in substitutes:
        _grant_user(task, instance, substitution.substitute)
    publish_task_changed(task, "created", also=tuple(s.substitute_id for s in substitutes))
    record(
        AuditAction.TASK_CREATED,
        instance=instance,
        actor=actor,
        task_id=task.pk,
        data={
            "activity_id": task.activity_id,
            "candidate_groups": task.candidate_groups,
            "candidate_users": task.candidate_users,
            "assignee": task.assignee.username if task.assignee else None,
            **({"claim_kept_from_task": previous.pk} if kept_claim and previous else {}),
            "substitutes": [
                {"for": s.user.username, "substitute": s.substitute.username} for s in substitutes
            ],
            **(
                {
                    "substitutes_refused": [
                        {
                            "for": s.user.username,
                            "substitute": s.substitute.username,
                            "reason": why,
                        }
                        for s, why in refused
                    ]
                }
                if refused
                else {}
            ),
        },
        on_behalf_of=routed.user.username if routed else "",
    )
    if task.assignee is not None:
        notifications.task_assigned(task=task, user=task.assignee)
    for substitution in substitutes:
        if substitution.substitute_id != task.assignee_id:
            notifications.task_assigned(task=task, user=substitution.substitute)
    return task


def _access(task: HumanTask, instance) -> list:
    return [(PERM_VIEW_TASK, task), (PERM_WORK_TASK, task), (PERM_VIEW_INSTANCE, instance)]


def _grant_user(task: HumanTask, instance, user: User) -> None:
    permissions.grant_many(_access(task, instance), user=user)


def _grant_task_access(task: HumanTask, instance) -> None:
    for role in task.candidate_groups:
        permissions.grant_many(_access(task, instance), role=role)
    people = set(task.candidate_users) | ({task.assignee.username} if task.assignee else set())
    for user in User.objects.filter(username__in=people):
        _grant_user(task, instance, user)
