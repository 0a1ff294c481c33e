"""Counts over a period from the per-day summaries (decision 020) equal the count over the facts,
whatever mix of summarised whole days, partial edge days, facts completed by no one and facts
still queued a window reads; and the hand-computed count of the seeded set (both databases)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from apps.reports.day_counts import completed_tasks_by_process
from apps.reports.models import TaskFact
from apps.reports.selectors import Period
from apps.reports.summaries import fact_buckets_summarise
from tests.reports import dataset as ds
from tests.reports.test_selectors import now, period, seeded  # noqa: F401 - shared fixtures

pytestmark = pytest.mark.django_db
S = ds.seconds


def _from_facts(window: Period, process_key: str = "") -> dict[str, int]:
    out: dict[str, int] = {}
    facts = TaskFact.objects.filter(completed_at__gte=window.since, completed_at__lt=window.until)
    if process_key:
        facts = facts.filter(process_key=process_key)
    for key in facts.values_list("process_key", flat=True):
        out[key] = out.get(key, 0) + 1
    return out


def _mixed(now, make_user):  # noqa: F811
    """Tasks completed over 4 days at 22:30 and 01:30 UTC, by a user or by no one."""
    user = make_user("manager", username="closer")
    start = (now - timedelta(days=5)).replace(hour=0, minute=0, second=0)
    a, b = ds.instance("mix", created=start), ds.instance("other", created=start)
    for day in range(4):
        for hour, inst, who in ((1, a, user), (22, a, None), (22, b, user)):
            created = start + timedelta(days=day, hours=hour)
            ds.task(inst, "t", created=created, completed=created + S(1800), completed_by=who)
    return start


def _windows(now, start):  # noqa: F811
    return [
        Period(since=start, until=start + timedelta(days=4)),  # whole days only
        Period(since=start + timedelta(hours=1, minutes=30), until=now),  # edge at a completion
        Period(since=start + timedelta(hours=1, minutes=31), until=now),  # a second later
        Period(since=start + timedelta(hours=23), until=start + timedelta(days=2, hours=2)),
        Period(since=start + timedelta(hours=22), until=start + timedelta(hours=23)),  # no day
        Period(since=now - timedelta(days=60), until=now - timedelta(days=40)),  # empty
    ]


def test_the_seeded_set_counts_its_completed_tasks_once(seeded, period):  # noqa: F811
    # given the seeded set: 5 approvals and 3 reviews completed two days ago (the approval
    # completed 19 days ago is outside the 10-day period, the cancelled one has no fact)
    expected = {"exp": 8}
    assert completed_tasks_by_process(since=period.since, until=period.until) == expected
    # when the facts are counted into the per-day summaries (twice: the second run is a no-op)
    fact_buckets_summarise()
    fact_buckets_summarise()
    # then the count is the same, and for the one process
    assert completed_tasks_by_process(since=period.since, until=period.until) == expected
    assert (
        completed_tasks_by_process(since=period.since, until=period.until, process_key="exp")
        == expected
    )
    assert (
        completed_tasks_by_process(since=period.since, until=period.until, process_key="nope") == {}
    )


def test_edges_no_one_and_queued_facts_give_the_count_over_the_facts(now, make_user):  # noqa: F811
    start = _mixed(now, make_user)
    fact_buckets_summarise()
    # tasks completed after the summary run: queued facts inside whole days
    late = ds.instance("mix", created=start)
    for day in (1, 2):
        created = start + timedelta(days=day, hours=5)
        ds.task(late, "t", created=created, completed=created + S(60))
    for window in _windows(now, start):
        for key in ("", "mix"):
            assert completed_tasks_by_process(
                since=window.since, until=window.until, process_key=key
            ) == _from_facts(window, key), (window, key)
    # by hand: the whole 4 days hold 4 x 3 tasks + the 2 late ones
    whole = Period(since=start, until=start + timedelta(days=4))
    assert completed_tasks_by_process(since=whole.since, until=whole.until) == {
        "mix": 10,
        "other": 4,
    }
