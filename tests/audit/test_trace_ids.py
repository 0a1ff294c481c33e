"""Audit events carry the trace context they were written in (decision 039): stored, hashed
when set (old events without one verify unchanged), searchable, shown and exported."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.urls import reverse
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
from rest_framework.test import APIClient

from apps.accounts.roles import Role
from apps.audit.actions import AuditAction
from apps.audit.chain import EVENT_FIELDS, canonical_bytes, event_hash
from apps.audit.models import AuditEvent, AuditLink
from apps.audit.services import chain_link_pending, record
from apps.audit.verification import chain_verify

pytestmark = pytest.mark.django_db

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN_ID = "00f067aa0ba902b7"
OTHER_TRACE = "0af7651916cd43dd8448eb211c80319c"


@contextmanager
def in_span(trace_id: str, span_id: str) -> Iterator[None]:
    context = SpanContext(
        trace_id=int(trace_id, 16),
        span_id=int(span_id, 16),
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )
    with trace.use_span(NonRecordingSpan(context)):
        yield


def _link_fields(event: AuditEvent) -> dict:
    link = AuditLink.objects.get(event=event)
    fields = {name: getattr(event, name) for name in (*EVENT_FIELDS, "trace_id", "span_id")}
    return {**fields, "seq": link.seq, "prev_hash": link.prev_hash}


@pytest.fixture
def trail():
    untraced = record(AuditAction.INSTANCE_STARTED, process_key="invoice", instance_id=7)
    with in_span(TRACE_ID, SPAN_ID):
        traced = record(AuditAction.JOB_SUCCEEDED, process_key="invoice", instance_id=7, job_id=3)
    with in_span(OTHER_TRACE, SPAN_ID):
        other = record(AuditAction.TIMER_FIRED, instance_id=8)
    chain_link_pending()
    return untraced, traced, other


def test_an_event_written_in_a_span_stores_its_trace_and_span_id(trail):
    untraced, traced, _other = trail
    stored = AuditEvent.objects.get(pk=traced.pk)
    assert (stored.trace_id, stored.span_id) == (TRACE_ID, SPAN_ID)
    assert AuditEvent.objects.get(pk=untraced.pk).trace_id is None


def test_an_event_about_an_instance_outside_a_span_takes_the_instances_trace():
    class Instance:  # what record(instance=...) reads: references and the stored trace
        process_key, version_id, pk, trace_id = "invoice", None, 9, OTHER_TRACE

    event = record(AuditAction.INSTANCE_STARTED, instance=Instance())
    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.trace_id, stored.span_id) == (OTHER_TRACE, None)


def test_the_trace_ids_are_hashed_and_an_untraced_event_hashes_as_before(trail):
    untraced, traced, _other = trail
    # an event without a trace encodes exactly as events did before migration 0007
    untraced_fields = _link_fields(AuditEvent.objects.get(pk=untraced.pk))
    assert b"trace_id" not in canonical_bytes(untraced_fields)
    legacy = {name: untraced_fields[name] for name in (*EVENT_FIELDS, "seq", "prev_hash")}
    assert event_hash(legacy) == AuditLink.objects.get(event_id=untraced.pk).hash
    # a traced event's hash covers its trace: another trace id gives another hash
    fields = _link_fields(AuditEvent.objects.get(pk=traced.pk))
    assert event_hash(fields) == AuditLink.objects.get(event_id=traced.pk).hash
    assert event_hash({**fields, "trace_id": OTHER_TRACE}) != event_hash(fields)
    assert event_hash({**fields, "trace_id": None}) != event_hash(fields)
    assert event_hash({**fields, "span_id": None}) != event_hash(fields)
    assert chain_verify().intact


@pytest.fixture
def auditor(make_user):
    client = APIClient()
    client.force_authenticate(make_user(Role.AUDITOR, username="audrey"))
    return client


def test_the_api_filters_by_trace_id_and_returns_it(auditor, trail):
    response = auditor.get("/api/v1/audit/events/", {"trace_id": TRACE_ID.upper()})
    assert response.status_code == 200
    [event] = response.json()["results"]
    assert (event["position"], event["trace_id"], event["span_id"]) == (
        trail[1].position,
        TRACE_ID,
        SPAN_ID,
    )


def test_a_malformed_trace_id_is_a_400_with_a_message(auditor, trail):
    response = auditor.get("/api/v1/audit/events/", {"trace_id": "not-a-trace"})
    assert response.status_code == 400
    assert "32 hexadecimal" in response.content.decode()


def test_the_export_has_the_trace_columns(auditor, trail):
    response = auditor.get("/api/v1/audit/export/", {"format": "csv", "instance_id": 7})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(r["trace_id"], r["span_id"]) for r in rows] == [("", ""), (TRACE_ID, SPAN_ID)]


def test_the_search_page_filters_by_trace_and_links_to_the_backend(
    client, make_user, settings, trail
):
    settings.FLOWGATE_TRACE_URL_TEMPLATE = "https://tempo.example.com/trace/{trace_id}"
    client.force_login(make_user(Role.AUDITOR))
    response = client.get(reverse("audit:list"), {"trace_id": TRACE_ID})
    assert response.status_code == 200
    page = response.content.decode()
    assert [e.position for e in response.context["page_obj"].object_list] == [trail[1].position]
    assert f'href="https://tempo.example.com/trace/{TRACE_ID}"' in page
    assert f"?trace_id={TRACE_ID}" in page
    bad = client.get(reverse("audit:list"), {"trace_id": "xyz"})
    assert bad.status_code == 400  # the form shows the error, as for every other field
    assert "A trace id is 32 hexadecimal characters." in bad.content.decode()
