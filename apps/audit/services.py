"""Writes to the audit trail. ``record()`` is the only way an audit event comes into being.

Lock order: the chain head is locked by ``record()`` and held until the caller's transaction
commits, so ``record()`` should be the *last* lock a transaction takes (call it after the change,
not before; do not lock further rows after it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.audit.actions import AuditAction
from apps.audit.chain import GENESIS_HASH, event_hash, normalize_json
from apps.audit.models import AuditChainHead, AuditEvent
from apps.common.context import client_ip_var, request_id_var

ACTOR_KINDS = frozenset({"user", "token", "system", "anonymous"})


@dataclass(frozen=True)
class Actor:
    """Who did it: a user, an API token (acting for its user), a system component, or nobody."""

    kind: str
    id: str
    label: str

    def __post_init__(self) -> None:
        if self.kind not in ACTOR_KINDS:
            raise ValueError(f"Actor kind must be one of {sorted(ACTOR_KINDS)}, not {self.kind!r}")

    @classmethod
    def for_user(cls, user: Any) -> Actor:
        if user is None or not getattr(user, "is_authenticated", False):
            return cls.anonymous()
        return cls(kind="user", id=str(user.pk), label=user.get_username())

    @classmethod
    def for_token(cls, token: Any) -> Actor:
        owner = getattr(token, "user", None)
        owner_name = owner.get_username() if owner is not None else "?"
        return cls(kind="token", id=str(token.id), label=f"{owner_name} (token {token.name})")

    @classmethod
    def system(cls, component: str) -> Actor:
        return cls(kind="system", id=component, label=component)

    @classmethod
    def anonymous(cls) -> Actor:
        return cls(kind="anonymous", id="", label="anonymous")


def _clip(value: str | None, limit: int) -> str:
    return (value or "")[:limit]


def _lock_chain_head() -> AuditChainHead:
    """Lock (creating if needed) the chain head. Must run inside a transaction."""
    head = AuditChainHead.objects.select_for_update().filter(pk=1).first()
    if head is not None:
        return head
    # Missing (fresh database or flushed tables): continue from the last event, if any.
    last = AuditEvent.objects.order_by("-position").values_list("position", "hash").first()
    position, last_hash = last if last else (0, GENESIS_HASH)
    AuditChainHead.objects.get_or_create(pk=1, defaults={"position": position, "hash": last_hash})
    return AuditChainHead.objects.select_for_update().get(pk=1)


def record(
    action: AuditAction,
    *,
    actor: Actor | None = None,
    process_key: str = "",
    version_id: int | None = None,
    instance_id: int | None = None,
    task_id: int | None = None,
    job_id: int | None = None,
    before: dict | None = None,
    after: dict | None = None,
    data: dict | None = None,
    on_behalf_of: str = "",
) -> AuditEvent:
    """Append one event to the chain, inside the caller's transaction.

    Call it in the same ``transaction.atomic()`` block as the change it records: if that rolls
    back, the event goes with it. Outside a transaction it opens (and commits) its own. Locks the
    chain head until the surrounding transaction ends; see the module docstring on lock order.
    """
    action = AuditAction(action)
    actor = actor or Actor.system("flowgate")
    with transaction.atomic():
        head = _lock_chain_head()
        fields: dict[str, Any] = {
            "position": head.position + 1,
            "time": timezone.now(),
            "actor_kind": actor.kind,
            "actor_id": _clip(actor.id, 64),
            "actor_label": _clip(actor.label, 255),
            "on_behalf_of": _clip(on_behalf_of, 255),
            "action": action.value,
            "process_key": _clip(process_key, 255),
            "version_id": None if version_id is None else int(version_id),
            "instance_id": None if instance_id is None else int(instance_id),
            "task_id": None if task_id is None else int(task_id),
            "job_id": None if job_id is None else int(job_id),
            "before": normalize_json(before),
            "after": normalize_json(after),
            "data": normalize_json(data or {}),
            "request_id": _clip(request_id_var.get(), 64),
            "client_address": _clip(client_ip_var.get(), 45),
            "prev_hash": head.hash,
        }
        fields["hash"] = event_hash(fields)
        event = AuditEvent.objects.create(**fields)
        AuditChainHead.objects.filter(pk=1).update(position=event.position, hash=event.hash)
    return event
