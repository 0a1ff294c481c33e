"""A connector's wish for when to try again (``ConnectorError.retry_after``: a Retry-After, an
open circuit) holds on both run paths: a chained step's too, and a call that was not made
(``CircuitOpen``) spends no attempt there either."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.connectors.base import CircuitOpen, ConnectorError
from apps.engine.models import Incident, JobStatus
from tests.engine.conftest import run_jobs
from tests.engine.test_chain import _job, _sequence, _start

pytestmark = pytest.mark.django_db


def busy_for_20s(inputs, context):
    raise ConnectorError("the ledger says: come back in 20 s", retry_after=20)


def circuit_open(inputs, context):
    raise CircuitOpen("circuit open for host http://ledger:80 until later", retry_after=45)


@pytest.fixture(autouse=True)
def _waiting_connectors(local_connectors):
    local_connectors({"busy_for_20s": busy_for_20s, "circuit_open": circuit_open}, chainable=True)


def test_a_chained_step_waits_as_long_as_its_connector_asks():
    instance, _ = _start(_sequence(("s1", "busy_for_20s")))
    before = timezone.now()
    run_jobs(instance)
    job = _job(instance, "s1")
    assert (job.status, job.attempts) == (JobStatus.PENDING, 1)
    assert before + timedelta(seconds=20) <= job.run_after <= timezone.now() + timedelta(seconds=20)


def test_a_chained_step_held_back_by_a_circuit_spends_no_attempt():
    instance, _ = _start(_sequence(("s1", "circuit_open")))
    before = timezone.now()
    run_jobs(instance)
    job = _job(instance, "s1")
    assert (job.status, job.attempts) == (JobStatus.PENDING, 0)
    assert job.last_error.startswith("circuit open for host http://ledger:80")
    assert job.run_after >= before + timedelta(seconds=45)
    assert not Incident.objects.filter(instance=instance).exists()
