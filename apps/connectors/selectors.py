"""Reads for connectors and secrets (metadata only: never a value)."""

from __future__ import annotations

from django.db.models import QuerySet

from apps.connectors import registry
from apps.connectors.base import Connector
from apps.connectors.http import breaker, limits
from apps.connectors.models import Secret


def connector_list() -> list[Connector]:
    return registry.all_connectors()


def connector_choices() -> list[dict]:
    """Name, label and whether it is chainable, for the designer's connector field."""
    return [
        {"name": c.name, "label": c.label or c.name, "chainable": c.chainable}
        for c in registry.all_connectors()
    ]


def secret_list() -> QuerySet[Secret]:
    return Secret.objects.select_related("created_by").defer("ciphertext").order_by("name")


def circuit_list() -> list[dict]:
    """The HTTP connector's circuits, by target (decision 029)."""
    return [
        {
            "target": target,
            "state": circuit.state,
            "failures": circuit.failures,
            "open_until": breaker.as_datetime(circuit.open_until)
            if circuit.state != breaker.CLOSED
            else None,
            "last_error": circuit.last_error,
            "deferred": circuit.deferred,
        }
        for target, circuit in sorted(breaker.circuits().items())
    ]


def limit_list() -> list[dict]:
    """The HTTP connector's per-target limits and their use now (decision 029)."""
    return [
        {
            "target": s.target,
            "in_flight": s.in_flight,
            "concurrency": s.limit.concurrency,
            "recent_starts": s.recent_starts,
            "rate": s.limit.rate,
            "period": s.limit.period,
            "deferred": s.deferred,
        }
        for s in limits.limit_statuses()
    ]
