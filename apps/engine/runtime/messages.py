"""Messages: deliver to the instances waiting with a correlation key, or start the processes whose
message start event has the name."""

from __future__ import annotations

from django.db import transaction

from apps.audit.actions import AuditAction
from apps.audit.services import record
from apps.common.actors import Actor
from apps.common.errors import InvalidInput, NotFound
from apps.engine.models import InstanceStatus, MessageSubscription, ProcessInstance
from apps.engine.runtime.instances import instance_start, start_allowed_check
from apps.engine.runtime.state import check_variables, instance_lock, load, persist_advance
from apps.processes.models import ProcessVersion, VersionStatus


def message_correlate(
    *,
    name: str,
    correlation_key: str = "",
    variables: dict | None = None,
    actor: Actor,
    started_by=None,
    authorized_by=None,
) -> list[ProcessInstance]:
    """Deliver a message to every instance waiting for it with this key, or start the processes
    whose message start event has this name. NotFound if nobody is waiting.

    Starting obeys each process's start restriction for ``started_by`` (or ``authorized_by``, a
    webhook's creator): all of them are checked before any starts, so a refusal (403) creates
    nothing."""
    variables = check_variables(variables)
    if not name:
        raise InvalidInput("A message needs a name.", code="missing_message_name")
    targets = list(
        MessageSubscription.objects.filter(message_name=name, correlation_key=correlation_key or "")
        .order_by("instance_id")
        .values_list("instance_id", flat=True)
        .distinct()
    )
    delivered: list[ProcessInstance] = []
    for instance_id in targets:
        with transaction.atomic():
            instance = instance_lock(instance_id=instance_id)
            if instance.status != InstanceStatus.RUNNING:
                continue
            handle = load(instance)
            if not handle.correlate_message(name, dict(variables), correlation_key or None):
                continue
            record(
                AuditAction.MESSAGE_CORRELATED,
                instance=instance,
                actor=actor,
                data={"message": name, "correlation_key": correlation_key, "variables": variables},
            )
            persist_advance(instance, handle, actor=actor)
            delivered.append(instance)
    if delivered:
        return delivered
    versions = _versions_with_message_start(name)
    for version in versions:
        start_allowed_check(
            version=version, actor=actor, started_by=started_by, authorized_by=authorized_by
        )
    for version in versions:
        delivered.append(
            instance_start(
                version=version,
                variables=variables,
                business_key=correlation_key,
                actor=actor,
                started_by=started_by,
                authorized_by=authorized_by,
                message=(name, variables),
            )
        )
    if not delivered:
        raise NotFound(
            f"No instance is waiting for message '{name}'"
            + (f" with correlation key '{correlation_key}'" if correlation_key else "")
            + " and no deployed process starts with it.",
            code="message_not_correlated",
        )
    return delivered


def _versions_with_message_start(name: str) -> list[ProcessVersion]:
    latest: dict[int, ProcessVersion] = {}
    for version in (
        ProcessVersion.objects.filter(status=VersionStatus.DEPLOYED)
        .select_related("definition")
        .order_by("definition_id", "number")
    ):
        latest[version.definition_id] = version
    return [v for v in latest.values() if name in v.metadata.get("message_starts", [])]
