"""Concurrent writers, each on its own connection, never fork the chain."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from apps.audit.actions import AuditAction
from apps.audit.models import AuditEvent, AuditLink, AuditPending
from apps.audit.services import chain_link_pending, record
from apps.audit.verification import chain_verify
from apps.common.actors import Actor

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

    writing = threading.Event()
    writing.set()

    def linker() -> None:  # the audit.link task, running while the writers write
        try:
            while writing.is_set():
                chain_link_pending(wait=False, batch_size=20)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    linker_thread = threading.Thread(target=linker)
    linker_thread.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    writing.clear()
    linker_thread.join()

    assert errors == []
    total = WRITERS * EVENTS_EACH
    chain_link_pending()  # the last few, as the next audit.link run would
    assert AuditEvent.objects.count() == total
    assert not AuditPending.objects.exists()
    links = list(AuditLink.objects.order_by("seq").values_list("seq", "event_id", "prev_hash"))
    assert [seq for seq, _, _ in links] == list(range(1, total + 1))
    assert len({event_id for _, event_id, _ in links}) == total  # every event linked once
    assert len({prev for _, _, prev in links}) == total  # no two links share a parent: no fork
    for n in range(WRITERS):
        assert AuditEvent.objects.filter(actor_id=f"w{n}").count() == EVENTS_EACH
    result = chain_verify()
    assert (result.intact, result.events) == (True, total)


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_linkers_never_fork_the_chain():
    with transaction.atomic():
        for i in range(300):
            record(AuditAction.JOB_ATTEMPTED, job_id=i)
    assert AuditPending.objects.count() == 300
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def linker() -> None:
        try:
            start.wait()
            chain_link_pending(wait=True, batch_size=7)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=linker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert AuditLink.objects.count() == AuditEvent.objects.count()
    assert chain_verify().intact is True
