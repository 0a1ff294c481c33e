"""The audit events of a traced instance carry its trace id: the start request's and each
worker step's (with the step's own span id), and the chain verifies (decision 039)."""

from __future__ import annotations

import pytest

from apps.audit.models import AuditEvent
from apps.audit.services import chain_link_pending
from apps.audit.verification import chain_verify
from apps.engine.models import ProcessInstance
from tests.engine.conftest import run_jobs
from tests.engine.test_http_task import api_server  # noqa: F401 - fixture
from tests.engine.test_tracing_flow import CALLER, TRACE_ID, admin_client, start_over_api  # noqa: F401
from tests.support.tracing import spans  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db


def test_every_event_of_a_traced_instance_carries_its_trace(admin_client, api_server, spans):  # noqa: F811
    body = start_over_api(admin_client, api_server, traceparent=CALLER)
    instance = ProcessInstance.objects.get(pk=body["id"])
    run_jobs(instance)

    events = list(AuditEvent.objects.filter(instance_id=instance.pk).order_by("position"))
    assert {e.trace_id for e in events} == {TRACE_ID}
    [step] = [s for s in spans.get_finished_spans() if s.name == "flowgate.step create_order"]
    step_events = [e for e in events if e.job_id is not None and e.action.startswith("job.")]
    assert step_events
    assert {e.span_id for e in step_events} == {f"{step.context.span_id:016x}"}
    chain_link_pending()
    assert chain_verify().intact
