from __future__ import annotations

from django import template
from django.utils.html import format_html

from apps.reports.slo import SLO_BADGES, slo_states

register = template.Library()


@register.filter
def duration(seconds) -> str:
    """3725.5 -> '1 h 2 min'; 42.25 -> '42.25 s'; None -> '—'."""
    if seconds is None or seconds == "":
        return "—"
    s = float(seconds)
    if s < 60:
        return f"{s:g} s"
    if s < 3600:
        return f"{int(s // 60)} min {int(s % 60)} s"
    if s < 86400:
        return f"{int(s // 3600)} h {int(s % 3600 // 60)} min"
    return f"{int(s // 86400)} d {int(s % 86400 // 3600)} h"


@register.filter
def percent(rate) -> str:
    """0.3 -> '30%'; None -> '—'."""
    if rate is None or rate == "":
        return "—"
    return f"{float(rate) * 100:.1f}%".replace(".0%", "%")


@register.filter
def get_item(mapping, key):
    return mapping.get(key, "") if hasattr(mapping, "get") else ""


@register.simple_tag(takes_context=True)
def slo_badge(context, process_key: str) -> str:
    """``{% load reports_tags %}{% slo_badge definition.key %}`` on any list of processes (the
    designer's): a badge with the process's SLO state, nothing without an SLO. One query per
    page (the states are read once and kept in the template context)."""
    states = context.get("_fg_slo_states")
    if states is None:
        states = slo_states()
        context["_fg_slo_states"] = states
    state = states.get(process_key)
    if state not in SLO_BADGES:
        return ""
    tone, label = SLO_BADGES[state]
    return format_html(
        '<span class="badge text-bg-{}" data-slo-state="{}">{}</span>', tone, state, label
    )
