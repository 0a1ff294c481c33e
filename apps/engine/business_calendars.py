"""The business calendar of a timer ("escalate after 1 business day"): the names the model gives
(apps.engine.core.calendar_refs), resolved like the SLA times of user tasks — the first calendar
that exists, else the portal default, else Monday-Friday 09:00-17:00 (docs/calendars.md).

Resolved when the timer is armed, so a calendar change applies to timers armed from then on."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from apps.calendars.selectors import calculator_for
from apps.engine.core.business_time import BusinessCalendar
from apps.engine.core.calendar_refs import timer_calendars
from apps.processes.models import ProcessVersion


@lru_cache(maxsize=256)
def _names(version_id: int, checksum: str) -> dict[str, tuple[str, ...]]:
    del checksum  # cache key only: a version's XML never changes
    xml = ProcessVersion.objects.filter(pk=version_id).values_list("xml", flat=True).first()
    return timer_calendars(xml) if xml else {}


def timer_calendar_resolver(
    version_id: int, checksum: str
) -> Callable[[str], BusinessCalendar | None]:
    """bpmn id of a timer event -> the calculator its business time counts in."""

    def resolve(bpmn_id: str) -> BusinessCalendar | None:
        calculator, _ = calculator_for(*_names(version_id, checksum).get(bpmn_id, ()))
        return calculator

    return resolve
