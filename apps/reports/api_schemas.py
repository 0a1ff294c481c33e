"""What the report API answers, for the OpenAPI schema (drf-spectacular).

The report figures are built as plain dicts by the selectors (the pages render the same dicts);
these serializers describe them field by field so that `/api/schema/` says what each endpoint
returns. They describe, they do not convert: the views return the selectors' dicts as they are.
``tests/reports/test_api_schemas.py`` checks that every answer has exactly these fields.
"""

from __future__ import annotations

from rest_framework import serializers

S = serializers


def _num(**kwargs) -> S.FloatField:
    return S.FloatField(allow_null=True, **kwargs)


class PeriodOut(S.Serializer):
    since = S.DateTimeField()
    until = S.DateTimeField()


class DistributionOut(S.Serializer):
    """Seconds: count, mean, maximum and percentiles (null when nothing was measured)."""

    count = S.IntegerField()
    avg_s = _num()
    max_s = _num()
    p50_s = _num()
    p90_s = _num()
    p95_s = _num()
    p99_s = _num()


class SlaOut(S.Serializer):
    met = S.IntegerField()
    warned = S.IntegerField()
    breached = S.IntegerField()
    judged = S.IntegerField()
    met_rate = _num()
    warned_rate = _num()
    breached_rate = _num()
    open_at_risk = S.IntegerField()
    open_breached = S.IntegerField()


class ProcessRowOut(S.Serializer):
    process_key = S.CharField()
    started = S.IntegerField()
    completed = S.IntegerField()
    running = S.IntegerField()
    suspended = S.IntegerField()
    cancelled = S.IntegerField()
    failing = S.IntegerField()
    duration = DistributionOut()
    sla = SlaOut()
    escalations = S.IntegerField()


class SlaTargetOut(S.Serializer):
    warning_s = S.IntegerField(allow_null=True)
    breach_s = S.IntegerField(allow_null=True)
    business_time = S.BooleanField(
        required=False, help_text="thresholds in working seconds of a calendar (decision 041)"
    )


class ActivityRowOut(S.Serializer):
    process_key = S.CharField()
    activity_id = S.CharField()
    kind = S.CharField(help_text="user or service")
    completed = S.IntegerField()
    open = S.IntegerField()
    duration = DistributionOut()
    waiting = DistributionOut()
    working = DistributionOut()
    sla_target = SlaTargetOut(allow_null=True)
    sla = SlaOut()


class ThroughputOut(S.Serializer):
    bucket = S.CharField(help_text="Day or hour the counts fall into")
    started = S.IntegerField()
    completed = S.IntegerField()


class RoleWorkloadOut(S.Serializer):
    role = S.CharField()
    open = S.IntegerField()
    open_at_risk = S.IntegerField()
    open_breached = S.IntegerField()


class UserWorkloadOut(S.Serializer):
    username = S.CharField()
    open_assigned = S.IntegerField()
    completed = S.IntegerField()
    duration = DistributionOut()


class EscalationsOut(S.Serializer):
    process_key = S.CharField()
    escalations = S.IntegerField()


class SlaDashboardOut(S.Serializer):
    period = PeriodOut()
    process_key = S.CharField(allow_null=True, help_text="The one process, or null for all")
    risk_hours = S.FloatField()
    processes = ProcessRowOut(many=True)
    activities = ActivityRowOut(many=True)
    throughput = ThroughputOut(many=True)
    workload_by_role = RoleWorkloadOut(many=True)
    workload_by_user = UserWorkloadOut(many=True)
    escalations = EscalationsOut(many=True)
    computed_at = S.DateTimeField(
        required=False,
        allow_null=True,
        help_text="The default view only: when its background snapshot was computed (null: "
        "computed now)",
    )


class HeatmapActivityOut(S.Serializer):
    activity_id = S.CharField()
    kind = S.CharField()
    completed = S.IntegerField()
    p95_s = _num()
    mean_waiting_s = _num()
    count_waiting = S.IntegerField()
    breached_rate = _num()


class HeatmapOut(S.Serializer):
    version_id = S.IntegerField()
    activities = HeatmapActivityOut(many=True)


class SlowInstanceOut(S.Serializer):
    instance_id = S.IntegerField()
    business_key = S.CharField(allow_blank=True, allow_null=True)
    duration_s = _num()
    open = S.BooleanField()
    url = S.CharField()
    duration_label = S.CharField()


class SlowestOut(S.Serializer):
    version_id = S.IntegerField()
    activity_id = S.CharField()
    instances = SlowInstanceOut(many=True)


class BurnRatesOut(S.Serializer):
    def get_fields(self):
        # "1h", "6h" and "3d" are not Python names
        return {name: _num() for name in ("1h", "6h", "3d")}


class SloOut(S.Serializer):
    process_key = S.CharField()
    objective_percent = S.FloatField()
    target_seconds = S.IntegerField()
    window_days = S.IntegerField()
    judged = S.IntegerField()
    good = S.IntegerField()
    bad = S.IntegerField()
    sli = _num()
    budget_remaining = _num()
    burn_rates = BurnRatesOut()
    state = S.CharField(help_text="ok, at_risk, exhausted or no_data")


class ActivitySlaOut(S.Serializer):
    process_key = S.CharField()
    activity_id = S.CharField()
    warning_seconds = S.IntegerField(allow_null=True)
    breach_seconds = S.IntegerField(help_text="Working seconds when business_time is set")
    business_time = S.BooleanField()
    calendar = S.CharField(help_text="Calendar slug; empty: the portal default")


class SloListOut(S.Serializer):
    slos = SloOut(many=True)


class SliOut(S.Serializer):
    process_key = S.CharField()
    instances = S.IntegerField()
    success_rate = _num()
    instances_with_incident = S.IntegerField()
    step_failure_rate = _num()
    retries_per_instance = _num()
    escalation_rate = _num()
    incident_mean_time_to_resolve_s = _num()
    queue_depth = S.IntegerField()
    duplicate_outcomes = S.IntegerField()
    audit_completeness = _num()


class SliListOut(S.Serializer):
    slis = SliOut(many=True)


class IncidentGroupOut(S.Serializer):
    process_key = S.CharField()
    activity_id = S.CharField()
    message = S.CharField()
    count = S.IntegerField()
    first_at = S.DateTimeField()
    last_at = S.DateTimeField()
    incident_ids = S.ListField(child=S.IntegerField())


class IncidentGroupsOut(S.Serializer):
    groups = IncidentGroupOut(many=True)


class RetryFailureOut(S.Serializer):
    incident_id = S.IntegerField()
    message = S.CharField()


class IncidentsRetryOut(S.Serializer):
    retried = S.ListField(child=S.IntegerField())
    failed = RetryFailureOut(many=True)


class InstanceVariablesOut(S.Serializer):
    id = S.IntegerField()
    variables = S.DictField()


class InstanceStatusOut(S.Serializer):
    id = S.IntegerField()
    status = S.CharField()


# The timeline's serializers read the selector's dataclasses (apps/reports/selectors/timeline.py):
# they convert as well as describe.


class TimelineSegmentOut(S.Serializer):
    kind = S.ChoiceField(
        choices=[
            "attempt",
            "retry",
            "held",
            "queue",
            "work",
            "person",
            "incident",
            "timer",
            "message",
        ]
    )
    start = S.DateTimeField()
    end = S.DateTimeField(allow_null=True, help_text="null: still going on")
    seconds = S.FloatField()
    offset_pct = S.FloatField(help_text="Where the segment starts on the instance's axis, 0-100")
    width_pct = S.FloatField()
    text = S.CharField(help_text="The segment in words, e.g. 'worked 1 min 5 s'")


class TimelineRowOut(S.Serializer):
    kind = S.ChoiceField(choices=["job", "task", "incident", "timer", "message"])
    activity_id = S.CharField()
    # a field named like Field.label: fine for DRF, which collects declared fields by name
    label = S.CharField()  # type: ignore[assignment]
    status = S.CharField()
    start = S.DateTimeField()
    detail = S.CharField(
        help_text="Attempts and last error, who completed a task, an incident's error"
    )
    segments = TimelineSegmentOut(many=True)


class InstanceTimelineOut(S.Serializer):
    instance_id = S.IntegerField()
    start = S.DateTimeField()
    end = S.DateTimeField(help_text="The instance's end, or now while it runs")
    seconds = S.FloatField()
    ongoing = S.BooleanField()
    rows = TimelineRowOut(many=True)


class ProcessCostOut(S.Serializer):
    """What running one process cost in the period (decision 039; docs/reports.md)."""

    process_key = S.CharField()
    steps = S.IntegerField(help_text="Service steps (jobs) created in the period")
    finished_steps = S.IntegerField(help_text="Of those, finished")
    connector_calls = S.IntegerField(help_text="Calls made (attempts; deferred calls excluded)")
    deferred_calls = S.IntegerField(help_text="Calls held back by a circuit, limit or Retry-After")
    worker_seconds = S.FloatField(
        help_text="Connector time of every attempt of the steps (failed and deferred ones too, "
        "and those whose worker died: start -> lease expiry)"
    )
    lost_worker_seconds = S.FloatField(
        help_text="Of the worker time, the attempts whose worker died (lease expired, reclaimed)"
    )
    completed_instances = S.IntegerField(help_text="Instances completed in the period")
    steps_per_instance = _num()
    calls_per_instance = _num()
    worker_seconds_per_instance = _num()
    stored_bytes = S.IntegerField(
        help_text="Bytes the instances completed in the period keep in the database: state and "
        "variables, audit payloads, task rows, comments, attachment metadata, step inputs "
        "(decision 039 addendum 2)"
    )
    measured_instances = S.IntegerField(
        help_text="Completed instances whose bytes are measured (all but those beyond the "
        "live limit since the last report refresh)"
    )
    stored_bytes_per_instance = _num()


class ProcessCostsOut(S.Serializer):
    period = PeriodOut()
    processes = ProcessCostOut(many=True)
