"""Request actions: start and cancel a request, comments and attachments on a request or task."""

from __future__ import annotations

import mimetypes

import filetype
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from apps.accounts.models import User
from apps.audit.actions import AuditAction
from apps.audit.services import record
from apps.common.actors import Actor
from apps.common.errors import AccessDenied, Conflict, InvalidInput, NotFound
from apps.engine import services as engine
from apps.engine.models import InstanceStatus, ProcessInstance
from apps.inbox.models import (
    HumanTask,
    RequestKeyCounter,
    TaskAttachment,
    TaskComment,
)
from apps.inbox.projection import rules_for_version_id
from apps.inbox.services.tasks import MAX_COMMENT
from apps.inbox.validation import form_errors

DEFAULT_ATTACHMENT_TYPES = (
    "application/pdf",
    "image/png",
    "image/jpeg",
    "text/plain",
    "text/csv",
)


def _lock_request(*, instance_id: int) -> ProcessInstance:
    return engine.instance_lock(instance_id=instance_id)


def comment_add(
    *, instance: ProcessInstance, user: User, body: str, actor: Actor, task: HumanTask | None = None
) -> TaskComment:
    """Comment on a request (the caller checked the user may see it)."""
    text = (body or "").strip()
    if not text:
        raise InvalidInput(
            "Write a comment first.",
            code="empty_comment",
            details=[{"field": "body", "message": "This field is required."}],
        )
    if len(text) > MAX_COMMENT:
        raise InvalidInput(
            f"A comment is limited to {MAX_COMMENT} characters.",
            code="comment_too_long",
            details=[{"field": "body", "message": "Too long."}],
        )
    with transaction.atomic():
        comment = TaskComment.objects.create(instance=instance, task=task, author=user, body=text)
        record(
            AuditAction.REQUEST_COMMENTED,
            instance=instance,
            actor=actor,
            task_id=task.pk if task else None,
            data={"comment_id": comment.pk, "body": text},
        )
    return comment


def attachment_limits() -> tuple[int, tuple[str, ...]]:
    size = int(getattr(settings, "FLOWGATE_ATTACHMENT_MAX_BYTES", 5 * 1024 * 1024))
    types = tuple(getattr(settings, "FLOWGATE_ATTACHMENT_TYPES", DEFAULT_ATTACHMENT_TYPES))
    return size, types


# Types that carry a signature the sniffer knows (PDF, PNG, JPEG, GIF, ...): their content must
# show it. Text types have none: their content must not be any known binary format nor hold NULs.
_SIGNED_TYPES = frozenset(kind.mime for kind in filetype.types)
_SNIFF_BYTES = 8192


def _content_mismatch(upload: UploadedFile, declared_type: str) -> str:
    """Why the first bytes of ``upload`` contradict ``declared_type`` ("" when they do not)."""
    head = upload.read(_SNIFF_BYTES)
    upload.seek(0)
    if isinstance(head, str):  # an in-memory text upload in tests
        head = head.encode()
    found = filetype.guess_mime(head) if head else None
    if found and found != declared_type:
        return f"it looks like {found}"
    if declared_type in _SIGNED_TYPES and found is None:
        return "its content has no such signature"
    if declared_type.startswith("text/") and b"\x00" in head:
        return "it is binary, not text"
    return ""


def attachment_add(
    *,
    instance: ProcessInstance,
    user: User,
    upload: UploadedFile | None,
    actor: Actor,
    task: HumanTask | None = None,
) -> TaskAttachment:
    """Store a file through Django's storage API; refuse it when too large or of a type that is
    not allowed (judged by the name's extension and the declared type, which must agree)."""
    max_bytes, allowed = attachment_limits()
    if upload is None:
        raise InvalidInput(
            "Choose a file.", code="no_file", details=[{"field": "file", "message": "Required."}]
        )
    size = upload.size or 0
    if size > max_bytes:
        raise InvalidInput(
            f"The file is {size:,} bytes; the limit is {max_bytes:,} bytes.",
            code="file_too_large",
            details=[{"field": "file", "message": "Too large."}],
        )
    name = (upload.name or "file").rsplit("/", 1)[-1].rsplit("\\", 1)[-1][:200]
    guessed = mimetypes.guess_type(name)[0] or "application/octet-stream"
    declared = (upload.content_type or "").split(";")[0].strip().lower()
    if guessed not in allowed or (declared and declared != guessed):
        raise InvalidInput(
            f"Files of this type are not accepted; allowed: {', '.join(allowed)}.",
            code="file_type",
            details=[{"field": "file", "message": "Type not allowed."}],
        )
    problem = _content_mismatch(upload, guessed)
    if problem:
        raise InvalidInput(
            f"The file's content does not match its type ({guessed}): {problem}.",
            code="file_content",
            details=[{"field": "file", "message": "Content does not match the file type."}],
        )
    with transaction.atomic():
        attachment = TaskAttachment(
            instance=instance,
            task=task,
            uploaded_by=user,
            name=name,
            content_type=guessed,
            size=size,
        )
        attachment.file.save(name, upload, save=False)
        attachment.save()
        record(
            AuditAction.REQUEST_ATTACHMENT_ADDED,
            instance=instance,
            actor=actor,
            task_id=task.pk if task else None,
            data={"attachment_id": attachment.pk, "name": name, "size": size},
        )
    return attachment


# --- requests -----------------------------------------------------------------------------------


def request_start(*, user: User, process_key: str, data: dict, actor: Actor) -> ProcessInstance:
    """Start a request from the catalog: the user must be allowed to start it (by role), and
    the start form's data must pass its validation."""
    if not isinstance(data, dict):
        raise InvalidInput("The request data must be a JSON object.", code="invalid_data")
    version = engine.version_latest_deployed(process_key=process_key)
    rules = rules_for_version_id(version.pk)
    if not rules.human_start or not rules.may_start(
        username=user.username, roles=user.role_names()
    ):
        raise NotFound(f"No process '{process_key}' that you may start.", code="process_not_found")
    errors = form_errors(rules.start_form, data)
    if errors:
        raise InvalidInput(
            "The form has errors; correct them and submit again.",
            code="invalid_form",
            details=errors,
        )
    with transaction.atomic():
        business_key = _next_business_key(
            rules.business_key_prefix or default_key_prefix(process_key)
        )
        return engine.instance_start(
            version=version,
            variables=data,
            business_key=business_key,
            actor=actor,
            started_by=user,
        )


def default_key_prefix(process_key: str) -> str:
    """EXP for expense_approval: the first three letters or digits of the key, in capitals
    (REQ when it has none)."""
    letters = "".join(c for c in process_key if c.isascii() and c.isalnum())[:3].upper()
    return letters if letters and letters[0].isalpha() else "REQ"


def _next_business_key(prefix: str) -> str:
    """The next business key of ``prefix`` (PREFIX-000123), unique: the counter row is created
    once (a concurrent creation is ignored) and locked until the caller's transaction ends."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("_next_business_key needs the start's transaction (it locks a row)")
    RequestKeyCounter.objects.bulk_create([RequestKeyCounter(prefix=prefix)], ignore_conflicts=True)
    counter = RequestKeyCounter.objects.select_for_update().get(prefix=prefix)
    counter.last += 1
    counter.save(update_fields=["last"])
    return f"{prefix}-{counter.last:06d}"


def request_cancel(*, instance_id: int, user: User, actor: Actor) -> ProcessInstance:
    """The requester withdraws a running request, where the model allows it."""
    instance = ProcessInstance.objects.select_related("version").filter(pk=instance_id).first()
    if instance is None or instance.started_by_id != user.pk:
        raise NotFound(
            f"Request {instance_id} does not exist or is not yours.", code="request_not_found"
        )
    if not rules_for_version_id(instance.version_id).cancellable:
        raise AccessDenied(
            "This process does not allow withdrawing a request.", code="not_cancellable"
        )
    if instance.status not in (InstanceStatus.RUNNING, InstanceStatus.SUSPENDED):
        raise Conflict(f"Request {instance_id} is already {instance.status}.", code="request_ended")
    return engine.instance_cancel(
        instance_id=instance_id, actor=actor, reason="withdrawn by requester"
    )


# --- out of office, notification settings ------------------------------------------------------
