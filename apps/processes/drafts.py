"""Autosaved designer drafts: a person's unsaved diagram per process, kept until they deploy.

Drafts are scratch space, not process state: saving one writes no audit event (a designer
saves every few seconds); deploying writes the version and its audit event as always.
"""

from __future__ import annotations

import html
import re

from django.db.models import QuerySet
from django.utils import timezone

from apps.common.errors import InvalidInput, NotFound
from apps.processes.models import ProcessDraft

MAX_DRAFT_BYTES = 5 * 1024 * 1024
KEY_RE = re.compile(r"^[A-Za-z_][\w.-]{0,199}$")


def _check_key(key: str) -> None:
    if not KEY_RE.match(key or ""):
        raise InvalidInput(f"'{key}' is not a valid process id.", code="invalid_key")


MAX_NAME = 200
_PROCESS_NAME = re.compile(r"<(?:[\w-]+:)?process\b[^>]*?\sname=\"([^\"]*)\"")


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise InvalidInput("Give the draft a name.", code="invalid_name")
    if len(name) > MAX_NAME:
        raise InvalidInput(
            f"The name has {len(name)} characters; the limit is {MAX_NAME}.", code="invalid_name"
        )
    return name


def default_name(*, key: str, xml: str, source: str = "") -> str:
    """A new draft's name: where it came from (an opened file's name, else the process's name in
    the diagram, else its id) and when it was started, e.g. "Expense approval, 7 Dec 10:58"."""
    found = _PROCESS_NAME.search(xml[:20000])
    origin = " ".join((source or (html.unescape(found.group(1)) if found else "") or key).split())
    stamp = timezone.localtime().strftime("%d %b %H:%M").lstrip("0")
    return f"{origin[: MAX_NAME - 20]}, {stamp}"


def draft_save(*, key: str, xml: str, user, name: str = "", source: str = "") -> ProcessDraft:
    """Save ``user``'s draft of ``key``. A new draft is named ``name`` or ``default_name`` (from
    ``source``, an opened file's name); an existing one keeps its name unless ``name`` is
    given."""
    _check_key(key)
    if not xml or not xml.strip():
        raise InvalidInput("The draft is empty.", code="empty_file")
    if len(xml.encode("utf-8")) > MAX_DRAFT_BYTES:
        raise InvalidInput(
            f"The draft is larger than {MAX_DRAFT_BYTES // (1024 * 1024)} MB.",
            code="xml_too_large",
        )
    name = _clean_name(name) if name else ""
    draft = ProcessDraft.objects.filter(key=key, user=user).first()
    if draft is None:
        draft = ProcessDraft(
            key=key,
            user=user,
            created_at=timezone.now(),
            name=name or default_name(key=key, xml=xml, source=source[:MAX_NAME]),
        )
    elif name:
        draft.name = name
    draft.xml = xml
    draft.save()
    return draft


def draft_rename(*, key: str, user, name: str) -> ProcessDraft:
    draft = draft_get(key=key, user=user)
    draft.name = _clean_name(name)
    draft.save(update_fields=["name", "updated_at"])
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
