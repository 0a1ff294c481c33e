"""What apps above the designer add to its pages, without the designer importing them.

**Process badges**: a provider connected to ``process_badge_providers`` (an
``apps.common.hooks.Hook``) at start-up (``AppConfig.ready()``) answers, for the
process keys of one page of the process list, a badge per key it has something to say about
(reports registers the SLO state: "SLO at risk"). The designer renders what it is given and
knows nothing of SLOs. Decision record: docs/decisions/015-designer-extension-points.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from apps.common.hooks import LOG, hook


@dataclass(frozen=True)
class Badge:
    label: str  # shown text, e.g. "SLO at risk"
    tone: str  # success | warning | danger | secondary (a Bootstrap text-bg-* colour)
    kind: str  # machine name of what it says (data-badge), e.g. "slo"
    state: str  # machine value (data-badge-state), e.g. "at_risk"


TONES = frozenset({"success", "warning", "danger", "secondary", "info"})


@hook("designer.process_badges", errors=LOG)
def process_badge_providers(keys: Sequence[str]) -> dict[str, Badge]:
    """Badges by process key, for the keys of one page of the process list. A provider that
    fails costs its badges, not the page (logged)."""
    raise NotImplementedError  # a prototype: never called


def process_badges(keys: Sequence[str]) -> dict[str, list[Badge]]:
    """Badges per process key from every provider. A provider that fails costs its badges,
    not the page."""
    badges: dict[str, list[Badge]] = {key: [] for key in keys}
    if not keys:
        return badges
    for found in process_badge_providers.send(list(keys)):
        for key, badge in found.items():
            if key in badges and badge.tone in TONES:
                badges[key].append(badge)
    return badges
