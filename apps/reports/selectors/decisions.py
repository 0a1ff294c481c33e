"""How often each rule of each decision matched in a period (issue #22, decision 036): read
from the ``decision.evaluated`` audit events, the one record of every real evaluation (business
rule tasks and the evaluate API; a designer's *Try it* records none). Rules that never matched
are listed with 0 and flagged, as are evaluations that no rule matched.

Evaluations are counted per (decision, version) in the database; the matched rule ids are
tallied in Python from a ``values_list`` iterator, one small row per evaluation (a fact table,
as the SLA reports have, is the next step if periods grow to millions of evaluations).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from django.db.models import Count

from apps.audit.actions import AuditAction
from apps.audit.models import AuditEvent
from apps.common.errors import NotFound
from apps.processes import decision_selectors
from apps.reports.selectors.common import Period

#: The most decision versions one report lists (the busiest first).
MAX_VERSIONS = 100


def decision_rule_report(*, period: Period, key: str = "") -> dict[str, Any]:
    """``{"period", "decisions": [...]}``: per decision version evaluated in the period (and,
    for a decision named by ``key``, its latest version even if never evaluated), the number of
    evaluations, of evaluations no rule matched, and per rule its matches and share; rules that
    never matched have ``never_matched`` true. NotFound for an unknown ``key``."""
    events = AuditEvent.objects.filter(
        action=AuditAction.DECISION_EVALUATED, time__gte=period.since, time__lt=period.until
    )
    if key:
        events = events.filter(data__decision=key)
    totals = (
        events.values("data__decision", "data__version")
        .annotate(evaluations=Count("pk"))
        .order_by("-evaluations", "data__decision", "-data__version")[:MAX_VERSIONS]
    )
    evaluated = {
        (str(row["data__decision"]), int(row["data__version"])): row["evaluations"]
        for row in totals
        if row["data__decision"] and isinstance(row["data__version"], int)
    }
    if key:
        latest = decision_selectors.version_get(key=key)  # NotFound for an unknown decision
        evaluated.setdefault((latest.key, latest.number), 0)
    matches: dict[tuple[str, int], Counter[str]] = defaultdict(Counter)
    unmatched: Counter[tuple[str, int]] = Counter()
    rows = events.values_list("data__decision", "data__version", "data__matched_rule_ids")
    for decision, number, rule_ids in rows.iterator():
        version = (str(decision), number)
        if version not in evaluated:
            continue
        if isinstance(rule_ids, list) and rule_ids:
            matches[version].update(str(rule_id) for rule_id in rule_ids)
        else:
            unmatched[version] += 1
    decisions = []
    for (decision_key, number), count in evaluated.items():
        entry = _version_entry(decision_key, number, count, matches[(decision_key, number)])
        if entry is not None:
            entry["no_rule_matched"] = unmatched[(decision_key, number)]
            decisions.append(entry)
    decisions.sort(key=lambda d: (d["key"], -d["version"]))
    return {
        "period": {"since": period.since.isoformat(), "until": period.until.isoformat()},
        "decisions": decisions,
    }


def _version_entry(key: str, number: int, evaluations: int, matched: Counter[str]) -> dict | None:
    try:
        version = decision_selectors.version_get(key=key, number=number)
    except NotFound:  # an event of a decision no longer stored: nothing to name its rules by
        return None
    view = decision_selectors.decision_view(version)
    rules = [
        {
            "id": rule["id"],
            "index": rule["index"],
            "description": rule["description"],
            "matched": matched.get(rule["id"], 0),
            "share": round(matched.get(rule["id"], 0) / evaluations, 4) if evaluations else None,
            "never_matched": not matched.get(rule["id"], 0),
        }
        for rule in view.get("rules", [])
    ]
    return {
        "key": version.key,
        "name": version.name,
        "version": version.number,
        "kind": version.kind,
        "hit_policy": version.hit_policy,
        "evaluations": evaluations,
        "rules": rules,
        "never_matched": [r["id"] for r in rules if r["never_matched"]],
    }
