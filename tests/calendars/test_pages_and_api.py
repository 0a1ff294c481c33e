"""Business calendars managed by admins: the pages (Form) and the API, with access rules,
clear 4xx on bad input, an audit event per change, and the designer's due-time preview."""

from __future__ import annotations

import pytest

from apps.audit.models import AuditEvent
from apps.calendars.models import BusinessCalendar
from tests.api.test_engine_api import client_for

pytestmark = pytest.mark.django_db

FORM = {
    "slug": "berlin",
    "name": "Berlin office",
    "time_zone": "Europe/Berlin",
    "mon": "09:00-12:00, 13:00-17:00",
    "tue": "09:00-17:00",
    "wed": "09:00-17:00",
    "thu": "09:00-17:00",
    "fri": "09:00-15:00",
    "sat": "",
    "sun": "",
    "holiday_country": "de",
    "holiday_subdivision": "by",
    "own_days": "2026-12-24 Christmas Eve\n\n2026-12-31 New Year's Eve",
    "is_default": "on",
}


def test_pages_are_for_admins_only(client, make_user):
    assert client.get("/admin-reports/calendars/").status_code == 302  # to the login page
    client.force_login(make_user("manager", "auditor", "designer"))
    assert client.get("/admin-reports/calendars/").status_code == 403
    assert client.post("/admin-reports/calendars/new/", FORM).status_code == 403
    assert not BusinessCalendar.objects.exists()
    client.force_login(make_user("admin"))
    assert client.get("/admin-reports/calendars/").status_code == 200
    assert client.get("/admin-reports/calendars/nope/").status_code == 404


def test_an_admin_creates_and_edits_a_calendar_in_the_browser(client, make_user):
    client.force_login(make_user("admin"))
    assert client.get("/admin-reports/calendars/new/").status_code == 200
    response = client.post("/admin-reports/calendars/new/", FORM)
    assert response.status_code == 302
    saved = BusinessCalendar.objects.get(slug="berlin")
    assert (saved.mon, saved.fri, saved.holiday_country, saved.holiday_subdivision) == (
        "09:00-12:00, 13:00-17:00",
        "09:00-15:00",
        "DE",
        "BY",
    )
    assert saved.own_days == [
        {"date": "2026-12-24", "name": "Christmas Eve"},
        {"date": "2026-12-31", "name": "New Year's Eve"},
    ]
    assert saved.is_default
    page = client.get("/admin-reports/calendars/").content.decode()
    assert 'data-slug="berlin"' in page and "Default" in page
    edit = client.get("/admin-reports/calendars/berlin/").content.decode()
    assert "Christmas Eve" in edit
    changed = client.post(
        "/admin-reports/calendars/berlin/", {**FORM, "sat": "10:00-14:00", "slug": "ignored"}
    )
    assert changed.status_code == 302
    saved.refresh_from_db()
    assert saved.sat == "10:00-14:00" and saved.slug == "berlin"
    events = AuditEvent.objects.filter(
        action="admin.settings_changed", data__setting="business_calendar"
    )
    assert [(e.before and e.before["sat"], e.after["sat"]) for e in events.order_by("time")] == [
        (None, ""),
        ("", "10:00-14:00"),
    ]
    # a second default takes the flag from the first
    client.post(
        "/admin-reports/calendars/new/",
        {
            **FORM,
            "slug": "ny",
            "time_zone": "America/New_York",
            "holiday_country": "US",
            "holiday_subdivision": "NY",
        },
    )
    assert list(
        BusinessCalendar.objects.filter(is_default=True).values_list("slug", flat=True)
    ) == ["ny"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("mon", "9-17", "is not a period like 09:00-17:00"),
        ("tue", "09:00-12:00, 11:00-13:00", "overlap"),
        ("time_zone", "Mars/Base", "Unknown time zone"),
        ("holiday_country", "XX", "not a country"),
        ("holiday_subdivision", "ZZ", "not a region"),
        ("own_days", "24.12.2026 Eve", "is not a date"),
        ("slug", "Not a slug!", "slug"),
    ],
)
def test_bad_input_is_shown_on_its_field_with_a_400(client, make_user, field, value, message):
    client.force_login(make_user("admin"))
    response = client.post("/admin-reports/calendars/new/", {**FORM, field: value})
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors and message.lower() in " ".join(errors[field]).lower()
    assert not BusinessCalendar.objects.exists()


def test_no_working_hours_at_all_is_refused(client, make_user):
    client.force_login(make_user("admin"))
    week = {d: "" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    response = client.post("/admin-reports/calendars/new/", {**FORM, **week})
    assert response.status_code == 400
    assert "no working hours" in response.content.decode()


API = {
    "slug": "ops",
    "name": "Operations",
    "time_zone": "Europe/London",
    "mon": "22:00-06:00",
    "tue": "22:00-06:00",
    "holiday_country": "GB",
    "holiday_subdivision": "ENG",
    "own_days": [{"date": "2026-12-24", "name": "Eve"}],
}


def test_the_api_lists_creates_and_changes_calendars_for_admins_only(make_user):
    assert client_for().get("/api/v1/calendars/").status_code in (401, 403)
    for role in ("designer", "manager", "auditor"):
        denied = client_for(make_user(role)).post("/api/v1/calendars/", API, format="json")
        assert denied.status_code == 403
    assert not BusinessCalendar.objects.exists()
    admin = client_for(make_user("admin"))
    created = admin.post("/api/v1/calendars/", API, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["slug"], body["mon"], body["wed"], body["own_days"]) == (
        "ops",
        "22:00-06:00",
        "",
        [{"date": "2026-12-24", "name": "Eve"}],
    )
    assert admin.post("/api/v1/calendars/", API, format="json").status_code == 400  # exists
    listing = admin.get("/api/v1/calendars/").json()
    assert [c["slug"] for c in listing["results"]] == ["ops"]
    put = admin.put("/api/v1/calendars/ops/", {**API, "wed": "22:00-06:00"}, format="json")
    assert put.status_code == 200 and put.json()["wed"] == "22:00-06:00"
    bad = admin.put("/api/v1/calendars/ops/", {**API, "thu": "25:00-26:00"}, format="json")
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_calendar"
    assert bad.json()["details"] == [
        {"field": "thu", "message": "“25:00-26:00” is not a time of day."}
    ]
    assert admin.get("/api/v1/calendars/nope/").status_code == 404
    assert admin.put("/api/v1/calendars/nope/", API, format="json").status_code == 404
    assert client_for(make_user("designer")).get("/api/v1/calendars/ops/").status_code == 403


def test_designers_preview_a_due_time_in_words(make_user):
    admin = client_for(make_user("admin"))
    week = {d: "09:00-17:00" for d in ("mon", "tue", "wed", "thu", "fri")}
    admin.post(
        "/api/v1/calendars/",
        {"slug": "berlin", "name": "Berlin", "time_zone": "Europe/Berlin", **week},
        format="json",
    )
    designer = client_for(make_user("designer"))
    answer = designer.get(
        "/api/v1/calendar-preview/",
        {"duration": "1 business day", "calendar": "berlin", "start": "2026-12-04T17:00:00+01:00"},
    )
    assert answer.status_code == 200
    assert answer.json() == {
        "due": "2026-12-07T17:00:00+01:00",
        "in_words": "Monday 7 December 2026, 17:00 (CET)",
        "calendar": "berlin",
        "business": True,
        "duration": "1 business day",
    }
    wall = designer.get(
        "/api/v1/calendar-preview/",
        {"duration": "P1D", "calendar": "berlin", "start": "2026-12-04T17:00:00+01:00"},
    ).json()
    assert (wall["due"], wall["business"]) == ("2026-12-05T17:00:00+01:00", False)
    bad = designer.get("/api/v1/calendar-preview/", {"duration": "soon"})
    assert bad.status_code == 400 and "neither business time" in bad.json()["message"]
    assert (
        client_for(make_user("approver"))
        .get("/api/v1/calendar-preview/", {"duration": "P1D"})
        .status_code
        == 403
    )
