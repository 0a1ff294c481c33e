"""Deploying and evaluating DMN decisions.

A DMN file goes through the same deploy endpoint and upload as a BPMN file (recognised by its
content, ``is_dmn_file``); every decision in it gets a new immutable ``DecisionVersion``
(1, 2, 3 ... per decision key) when the file changed. Evaluation runs the pure engine
(``apps.engine.core.dmn``) on a deployed version and answers with DMN's result shape and the
explanation the audit trail keeps. Reads are in ``decision_selectors``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import quoteattr

from django.db import IntegrityError, transaction
from django.db.models import Max

from apps.audit.actions import AuditAction
from apps.audit.services import record
from apps.common.actors import Actor
from apps.common.errors import Conflict, InvalidInput, Unprocessable
from apps.engine import core
from apps.engine.core.business_rules import BPMN_NS, decision_ref
from apps.engine.core.dmn import (
    DecisionResult,
    DmnEvaluationError,
    DmnValidationError,
    evaluate_decision,
    is_dmn,
    parse_dmn,
)
from apps.engine.core.dmn.analysis import definitions_warnings
from apps.engine.core.xml import parse_xml
from apps.processes import decision_selectors
from apps.processes.models import DecisionVersion, DmnDeployment

KEY_MAX_LENGTH = 200
_SAFE_KEY = re.compile(r"[^\W\d][\w.-]*")
MAX_COMMENT = 500
#: The audit event keeps at most this many matched rules (COLLECT over a big table).
AUDIT_MAX_RULES = 50


@dataclass(frozen=True)
class DmnDeployResult:
    deployment: DmnDeployment
    versions: list[DecisionVersion]
    created: bool  # False when the same file was already the latest deployment of its id

    @property
    def warnings(self) -> list[dict]:
        """What deploys but deserves a look (UNIQUE rules that can both match)."""
        return list(self.deployment.summary.get("warnings", []))


@dataclass(frozen=True)
class DecisionEvaluation:
    version: DecisionVersion
    outcome: DecisionResult

    def as_dict(self) -> dict[str, Any]:
        return {
            "result": self.outcome.result,
            "matched_rules": self.outcome.matched_rules,
            "decision": {
                "id": self.version.key,
                "name": self.version.name,
                "version": self.version.number,
            },
            "explanation": self.outcome.explanation,
        }


def is_dmn_file(xml: bytes | str) -> bool:
    """True when ``xml`` is a DMN 1.1-1.5 file (its root element's namespace), whatever its name.
    Unsafe or malformed XML is not DMN here: the BPMN path then refuses it with its own message."""
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    if b"DMN" not in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False  # cheap: every DMN namespace names DMN near the top (UTF-16 aside)
    try:
        return is_dmn(parse_xml(data))
    except (core.UnsafeXmlError, core.BpmnValidationError):
        return False


def _parse(data: bytes):
    try:
        return parse_dmn(data)
    except core.UnsafeXmlError as exc:
        raise InvalidInput(str(exc), code="unsafe_xml") from None
    except core.BpmnValidationError as exc:
        raise Unprocessable(
            "The file is not well-formed XML.",
            code="invalid_dmn",
            details=[p.as_dict() for p in exc.problems],
        ) from None
    except DmnValidationError as exc:
        raise Unprocessable(
            f"The decision file has {len(exc.problems)} problem(s) and was not deployed.",
            code="invalid_dmn",
            details=[p.as_dict() for p in exc.problems],
        ) from None


def _key_problems(definitions) -> list[dict]:
    problems = []
    keys = [(None, definitions.id or "")] + [(d, d) for d in definitions.decisions]
    for element, key in keys:
        if len(key) > KEY_MAX_LENGTH or not _SAFE_KEY.fullmatch(key):
            problems.append(
                {
                    "element_id": element,
                    "code": "invalid_decision_id",
                    "message": f"The id {key[:80]!r} cannot be a key: use at most "
                    f"{KEY_MAX_LENGTH} letters, digits, '_', '-' or '.', starting with a letter "
                    "or '_'.",
                }
            )
    return problems


_BLANK_DMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" \
xmlns:dmndi="https://www.omg.org/spec/DMN/20191111/DMNDI/" \
xmlns:dc="http://www.omg.org/spec/DMN/20180521/DC/" id={defs_id} name={name} \
namespace="http://flowgate.dev/dmn">
  <decision id={key} name={name}>
    <decisionTable id="DecisionTable_1" hitPolicy="UNIQUE">
      <input id="Input_1" label="Amount">
        <inputExpression id="InputExpression_1" typeRef="number"><text>amount</text></inputExpression>
      </input>
      <output id="Output_1" label="Result" name="result" typeRef="string" />
      <rule id="Rule_1">
        <inputEntry id="UnaryTests_1"><text>&lt; 1000</text></inputEntry>
        <outputEntry id="LiteralExpression_1"><text>"small"</text></outputEntry>
      </rule>
      <rule id="Rule_2">
        <inputEntry id="UnaryTests_2"><text>&gt;= 1000</text></inputEntry>
        <outputEntry id="LiteralExpression_2"><text>"large"</text></outputEntry>
      </rule>
    </decisionTable>
  </decision>
  <dmndi:DMNDI>
    <dmndi:DMNDiagram id="DMNDiagram_1">
      <dmndi:DMNShape id="DMNShape_1" dmnElementRef={key}>
        <dc:Bounds height="80" width="180" x="160" y="100" />
      </dmndi:DMNShape>
    </dmndi:DMNDiagram>
  </dmndi:DMNDI>
</definitions>
"""


def decision_blank_xml(*, key: str, name: str = "") -> str:
    """A new decision's first file (DMN 1.3, as dmn-js writes it): a UNIQUE table with one
    input, one output and two rules, to edit in the decision editor. InvalidInput for a key
    that cannot be one."""
    key = (key or "").strip()
    if len(key) > KEY_MAX_LENGTH - 5 or not _SAFE_KEY.fullmatch(key):
        raise InvalidInput(
            f"{key[:80]!r} cannot be a decision id: use letters, digits, '_', '-' or '.', "
            "starting with a letter or '_'.",
            code="invalid_decision_id",
        )
    name = (name or "").strip()[:200] or key
    return _BLANK_DMN.format(
        defs_id=quoteattr(f"{key}_defs"), key=quoteattr(key), name=quoteattr(name)
    )


def dmn_validate(*, xml: bytes | str) -> list[dict]:
    """Every problem of a DMN file, without storing anything; [] when it would deploy."""
    return dmn_check(xml=xml)[0]


def dmn_check(*, xml: bytes | str) -> tuple[list[dict], list[dict]]:
    """(problems, warnings) of a DMN file, storing nothing: what the decision editor's *Check*
    shows. Problems stop a deploy (an unreadable cell named by decision, rule and column);
    warnings do not (UNIQUE rules that overlap, numbers no rule covers)."""
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    try:
        definitions = _parse(data)
    except (InvalidInput, Unprocessable) as exc:
        problems = exc.details or [{"element_id": None, "code": exc.code, "message": exc.message}]
        return problems, []
    problems = _key_problems(definitions)
    if problems:
        return problems, []
    return [], [w.as_dict() for w in definitions_warnings(definitions)]


def dmn_deploy(*, xml: bytes | str, actor: Actor, user=None, comment: str = "") -> DmnDeployResult:
    """Deploy a DMN file: a new version of every decision in it. Nothing is stored for a file
    with problems: InvalidInput (unsafe XML) or Unprocessable with every problem named."""
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT:
        raise InvalidInput(
            f"The comment has {len(comment)} characters; the limit is {MAX_COMMENT}.",
            code="comment_too_long",
        )
    definitions = _parse(data)
    problems = _key_problems(definitions)
    if problems:
        raise Unprocessable(
            f"The decision file has {len(problems)} problem(s) and was not deployed.",
            code="invalid_dmn",
            details=problems,
        )
    checksum = hashlib.sha256(data).hexdigest()
    summary = definitions.summary()
    summary["warnings"] = [w.as_dict() for w in definitions_warnings(definitions)]
    try:
        with transaction.atomic():
            latest = (
                DmnDeployment.objects.select_for_update()
                .filter(definitions_key=definitions.id)
                .order_by("-pk")
                .first()
            )
            if latest is not None and latest.checksum == checksum:
                return DmnDeployResult(latest, list(latest.decisions.order_by("key")), False)
            deployment = DmnDeployment.objects.create(
                definitions_key=definitions.id,
                name=definitions.name[:KEY_MAX_LENGTH],
                xml=data.decode("utf-8"),
                checksum=checksum,
                summary=summary,
                created_by=user,
                comment=comment,
            )
            versions = []
            for decision in definitions.decisions.values():
                number = (
                    DecisionVersion.objects.filter(key=decision.id).aggregate(n=Max("number"))["n"]
                    or 0
                ) + 1
                versions.append(
                    DecisionVersion.objects.create(
                        key=decision.id,
                        number=number,
                        name=decision.name[:KEY_MAX_LENGTH],
                        deployment=deployment,
                        kind=decision.kind,
                        hit_policy=getattr(decision.logic, "hit_policy", "") or "",
                    )
                )
            record(
                AuditAction.DECISION_DEPLOYED,
                actor=actor,
                process_key=definitions.id,
                data={
                    "deployment_id": deployment.pk,
                    "decisions": {v.key: v.number for v in versions},
                    "dmn_version": definitions.dmn_version,
                    "checksum": checksum,
                    "comment": comment,
                },
            )
    except IntegrityError:
        raise Conflict(
            "Another deployment of the same decisions ran at the same moment; deploy again.",
            code="concurrent_deploy",
        ) from None
    return DmnDeployResult(deployment, versions, True)


def audit_data(evaluation: DecisionEvaluation, **extra: Any) -> dict[str, Any]:
    """What a ``decision.evaluated`` event keeps: enough to answer "why" without the file."""
    explanation = dict(evaluation.outcome.explanation)
    rules = explanation.get("matched_rules", [])
    if len(rules) > AUDIT_MAX_RULES:
        explanation["matched_rules"] = rules[:AUDIT_MAX_RULES]
        explanation["matched_rules_omitted"] = len(rules) - AUDIT_MAX_RULES
    return {
        "summary": evaluation_summary(evaluation),
        "decision": evaluation.version.key,
        "decision_name": evaluation.version.name,
        "version": evaluation.version.number,
        "deployment_id": evaluation.version.deployment_id,
        "matched_rule_ids": [r["id"] for r in rules],
        "result": evaluation.outcome.result,
        "explanation": explanation,
        **extra,
    }


def evaluation_summary(evaluation: DecisionEvaluation) -> str:
    """One line for people: "Decided by rule 3 of Approval level v2"."""
    version = evaluation.version
    name = f"{version.name or version.key} v{version.number}"
    if evaluation.outcome.explanation.get("kind") == "literal":
        return f"Evaluated {name}"
    indexes = [str(r["index"]) for r in evaluation.outcome.matched_rules]
    if not indexes:
        return f"No rule of {name} matched"
    plural = "s" if len(indexes) > 1 else ""
    return f"Decided by rule{plural} {', '.join(indexes)} of {name}"


def decision_run(*, version: DecisionVersion, variables: dict[str, Any]) -> DecisionEvaluation:
    """Evaluate a deployed version; raises DmnEvaluationError (the caller decides: a 422, an
    incident). Writes nothing."""
    definitions = decision_selectors.definitions_of(version)
    return DecisionEvaluation(version, evaluate_decision(definitions, version.key, variables))


def decision_try(
    *, key: str, variables: dict[str, Any], number: int | None = None
) -> DecisionEvaluation:
    """The designer's "try it": evaluate without recording anything (a preview with no business
    effect, like a test run; rule-match counts stay those of real evaluations). Unprocessable
    naming the input, rule or cause for an evaluation error."""
    version = decision_selectors.version_get(key=key, number=number)
    try:
        return decision_run(version=version, variables=variables)
    except DmnEvaluationError as exc:
        raise Unprocessable(exc.message, code=exc.code, details=[exc.as_dict()]) from None


def decision_evaluate(
    *, key: str, variables: dict[str, Any], actor: Actor, number: int | None = None
) -> DecisionEvaluation:
    """Evaluate decision ``key`` (latest version unless ``number``) for the API and record it.
    NotFound for an unknown decision or version; Unprocessable (422) naming the input, rule or
    cause for an evaluation error."""
    version = decision_selectors.version_get(key=key, number=number)
    try:
        evaluation = decision_run(version=version, variables=variables)
    except DmnEvaluationError as exc:
        raise Unprocessable(exc.message, code=exc.code, details=[exc.as_dict()]) from None
    record(
        AuditAction.DECISION_EVALUATED,
        actor=actor,
        data=audit_data(evaluation, source="api", inputs=variables),
    )
    return evaluation


def business_rule_problems(data: bytes) -> list[dict]:
    """A business rule task whose decision (or pinned version) is not deployed is a deploy
    problem on that task."""
    problems = []
    for node in parse_xml(data).iter(f"{{{BPMN_NS}}}businessRuleTask"):
        ref = decision_ref(node)
        if ref is None or ref.problem:
            continue  # the lint names it
        versions = DecisionVersion.objects.filter(key=ref.key)
        if ref.version is not None:
            versions = versions.filter(number=ref.version)
        found = versions.order_by("-number").select_related("deployment").first()
        if found is not None and ref.gate:
            problems += _gate_problems(node, found)
        if found is None:
            which = f"version {ref.version} of " if ref.version is not None else ""
            problems.append(
                {
                    "element_id": node.get("id"),
                    "code": "decision_missing",
                    "message": f"Business rule task '{node.get('name') or node.get('id')}' runs "
                    f"{which}decision '{ref.key}', which is not deployed. Deploy its .dmn file "
                    "first.",
                }
            )
    return problems


def _gate_problems(node, version: DecisionVersion) -> list[dict]:
    """A policy gate's decision must be a table with outputs ``allow`` and ``reason``."""
    decision = decision_selectors.definitions_of(version).decisions[version.key]
    names = {o.name for o in getattr(decision.logic, "outputs", ())}
    if {"allow", "reason"} <= names and version.hit_policy in (
        "UNIQUE",
        "FIRST",
        "PRIORITY",
        "ANY",
    ):
        return []
    return [
        {
            "element_id": node.get("id"),
            "code": "policy_gate_decision",
            "message": f"Policy gate '{node.get('name') or node.get('id')}': decision "
            f"'{version.key}' v{version.number} must be a single-hit decision table with the "
            "outputs 'allow' (true/false) and 'reason'.",
        }
    ]
