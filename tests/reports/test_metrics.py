"""GET /metrics: access control, exact values, and a valid Prometheus exposition."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from apps.common.services import heartbeat_record
from apps.engine.models import JobStatus, Timer
from apps.reports.models import ActivitySla
from tests.reports import dataset as ds

pytestmark = pytest.mark.django_db
S = ds.seconds


@pytest.fixture
def seeded():
    now = ds.fixed_now()
    day = now - timedelta(days=1)
    a = ds.instance("exp", created=day, ended=day + S(10))
    b = ds.instance("exp", created=day)
    ds.instance("exp", created=day, status="suspended")
    ds.instance("other", created=day, status="cancelled", ended=day + S(1))
    ds.incident(b, "book")
    ds.job(a, "book", created=day, started=day + S(0.2), finished=day + S(0.5), attempts=1)
    ds.job(a, "mail", created=day, started=day + S(3), finished=day + S(4), attempts=3)
    ds.job(b, "book2", created=day, status=JobStatus.PENDING, attempts=0, deferrals=7)
    ActivitySla.objects.create(process_key="exp", activity_id="approve", breach_seconds=60)
    ds.task(a, "approve", created=day, completed=day + S(61))
    ds.task(a, "approve2", created=day, completed=day + S(59))
    ds.task(b, "approve", created=now - S(120), groups=("manager", "clerk"))
    Timer.objects.create(instance=b, task_id="tm", activity_id="wait", due_at=now - S(30))
    heartbeat_record(component="worker")
    return now


def _families(body: bytes) -> dict:
    return {f.name: f for f in text_string_to_metric_families(body.decode())}


def _value(families, name, sample_name=None, **labels):
    family = families[name]
    for s in family.samples:
        if s.name == (sample_name or name) and all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    raise AssertionError(f"no sample {sample_name or name} {labels}")


def test_metrics_values(client, seeded):
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    f = _families(response.content)
    assert (
        _value(
            f, "flowgate_instances_started", "flowgate_instances_started_total", process_key="exp"
        )
        == 3
    )
    assert (
        _value(
            f,
            "flowgate_instances_completed",
            "flowgate_instances_completed_total",
            process_key="exp",
        )
        == 1
    )
    assert (
        _value(f, "flowgate_instances_failed", "flowgate_instances_failed_total", process_key="exp")
        == 1
    )
    assert (
        _value(
            f,
            "flowgate_instances_cancelled",
            "flowgate_instances_cancelled_total",
            process_key="other",
        )
        == 1
    )
    assert _value(f, "flowgate_instances_active", process_key="exp", status="suspended") == 1
    assert _value(f, "flowgate_incidents", status="open") == 1
    assert _value(f, "flowgate_job_attempts", "flowgate_job_attempts_total", connector="echo") == 4
    assert _value(f, "flowgate_job_retries", "flowgate_job_retries_total", connector="echo") == 2
    # waits are counted apart from failures (decision 039)
    assert (
        _value(f, "flowgate_job_deferrals", "flowgate_job_deferrals_total", connector="echo") == 7
    )
    assert _value(f, "flowgate_job_queue_depth", connector="echo", state="due") == 1
    # durations 0.3 s and 1 s; queue latency 0.2 s and 3 s
    h = "flowgate_job_duration_seconds"
    assert _value(f, h, f"{h}_bucket", le="0.25") == 0
    assert _value(f, h, f"{h}_bucket", le="0.5") == 1
    assert _value(f, h, f"{h}_bucket", le="1.0") == 2
    assert _value(f, h, f"{h}_bucket", le="+Inf") == 2
    assert _value(f, h, f"{h}_count") == 2
    assert _value(f, h, f"{h}_sum") == pytest.approx(1.3)
    q = "flowgate_job_queue_latency_seconds"
    assert _value(f, q, f"{q}_bucket", le="0.25") == 1
    assert _value(f, q, f"{q}_bucket", le="2.5") == 1
    assert _value(f, q, f"{q}_bucket", le="5.0") == 2
    assert _value(f, "flowgate_open_tasks", role="clerk") == 1
    assert _value(f, "flowgate_open_tasks_breached", role="manager") == 1  # 120 s > 60 s
    assert (
        _value(
            f,
            "flowgate_sla_breaches",
            "flowgate_sla_breaches_total",
            process_key="exp",
            activity_id="approve",
        )
        == 1
    )
    assert _value(f, "flowgate_timer_lag_seconds") == pytest.approx(30, abs=5)
    assert _value(f, "flowgate_timers_overdue") == 1
    assert _value(f, "flowgate_component_up", component="worker") == 1
    assert _value(f, "flowgate_component_up", component="scheduler") == 0
    assert _value(f, "flowgate_audit_events", "flowgate_audit_events_total") >= 0


def test_exposition_is_well_formed(client, seeded):
    """What promtool checks: HELP and TYPE once per family, before its samples; valid names;
    histogram buckets cumulative and ending in +Inf equal to _count."""
    text = client.get("/metrics").content.decode()
    seen_type = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            name = line.split()[2]
            assert name not in seen_type
            seen_type.add(name)
    for family in text_string_to_metric_families(text):
        assert family.documentation
        if family.type == "histogram":
            by_series: dict = {}
            for s in family.samples:
                key = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
                by_series.setdefault(key, {})[
                    s.name.rsplit("_", 1)[-1] + s.labels.get("le", "")
                ] = s.value
            for series in by_series.values():
                buckets = [v for k, v in series.items() if k.startswith("bucket")]
                assert buckets == sorted(buckets)
                assert series["bucket+Inf"] == series["count"]


@pytest.mark.skipif(
    not (os.environ.get("PROMTOOL") or shutil.which("promtool")),
    reason="promtool not installed (set PROMTOOL=/path/to/promtool)",
)
def test_promtool_check_metrics(client, seeded):
    promtool = os.environ.get("PROMTOOL") or shutil.which("promtool")
    body = client.get("/metrics").content
    result = subprocess.run(  # noqa: S603 - a fixed local binary
        [promtool, "check", "metrics"], input=body, capture_output=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()


def test_metrics_access(client, settings, seeded):
    settings.FLOWGATE_METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    settings.FLOWGATE_METRICS_TOKEN = "s3cret-token"
    assert client.get("/metrics").status_code == 403  # 127.0.0.1 no longer allowed
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    settings.FLOWGATE_METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 403


def test_grafana_dashboard_uses_only_exported_metrics(client, seeded):
    import json
    import re
    from pathlib import Path

    dashboard = json.loads(
        (Path(__file__).resolve().parents[2] / "docs" / "grafana" / "flowgate.json").read_text()
    )
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    used = {
        re.sub(r"_(total|bucket)$", "", m) for e in exprs for m in re.findall(r"flowgate_\w+", e)
    }
    exported = set(_families(client.get("/metrics").content))
    assert used - exported == set()
    assert len(used) >= 14
