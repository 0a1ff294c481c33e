"""What apps above the designer add to its pages, without the designer importing them.

**Process badges**: a provider registered at start-up (``AppConfig.ready()``) answers, for the
process keys of one page of the process list, a badge per key it has something to say about
(reports registers the SLO state: "SLO at risk"). The designer renders what it is given and
knows nothing of SLOs. Decision record: docs/decisions/015-designer-extension-points.md.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Badge:
    label: str  # shown text, e.g. "SLO at risk"
    tone: str  # success | warning | danger | secondary (a Bootstrap text-bg-* colour)
    kind: str  # machine name of what it says (data-badge), e.g. "slo"
    state: str  # machine value (data-badge-state), e.g. "at_risk"


BadgeProvider = Callable[[Sequence[str]], dict[str, Badge]]
_providers: list[BadgeProvider] = []
TONES = frozenset({"success", "warning", "danger", "secondary", "info"})


def process_badge_provider_register(provider: BadgeProvider) -> None:
    """Called once at start-up by an app above the designer (idempotent)."""
    if provider not in _providers:
        _providers.append(provider)


def process_badges(keys: Sequence[str]) -> dict[str, list[Badge]]:
    """Badges per process key from every provider. A provider that fails costs its badges,
    not the page."""
    badges: dict[str, list[Badge]] = {key: [] for key in keys}
    if not keys:
        return badges
    for provider in _providers:
        try:
            found = provider(list(keys))
        except Exception:  # a report's failure must not take the designer down
            logger.exception("process badge provider %r failed", provider)
            continue
        for key, badge in found.items():
            if key in badges and badge.tone in TONES:
                badges[key].append(badge)
    return badges
