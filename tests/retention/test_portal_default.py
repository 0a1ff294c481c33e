"""The portal default retention period: set on the retention page or through the API (admins),
stored in the database, the environment setting as the fallback; audited; the purge obeys it."""

from __future__ import annotations

import pytest

from apps.audit.models import AuditEvent
from apps.engine.models import ProcessInstance
from apps.retention.models import RetentionDefault
from apps.retention.selectors import portal_default_days
from apps.retention.services import retention_purge
from tests.api.test_engine_api import client_for

PAGE = "/admin-reports/retention/"
API = "/api/v1/retention/default/"


def _settings_events() -> list[dict]:
    return [
        {"before": e.before, "after": e.after}
        for e in AuditEvent.objects.filter(
            action="admin.settings_changed", data__setting="retention_default"
        ).order_by("position")
    ]


@pytest.mark.django_db(transaction=True)
def test_the_page_default_overrides_the_environment_and_the_purge_obeys(
    client, make_user, finished, settings
):
    settings.FLOWGATE_RETENTION_DAYS = 0  # the environment keeps everything
    old, young = finished(40), finished(10)
    client.force_login(make_user("admin"))
    assert portal_default_days() == (0, "environment")
    assert retention_purge() == {"purged": 0, "batches": 0}

    # a bad value: 400 on the field, nothing stored
    response = client.post(f"{PAGE}default/", {"days": -1})
    assert response.status_code == 400 and not RetentionDefault.objects.exists()
    assert client.post(f"{PAGE}default/", {}).status_code == 400
    assert "Give a number of days" in client.post(f"{PAGE}default/", {}).content.decode()

    # when the admin sets 30 days on the page
    assert client.post(f"{PAGE}default/", {"days": 30}).status_code == 302
    assert portal_default_days() == (30, "page")
    page = client.get(PAGE).content.decode()
    assert "30 days" in page and "set on this page" in page
    # then the purge takes the 40-day-old instance, not the 10-day-old one
    assert retention_purge() == {"purged": 1, "batches": 1}
    assert set(ProcessInstance.objects.values_list("pk", flat=True)) == set(young)
    assert old[0] not in set(ProcessInstance.objects.values_list("pk", flat=True))

    # back to the environment setting
    assert client.post(f"{PAGE}default/", {"use_environment": "on"}).status_code == 302
    assert portal_default_days() == (0, "environment")
    assert _settings_events() == [
        {"before": {"days": None, "effective": 0}, "after": {"days": 30, "effective": 30}},
        {"before": {"days": 30, "effective": 30}, "after": {"days": None, "effective": 0}},
    ]


@pytest.mark.django_db
def test_only_admins_set_the_default_on_the_page_or_the_api(client, make_user, settings):
    settings.FLOWGATE_RETENTION_DAYS = 365
    assert client.post(f"{PAGE}default/", {"days": 5}).status_code == 302  # to the login page
    assert client_for().put(API, {"days": 5}, format="json").status_code in (401, 403)
    for role in ("designer", "manager", "auditor", "approver"):
        client.force_login(make_user(role))
        assert client.post(f"{PAGE}default/", {"days": 5}).status_code == 403
        api = client_for(make_user(role))
        assert api.put(API, {"days": 5}, format="json").status_code == 403
        assert api.get(API).status_code == 403
    assert not RetentionDefault.objects.exists() and _settings_events() == []

    admin = client_for(make_user("admin"))
    assert admin.get(API).json() == {"days": 365, "origin": "environment"}
    assert admin.put(API, {"days": -3}, format="json").status_code == 400
    assert admin.put(API, {"days": 0}, format="json").json() == {"days": 0, "origin": "page"}
    assert admin.put(API, {"days": None}, format="json").json() == {
        "days": 365,
        "origin": "environment",
    }
    assert len(_settings_events()) == 2
