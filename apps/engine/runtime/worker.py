"""What a worker does when the doorbell rings for a job: run it and what follows it in the same
instance without a broker hop — by the chain when the step is chainable, else on the lease path."""

from __future__ import annotations

from collections import deque

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.common.context import bound
from apps.engine.models import JOB_TRANSITIONS, Job, JobStatus
from apps.engine.runtime.continuation import job_chain
from apps.engine.runtime.hooks import ring_after_commit
from apps.engine.runtime.jobs import job_claim, job_execute


def job_run(*, job_id: int, worker_id: str, execute=None, instance_id: int | None = None) -> int:
    """Run a job and what follows it in the same instance, without a broker hop between steps.

    A job whose connector is chainable runs together with every chainable step it leads to,
    their results applied in one transaction (``job_chain``). Any other job is claimed with a lease,
    run outside the lock, and its result applied afterwards (``job_execute``). Successors this
    worker claimed are run the same way, up to FLOWGATE_INLINE_CHAIN_LIMIT jobs. Returns the
    number of jobs executed.
    """
    limit = settings.FLOWGATE_INLINE_CHAIN_LIMIT
    executed = 0
    queue: deque[Job] = deque()
    if instance_id is None:
        instance_id = Job.objects.filter(pk=job_id).values_list("instance_id", flat=True).first()
        if instance_id is None:
            return 0
    with bound(instance_id=instance_id):
        chained = job_chain(job_id, instance_id, worker_id=worker_id, execute=execute, limit=limit)
    if chained is not None:
        executed, claimed = chained
        queue.extend(claimed)
    else:
        first = job_claim(job_id=job_id, worker_id=worker_id)
        queue.extend([first] if first is not None else [])
    while queue and executed < limit:
        job = queue.popleft()
        with bound(instance_id=job.instance_id):
            chained = job_chain(
                job.pk,
                job.instance_id,
                worker_id=worker_id,
                execute=execute,
                limit=limit - executed,
                owned=job,
            )
            if chained is not None:
                count, claimed = chained
                executed += count
                queue.extend(claimed)
                continue
            queue.extend(job_execute(job, worker_id=worker_id, execute=execute))
        executed += 1
    if queue:  # chain limit reached: hand the rest to the broker
        with transaction.atomic():
            for job in queue:
                JOB_TRANSITIONS.update(
                    Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING, locked_by=worker_id),
                    JobStatus.PENDING,
                    attempts=job.attempts - 1,
                    lease_expires_at=None,
                    enqueued_at=timezone.now(),
                )
            ring_after_commit([(job.pk, job.instance_id) for job in queue])
    return executed
