"""One instance's steps on a time axis, for operators without a tracing backend (issue 23).

Built only from rows Flowgate already keeps: each service step (Job) waits in the queue
``created_at -> started_at`` and works ``started_at -> finished_at`` (its last attempt: the row
keeps no time per attempt); each human task waits for a person ``created_at -> completed_at``;
each incident is open ``created_at -> resolved_at``; each timer is a mark at ``fired_at`` (or
``due_at`` while it has not fired); each message the instance received (a
``message.correlated`` audit event) is a mark at that time. A segment without an end is still
going on: it is drawn up to ``now`` and says so.

Retries come from the audit trail: each failed attempt is a ``job.failed`` event with its time
(and ``retry_at`` when it will be retried), so a retried step reads: attempt 1 (queued and ran)
-> waited to retry -> ... -> the last attempt's queue and work. After a failure that opened an
incident, the next attempt is due when the incident was resolved (an operator's retry). A wait
without a call (an open circuit, a target's limit, a 429 with Retry-After) is a ``job.deferred``
event (decision 039; older trails: a ``job.failed`` event with ``attempt_spent: false``).

Five queries (jobs, tasks, incidents, timers, audit events: failures and messages), whatever
the number of steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from django.db.models import F
from django.utils import timezone

from apps.audit.actions import AuditAction
from apps.audit.models import AuditEvent
from apps.engine.models import Incident, Job, ProcessInstance, Timer
from apps.inbox.models import HumanTask
from apps.reports.templatetags.reports_tags import duration

SEGMENT_WORDS = {
    "attempt": "failed attempt",
    "retry": "waited to retry",
    "held": "held back without calling",
    "queue": "waited in the queue",
    "work": "worked",
    "person": "waited for a person",
    "incident": "incident open",
    "timer": "timer",
    "message": "message received",
}


@dataclass(frozen=True)
class Segment:
    kind: str  # one of SEGMENT_WORDS
    start: datetime
    end: datetime | None  # None: still going on
    seconds: float
    offset_pct: float  # where the bar starts on the instance's axis, 0..100
    width_pct: float
    text: str  # "worked 1 min 5 s", "waited for a person 2 h 3 min (still waiting)"


@dataclass(frozen=True)
class TimelineRow:
    kind: str  # job | task | incident | timer | message
    activity_id: str
    label: str
    status: str
    start: datetime
    segments: list[Segment]
    detail: str = ""  # attempts and last error, who completed a task, the incident's message


@dataclass(frozen=True)
class Timeline:
    instance_id: int
    start: datetime
    end: datetime
    seconds: float
    ongoing: bool
    rows: list[TimelineRow] = field(default_factory=list)


def _seconds(start: datetime, end: datetime) -> float:
    return round(max((end - start).total_seconds(), 0.0), 3)


class _Axis:
    def __init__(self, start: datetime, end: datetime, now: datetime):
        self.start, self.end, self.now = start, end, now
        self.span = max((end - start).total_seconds(), 0.001)

    def segment(self, kind: str, start: datetime, end: datetime | None) -> Segment:
        stop = end or self.now
        seconds = _seconds(start, stop)
        offset = min(max((start - self.start).total_seconds() / self.span * 100, 0.0), 99.5)
        width = min(seconds / self.span * 100, 100.0 - offset)
        text = f"{SEGMENT_WORDS[kind]} {duration(seconds)}"
        if end is None:
            text += " (still going on)"
        return Segment(
            kind=kind,
            start=start,
            end=end,
            seconds=seconds,
            offset_pct=round(offset, 2),
            width_pct=round(max(width, 0.5), 2),  # a step of no length stays visible
            text=text,
        )


def _job_detail(job: Job) -> str:
    detail = f"attempt {job.attempts} of {job.max_attempts}"
    if job.attempts > 1:
        detail += f" ({job.attempts - 1} {'retry' if job.attempts == 2 else 'retries'})"
    if job.last_error:
        detail += f"; last error: {job.last_error[:200]}"
    return detail


def _parse_time(value: object) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


@dataclass(frozen=True)
class Failure:
    """One ``job.failed`` (or ``job.deferred``) audit event of a job."""

    at: datetime
    retry_at: datetime | None  # None: the failure opened an incident
    spent: bool  # False: no call was made (an open circuit, a target's limit): a wait


def _held(axis: _Axis, since: datetime, until: datetime, count: int) -> Segment:
    segment = axis.segment("held", since, until if until <= axis.now else None)
    checks = f"{count} {'check' if count == 1 else 'checks'}"
    text = f"held back {duration(segment.seconds)} without calling ({checks}: circuit open, limit or Retry-After)"
    return replace(segment, text=text + (" (still waiting)" if segment.end is None else ""))


def _job_segments(
    axis: _Axis,
    job: Job,
    instance: ProcessInstance,
    failures: list[Failure],
    resolutions: list[datetime],
) -> list[Segment]:
    """Each failed attempt (from when it became due to its failure) and the wait before the next
    one, then the last attempt's wait in the queue and its work. Waits without a call (an open
    circuit, a target's limit) in a row are one ``held`` segment. ``resolutions``: when the job's
    incidents were resolved (an operator's retry makes the next attempt due then)."""
    segments: list[Segment] = []
    due = job.created_at  # when the current attempt became due
    number = 0
    held_since: datetime | None = None
    held_count = 0
    for index, failure in enumerate(failures):
        if not failure.spent and failure.retry_at is not None:
            if held_since is None:
                segments.append(axis.segment("queue", due, failure.at))
                held_since, held_count = failure.at, 0
            held_count += 1
            due = failure.retry_at
            continue
        if held_since is not None:
            segments.append(_held(axis, held_since, due, held_count))
            held_since = None
        final = index == len(failures) - 1 and failure.retry_at is None
        if (
            final
            and job.status == "incident"
            and job.started_at
            and due <= job.started_at <= failure.at
        ):
            break  # the failure that opened the incident: its queue and work are known below
        number += 1
        attempt = axis.segment("attempt", due, failure.at)
        text = f"attempt {number} failed after {duration(attempt.seconds)} (queue and work)"
        segments.append(replace(attempt, text=text))
        if failure.retry_at is None:  # an incident (its own row) until an operator retried it
            due = next((at for at in resolutions if at >= failure.at), failure.at)
            continue
        wait = axis.segment(
            "retry", failure.at, failure.retry_at if failure.retry_at <= axis.now else None
        )
        still = " (still waiting)" if wait.end is None else ""
        segments.append(replace(wait, text=f"waited {duration(wait.seconds)} to retry{still}"))
        due = failure.retry_at
    if held_since is not None:
        segments.append(_held(axis, held_since, due, held_count))
    # A step that is no longer pending or running has stopped waiting (and working) at the
    # latest when it finished, else when the instance ended.
    settled = None if job.status in ("pending", "running") else job.finished_at or instance.ended_at
    started = job.started_at if job.started_at and job.started_at >= due else None
    if due <= axis.now and not (job.status == "incident" and not started):
        segments.append(axis.segment("queue", due, started or settled))
    if started:
        segments.append(axis.segment("work", started, job.finished_at or settled))
    return segments


def instance_timeline(*, instance: ProcessInstance, now: datetime | None = None) -> Timeline:
    """The instance's jobs, human tasks, incidents and timers as rows of time segments, in the
    order they began. The axis runs from the instance's start to its end (or now)."""
    now = now or timezone.now()
    jobs = list(Job.objects.filter(instance=instance).order_by("created_at", "pk"))
    tasks = list(
        HumanTask.objects.filter(instance=instance)
        .annotate(
            completed_by_name=F("completed_by__username"), assignee_name=F("assignee__username")
        )
        .order_by("created_at", "pk")
    )
    incidents = list(Incident.objects.filter(instance=instance).order_by("created_at", "pk"))
    timers = list(Timer.objects.filter(instance=instance).order_by("due_at", "pk"))
    failures: dict[int, list[Failure]] = {}
    messages: list[AuditEvent] = []
    for event in AuditEvent.objects.filter(
        instance_id=instance.pk,
        action__in=[
            AuditAction.JOB_FAILED,
            AuditAction.JOB_DEFERRED,
            AuditAction.MESSAGE_CORRELATED,
        ],
    ).order_by("position"):
        if event.action == AuditAction.MESSAGE_CORRELATED:
            messages.append(event)
            continue
        if event.job_id is None or event.data.get("routed"):  # a business error went on in BPMN
            continue
        if event.action == AuditAction.JOB_DEFERRED:
            retry_at, spent = _parse_time(event.data.get("retry_at")), False
        else:
            will_retry = event.data.get("will_retry")
            retry_at = _parse_time(event.data.get("retry_at")) if will_retry else None
            spent = event.data.get("attempt_spent", True) is not False
        failures.setdefault(event.job_id, []).append(Failure(event.time, retry_at, spent))
    resolutions: dict[int, list[datetime]] = {}
    for item in incidents:
        if item.job_id is not None and item.resolved_at is not None:
            resolutions.setdefault(item.job_id, []).append(item.resolved_at)

    ongoing = instance.ended_at is None
    ends = [instance.ended_at or now]
    ends += [t for j in jobs for t in (j.started_at, j.finished_at) if t]
    ends += [t.completed_at for t in tasks if t.completed_at]
    ends += [i.resolved_at for i in incidents if i.resolved_at]
    ends += [t.fired_at for t in timers if t.fired_at]
    axis = _Axis(instance.created_at, max(ends), now)

    rows: list[TimelineRow] = []
    for job in jobs:
        rows.append(
            TimelineRow(
                kind="job",
                activity_id=job.activity_id,
                label=f"{job.activity_id} ({job.connector})",
                status=job.get_status_display(),
                start=job.created_at,
                segments=_job_segments(
                    axis,
                    job,
                    instance,
                    failures.get(job.pk, []),
                    sorted(resolutions.get(job.pk, [])),
                ),
                detail=_job_detail(job),
            )
        )
    for task in tasks:
        who = task.completed_by_name or task.assignee_name
        rows.append(
            TimelineRow(
                kind="task",
                activity_id=task.activity_id,
                label=task.name or task.activity_id,
                status=task.get_status_display(),
                start=task.created_at,
                segments=[
                    axis.segment(
                        "person",
                        task.created_at,
                        task.completed_at or (None if task.status == "open" else instance.ended_at),
                    )
                ],
                detail=(f"completed by {who}" if task.completed_by_name else f"assigned to {who}")
                if who
                else "",
            )
        )
    for item in incidents:
        rows.append(
            TimelineRow(
                kind="incident",
                activity_id=item.activity_id,
                label=f"Incident #{item.pk} at {item.activity_id}",
                status=item.get_status_display(),
                start=item.created_at,
                segments=[axis.segment("incident", item.created_at, item.resolved_at)],
                detail=item.message[:200],
            )
        )
    for timer in timers:
        # A timer row keeps no creation time, so when its wait began cannot be told: it is drawn
        # as a mark at the time it fired (or is due).
        at = timer.fired_at or timer.due_at
        state = "fired" if timer.fired_at else "cancelled" if timer.cancelled else "waiting"
        verb = {"fired": "fired at", "cancelled": "was due at", "waiting": "due at"}[state]
        segment = replace(
            axis.segment("timer", at, at),
            text=f"timer {verb} {timezone.localtime(at):%Y-%m-%d %H:%M:%S}",
        )
        rows.append(
            TimelineRow(
                kind="timer",
                activity_id=timer.activity_id,
                label=f"Timer {timer.activity_id}",
                status=state,
                start=at,
                segments=[segment],
                detail=f"due {timezone.localtime(timer.due_at):%Y-%m-%d %H:%M:%S}",
            )
        )
    for event in messages:
        name = str(event.data.get("message", ""))
        segment = axis.segment("message", event.time, event.time)
        local = timezone.localtime(event.time)
        rows.append(
            TimelineRow(
                kind="message",
                activity_id="",
                label=f"Message {name}",
                status="received",
                start=event.time,
                segments=[
                    replace(segment, text=f"message {name} received at {local:%Y-%m-%d %H:%M:%S}")
                ],
                detail=f"correlation key {event.data['correlation_key']}"
                if event.data.get("correlation_key")
                else "",
            )
        )
    rows.sort(key=lambda r: r.start)
    return Timeline(
        instance_id=instance.pk,
        start=instance.created_at,
        end=axis.end,
        seconds=_seconds(instance.created_at, axis.end),
        ongoing=ongoing,
        rows=rows,
    )
