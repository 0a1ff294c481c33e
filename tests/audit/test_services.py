from __future__ import annotations

import contextlib

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext

from apps.audit.actions import AuditAction
from apps.audit.chain import EVENT_FIELDS, GENESIS_HASH, event_hash
from apps.audit.models import AuditChainHead, AuditEvent, AuditLink, AuditPending
from apps.audit.services import chain_link_pending, record
from apps.common.actors import Actor
from apps.common.context import client_ip_var, request_id_var

pytestmark = pytest.mark.django_db


def link_fields(link: AuditLink) -> dict:
    fields = {name: getattr(link.event, name) for name in EVENT_FIELDS}
    return {**fields, "seq": link.seq, "prev_hash": link.prev_hash}


def test_record_writes_exactly_one_event_then_one_link(make_user):
    # given a user and a request context
    user = make_user(username="alice")
    rid = request_id_var.set("req-1")
    ip = client_ip_var.set("10.0.0.7")
    before = AuditEvent.objects.count()
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
    assert AuditEvent.objects.count() == before + 1
    stored = AuditEvent.objects.get(pk=event.pk)
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
    assert AuditPending.objects.filter(event_id=event.pk).exists()

    # and the linker chains it
    assert chain_link_pending() == before + 1
    link = AuditLink.objects.get(event=event)
    assert not AuditPending.objects.exists()
    assert link.hash == event_hash(link_fields(link))
    head = AuditChainHead.objects.get()
    assert (head.position, head.hash) == (link.seq, link.hash)


def test_links_form_a_chain_in_insertion_order():
    first = record(AuditAction.TIMER_FIRED, actor=Actor.system("scheduler"), job_id=5)
    second = record(AuditAction.JOB_SUCCEEDED)
    assert chain_link_pending() == 2
    links = list(AuditLink.objects.order_by("seq"))
    assert [(link.seq, link.event_id) for link in links] == [(1, first.pk), (2, second.pk)]
    assert links[0].prev_hash == GENESIS_HASH
    assert links[1].prev_hash == links[0].hash
    assert (second.actor_kind, second.actor_id) == ("system", "flowgate")
    assert chain_link_pending() == 0  # nothing twice


def test_rolled_back_change_leaves_no_event():
    record(AuditAction.LOGIN, actor=Actor.anonymous())
    with pytest.raises(RuntimeError), transaction.atomic():
        record(AuditAction.INSTANCE_CANCELLED, instance_id=9)
        raise RuntimeError("the change failed")
    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["auth.login"]
    assert AuditPending.objects.count() == 1
    chain_link_pending()
    assert AuditLink.objects.count() == 1


def test_record_takes_no_lock_and_queues_the_event():
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        event = record(AuditAction.TASK_CLAIMED, task_id=1)
    statements = [q["sql"].split()[0].upper() for q in queries.captured_queries]
    assert statements.count("INSERT") == 1  # the queue row comes from a trigger
    assert not any("FOR UPDATE" in q["sql"] for q in queries.captured_queries)
    assert list(AuditPending.objects.values_list("event_id", flat=True)) == [event.pk]
    assert not AuditLink.objects.exists()


def test_linker_works_in_batches():
    events = [record(AuditAction.JOB_ATTEMPTED, job_id=n) for n in range(5)]
    assert chain_link_pending(batch_size=2) == 5
    assert list(AuditLink.objects.order_by("seq").values_list("event_id", flat=True)) == [
        e.pk for e in events
    ]


def test_a_failed_audit_write_dooms_the_callers_transaction(monkeypatch):
    # No savepoint: a caller that swallows the error still cannot commit its change.
    def broken_insert(**kwargs):
        raise DatabaseError("disk full")

    with pytest.raises(TransactionManagementError), transaction.atomic():
        record(AuditAction.LOGIN)
        monkeypatch.setattr(AuditEvent.objects, "create", broken_insert)
        with contextlib.suppress(DatabaseError):
            record(AuditAction.LOGOUT)
        AuditEvent.objects.count()  # the transaction is marked for rollback


def test_actor_constructors(make_user):
    user = make_user(username="dora")

    class Token:
        id = 12
        name = "nightly"

    Token.user = user
    assert Actor.for_user(user) == Actor("user", str(user.pk), "dora")
    assert Actor.for_user(None) == Actor("anonymous", "", "anonymous")
    assert Actor.for_token(Token()) == Actor("token", "12", "dora (token nightly)")
    assert Actor.system("worker") == Actor("system", "worker", "worker")
    with pytest.raises(ValueError, match="Actor kind"):
        Actor("robot", "1", "x")
