"""Autosaved designer drafts: a person's unsaved diagram per process, kept until they deploy.

Drafts are scratch space, not process state: saving one writes no audit event (a designer
saves every few seconds); deploying writes the version and its audit event as always.
"""

from __future__ import annotations

import re

from django.db.models import QuerySet

from apps.common.errors import InvalidInput, NotFound
from apps.processes.models import ProcessDraft

MAX_DRAFT_BYTES = 5 * 1024 * 1024
KEY_RE = re.compile(r"^[A-Za-z_][\w.-]{0,199}$")


def _check_key(key: str) -> None:
    if not KEY_RE.match(key or ""):
        raise InvalidInput(f"'{key}' is not a valid process id.", code="invalid_key")


def draft_save(*, key: str, xml: str, user) -> ProcessDraft:
    _check_key(key)
    if not xml or not xml.strip():
        raise InvalidInput("The draft is empty.", code="empty_file")
    if len(xml.encode("utf-8")) > MAX_DRAFT_BYTES:
        raise InvalidInput(
            f"The draft is larger than {MAX_DRAFT_BYTES // (1024 * 1024)} MB.",
            code="xml_too_large",
        )
    draft, _ = ProcessDraft.objects.update_or_create(key=key, user=user, defaults={"xml": xml})
    return draft


def draft_get(*, key: str, user) -> ProcessDraft:
    draft = ProcessDraft.objects.filter(key=key, user=user).first()
    if draft is None:
        raise NotFound(f"You have no draft of '{key}'.", code="draft_not_found")
    return draft


def draft_discard(*, key: str, user) -> int:
    return ProcessDraft.objects.filter(key=key, user=user).delete()[0]


def drafts_of(*, user) -> QuerySet[ProcessDraft]:
    return ProcessDraft.objects.filter(user=user).order_by("-updated_at")
