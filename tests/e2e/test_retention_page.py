"""The retention page in a browser: an admin sets a process's period and legal hold, holds and
releases an instance, and checks an archive of a purged instance against the audit chain."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from apps.common.actors import Actor
from apps.engine import services as engine
from apps.engine.models import ProcessInstance
from apps.processes import services as process_services
from apps.retention.models import InstanceHold, RetentionDefault, RetentionPolicy
from apps.retention.services import retention_purge
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.embedded, pytest.mark.django_db(transaction=True)]
XML = (Path(__file__).parents[1] / "calendars" / "business.bpmn").read_bytes()
ADMIN = Actor.system("test")


def _finished(days: int) -> int:
    instance = engine.instance_start(process_key="business_sla", variables={}, actor=ADMIN)
    engine.instance_cancel(instance_id=instance.pk, actor=ADMIN)
    ProcessInstance.objects.filter(pk=instance.pk).update(
        ended_at=timezone.now() - timedelta(days=days)
    )
    return instance.pk


def test_an_admin_manages_retention_in_the_browser(page, login_as, axe_check, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    settings.AUDIT_ANCHOR_PATH = str(tmp_path / "anchors.jsonl")
    assert process_services.version_deploy(xml=XML, actor=ADMIN).deployed
    old, recent = _finished(40), _finished(1)
    settings.FLOWGATE_RETENTION_DAYS = 30
    assert retention_purge()["purged"] == 1
    login_as(page, UserFactory(username="root", roles=["admin"]))

    page.goto("/admin-reports/retention/")
    assert "30 days" in page.get_by_test_id("portal-default").inner_text()
    assert axe_check(page) == []

    page.get_by_label("Process key").fill("business_sla")
    page.get_by_label("Keep finished instances for (days)").fill("90")
    page.get_by_label("Legal hold on the whole process").check()
    page.get_by_label("Reason", exact=True).first.fill("tax audit")
    with page.expect_navigation():
        page.get_by_role("button", name="Save policy").click()
    assert "is saved" in page.locator(".fg-messages").inner_text()
    policy = RetentionPolicy.objects.get()
    assert (policy.days, policy.legal_hold, policy.reason) == (90, True, "tax audit")

    page.get_by_label("Instance id").fill(str(recent))
    page.locator("#hold_reason").fill("litigation")
    with page.expect_navigation():
        page.get_by_role("button", name="Set legal hold").click()
    assert "litigation" in page.get_by_test_id("hold-table").inner_text()
    assert InstanceHold.objects.get().instance_id == recent

    page.get_by_label(f"Reason for releasing #{recent}").fill("settled")
    with page.expect_navigation():
        page.get_by_role("button", name="Release").click()
    assert not InstanceHold.objects.exists()

    with page.expect_navigation():
        page.get_by_role("button", name=f"Check the archive of #{old}").click()
    assert "intact" in page.get_by_test_id("check-result").inner_text()
    assert axe_check(page) == []

    # the portal default: set on the page, then back to the environment setting
    page.get_by_label("Portal default (days)").fill("60")
    with page.expect_navigation():
        page.get_by_role("button", name="Save portal default").click()
    assert "now 60 days" in page.locator(".fg-messages").inner_text()
    default = page.get_by_test_id("portal-default").inner_text()
    assert "60 days" in default and "set on this page" in default
    assert RetentionDefault.objects.get().days == 60
    page.get_by_label("Use the environment setting (FLOWGATE_RETENTION_DAYS) instead").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Save portal default").click()
    assert "30 days" in page.get_by_test_id("portal-default").inner_text()
    assert RetentionDefault.objects.get().days is None
    assert page.js_errors == []
