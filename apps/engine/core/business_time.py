"""Business time: durations measured only while a calendar says people work.

Pure Python (no Django): the inbox, the reports and the designer preview share it. A calendar is
a time zone, working periods per weekday in local wall-clock time, and closed dates (public
holidays generated for a country/region plus the organisation's own days). A period whose end is
not after its start runs overnight (22:00-06:00) and belongs to the day it starts on; a closed
date removes the periods that start on it.

Conventions (each one tested in tests/engine_core/test_business_time.py):
- Adding business time returns the *earliest* wall-clock moment at which that much working time
  has passed: Friday 17:00 plus nothing is Friday 17:00, and a deadline that uses up a day's last
  period lands at its end (17:00), not at the next morning's start (the same business instant).
- ``N business days`` keeps the position within the working day: 12:00 on Tuesday + 1 day is
  12:00 on the next working day (capped at that day's length when days differ). A moment outside
  working time counts as the end of the previous working day, so Friday 17:00, Saturday and
  Monday 08:00 all become Monday 17:00 under Monday-Friday 9-17.
- Periods are local wall-clock times: on a DST change 9:00-17:00 is still eight hours, while an
  overnight shift across the change is one hour shorter or longer, as worked.
"""

from __future__ import annotations

import re
from collections.abc import Container, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# The longest stretch searched for working time before a calendar is declared empty.
MAX_SEARCH_DAYS = 3 * 366
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_PERIOD = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_BUSINESS = re.compile(
    r"^\s*(\d{1,4})\s+business\s+(day|days|hour|hours|minute|minutes)\s*$", re.IGNORECASE
)


class CalendarError(ValueError):
    """A calendar that cannot be used as given (bad zone, bad period, no working time)."""


@dataclass(frozen=True)
class Period:
    start: time
    end: time  # not after start: the period runs past midnight

    @property
    def overnight(self) -> bool:
        return self.end <= self.start

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


def parse_periods(text: str) -> tuple[Period, ...]:
    """``"09:00-12:00, 13:00-17:00"`` -> periods; ``""`` -> none (a day off). Raises CalendarError."""
    periods = []
    for part in (p for p in (text or "").split(",") if p.strip()):
        match = _PERIOD.match(part)
        if not match:
            raise CalendarError(f"“{part.strip()}” is not a period like 09:00-17:00.")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
            raise CalendarError(f"“{part.strip()}” is not a time of day.")
        end = time(0, 0) if h2 == 24 else time(h2, m2)
        if time(h1, m1) == end:
            raise CalendarError(f"“{part.strip()}” is empty.")
        periods.append(Period(time(h1, m1), end))
    ordered = sorted(periods, key=lambda p: p.start)
    for before, after in zip(ordered, ordered[1:], strict=False):
        if before.overnight or before.end > after.start:
            raise CalendarError(f"The periods {before} and {after} overlap.")
    return tuple(ordered)


@dataclass(frozen=True)
class BusinessDuration:
    """``amount`` business days, hours or minutes ("2 business days")."""

    amount: int
    unit: str  # "days" | "seconds"

    def __str__(self) -> str:
        if self.unit == "days":
            return f"{self.amount} business day{'s' if self.amount != 1 else ''}"
        hours, rest = divmod(self.amount, 3600)
        if not rest:
            return f"{hours} business hour{'s' if hours != 1 else ''}"
        return f"{self.amount // 60} business minutes"


def parse_business_duration(text: str | None) -> BusinessDuration | None:
    """ "2 business days" / "4 business hours" / "30 business minutes"; None for anything else
    (an ISO-8601 duration stays wall-clock time and is read elsewhere)."""
    match = _BUSINESS.match(text or "")
    if not match:
        return None
    amount, unit = int(match.group(1)), match.group(2).lower()
    if unit.startswith("day"):
        return BusinessDuration(amount, "days")
    return BusinessDuration(amount * (3600 if unit.startswith("hour") else 60), "seconds")


def working_day_seconds(week: dict[int, tuple[Period, ...]]) -> int:
    """The length of a business day under ``week`` (weekday -> periods): the most common length
    of its working weekdays (the longer on a tie), e.g. 28,800 for Monday-Friday 09:00-17:00.
    What "N business days" means as a duration (an SLA threshold judged against working
    seconds), where a deadline keeps its position within the day instead (``add_days``)."""
    lengths: dict[int, int] = {}
    for periods in week.values():
        seconds = sum(
            ((p.end.hour * 60 + p.end.minute) - (p.start.hour * 60 + p.start.minute)) % 1440 * 60
            for p in periods
        )
        if seconds:
            lengths[seconds] = lengths.get(seconds, 0) + 1
    if not lengths:
        raise CalendarError("The calendar has no working hours on any weekday.")
    return max(lengths, key=lambda length: (lengths[length], length))


@dataclass(frozen=True)
class BusinessCalendar:
    zone: str
    # weekday (0 = Monday) -> its working periods; a missing weekday is a day off
    week: dict[int, tuple[Period, ...]]
    # closed dates: any container (a frozenset, or a lazily expanding holidays.HolidayBase)
    closed: Container[date] = field(default_factory=frozenset, hash=False, compare=False)

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise CalendarError(f"Unknown time zone “{self.zone}”.") from exc
        if not any(self.week.get(d) for d in range(7)):
            raise CalendarError("The calendar has no working hours on any weekday.")

    @classmethod
    def from_texts(
        cls, zone: str, week: dict[str, str], closed: Iterable[date] | Container[date] = ()
    ) -> BusinessCalendar:
        """``{"mon": "09:00-17:00", ...}`` (weekday names as in WEEKDAYS)."""
        return cls(
            zone=zone,
            week={i: parse_periods(week.get(name, "")) for i, name in enumerate(WEEKDAYS)},
            closed=closed if isinstance(closed, Container) else frozenset(closed),
        )

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)

    # -- the working periods of one local date, as UTC intervals ------------------------------

    def periods_on(self, day: date) -> list[tuple[datetime, datetime]]:
        """The working intervals that start on local ``day`` (none on a closed date)."""
        if day in self.closed:
            return []
        tz = self.tz
        out = []
        for period in self.week.get(day.weekday(), ()):
            start = datetime.combine(day, period.start, tzinfo=tz).astimezone(UTC)
            end_day = day + timedelta(days=1) if period.overnight else day
            end = datetime.combine(end_day, period.end, tzinfo=tz).astimezone(UTC)
            if end > start:  # a period swallowed by a DST gap is simply empty
                out.append((start, end))
        return out

    def day_length(self, day: date) -> float:
        return sum((end - start).total_seconds() for start, end in self.periods_on(day))

    def _local_date(self, moment: datetime) -> date:
        return _aware(moment).astimezone(self.tz).date()

    def _intervals_from(self, moment: datetime) -> Iterable[tuple[datetime, datetime]]:
        """Working intervals that end after ``moment``, in order (clipped to start at it)."""
        moment = _aware(moment)
        day = self._local_date(moment) - timedelta(days=1)  # yesterday's overnight shift
        for _ in range(MAX_SEARCH_DAYS):
            for start, end in self.periods_on(day):
                if end > moment:
                    yield max(start, moment), end
            day += timedelta(days=1)
        raise CalendarError(f"No working time within {MAX_SEARCH_DAYS} days.")

    # -- the three questions ------------------------------------------------------------------

    def add_seconds(self, moment: datetime, seconds: float) -> datetime:
        """The earliest moment at which ``seconds`` of working time have passed since ``moment``."""
        if seconds < 0:
            raise CalendarError("Business time cannot be negative.")
        moment = _aware(moment)
        if seconds == 0:
            return moment
        left = timedelta(seconds=seconds)
        for start, end in self._intervals_from(moment):
            if end - start >= left:
                return start + left
            left -= end - start
        raise AssertionError("unreachable")  # _intervals_from raises first

    def add_days(self, moment: datetime, days: int) -> datetime:
        """``days`` working days later, at the same position within the working day."""
        if days < 0:
            raise CalendarError("Business time cannot be negative.")
        moment = _aware(moment)
        if days == 0:
            return moment
        day, offset = self._position(moment)
        for _ in range(days):
            day = self._next_working_day(day)
        return self._at(day, min(offset, self.day_length(day)))

    def add(self, moment: datetime, duration: BusinessDuration) -> datetime:
        if duration.unit == "days":
            return self.add_days(moment, duration.amount)
        return self.add_seconds(moment, duration.amount)

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Working time between two moments (zero when ``end`` is not after ``start``)."""
        start, end = _aware(start), _aware(end)
        total = timedelta(0)
        if end <= start:
            return total
        day = self._local_date(start) - timedelta(days=1)
        last = self._local_date(end)
        while day <= last:
            for p_start, p_end in self.periods_on(day):
                overlap = min(p_end, end) - max(p_start, start)
                if overlap > timedelta(0):
                    total += overlap
            day += timedelta(days=1)
        return total

    # -- day positions ------------------------------------------------------------------------

    def _next_working_day(self, day: date) -> date:
        for _ in range(MAX_SEARCH_DAYS):
            day += timedelta(days=1)
            if self.periods_on(day):
                return day
        raise CalendarError(f"No working day within {MAX_SEARCH_DAYS} days.")

    def _previous_working_day(self, day: date) -> date:
        for _ in range(MAX_SEARCH_DAYS):
            day -= timedelta(days=1)
            if self.periods_on(day):
                return day
        raise CalendarError(f"No working day within {MAX_SEARCH_DAYS} days.")

    def _position(self, moment: datetime) -> tuple[date, float]:
        """(working day, working seconds into it) of ``moment``. A moment at or before a day's
        first period counts as the end of the previous working day; after its last, as its end."""
        local = self._local_date(moment)
        for day in (local, local - timedelta(days=1)):  # today's, or yesterday's overnight shift
            periods = self.periods_on(day)
            if not periods or moment <= periods[0][0]:
                continue
            done = sum(
                ((min(e, moment) - s).total_seconds() for s, e in periods if s < moment), 0.0
            )
            return day, done
        day = self._previous_working_day(local)
        return day, self.day_length(day)

    def _at(self, day: date, offset: float) -> datetime:
        """The earliest moment ``offset`` working seconds into working ``day``."""
        left = timedelta(seconds=offset)
        periods = self.periods_on(day)
        for start, end in periods:
            if end - start >= left:
                return start + left
            left -= end - start
        return periods[-1][1]


def deadline_after_pause(
    deadline: datetime,
    *,
    paused_at: datetime,
    resumed_at: datetime,
    calendar: BusinessCalendar | None = None,
) -> datetime:
    """Where ``deadline`` falls once a clock paused at ``paused_at`` runs again at ``resumed_at``.

    The time that was left at the pause is left again at the resumption: wall-clock time
    (``calendar`` None) or working time of ``calendar``. A deadline that had already passed when
    the clock stopped stays where it is (it was missed before the pause).
    """
    deadline, paused_at, resumed_at = _aware(deadline), _aware(paused_at), _aware(resumed_at)
    if deadline <= paused_at or resumed_at <= paused_at:
        return deadline
    if calendar is None:
        return deadline + (resumed_at - paused_at)
    left = calendar.elapsed(paused_at, deadline)
    return calendar.add_seconds(resumed_at, left.total_seconds())


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise CalendarError("Business time needs an aware datetime.")
    return moment.astimezone(UTC)
