"""Sample instances of the demo processes in every state (for the embedded demo): waiting for a
manager, completed, suspended, cancelled and stopped by an incident, plus a change request waiting
for the approvers' CAB vote (so that an approver's first login has work in the inbox). Idempotent."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from apps.common.actors import Actor
from apps.connectors.base import ConnectorError
from apps.designer.testrun import service_tasks_stub
from apps.engine import services as engine
from apps.engine.models import Job, JobStatus, ProcessInstance

# The sample instances are "DEMO-<n> <what>" (the report history uses "DEMO-EXP-...").
DEMO_KEYS = r"^DEMO-[0-9]"
ACTOR = Actor.system("demo")


def _start(business_key: str, variables: dict) -> ProcessInstance:
    return engine.instance_start(
        process_key="expense_approval",
        variables=variables,
        business_key=business_key,
        actor=ACTOR,
    )


def _approve_then_fail(job) -> dict:
    if job.activity_id == "auto_approve":
        return {"approved": True}
    raise ConnectorError(
        "Demo: the mail server refused the message (550 mailbox unavailable).", permanent=True
    )


def demo_instances_ensure() -> list[str]:
    """Create the sample instances once; returns '<business key>: <state>' lines."""
    if ProcessInstance.objects.filter(business_key__regex=DEMO_KEYS).exists():
        return []
    made = []
    with transaction.atomic():
        waiting = _start("DEMO-1 laptop", {"amount": 2400, "description": "Laptop"})
        made.append(f"{waiting.business_key}: waiting for a manager")

        done = _start("DEMO-2 taxi", {"amount": 38, "description": "Taxi to the airport"})
        results = {"auto_approve": {"approved": True}, "notify_requester": {}}
        service_tasks_stub(done, execute=lambda job: dict(results.get(job.activity_id, {})))
        made.append(f"{done.business_key}: completed")

        paused = _start("DEMO-3 hotel", {"amount": 1800, "description": "Hotel, 3 nights"})
        engine.instance_suspend(instance_id=paused.pk, actor=ACTOR)
        made.append(f"{paused.business_key}: suspended")

        cancelled = _start("DEMO-4 duplicate", {"amount": 1500, "description": "Duplicate"})
        engine.instance_cancel(instance_id=cancelled.pk, actor=ACTOR, reason="Entered twice")
        made.append(f"{cancelled.business_key}: cancelled")

        change = engine.instance_start(
            process_key="change_request",
            variables={
                "title": "Open port 443 on the web firewall",
                "risk": "medium",
                "window_start": (timezone.now() + timedelta(days=2))
                .replace(microsecond=0)
                .isoformat(),
            },
            business_key="DEMO-6 firewall",
            actor=ACTOR,
        )
        made.append(f"{change.business_key}: waiting for the approvers (CAB, 2 of 3)")

        broken = _start("DEMO-5 lunch", {"amount": 64, "description": "Team lunch"})
    # Approved automatically, then the notification fails for good: an incident.
    for _ in range(3):
        pending = Job.objects.filter(instance=broken, status=JobStatus.PENDING)
        for job_id in pending.values_list("pk", flat=True):
            engine.job_run(
                job_id=job_id, worker_id="demo", execute=_approve_then_fail, instance_id=broken.pk
            )
    made.append(f"{broken.business_key}: incident")
    return made
