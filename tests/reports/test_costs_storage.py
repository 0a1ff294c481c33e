"""Stored bytes per completed instance in the cost per process (issue 23, decision 039 addendum 2):
what is counted, that it grows with the instance's data, measured once by the report refresh,
and shown by the API (and its schema), the SLA page and /metrics."""

from __future__ import annotations

import shutil
import subprocess
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from apps.common.actors import Actor
from apps.engine import services
from apps.engine.models import InstanceStatus, Job, ProcessInstance
from apps.inbox.models import TaskAttachment, TaskComment
from apps.reports.models import InstanceStorage
from apps.reports.selectors.common import Period
from apps.reports.selectors.costs import process_costs
from apps.reports.storage import instance_storage_record
from apps.reports.tasks import refresh_snapshots
from tests.engine.conftest import run_jobs
from tests.reports import dataset as ds

pytestmark = pytest.mark.django_db
S = ds.seconds
SYSTEM = Actor.system("test")


def _completed(deploy, note: str) -> ProcessInstance:
    version = deploy("bench_auto.bpmn")
    instance = services.instance_start(
        version=version, variables={"n": 1, "note": note}, actor=SYSTEM
    )
    run_jobs(instance)
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.COMPLETED
    return instance


def test_a_completed_instance_keeps_bytes_that_grow_with_its_variables(deploy):
    small = _completed(deploy, "x" * 10)
    large = _completed(deploy, "x" * 5000)
    assert instance_storage_record() == 2
    assert instance_storage_record() == 0  # measured once
    rows = {row.instance_id: row for row in InstanceStorage.objects.all()}
    first, second = rows[small.pk], rows[large.pk]
    for row in (first, second):
        # state + variables, the audit trail's payloads and the steps' inputs are all there
        assert row.state_bytes > 0 and row.audit_bytes > 0 and row.job_bytes > 0
        assert row.bytes == row.state_bytes + row.audit_bytes + row.task_bytes + row.job_bytes
        assert row.process_key == "bench_auto"
    # the note is kept at least once in the variables and once in the serialized state
    assert second.state_bytes - first.state_bytes >= 2 * 4990
    assert second.bytes > first.bytes

    period = Period(since=timezone.now() - timedelta(hours=1), until=timezone.now() + S(60))
    [row] = process_costs(period=period, process_key="bench_auto")
    assert row["completed_instances"] == row["measured_instances"] == 2
    assert row["stored_bytes"] == first.bytes + second.bytes
    assert row["stored_bytes_per_instance"] == round((first.bytes + second.bytes) / 2, 3)


def test_what_is_counted_byte_for_byte():
    day = ds.fixed_now() - S(86400)
    inst = ds.instance("orders", created=day, ended=day + S(60))
    ProcessInstance.objects.filter(pk=inst.pk).update(state="ab")  # + variables "{}"
    ds.job(inst, "book", created=day, started=day, finished=day + S(1))  # inputs "{}"
    Job.objects.filter(instance=inst).update(last_error="boom")
    task = ds.task(inst, "approve", created=day, completed=day + S(5))  # data "{}", no form
    TaskComment.objects.create(instance=inst, task=task, body="héllo")  # é is 2 bytes
    TaskAttachment.objects.create(
        instance=inst, task=task, file="a/b.txt", name="b.txt", content_type="text/plain", size=9
    )
    running = ds.instance("orders", created=day)  # not completed: not measured
    test_run = ds.instance("orders", created=day, ended=day + S(5))
    ProcessInstance.objects.filter(pk=test_run.pk).update(is_test_run=True)

    assert instance_storage_record() == 1
    row = InstanceStorage.objects.get()
    assert row.instance_id == inst.pk != running.pk
    assert (row.state_bytes, row.task_bytes, row.job_bytes, row.audit_bytes) == (4, 30, 6, 0)
    assert row.bytes == 40
    assert row.ended_at == inst.ended_at


def test_the_api_its_schema_the_page_and_metrics_show_the_stored_bytes(client, make_user):
    day = ds.fixed_now() - S(86400)
    inst = ds.instance("orders", created=day, ended=day + S(60), variables={"a": "x" * 3000})
    ds.job(inst, "book", created=day, started=day, finished=day + S(1))
    period = {"since": (day - S(60)).isoformat(), "until": ds.fixed_now().isoformat()}

    api = APIClient()
    api.force_login(make_user("manager", username="mgr"))
    [orders] = api.get("/api/v1/reports/costs/", period).json()["processes"]
    assert orders["measured_instances"] == 1
    assert 3000 < orders["stored_bytes"] == orders["stored_bytes_per_instance"] < 3100
    schema = api.get("/api/schema/", {"format": "json"}).json()
    cost_fields = schema["components"]["schemas"]["ProcessCostOut"]["properties"]
    assert {"stored_bytes", "stored_bytes_per_instance", "measured_instances"} <= set(cost_fields)

    client.force_login(make_user("manager", username="mgr2"))
    page = client.get("/admin-reports/sla/", period).content.decode()
    assert '<th scope="col">Stored / instance</th>' in page
    assert f'data-cost-stored="{orders["stored_bytes_per_instance"]}">2.9\xa0KB</td>' in page

    def stored_lines() -> list[str]:
        return [
            line
            for line in client.get("/metrics").content.decode().splitlines()
            if line.startswith("flowgate_process_") and "stored_bytes" in line
        ]

    assert stored_lines() == []  # no snapshot yet
    refresh_snapshots()
    assert InstanceStorage.objects.filter(instance_id=inst.pk).exists()
    bytes_ = orders["stored_bytes"]
    assert stored_lines() == [
        f'flowgate_process_stored_bytes{{process_key="orders"}} {float(bytes_)}',
        f'flowgate_process_instance_stored_bytes{{process_key="orders"}} {float(bytes_)}',
    ]
    promtool = shutil.which("promtool")
    if promtool:  # the exposition with the new gauges is still well formed
        checked = subprocess.run(  # noqa: S603 - a fixed local binary
            [promtool, "check", "metrics"],
            input=client.get("/metrics").content,
            capture_output=True,
            timeout=30,
            check=False,
        )
        assert checked.returncode == 0, checked.stdout.decode() + checked.stderr.decode()


def test_the_report_costs_a_fixed_number_of_queries_whatever_the_instances():
    day = ds.fixed_now() - S(86400)
    period = Period(since=day - S(60), until=ds.fixed_now())

    def queries_for(count: int) -> int:
        for n in range(count):
            inst = ds.instance(f"p{n % 3}", created=day, ended=day + S(60))
            ds.job(inst, "book", created=day, started=day, finished=day + S(1))
        with CaptureQueriesContext(connection) as captured:
            process_costs(period=period)
        return len(captured)

    # unmeasured completions: measured live, six grouped queries for all of them
    assert queries_for(3) == queries_for(6) == 5 + 6
    instance_storage_record()
    # all measured: the four grouped sums and the look-up of unmeasured instances
    with CaptureQueriesContext(connection) as captured:
        rows = process_costs(period=period)
    assert len(captured) == 5
    assert sum(row["measured_instances"] for row in rows) == 9
