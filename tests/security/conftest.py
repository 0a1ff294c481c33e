"""Fixtures for the security regression corpus: a small portal with people, processes, an
instance, tasks and tokens, so that every attack has a real target."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.test import APIClient

from apps.accounts.services import api_token_create
from apps.common.actors import Actor
from apps.engine import services as engine_services
from apps.inbox import services as inbox_services
from apps.inbox.models import HumanTask
from apps.processes import services as process_services
from tests.e2e.test_task_flow import PROCESS as FORM_PROCESS
from tests.engine.conftest import bpmn
from tests.factories import UserFactory
from tests.security import corpus

# A small but real PDF (its magic bytes say so), for attachments in the corpus.
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def _corpus_test(request):
    corpus.begin(request.node.nodeid)
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    """Attachments of each test land in a folder of its own (the upload tests list it)."""
    settings.MEDIA_ROOT = str(tmp_path / "media")


def api_client(user=None) -> APIClient:
    """An API client authenticated with a fresh token of ``user`` (anonymous without one)."""
    client = APIClient()
    if user is not None:
        _, key = api_token_create(user=user, name="security corpus")
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def page_client(user=None, *, csrf: bool = False) -> Client:
    """A browser-like client signed in as ``user``; ``csrf=True`` enforces CSRF as browsers get."""
    client = Client(enforce_csrf_checks=csrf)
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def world(db):
    """People, two deployed processes, two running instances with one open task each."""
    people = SimpleNamespace(
        dana=UserFactory(username="dana", roles=["designer"]),
        rita=UserFactory(username="rita", roles=["approver"]),  # the requester
        alex=UserFactory(username="alex", roles=["approver"]),
        mona=UserFactory(username="mona", roles=["manager", "approver"]),
        audrey=UserFactory(username="audrey", roles=["auditor"]),
        ada=UserFactory(username="ada", roles=["admin"]),
        mallory=UserFactory(username="mallory"),  # signed in, no role at all
        dave=UserFactory(username="dave", roles=["designer"]),  # a role, but not on these objects
    )
    for xml in (bpmn("approval.bpmn"), FORM_PROCESS):
        result = process_services.version_deploy(
            xml=xml, actor=Actor.for_user(people.dana), user=people.dana
        )
        assert result.deployed, result.version.problems
    approval = engine_services.instance_start(
        process_key="expense_approval",
        variables={"amount": 99},
        actor=Actor.for_user(people.rita),
        started_by=people.rita,
    )
    form = engine_services.instance_start(
        process_key="expense",
        variables={"amount": 80},
        actor=Actor.for_user(people.rita),
        started_by=people.rita,
    )
    alex_token, _ = api_token_create(user=people.alex, name="alex's script")
    approval_task = HumanTask.objects.get(instance_id=approval.pk)
    receipt = inbox_services.attachment_add(
        instance=approval,
        task=approval_task,
        user=people.rita,
        upload=SimpleUploadedFile("receipt.pdf", PDF, content_type="application/pdf"),
        actor=Actor.for_user(people.rita),
    )
    return SimpleNamespace(
        people=people,
        approval=approval,
        form=form,
        approval_task=approval_task,
        receipt=receipt,
        form_task=HumanTask.objects.get(instance_id=form.pk),
        alex_token=alex_token,
        version=approval.version,
    )
