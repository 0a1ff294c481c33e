"""Retention over the API: admins set policies and holds; others are refused and change nothing."""

from __future__ import annotations

import pytest

from apps.audit.models import AuditEvent
from apps.retention.models import InstanceHold, RetentionPolicy
from tests.api.test_engine_api import client_for

pytestmark = pytest.mark.django_db


def test_policies_and_holds_are_for_admins(make_user, finished):
    [instance_id] = finished(1)
    assert client_for().get("/api/v1/retention/policies/").status_code in (401, 403)
    for role in ("designer", "manager", "auditor", "approver"):
        client = client_for(make_user(role))
        put = client.put("/api/v1/retention/policies/business_sla/", {"days": 5}, format="json")
        hold = client.put(f"/api/v1/retention/holds/{instance_id}/", {"reason": "x"}, format="json")
        assert (put.status_code, hold.status_code) == (403, 403)
    assert not RetentionPolicy.objects.exists() and not InstanceHold.objects.exists()

    admin = client_for(make_user("admin"))
    put = admin.put(
        "/api/v1/retention/policies/business_sla/",
        {"days": 365, "legal_hold": True, "reason": "tax audit"},
        format="json",
    )
    assert put.status_code == 200
    assert {k: put.json()[k] for k in ("process_key", "days", "legal_hold", "reason")} == {
        "process_key": "business_sla",
        "days": 365,
        "legal_hold": True,
        "reason": "tax audit",
    }
    forever = admin.put("/api/v1/retention/policies/business_sla/", {"days": None}, format="json")
    assert forever.status_code == 200 and forever.json()["days"] is None
    assert (
        admin.put(
            "/api/v1/retention/policies/business_sla/", {"days": 0}, format="json"
        ).status_code
        == 400
    )
    listing = admin.get("/api/v1/retention/policies/").json()["results"]
    assert [(p["process_key"], p["days"]) for p in listing] == [("business_sla", None)]

    assert (
        admin.put(f"/api/v1/retention/holds/{instance_id}/", {}, format="json").status_code == 400
    )
    held = admin.put(
        f"/api/v1/retention/holds/{instance_id}/", {"reason": "litigation"}, format="json"
    )
    assert held.status_code == 200 and held.json()["reason"] == "litigation"
    assert (
        admin.put("/api/v1/retention/holds/999999/", {"reason": "x"}, format="json").status_code
        == 404
    )
    assert admin.delete(f"/api/v1/retention/holds/{instance_id}/").status_code == 204
    assert admin.delete(f"/api/v1/retention/holds/{instance_id}/").status_code == 404
    settings_events = AuditEvent.objects.filter(action="admin.settings_changed")
    assert [e.data["setting"] for e in settings_events.order_by("position")] == [
        "retention_policy",
        "retention_policy",
        "legal_hold",
        "legal_hold",
    ]
    # the archive check: auditors may ask too
    check = client_for(make_user("auditor")).get(f"/api/v1/retention/archives/{instance_id}/check/")
    assert check.status_code == 200 and check.json() == {"ok": False, "reason": "not_archived"}
    assert (
        client_for(make_user("manager"))
        .get(f"/api/v1/retention/archives/{instance_id}/check/")
        .status_code
        == 403
    )
