"""Concurrent writers, each on its own connection, never fork the chain."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from apps.audit.actions import AuditAction
from apps.audit.models import AuditEvent
from apps.audit.selectors import chain_verify
from apps.audit.services import Actor, record

WRITERS = 8
EVENTS_EACH = 25


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_build_one_unbroken_chain():
    start = threading.Barrier(WRITERS)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            start.wait()
            for i in range(EVENTS_EACH):
                with transaction.atomic():
                    record(AuditAction.JOB_ATTEMPTED, actor=Actor.system(f"w{n}"), job_id=i)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    total = WRITERS * EVENTS_EACH
    positions = list(AuditEvent.objects.values_list("position", flat=True))
    assert positions == list(range(1, total + 1))
    prev_hashes = list(AuditEvent.objects.values_list("prev_hash", flat=True))
    assert len(set(prev_hashes)) == total  # no two events share a predecessor: no fork
    for n in range(WRITERS):
        assert AuditEvent.objects.filter(actor_id=f"w{n}").count() == EVENTS_EACH
    result = chain_verify()
    assert (result.intact, result.events) == (True, total)
