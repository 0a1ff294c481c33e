"""The issue's "done when" for the audit trail, in a real browser: an auditor finds everything one
user did last week, sees a clean verification, and downloads one instance's evidence package."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.common.actors import Actor
from apps.engine import services as engine
from apps.inbox import services as inbox
from apps.inbox.models import HumanTask
from apps.processes.services import version_deploy
from tests.engine.conftest import bpmn
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_an_auditor_searches_verifies_and_downloads_evidence(page, login_as, axe_check):
    version = version_deploy(xml=bpmn("approval.bpmn"), actor=Actor.system("test")).version
    requester = UserFactory(username="rita", roles=["approver"])
    approver = UserFactory(username="otto", roles=["approver"])
    instance = engine.instance_start(
        version=version,
        variables={"amount": 75},
        actor=Actor.for_user(requester),
        started_by=requester,
    )
    task = HumanTask.objects.get(instance=instance)
    inbox.task_complete(
        task_id=task.pk, user=approver, data={"approved": False}, actor=Actor.for_user(approver)
    )

    login_as(page, UserFactory(username="audrey", roles=["auditor"]))
    week_ago = (timezone.now() - timedelta(days=7)).date().isoformat()
    page.goto(f"/admin-reports/audit/?actor=otto&date_from={week_ago}")
    rows = page.locator("table tbody tr")
    rows.first.wait_for()
    text = page.locator("main").inner_text()
    assert "task.rejected" in text
    # a human label first, the code beside it; the version by its number, not its database id
    actions = page.get_by_test_id("event-action").all_inner_texts()
    assert "Rejected\ntask.rejected" in actions, actions
    name = version.definition.name or version.definition.key
    assert f"{name} v{version.number}" in page.get_by_test_id("event-process").first.inner_text()
    assert f"version {version.pk}" not in text
    assert "rita" not in page.locator("table tbody").inner_text()
    assert axe_check(page) == []

    page.get_by_role("button", name="Verify chain").first.click()
    status = page.get_by_test_id("verify-status")
    status.wait_for()
    assert status.inner_text().startswith("Intact.")

    page.goto(f"/admin-reports/audit/instances/{instance.pk}/")
    with page.expect_download() as download_info:
        page.get_by_role(
            "link", name=f"Download evidence package of instance {instance.pk}"
        ).click()
    archive = zipfile.ZipFile(io.BytesIO(open(download_info.value.path(), "rb").read()))
    names = archive.namelist()
    assert any(name.endswith(".bpmn") for name in names), names
    events_file = next(name for name in names if name.endswith(".json") and "event" in name)
    events = json.loads(archive.read(events_file))
    actions = [e["action"] for e in (events["events"] if isinstance(events, dict) else events)]
    assert "instance.started" in actions and "task.rejected" in actions
    assert page.js_errors == []
