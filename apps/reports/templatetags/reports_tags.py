from __future__ import annotations

from django import template

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
