"""The psycopg instrumentation as `tracing.configure()` installs it: a span per SQL statement, and
the traceparent comment (sqlcommenter) only when FLOWGATE_OTEL_SQLCOMMENTER asks for it."""

from __future__ import annotations

import psycopg
import pytest
from django.db import connection
from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor

from apps.common import tracing
from tests.support.tracing import spans  # noqa: F401 - fixture

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the psycopg instrumentation is PostgreSQL's"
)


def _statement_as_received() -> str:
    """What PostgreSQL received: current_query() is the statement's own text, comment included."""
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params) as conn:
        return conn.execute("SELECT current_query()").fetchone()[0]


@pytest.fixture
def instrumented(monkeypatch):
    def install(commenter: str | None) -> None:
        if commenter is None:
            monkeypatch.delenv("FLOWGATE_OTEL_SQLCOMMENTER", raising=False)
        else:
            monkeypatch.setenv("FLOWGATE_OTEL_SQLCOMMENTER", commenter)
        tracing.instrument_psycopg()

    yield install
    PsycopgInstrumentor().uninstrument()


def test_each_statement_is_a_span_and_its_text_is_sent_unchanged_by_default(
    spans,  # noqa: F811
    instrumented,
):
    instrumented(None)
    assert _statement_as_received() == "SELECT current_query()"
    statements = [s for s in spans.get_finished_spans() if s.name == "SELECT"]
    assert statements, [s.name for s in spans.get_finished_spans()]
    assert statements[-1].attributes["db.system"] == "postgresql"


def test_the_sqlcommenter_adds_the_statement_span_traceparent_when_asked(
    spans,  # noqa: F811
    instrumented,
):
    instrumented("true")
    received = _statement_as_received()
    [statement] = [s for s in spans.get_finished_spans() if s.name == "SELECT"][-1:]
    assert received.startswith("SELECT current_query() /*")
    assert f"{statement.context.trace_id:032x}" in received
