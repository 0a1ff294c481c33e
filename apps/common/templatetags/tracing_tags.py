"""``{% load tracing_tags %}``: the link from a trace id to the tracing backend."""

from __future__ import annotations

from django import template

from apps.common import tracing

register = template.Library()


@register.filter
def trace_url(trace_id: str) -> str:
    return tracing.trace_url(trace_id)
