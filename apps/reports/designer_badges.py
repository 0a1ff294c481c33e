"""The SLO state on the designer's process list, through the designer's badge hook
(``apps.designer.hooks``; registered in ``ReportsConfig.ready``). Reports sits above the
designer, so it is reports that plugs in; the designer never imports reports."""

from __future__ import annotations

from collections.abc import Sequence

from apps.designer.hooks import Badge
from apps.reports.slo import SLO_BADGES, slo_states


def slo_process_badges(keys: Sequence[str]) -> dict[str, Badge]:
    """The SLO state of each listed process that has an SLO, as a badge (one query per page)."""
    badges = {}
    for key, state in slo_states(process_keys=list(keys)).items():
        if state in SLO_BADGES:
            tone, label = SLO_BADGES[state]
            badges[key] = Badge(label=label, tone=tone, kind="slo", state=state)
    return badges
