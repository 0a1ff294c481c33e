"""The retention page (admins): policies, legal holds, purge runs, archives and their check.
Others are refused and change nothing."""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage

from apps.audit.models import AuditEvent
from apps.retention.models import ArchivedInstance, InstanceHold, RetentionPolicy
from apps.retention.services import retention_purge

pytestmark = pytest.mark.django_db
PAGE = "/admin-reports/retention/"


def test_only_admins_see_or_change_anything(client, make_user, finished):
    [instance_id] = finished(1)
    assert client.get(PAGE).status_code == 302  # to the login page
    assert client.post(f"{PAGE}policies/", {"process_key": "x", "days": 5}).status_code == 302
    for role in ("designer", "manager", "auditor", "approver"):
        client.force_login(make_user(role))
        assert client.get(PAGE).status_code == 403
        assert client.post(f"{PAGE}policies/", {"process_key": "x", "days": 5}).status_code == 403
        hold = client.post(f"{PAGE}holds/", {"instance_id": instance_id, "reason": "x"})
        assert hold.status_code == 403
    assert not RetentionPolicy.objects.exists() and not InstanceHold.objects.exists()
    assert not AuditEvent.objects.filter(action="admin.settings_changed").exists()


def test_an_admin_sets_policies_and_holds_with_reasons(client, make_user, finished, settings):
    settings.FLOWGATE_RETENTION_DAYS = 400
    [instance_id] = finished(1)
    client.force_login(make_user("admin"))
    page = client.get(PAGE)
    assert page.status_code == 200
    assert "400 days" in page.content.decode()

    # a legal hold without a reason: 400 on the field, nothing saved
    response = client.post(
        f"{PAGE}policies/", {"process_key": "business_sla", "days": 30, "legal_hold": "on"}
    )
    assert response.status_code == 400
    assert "A legal hold needs a reason." in response.content.decode()
    assert not RetentionPolicy.objects.exists()
    response = client.post(f"{PAGE}policies/", {"process_key": "business_sla", "days": 0})
    assert response.status_code == 400

    response = client.post(
        f"{PAGE}policies/",
        {"process_key": "business_sla", "days": 30, "legal_hold": "on", "reason": "tax audit"},
    )
    assert response.status_code == 302
    policy = RetentionPolicy.objects.get()
    assert (policy.days, policy.legal_hold, policy.reason) == (30, True, "tax audit")

    assert client.post(f"{PAGE}holds/", {"instance_id": 999999, "reason": "x"}).status_code == 400
    assert client.post(f"{PAGE}holds/", {"instance_id": instance_id}).status_code == 400
    response = client.post(f"{PAGE}holds/", {"instance_id": instance_id, "reason": "litigation"})
    assert response.status_code == 302
    assert InstanceHold.objects.get().reason == "litigation"
    page = client.get(PAGE).content.decode()
    assert "litigation" in page and "tax audit" in page

    response = client.post(f"{PAGE}holds/release/", {"instance_id": instance_id, "reason": ""})
    assert InstanceHold.objects.exists()  # a release needs a reason too
    client.post(f"{PAGE}holds/release/", {"instance_id": instance_id, "reason": "settled"})
    assert not InstanceHold.objects.exists()
    events = AuditEvent.objects.filter(action="admin.settings_changed").order_by("pk")
    assert [e.data["setting"] for e in events] == ["retention_policy", "legal_hold", "legal_hold"]
    assert events.last().data == {"setting": "legal_hold", "hold": False, "reason": "settled"}


def test_purge_runs_archives_and_the_archive_check(client, make_user, finished, settings):
    ids = finished(40, n=2)
    settings.FLOWGATE_RETENTION_DAYS = 30
    assert retention_purge()["purged"] == 2
    client.force_login(make_user("admin"))
    page = client.get(PAGE).content.decode()
    assert 'data-testid="run-table"' in page and f"#{ids[0]}" in page

    response = client.post(f"{PAGE}archives/check/", {"instance_id": ids[0]}, follow=True)
    assert 'data-testid="check-result"' in response.content.decode()
    assert "is intact" in response.content.decode()

    # a tampered archive is reported
    name = ArchivedInstance.objects.get(instance_id=ids[1]).name
    with default_storage.open(name, "ab") as archive:
        archive.write(b'{"kind": "forged"}\n')
    response = client.post(f"{PAGE}archives/check/", {"instance_id": ids[1]}, follow=True)
    assert "the archive file was changed after the purge" in response.content.decode()
    response = client.post(f"{PAGE}archives/check/", {"instance_id": "x"}, follow=True)
    assert "Choose an archive to check." in response.content.decode()
