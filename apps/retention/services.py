"""Retention writes: set policies and holds (audited), and purge finished instances in batches."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from apps.accounts.permissions import forget_objects
from apps.audit.actions import AuditAction
from apps.audit.checkpoints import audit_archived_remove
from apps.audit.services import chain_link_pending, record
from apps.common.actors import Actor
from apps.common.errors import InvalidInput, NotFound
from apps.engine.models import InstanceStatus, ProcessInstance
from apps.inbox.models import HumanTask, InboxEvent, TaskAttachment
from apps.retention.archive import archive_write, archives_bytes
from apps.retention.models import (
    ArchivedInstance,
    InstanceHold,
    RetentionDefault,
    RetentionPolicy,
)
from apps.retention.selectors import portal_default_days

log = logging.getLogger(__name__)
FINISHED = (InstanceStatus.COMPLETED, InstanceStatus.CANCELLED)
RETENTION_ACTOR = Actor.system("retention")
ARCHIVE_WRITERS = 4  # archive files written at once (threads: the writes wait on storage)


def _policy_dict(policy: RetentionPolicy | None) -> dict | None:
    if policy is None:
        return None
    return {"days": policy.days, "legal_hold": policy.legal_hold, "reason": policy.reason}


@transaction.atomic
def retention_policy_set(
    *,
    process_key: str,
    days: int | None,
    legal_hold: bool = False,
    reason: str = "",
    actor: Actor,
    user=None,
) -> RetentionPolicy:
    """A process's retention period (None: keep forever) and legal hold."""
    process_key = (process_key or "").strip()
    if not process_key or len(process_key) > 200:
        raise InvalidInput(
            "Give the process key (at most 200 characters).", code="invalid_retention"
        )
    if days is not None and not 1 <= int(days) <= 36500:
        raise InvalidInput("The period is between 1 and 36,500 days.", code="invalid_retention")
    policy = RetentionPolicy.objects.select_for_update().filter(process_key=process_key).first()
    before = _policy_dict(policy)
    policy = policy or RetentionPolicy(process_key=process_key)
    policy.days, policy.legal_hold, policy.reason = days, bool(legal_hold), reason[:500]
    policy.updated_by = user
    policy.save()
    record(
        AuditAction.SETTINGS_CHANGED,
        actor=actor,
        process_key=process_key,
        before=before,
        after=_policy_dict(policy),
        data={"setting": "retention_policy"},
    )
    return policy


@transaction.atomic
def instance_hold_set(*, instance_id: int, hold: bool, reason: str = "", actor: Actor, user=None):
    """Put a legal hold on one instance (``hold=True``, with a reason) or lift it."""
    if hold and not reason.strip():
        raise InvalidInput("A legal hold needs a reason.", code="invalid_hold")
    if hold:
        if not ProcessInstance.objects.filter(pk=instance_id).exists():
            raise NotFound(f"There is no instance {instance_id} (a purged one cannot be held).")
        InstanceHold.objects.update_or_create(
            instance_id=instance_id, defaults={"reason": reason[:500], "created_by": user}
        )
    elif not InstanceHold.objects.filter(instance_id=instance_id).delete()[0]:
        raise NotFound(f"Instance {instance_id} has no legal hold.")
    record(
        AuditAction.SETTINGS_CHANGED,
        actor=actor,
        instance_id=instance_id,
        data={"setting": "legal_hold", "hold": hold, "reason": reason[:500]},
    )


@transaction.atomic
def retention_default_set(*, days: int | None, actor: Actor, user=None) -> RetentionDefault:
    """The portal default period: ``days`` (0 keeps everything) or None to fall back to the
    environment setting ``FLOWGATE_RETENTION_DAYS``. Audited (``retention_default``)."""
    if days is not None and not 0 <= int(days) <= 36500:
        raise InvalidInput(
            "The portal default is between 0 (keep everything) and 36,500 days.",
            code="invalid_retention",
        )
    row = RetentionDefault.objects.select_for_update().filter(pk=1).first()
    before = {"days": None if row is None else row.days, "effective": portal_default_days()[0]}
    row = row or RetentionDefault(pk=1)
    row.days = None if days is None else int(days)
    row.updated_by = user
    row.save()
    record(
        AuditAction.SETTINGS_CHANGED,
        actor=actor,
        before=before,
        after={"days": row.days, "effective": portal_default_days()[0]},
        data={"setting": "retention_default"},
    )
    return row


def purge_condition(now: datetime) -> Q | None:
    """Which finished instances are past their period: each policy's own, the portal default
    (set on the retention page, else FLOWGATE_RETENTION_DAYS; 0 = keep forever) for processes without one; never under a hold."""
    policies = list(RetentionPolicy.objects.all())
    condition = Q()
    for policy in policies:
        if policy.days is not None and not policy.legal_hold:
            condition |= Q(
                process_key=policy.process_key, ended_at__lt=now - timedelta(days=policy.days)
            )
    default, _ = portal_default_days()
    if default:
        condition |= Q(ended_at__lt=now - timedelta(days=default)) & ~Q(
            process_key__in=[p.process_key for p in policies]
        )
    return condition if condition.children else None


def purge_candidates(*, now: datetime, limit: int) -> list[int]:
    condition = purge_condition(now)
    if condition is None:
        return []
    return list(
        ProcessInstance.objects.filter(status__in=FINISHED, ended_at__isnull=False)
        .filter(condition)
        .exclude(pk__in=InstanceHold.objects.values("instance_id"))
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )


@transaction.atomic(durable=True)
def _purge_batch(ids: list[int], *, now: datetime, actor: Actor) -> list[dict[str, Any]]:
    """Archive, then delete, the instances ``ids`` that are still finished and not locked by
    another purge (SKIP LOCKED: two purges never take the same instance)."""
    instances = list(
        ProcessInstance.objects.select_for_update(skip_locked=True)
        .filter(pk__in=ids, status__in=FINISHED)
        .exclude(pk__in=InstanceHold.objects.values("instance_id"))
        .order_by("pk")
    )
    if not instances:
        return []
    done = _archive_batch(instances)
    _remove_batch(done, now=now, actor=actor)
    return done


def _archive_batch(instances: list[ProcessInstance]) -> list[dict[str, Any]]:
    """Build and store the archive of each instance (reads only, and the files)."""
    chain_link_pending()  # so that every archived event carries its chain link
    contents = archives_bytes(instances)
    # one file each: creating files is I/O-bound (a storage round trip), so a few at once
    with ThreadPoolExecutor(max_workers=ARCHIVE_WRITERS) as pool:
        written = list(pool.map(lambda i: archive_write(i, *contents[i.pk]), instances))
    done: list[dict[str, Any]] = []
    for instance, (name, digest, events) in zip(instances, written, strict=True):
        done.append(
            {
                "instance_id": instance.pk,
                "process_key": instance.process_key,
                "archive": name,
                "sha256": digest,
                "audit_events": events,
                "ended_at": instance.ended_at,
            }
        )
    return done


def _remove_batch(done: list[dict[str, Any]], *, now: datetime, actor: Actor) -> None:
    """Delete the archived instances' rows, index their archives, audit the run and remove
    their audit events under a signed checkpoint: set-based, a fixed number of statements per
    batch whatever its size (decision 038, addendum)."""
    pks = [d["instance_id"] for d in done]
    files = _column_of(TaskAttachment, "file", pks)
    tasks = _column_of(HumanTask, "id", pks)
    forget_objects(ProcessInstance, pks)
    forget_objects(HumanTask, tasks)
    _delete_where_instance(InboxEvent._meta.db_table, "instance_id", pks)
    _delete_instance_rows(pks)
    event = record(
        AuditAction.RETENTION_PURGED,
        actor=actor,
        data={
            "instances": len(done),
            "archives": [
                {
                    k: d[k]
                    for k in ("instance_id", "process_key", "archive", "sha256", "audit_events")
                }
                for d in done
            ],
        },
    )
    ArchivedInstance.objects.bulk_create(
        [
            ArchivedInstance(
                instance_id=d["instance_id"],
                process_key=d["process_key"],
                name=d["archive"],
                sha256=d["sha256"],
                audit_events=d["audit_events"],
                ended_at=d["ended_at"],
                purged_at=now,
                audit_position=event.pk,
            )
            for d in done
        ],
        batch_size=len(done),
    )
    # The archives hold the instances' audit events: remove them under a signed checkpoint.
    audit_archived_remove(instance_ids=pks, actor=actor)
    transaction.on_commit(lambda: _delete_files(files))


def _where_in(column: str, ids: list[int]) -> tuple[str, list[Any]]:
    """``column`` is one of ``ids``: one array parameter on PostgreSQL (no statement of
    thousands of placeholders to build and parse), placeholders on SQLite."""
    column = connection.ops.quote_name(column)
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [list(ids)]
    return f"{column} IN ({', '.join(['%s'] * len(ids))})", list(ids)


def _column_of(model, column: str, instance_ids: list[int]) -> list[Any]:
    """``column`` of ``model``'s rows of the instances, in one statement."""
    where, params = _where_in("instance_id", instance_ids)
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {connection.ops.quote_name(column)} FROM {table} WHERE {where}",  # noqa: S608
            params,
        )
        return [row[0] for row in cursor.fetchall()]


def _delete_where_instance(table: str, column: str, instance_ids: list[int]) -> None:
    where, params = _where_in(column, instance_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {connection.ops.quote_name(table)} WHERE {where}",  # noqa: S608
            params,
        )


def _delete_instance_rows(pks: list[int]) -> None:
    """Delete the instances and every row with a database foreign key to them (tasks, comments,
    attachments, jobs, timers, subscriptions, incidents, test-run stubs), one plain DELETE per
    table (children first) for the whole batch.

    Not ``QuerySet.delete()``: Django would also cascade to the report facts, whose one-to-one
    link to their task or job has no database constraint on purpose (decision 017) — the facts
    and their per-day bucket counts must stay in step, so they are kept. A new table that
    points at instances with a constraint is picked up here by itself; one that points at tasks
    or jobs only would make the commit fail (the constraints are checked), never orphan rows."""
    if not pks:
        return
    children: list[tuple[str, str]] = [
        (field.related_model._meta.db_table, field.field.column)  # type: ignore[union-attr,misc]
        for field in ProcessInstance._meta.get_fields(include_hidden=True)
        if field.one_to_many or field.one_to_one
        if field.auto_created and not field.concrete and field.field.db_constraint  # type: ignore[union-attr]
    ]
    for table, column in children:
        _delete_where_instance(table, column, pks)
    _delete_where_instance(ProcessInstance._meta.db_table, "id", pks)


def _delete_files(names: list[str]) -> None:
    for name in names:
        try:
            default_storage.delete(name)
        except OSError:  # a file already gone is fine; a full disk is logged, not fatal
            log.warning("retention: could not delete attachment %s", name, exc_info=True)


def retention_purge(
    *,
    now: datetime | None = None,
    batch_size: int | None = None,
    max_batches: int | None = None,
    dry_run: bool = False,
    actor: Actor = RETENTION_ACTOR,
) -> dict[str, Any]:
    """Archive and purge finished instances past their period, ``batch_size`` per transaction
    and at most ``max_batches`` transactions per run (the periodic task resumes next time).
    Safe to run twice or concurrently."""
    now = now or timezone.now()
    batch_size = batch_size or settings.FLOWGATE_RETENTION_BATCH
    max_batches = max_batches or settings.FLOWGATE_RETENTION_MAX_BATCHES
    if dry_run:
        return {"due": len(purge_candidates(now=now, limit=batch_size * max_batches)), "purged": 0}
    purged = batches = 0
    for _ in range(max_batches):
        ids = purge_candidates(now=now, limit=batch_size)
        if not ids:
            break
        done = _purge_batch(ids, now=now, actor=actor)
        if not done:
            break
        purged += len(done)
        batches += 1
    return {"purged": purged, "batches": batches}
