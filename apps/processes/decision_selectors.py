"""Reads of deployed decisions, and their parsed form (cached per deployment: a deployed file
never changes)."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter

from django.db.models import Count, Max, QuerySet
from django.utils import timezone

from apps.audit.actions import AuditAction
from apps.audit.models import AuditEvent
from apps.common.errors import NotFound
from apps.engine.core.dmn import DmnDefinitions, parse_dmn
from apps.engine.core.dmn.model import DecisionTable
from apps.processes.models import DecisionVersion, DmnDeployment


def decisions_list() -> list[dict]:
    """One row per decision key: latest number and name, how many versions."""
    rows = (
        DecisionVersion.objects.values("key")
        .annotate(latest_number=Max("number"), version_count=Count("pk"))
        .order_by("key")
    )
    latest = {
        (v.key, v.number): v
        for v in DecisionVersion.objects.filter(key__in=[r["key"] for r in rows]).select_related(
            "deployment"
        )
    }
    out = []
    for row in rows:
        version = latest[(row["key"], row["latest_number"])]
        out.append(
            {
                "key": row["key"],
                "name": version.name,
                "kind": version.kind,
                "hit_policy": version.hit_policy,
                "latest_number": row["latest_number"],
                "version_count": row["version_count"],
                "deployed_at": version.created_at,
            }
        )
    return out


def versions_of(*, key: str) -> QuerySet[DecisionVersion]:
    versions = DecisionVersion.objects.filter(key=key).select_related("deployment")
    if not versions.exists():
        raise NotFound(f"No decision '{key}' is deployed.", code="decision_not_found")
    return versions.order_by("-number")


def version_get(*, key: str, number: int | None = None) -> DecisionVersion:
    """The latest deployed version of ``key``, or version ``number``; NotFound names which."""
    versions = DecisionVersion.objects.filter(key=key).select_related("deployment")
    version = (
        versions.filter(number=number).first()
        if number is not None
        else versions.order_by("-number").first()
    )
    if version is None:
        if number is not None and versions.exists():
            raise NotFound(
                f"Decision '{key}' has no version {number}.", code="decision_version_not_found"
            )
        raise NotFound(f"No decision '{key}' is deployed.", code="decision_not_found")
    return version


_PARSED: dict[tuple[int, str], DmnDefinitions] = {}
_PARSED_MAX = 128
_PARSED_LOCK = threading.Lock()


def definitions_of(version: DecisionVersion) -> DmnDefinitions:
    """The parsed file of ``version`` (parsed once per process and deployment)."""
    deployment = version.deployment
    cache_key = (deployment.pk, deployment.checksum)
    parsed = _PARSED.get(cache_key)
    if parsed is None:
        parsed = parse_dmn(deployment.xml.encode("utf-8"))
        with _PARSED_LOCK:
            while len(_PARSED) >= _PARSED_MAX:
                _PARSED.pop(next(iter(_PARSED)))
            _PARSED[cache_key] = parsed
    return parsed


def decision_view(version: DecisionVersion) -> dict:
    """What the read-only decision page shows: the table's columns and cells as written, or the
    literal expression, and what the decision requires."""
    decision = definitions_of(version).decisions[version.key]
    view: dict = {
        "kind": decision.kind,
        "required_decisions": list(decision.required_decisions),
        "required_inputs": list(decision.required_inputs),
    }
    logic = decision.logic
    if isinstance(logic, DecisionTable):
        view.update(
            hit_policy=logic.hit_policy.value,
            aggregation=logic.aggregation.value if logic.aggregation else "",
            inputs=[
                {
                    "label": c.title,
                    "expression": c.expression.source,
                    "type": c.type_ref or "",
                    "allowed": c.allowed.source if c.allowed else "",
                }
                for c in logic.inputs
            ],
            outputs=[
                {
                    "label": c.title,
                    "name": c.name,
                    "type": c.type_ref or "",
                    "allowed": c.allowed.source if c.allowed else "",
                }
                for c in logic.outputs
            ],
            rules=[
                {
                    "id": r.id,
                    "index": r.index,
                    "inputs": [e.source or "-" for e in r.input_entries],
                    "outputs": [e.source for e in r.output_entries],
                    "description": r.description,
                }
                for r in logic.rules
            ],
        )
    else:
        view["expression"] = logic.expression.source
    view["try_variables"] = _try_template(decision, definitions_of(version))
    return view


def _try_template(decision, definitions) -> dict:
    """Variables for the "try it" form: the input data and the plain names the decision and
    the decisions it requires read (not the results of those required decisions)."""
    closure, pending = {}, [decision]
    while pending:
        current = pending.pop()
        if current.id not in closure:
            closure[current.id] = current
            pending.extend(definitions.decisions[d] for d in current.required_decisions)
    produced = set()
    for required in closure.values():
        if required is not decision:
            produced.add(required.variable_name)
            produced.update(o.name for o in getattr(required.logic, "outputs", ()))
    names: dict = {}
    for current in closure.values():
        for data_id in current.required_inputs:
            names[definitions.input_data[data_id].name] = None
        for clause in getattr(current.logic, "inputs", ()):
            path = clause.expression.path
            if path and path[0] not in produced:
                names[path[0]] = None
    return names


def rule_match_counts(*, version: DecisionVersion, days: int = 30) -> dict:
    """How often each rule of ``version`` matched in the last ``days`` days, from the
    ``decision.evaluated`` audit events: ``{"evaluations", "since", "rules": {rule id: count}}``
    (every rule of the version listed, never-matched ones with 0)."""
    since = timezone.now() - dt.timedelta(days=days)
    events = AuditEvent.objects.filter(
        action=AuditAction.DECISION_EVALUATED,
        time__gte=since,
        data__decision=version.key,
        data__version=version.number,
    )
    counts: Counter[str] = Counter()
    evaluations = 0
    for matched in events.values_list("data__matched_rule_ids", flat=True).iterator():
        evaluations += 1
        if isinstance(matched, list):
            counts.update(str(rule_id) for rule_id in matched)
    decision = definitions_of(version).decisions[version.key]
    rule_ids = [r.id for r in getattr(decision.logic, "rules", ())]
    return {
        "evaluations": evaluations,
        "since": since,
        "days": days,
        "rules": {rule_id: counts.get(rule_id, 0) for rule_id in rule_ids},
    }


def deployments_dmn_files(deployment_ids: list[int]) -> dict[int, tuple[str, str]]:
    """{deployment id: (file name, DMN XML)} (evidence packages)."""
    return {
        pk: (f"{key}-deployment{pk}.dmn", xml)
        for pk, key, xml in DmnDeployment.objects.filter(pk__in=deployment_ids).values_list(
            "pk", "definitions_key", "xml"
        )
    }
