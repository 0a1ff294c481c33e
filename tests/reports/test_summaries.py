"""Per-day bucket counts and index walks (decision 019) give exactly the figures of the
straightforward computation (percentile_cont over the period's facts, and over the inbox rows),
whatever mix of summarised days, partial edge days and pending facts a window reads."""

from __future__ import annotations

from datetime import timedelta

import pytest

from apps.reports.metrics import sla_breach_counts
from apps.reports.models import (
    ActivitySla,
    JobFactBucket,
    JobFactPending,
    TaskFact,
    TaskFactBucket,
    TaskFactPending,
    TaskFactUserBucket,
)
from apps.reports.selectors import Period, activity_summary, heatmap, workload_by_user
from apps.reports.summaries import fact_buckets_summarise
from tests.reports import dataset as ds
from tests.reports.test_selectors import now, period, seeded  # noqa: F401 - shared fixtures

pytestmark = [pytest.mark.django_db, pytest.mark.postgres_only]
S = ds.seconds


def _assert_same(**kwargs):
    fast = activity_summary(**kwargs)
    sorted_facts = activity_summary(buckets=False, **kwargs)
    source = activity_summary(facts=False, **kwargs)
    assert fast == sorted_facts, kwargs
    assert fast == source, kwargs
    by_user = {k: v for k, v in kwargs.items() if k in ("period", "process_key")}
    assert workload_by_user(**by_user) == workload_by_user(buckets=False, **by_user), by_user
    return fast


def _windows(now, day):  # noqa: F811
    midnight = day.replace(hour=0, minute=0, second=0)
    return [
        Period(since=now - timedelta(days=10), until=now + timedelta(hours=1)),
        Period(since=now - timedelta(days=30), until=now),
        Period(since=midnight, until=midnight + timedelta(days=1)),  # one whole day
        Period(since=midnight - timedelta(days=3), until=midnight + timedelta(days=2)),
        Period(since=day, until=now),  # starts mid-day at the seeded instant
        Period(since=day + S(1), until=now),  # one second later: excludes the day's tasks
        Period(since=midnight + timedelta(hours=12), until=midnight + timedelta(days=1, hours=1)),
        Period(since=now - timedelta(hours=1), until=now),  # no whole day
        Period(since=now - timedelta(days=60), until=now - timedelta(days=40)),  # empty
    ]


def test_the_seeded_set_gives_the_same_figures_summarised_pending_and_sorted(
    seeded,  # noqa: F811
    now,  # noqa: F811
):
    # given the hand-computed data set, first with every fact pending
    assert TaskFactPending.objects.count() == TaskFact.objects.count() == 9
    for window in _windows(now, seeded["day"]):
        _assert_same(period=window, now=now, risk_hours=1)
    # when the facts are counted into the per-day buckets
    assert fact_buckets_summarise() == 12  # 9 task facts, 3 job facts
    assert not TaskFactPending.objects.exists()
    assert not JobFactPending.objects.exists()
    # then every window (whole days, mid-day edges, no whole day, empty) gives the same figures
    for window in _windows(now, seeded["day"]):
        _assert_same(period=window, now=now, risk_hours=1)
        _assert_same(period=window, now=now, process_key="exp")
    version_id = ds.version_for("exp").pk
    window = Period(since=now - timedelta(days=10), until=now)
    _assert_same(period=window, now=now, version_id=version_id)
    fast = activity_summary(period=window, now=now, version_id=version_id, measures=("duration",))
    slow = activity_summary(
        period=window, now=now, version_id=version_id, measures=("duration",), buckets=False
    )
    assert fast == slow
    assert heatmap(version_id=version_id, period=window, now=now)["activities"]


def test_summarising_twice_counts_each_fact_once(seeded):  # noqa: F811
    # tasks: three statements of at most 4 facts; jobs: one
    assert fact_buckets_summarise(batch=4) == 12
    assert fact_buckets_summarise() == 0
    durations = TaskFactBucket.objects.filter(measure=0)
    assert sum(b.n for b in durations) == 9
    assert sum(b.n for b in JobFactBucket.objects.filter(measure=0)) == 3
    # the tasks with a completing user (the five approvals) are counted per user too
    assert sum(b.n for b in TaskFactUserBucket.objects.all()) == 5
    due = {m: sum(b.n for b in TaskFactBucket.objects.filter(measure=m)) for m in (3, 4)}
    assert due == {3: 2, 4: 1}  # review: met early, met at the due date, breached by 1 s


def _spread(now, *, values, users, activity="spread", days=6):  # noqa: F811
    """Tasks of one activity over ``days`` days, a value cycling through ``values``, completed
    in turn by ``users``."""
    inst = ds.instance("spread", created=now - timedelta(days=days + 1))
    start = (now - timedelta(days=days)).replace(hour=0, minute=0, second=0)
    for i in range(days * 24):
        created = start + timedelta(hours=i, minutes=7)
        value = values[i % len(values)]
        ds.task(
            inst,
            activity,
            created=created,
            completed=created + S(value),
            claimed=created + S(value / 3),
            completed_by=users[i % len(users)],
        )
        if i % 3 == 0:  # service steps with the same values (JobFact buckets)
            ds.job(
                inst,
                "step",
                created=created,
                started=created + S(value / 3),
                finished=created + S(value),
            )
    return start


@pytest.mark.parametrize(
    "values",
    [
        (5.0,),  # one distinct value: every rank ties
        (0.0, 0.0, 1.5, 86400.0),  # zeros (their own bucket), a wide spread
        (0.001, 0.002, 0.003, 3600.0, 3600.0, 3600.0, 3599.999, 3600.001),  # ties at the SLA
        tuple(float(v * v) for v in range(1, 50)),  # many buckets, uneven counts
    ],
)
def test_edges_ties_and_pending_facts_give_the_sorted_figures(now, values, make_user):  # noqa: F811
    ActivitySla.objects.create(
        process_key="spread", activity_id="spread", warning_seconds=1800, breach_seconds=3600
    )
    users = [make_user("manager", username=f"u{i}") for i in range(3)]
    start = _spread(now, values=values, users=users)
    fact_buckets_summarise()
    # tasks completed after the summary run: pending facts inside whole days
    inst = ds.instance("spread", created=start)
    for h in (3, 27, 51):
        created = start + timedelta(hours=h, minutes=30)
        ds.task(
            inst,
            "spread",
            created=created,
            completed=created + S(values[-1]),
            completed_by=users[0],
        )
    windows = [
        Period(since=start, until=start + timedelta(days=6)),
        Period(since=start + timedelta(hours=5, minutes=7), until=now),  # edge at a task
        Period(since=start + timedelta(hours=5, minutes=8), until=start + timedelta(days=3)),
        Period(since=start + timedelta(days=2, hours=23), until=start + timedelta(days=3, hours=1)),
        Period(since=start + timedelta(hours=1), until=start + timedelta(hours=1, minutes=8)),
    ]
    for window in windows:
        _assert_same(period=window, now=now)


def test_p99_of_one_and_two_values(now):  # noqa: F811
    inst = ds.instance("tiny", created=now - timedelta(days=5))
    day = (now - timedelta(days=3)).replace(hour=10, minute=0, second=0)
    ds.task(inst, "one", created=day, completed=day + S(42))
    ds.task(inst, "two", created=day, completed=day + S(10))
    ds.task(inst, "two", created=day + S(1), completed=day + S(1) + S(20))
    fact_buckets_summarise()
    window = Period(since=now - timedelta(days=4), until=now)
    rows = {a["activity_id"]: a for a in _assert_same(period=window, now=now)}
    assert rows["one"]["duration"]["p99_s"] == 42.0
    assert rows["two"]["duration"]["p99_s"] == 19.9  # 10 + 0.99 * (20 - 10)


def test_the_breach_counter_from_buckets_equals_the_count_over_the_facts(seeded, now):  # noqa: F811
    # given the seeded breaches (approve: 7201 s > 2 h; review: 1001 s > its due date), some
    # facts summarised and one completed later (pending)
    fact_buckets_summarise()
    inst = ds.instance("exp", created=now - timedelta(days=1))
    ds.task(inst, "approve", created=now - timedelta(days=1), completed=now - S(1))
    expected = sla_breach_counts(buckets=False)
    assert [(r["process_key"], r["activity_id"], int(r["n"])) for r in expected] == [
        ("exp", "approve", 3),  # 7201 s in the period, 1 day before the period, the new one
        ("exp", "review", 1),
    ]
    assert [(r["process_key"], r["activity_id"], int(r["n"])) for r in sla_breach_counts()] == [
        (r["process_key"], r["activity_id"], int(r["n"])) for r in expected
    ]
