"""Deploying BPMN: every upload becomes an immutable ProcessVersion (deployed, or a draft that
lists all of its problems)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Max

from apps.audit.actions import AuditAction
from apps.audit.services import record
from apps.common.actors import Actor
from apps.common.errors import Conflict, InvalidInput, NotFound, Unprocessable
from apps.connectors.registry import all_connectors
from apps.engine import core
from apps.engine.core.parser import service_connector
from apps.engine.core.xml import parse_xml
from apps.processes import decisions, drafts, hooks
from apps.processes.importer import ImportResult, bpmn_import
from apps.processes.limits import engine_limits
from apps.processes.models import (
    ProcessDefinition,
    ProcessDraft,
    ProcessVersion,
    VersionStatus,
)
from apps.processes.problems import problems_for_people

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
FLOWGATE_NS = "http://flowgate.dev/schema/bpmn/1.0"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
#: A call activity's binding: None = the latest deployed version when an instance starts;
#: a number = that version (``flowgate:calledVersion``, or Camunda's calledElementBinding).
Binding = int | None


@dataclass(frozen=True)
class DeployResult:
    version: ProcessVersion
    created: bool  # False when the same XML was already the latest deployed version

    @property
    def deployed(self) -> bool:
        return self.version.status == VersionStatus.DEPLOYED


def _as_bytes(xml: bytes | str) -> bytes:
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    if not data or not data.strip():
        raise InvalidInput("The BPMN file is empty.", code="empty_file")
    return data


KEY_MAX_LENGTH = 200  # ProcessDefinition.key / name
_SAFE_KEY = re.compile(r"[^\W\d][\w.-]*")


def _parse(data: bytes):
    try:
        return parse_xml(data)
    except core.UnsafeXmlError as exc:
        raise InvalidInput(str(exc), code="unsafe_xml") from None
    except core.BpmnValidationError as exc:
        raise Unprocessable(
            "The file is not well-formed XML.",
            code="invalid_bpmn",
            details=[p.as_dict() for p in exc.problems],
        ) from None


def bpmn_convert(*, xml: bytes | str) -> ImportResult:
    """A file from Camunda Modeler 7/8 (or any tool) with its settings mapped to Flowgate's;
    unchanged when there is nothing to map. Raises InvalidInput/Unprocessable for files that
    are not safe, well-formed XML."""
    data = _as_bytes(xml)
    return bpmn_import(_parse(data), data)


#: Problems the importer reports once for their cause; the compiler's own view of the same
#: element (a syntax error in a foreign expression) is dropped.
IMPORT_CAUSES = ("unsupported_condition_language", "unsupported_feel")


def _one_per_cause(imported: list[dict], problems: list[dict]) -> list[dict]:
    flagged = {p["element_id"] for p in imported if p["code"] in IMPORT_CAUSES}
    rest = [
        p for p in problems if not (p["code"] == "bad_expression" and p["element_id"] in flagged)
    ]
    not_executable = {p["element_id"] for p in rest if p["code"] == "not_executable"}
    rest = [
        p
        for p in rest
        if not (p["code"] == "unknown_process" and p["element_id"] in not_executable)
    ]
    return imported + rest


def _read_header(data: bytes) -> tuple[str, str, dict[str, Binding], list[dict]]:
    """(process key, name, {called process key: binding}, binding problems) from the safely
    parsed XML."""
    root = _parse(data)
    processes = list(root.iter(f"{{{BPMN_NS}}}process"))
    if not processes:
        raise Unprocessable(
            "The file has no <bpmn:process> element; is it a BPMN 2.0 file?",
            code="invalid_bpmn",
            details=[
                {"element_id": None, "code": "no_process", "message": "No process element found."}
            ],
        )
    chosen = next((p for p in processes if p.get("isExecutable") == "true"), processes[0])
    key = (chosen.get("id") or "").strip()
    if not key:
        raise Unprocessable("The process element has no id.", code="invalid_bpmn")
    # The id becomes the process key: in URLs (/designer/<key>/), file names and the database
    # (200 characters). A key with '/', spaces or quotes broke the designer pages for everyone
    # (tests/security/test_uploads.py); refuse it before anything is stored.
    if len(key) > KEY_MAX_LENGTH or not _SAFE_KEY.fullmatch(key):
        raise Unprocessable(
            f"The process id {key[:80]!r} cannot be a process key: use at most "
            f"{KEY_MAX_LENGTH} letters, digits, '_', '-' or '.', starting with a letter or '_'.",
            code="invalid_process_id",
        )
    name = (chosen.get("name") or "").strip()
    if len(name) > KEY_MAX_LENGTH:
        raise Unprocessable(
            f"The process name is {len(name):,} characters long; the limit is {KEY_MAX_LENGTH}.",
            code="invalid_process_name",
        )
    local = {p.get("id") for p in processes}
    called, problems = _called_bindings(root, local)
    return key, name, called, problems


def _called_bindings(root, local: set) -> tuple[dict[str, Binding], list[dict]]:
    """Which version each call activity calls: ``flowgate:calledVersion="3"``, or Camunda's
    ``calledElementBinding`` = latest (the default) | deployment (the version deployed now) |
    version (with ``calledElementVersion``)."""
    bindings: dict[str, Binding] = {}
    problems: list[dict] = []
    for activity in root.iter(f"{{{BPMN_NS}}}callActivity"):
        key = (activity.get("calledElement") or "").strip()
        if not key or key in local:
            continue
        element = activity.get("id")
        pinned = activity.get(f"{{{FLOWGATE_NS}}}calledVersion")
        binding = (activity.get(f"{{{CAMUNDA_NS}}}calledElementBinding") or "latest").strip()
        if pinned is None and binding == "version":
            pinned = activity.get(f"{{{CAMUNDA_NS}}}calledElementVersion")
        number: Binding = None
        if pinned is not None:
            if not pinned.strip().isdigit() or int(pinned) < 1:
                problems.append(
                    {
                        "element_id": element,
                        "code": "invalid_called_version",
                        "message": f"The called version must be a version number (1, 2, ...), "
                        f"not '{pinned}'.",
                    }
                )
                continue
            number = int(pinned)
        elif binding == "deployment":
            number = _latest_number(key)
        elif binding != "latest":
            problems.append(
                {
                    "element_id": element,
                    "code": "invalid_called_version",
                    "message": f"calledElementBinding '{binding}' is not supported: use latest, "
                    "deployment or version.",
                }
            )
            continue
        if key in bindings and bindings[key] != number:
            problems.append(
                {
                    "element_id": element,
                    "code": "conflicting_called_versions",
                    "message": f"Two call activities call process '{key}' in different versions; "
                    "one process can call one version of it.",
                }
            )
            continue
        bindings[key] = number
    return bindings, problems


def _latest_number(key: str) -> int | None:
    return (
        ProcessVersion.objects.filter(definition__key=key, status=VersionStatus.DEPLOYED)
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
    )


def _called_versions(bindings: dict[str, Binding]) -> tuple[dict[str, ProcessVersion], list[dict]]:
    """The deployed version each binding names now (a missing latest version is reported by the
    compiler, which knows the call activity's id)."""
    found: dict[str, ProcessVersion] = {}
    problems: list[dict] = []
    for key, number in bindings.items():
        versions = ProcessVersion.objects.filter(
            definition__key=key, status=VersionStatus.DEPLOYED
        ).only("pk", "xml", "number")
        version = (
            versions.filter(number=number).first()
            if number is not None
            else versions.order_by("-number").first()
        )
        if version is not None:
            found[key] = version
        elif number is not None:
            problems.append(
                {
                    "element_id": None,
                    "code": "called_version_missing",
                    "message": f"Version {number} of process '{key}' is not deployed.",
                }
            )
    return found, problems


def _compile(data: bytes, key: str, bindings: dict[str, Binding]):
    """Compile with the called versions; (compiled or None, problems, called versions)."""
    called, problems = _called_versions(bindings)
    try:
        compiled = core.compile_bpmn(
            data,
            process_id=key,
            called={k: v.xml.encode("utf-8") for k, v in called.items()},
            limits=engine_limits(),
        )
    except core.BpmnValidationError as exc:
        return None, problems + [p.as_dict() for p in exc.problems], called
    problems += _unknown_connectors(compiled.connectors, data)
    problems += decisions.business_rule_problems(data)
    return (None if problems else compiled), problems, called


def bpmn_validate(*, xml: bytes | str) -> list[dict]:
    """All modelling problems of a file, without storing anything. [] when it would deploy."""
    try:
        imported = bpmn_convert(xml=xml)
        key, _, bindings, binding_problems = _read_header(imported.xml)
    except Unprocessable as exc:
        return exc.details or [{"element_id": None, "code": exc.code, "message": exc.message}]
    compiled = _compile(imported.xml, key, bindings)[1]
    return problems_for_people(
        _one_per_cause(imported.problems, binding_problems + compiled), imported.xml
    )


def _unknown_connectors(names, data: bytes) -> list[dict]:
    """Service tasks must name a registered connector: say which are unknown, and what exists,
    on each service task that names one."""
    known = {c.name for c in all_connectors()}
    unknown = set(names) - known
    if not unknown:
        return []
    available = ", ".join(sorted(known))
    problems = []
    for node in parse_xml(data).iter(f"{{{BPMN_NS}}}*"):
        name = service_connector(node) if isinstance(node.tag, str) else None
        if name in unknown:
            problems.append(
                {
                    "element_id": node.get("id"),
                    "code": "unknown_connector",
                    "message": f"No connector is registered as '{name}'. Available: {available}.",
                }
            )
    return problems


MAX_COMMENT = 500


def version_deploy(
    *,
    xml: bytes | str,
    actor: Actor,
    user=None,
    comment: str = "",
    rollback_of: ProcessVersion | None = None,
) -> DeployResult:
    """Deploy a BPMN file as a new version, or keep it as a draft with its problems.

    Raises InvalidInput for unsafe or empty files (nothing stored) and Unprocessable when no process
    can be found. A file with modelling problems is not deployed and takes no version number: it
    is kept as ``user``'s draft of the process (``_kept_as_draft``); check ``result.deployed``.
    ``comment`` says why (shown in the version history).
    """
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT:
        raise InvalidInput(
            f"The comment has {len(comment)} characters; the limit is {MAX_COMMENT}.",
            code="comment_too_long",
        )
    imported = bpmn_convert(xml=xml)
    data = imported.xml
    key, name, bindings, binding_problems = _read_header(data)
    checksum = hashlib.sha256(data).hexdigest()
    compiled, problems, called = _compile(data, key, bindings)
    if binding_problems or imported.problems:
        compiled = None
    problems = problems_for_people(
        _one_per_cause(imported.problems, binding_problems + problems), data
    )
    if compiled is None:
        return _kept_as_draft(
            key=key,
            name=name,
            data=data,
            checksum=checksum,
            problems=problems,
            actor=actor,
            user=user,
            comment=comment,
        )
    with transaction.atomic():
        definition, _ = ProcessDefinition.objects.get_or_create(key=key, defaults={"name": name})
        definition = ProcessDefinition.objects.select_for_update().get(pk=definition.pk)
        latest = (
            definition.versions.filter(status=VersionStatus.DEPLOYED).order_by("-number").first()
        )
        if latest is not None and latest.checksum == checksum:
            return DeployResult(version=latest, created=False)
        number = (definition.versions.aggregate(n=Max("number"))["n"] or 0) + 1
        version = ProcessVersion(
            definition=definition,
            number=number,
            name=name,
            xml=data.decode("utf-8"),
            checksum=checksum,
            created_by=user,
            comment=comment,
            rollback_of=rollback_of,
            status=VersionStatus.DEPLOYED,  # created deployed; a version's status never changes
        )
        if user is not None:  # deployed: the person's autosaved draft is done with
            ProcessDraft.objects.filter(key=key, user=user).delete()
        version.spec_json = compiled.spec_json
        version.metadata = {
            "timer_starts": [list(t) for t in compiled.timer_starts],
            "message_starts": list(compiled.message_starts),
            "connectors": sorted(compiled.connectors),
            "called_processes": list(compiled.called_process_ids),
            # The called versions embedded now, and which calls follow the latest version.
            "called_versions": {k: v.pk for k, v in called.items()},
            "called_latest": sorted(k for k, number in bindings.items() if number is None),
            "user_tasks": list(compiled.user_task_ids),
        }
        version.save()
        if name and definition.name != name:
            definition.name = name
            definition.save(update_fields=["name", "updated_at"])
        hooks.version_deployed.send(version=version)
        record(
            AuditAction.PROCESS_DEPLOYED,
            actor=actor,
            process_key=key,
            version_id=version.pk,
            data={
                "number": number,
                "checksum": checksum,
                "connectors": version.metadata["connectors"],
                "comment": comment,
                "rollback_of": rollback_of.number if rollback_of else None,
            },
        )
    return DeployResult(version=version, created=True)


def _kept_as_draft(
    *,
    key: str,
    name: str,
    data: bytes,
    checksum: str,
    problems: list[dict],
    actor: Actor,
    user,
    comment: str,
) -> DeployResult:
    """A file with problems is not deployed and gets no version number (numbers count the
    versions that run, without gaps): it becomes the person's draft of the process, which the
    designer opens with its problems, and the attempt is audited. The result's version is
    unsaved (``pk`` and ``number`` None) and carries the problems."""
    with transaction.atomic():
        if user is not None:
            drafts.draft_save(key=key, xml=data.decode("utf-8"), user=user)
        record(
            AuditAction.PROCESS_DRAFT_SAVED,
            actor=actor,
            process_key=key,
            data={"number": None, "problems": len(problems), "checksum": checksum},
        )
    definition = ProcessDefinition.objects.filter(key=key).first()
    version = ProcessVersion(
        definition=definition or ProcessDefinition(key=key, name=name),
        status=VersionStatus.DRAFT,
        name=name,
        xml=data.decode("utf-8"),
        checksum=checksum,
        problems=problems,
        created_by=user,
        comment=comment,
    )
    return DeployResult(version=version, created=False)


def version_rollback(
    *, version_id: int, actor: Actor, user=None, comment: str = ""
) -> DeployResult:
    """Roll back = deploy the XML of an earlier deployed version again, as a new version (the
    history stays append-only; running instances stay on their versions)."""
    earlier = (
        ProcessVersion.objects.select_related("definition")
        .filter(pk=version_id)
        .only("pk", "xml", "number", "status", "definition__key")
        .first()
    )
    if earlier is None:
        raise NotFound(f"Process version {version_id} does not exist.", code="version_not_found")
    if earlier.status != VersionStatus.DEPLOYED:
        raise Conflict(
            f"Version {earlier.number} is a draft with problems; only a deployed version can be "
            "rolled back to.",
            code="rollback_to_draft",
        )
    latest = _latest_number(earlier.definition.key)
    if latest == earlier.number:
        raise Conflict(
            f"Version {earlier.number} is already the latest deployed version.",
            code="rollback_to_latest",
        )
    return version_deploy(
        xml=earlier.xml,
        actor=actor,
        user=user,
        comment=comment or f"Rollback to version {earlier.number}",
        rollback_of=earlier,
    )
