from __future__ import annotations

import pytest
from django.db import transaction

from apps.audit.actions import AuditAction
from apps.audit.chain import GENESIS_HASH, event_hash
from apps.audit.models import AuditChainHead, AuditEvent
from apps.audit.services import Actor, record
from apps.common.context import client_ip_var, request_id_var

pytestmark = pytest.mark.django_db


def _fields(event: AuditEvent) -> dict:
    return {f.attname: getattr(event, f.attname) for f in AuditEvent._meta.concrete_fields}


def test_record_writes_exactly_one_linked_event(make_user):
    # given a user and a request context
    user = make_user(username="alice")
    rid = request_id_var.set("req-1")
    ip = client_ip_var.set("10.0.0.7")
    try:
        # when
        event = record(
            AuditAction.INSTANCE_STARTED,
            actor=Actor.for_user(user),
            process_key="invoice",
            version_id=3,
            instance_id=42,
            after={"status": "running", "amount": 10.0},
            data={"business_key": "INV-1"},
        )
    finally:
        request_id_var.reset(rid)
        client_ip_var.reset(ip)
    # then
    assert AuditEvent.objects.count() == 1
    stored = AuditEvent.objects.get()
    assert stored.position == 1
    assert stored.prev_hash == GENESIS_HASH
    assert (stored.actor_kind, stored.actor_id, stored.actor_label) == (
        "user",
        str(user.pk),
        "alice",
    )
    assert stored.action == "instance.started"
    assert (stored.process_key, stored.version_id, stored.instance_id) == ("invoice", 3, 42)
    assert stored.after == {"status": "running", "amount": 10}
    assert stored.before is None
    assert stored.data == {"business_key": "INV-1"}
    assert (stored.request_id, stored.client_address) == ("req-1", "10.0.0.7")
    assert stored.hash == event.hash == event_hash(_fields(stored))
    head = AuditChainHead.objects.get()
    assert (head.position, head.hash) == (1, stored.hash)


def test_second_event_links_to_first():
    first = record(AuditAction.TIMER_FIRED, actor=Actor.system("scheduler"), job_id=5)
    second = record(AuditAction.JOB_SUCCEEDED)
    assert second.position == 2
    assert second.prev_hash == first.hash
    assert (second.actor_kind, second.actor_id) == ("system", "flowgate")
    assert AuditEvent.objects.count() == 2


def test_rolled_back_change_leaves_no_event():
    record(AuditAction.LOGIN, actor=Actor.anonymous())
    with pytest.raises(RuntimeError), transaction.atomic():
        record(AuditAction.INSTANCE_CANCELLED, instance_id=9)
        raise RuntimeError("the change failed")
    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["auth.login"]
    head = AuditChainHead.objects.get()
    assert head.position == 1
    nxt = record(AuditAction.INSTANCE_CANCELLED, instance_id=9)
    assert nxt.position == 2
